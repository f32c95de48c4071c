/**
 * drill.report: the last-but-one step of a DR drill (runbooks/dr-drill.yaml). From the records
 * of the drill's steps it computes the verdict (pass when the drill ran through, the RTO met the
 * objective, the fault was restored, traffic failed back and steady state came back), RTO,
 * detection and failover times, errors seen by the window probe, a timeline, and the engine's
 * share of the RTO window (from the histories of this run and its child runs; a failover that
 * failed after shifting traffic has no outputs, so its shift is read from its history). Writes
 * report.json, report.md and timeline.png under <reports root>/<reportsDir>/<workflow id>/ (the
 * same files again on a retry; reportsDir may only name a folder inside the worker's reports
 * root), posts the summary and the chart to Slack when configured, and returns the report
 * (window errors compacted to transitions) so it stays in the run's history for
 * `runwright drill report ID`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { msField } from '../../dsl/duration';
import { defineAction, type ActionContext } from '../define';
import { compactTimeline, computeDrill, engineShare, parseIso, type DrillFacts, type EngineShare, type HistoryFacts } from './report-compute';
import { recordDrill } from '../metrics';
import { confineReportsDir, defaultReportsDir, reportPaths, writeWhole } from './report-files';
import { fetchRunTree, shiftFromHistory, type RunHistory } from './report-history';
import { renderMarkdown, renderSlack, renderSvg, svgToPng, type DrillReport } from './report-render';
import { postToSlack } from './report-slack';

/** A step record as the interpreter fills `steps.<id>`: `{state, outputs, error?}`; null when the step is not there. */
const stepRecord = (what: string) =>
  z
    .looseObject({ state: z.string(), outputs: z.unknown().optional(), error: z.string().optional() })
    .nullable()
    .optional()
    .describe(`Step record (e.g. "{{ steps.<id> }}") of ${what}.`);

/** Runbooks pass "" for an unset param (`"{{ params.reportsDir }}"`): treat it as absent. */
const emptyIsUnset = (v: string | undefined) => v || undefined;

const STEP_NAMES = ['run', 'steadyBefore', 'guard', 'approval', 'inject', 'detect', 'failover', 'window', 'restore', 'failback', 'steadyAfter'] as const;

/** Window errors kept in the returned report (it stays in history); the files keep all. */
const MAX_WINDOW_ERRORS = 100;

const input = z.strictObject({
  drill: z.string().min(1).describe('The drill name (e.g. the scenario).'),
  target: z.string().min(1).describe('The cluster the fault is injected into.'),
  clusters: z.array(z.string().min(1)).min(1).describe('Every cluster of the Active-Active set.'),
  objectiveRtoMs: msField(1, 7 * 86_400_000).describe('RTO objective: milliseconds or a duration ("60s").'),
  fault: z.record(z.string(), z.unknown()).default({}).describe('The fault spec, shown in the report.'),
  safe: z.boolean().default(false).describe('Whether the drill ran in safe mode (shown in the report); like the runbook, false unless said.'),
  skipped: z.string().optional().transform(emptyIsUnset).describe('Why the drill did not run (steady state failed, guard refused, freeze): verdict skipped.'),
  shiftStep: z.string().optional().describe("The failover runbook's traffic-shift step id (default: found by its `at` output for the target)."),
  run: stepRecord("the drill's main group step (state failed: the drill aborted midway, e.g. inject failed, a re-check failed, a step timed out)"),
  steadyBefore: stepRecord('the steady-state check before the drill'),
  guard: stepRecord('the blast-radius guard'),
  approval: stepRecord('the approval gate'),
  inject: stepRecord('fault.inject (outputs.injectedAt)'),
  detect: stepRecord('the detection probe.http (startedAt, reached.down)'),
  failover: stepRecord('the failover child runbook (its traffic-shift step outputs `at`; failed after the shift: found in its history)'),
  window: stepRecord('the probe.http watching the entry point during the window (until: deadline)'),
  restore: stepRecord('fault.restore (outputs.restoredAt)'),
  failback: stepRecord('the failback child run (the failover runbook in failback mode), after the restore'),
  steadyAfter: stepRecord('the steady-state check after the drill'),
  reportsDir: z
    .string()
    .optional()
    .transform(emptyIsUnset)
    .describe("A subfolder of the worker's reports root (RUNWRIGHT_REPORTS_DIR, else ./.runwright/reports); default the root itself. Paths outside the root are refused."),
  slackChannel: z.string().optional().transform(emptyIsUnset).describe('Default RUNWRIGHT_SLACK_CHANNEL on the worker.'),
  engine: z.boolean().default(true).describe("Compute the engine's share of the RTO window from the run's history."),
});

export type DrillReportInput = z.output<typeof input>;

/** This run's history and its children's, when the report needs them; a note when they cannot be had. */
async function runTree(ctx: ActionContext): Promise<{ runs?: RunHistory[]; rootId?: string; note?: string }> {
  const wf = ctx.workflow;
  if (!wf) return { note: 'not running in a workflow' };
  try {
    return { runs: await fetchRunTree(ctx.client!, wf.workflowId, wf.runId), rootId: wf.workflowId };
  } catch (e) {
    return { note: `history not available: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** The RTO window's engine share from the run tree; null with a note when it cannot be had. */
function engineFor(i: DrillReportInput, f: DrillFacts, tree: { runs?: RunHistory[]; note?: string } | undefined): { engine: EngineShare | null; note?: string } {
  if (!i.engine) return { engine: null, note: 'not requested' };
  if (!f.injectedAt || !f.shiftedAt) return { engine: null, note: 'no RTO window (fault not injected or traffic never shifted)' };
  if (!tree?.runs) return { engine: null, note: tree?.note ?? 'history not fetched' };
  const runs = tree.runs;
  // The window ends when the traffic-shift activity completed (its `at` is taken inside it).
  let endMs = Date.parse(f.shiftedAt);
  for (const r of runs) for (const e of r.events) if (e.type === 'ActivityTaskCompleted' && (e.result as any)?.outputs?.at === f.shiftedAt) endMs = e.timeMs;
  const win = i.window?.outputs as { startedAt?: string; url?: string } | null | undefined;
  // The window probe watches beside the failover; its time is not on the path to the shift.
  const isWindowProbe = (s: { closed: { result?: unknown } }) => {
    const o = (s.closed.result as any)?.outputs;
    return !!win?.startedAt && o?.startedAt === win.startedAt && o?.url === win.url;
  };
  return { engine: engineShare(runs.map((r) => r.events), { startMs: Date.parse(f.injectedAt), endMs }, isWindowProbe) };
}

/**
 * The facts, reading the histories when they are needed: for the engine share, and for the shift
 * when the failover ran but its record has none (it failed after shifting: no outputs).
 */
async function factsWithHistory(i: DrillReportInput, ctx: ActionContext): Promise<{ facts: DrillFacts; tree?: Awaited<ReturnType<typeof runTree>> }> {
  const first = computeDrill(i);
  if (i.skipped || !first.injectedAt) return { facts: first };
  const shiftMissing = !first.shiftedAt && !!i.failover && i.failover.state !== 'skipped';
  if (!shiftMissing && !(i.engine && first.shiftedAt)) return { facts: first };
  const tree = await runTree(ctx);
  if (!shiftMissing || !tree.runs) return { facts: first, tree };
  const history: HistoryFacts = { checked: true, shift: shiftFromHistory(tree.runs, tree.rootId!, i.target, parseIso(first.injectedAt)) };
  return { facts: computeDrill(i, history), tree };
}

/** The report's folder; reportsDir is a run param: whoever starts a drill must not choose where the worker writes. */
function reportsDirOf(i: DrillReportInput): { dir: string } {
  const where = confineReportsDir(defaultReportsDir(), i.reportsDir);
  if ('error' in where) throw ApplicationFailure.nonRetryable(`drill.report: ${where.error}`, 'InvalidInput');
  return where;
}

export default defineAction({
  name: 'drill.report',
  description: 'DR drill report: verdict, RTO vs objective, detection, errors, timeline, engine share; writes JSON, Markdown and a timeline PNG, posts to Slack.',
  input,
  async run(i, ctx): Promise<DrillReport> {
    const id = ctx.workflow?.workflowId ?? 'standalone';
    const where = reportsDirOf(i);
    const { facts, tree } = await factsWithHistory(i, ctx);
    const { engine, note } = engineFor(i, facts, tree);
    const paths = reportPaths(where.dir, id);
    const report: DrillReport = {
      id,
      runId: ctx.workflow?.runId ?? null,
      drill: i.drill,
      target: i.target,
      clusters: i.clusters,
      fault: i.fault,
      safe: i.safe,
      skipped: i.skipped ?? null,
      objectiveRtoMs: i.objectiveRtoMs,
      ...facts,
      steps: Object.fromEntries(STEP_NAMES.map((n) => [n, i[n] ? { state: i[n]!.state, ...(i[n]!.error ? { error: i[n]!.error } : {}) } : null])),
      engine,
      ...(note ? { engineNote: note } : {}),
      files: { json: paths.json, markdown: paths.markdown, png: paths.png },
      slack: { posted: false, reason: 'not posted yet' },
      generatedAt: new Date().toISOString(),
    };
    const markdown = renderMarkdown(report);
    const png = svgToPng(renderSvg(report));
    writeWhole(paths.png, png);
    writeWhole(paths.markdown, markdown);
    report.slack = await postToSlack(report, renderSlack(report), png, i.slackChannel, ctx);
    writeWhole(paths.json, `${JSON.stringify(report, null, 2)}\n`);
    recordDrill(report);
    ctx.log(`drill.report ${i.drill}: ${report.verdict}${report.reasons.length ? ` (${report.reasons.join('; ')})` : ''}; ${paths.dir}`);
    // The returned report stays in the run's history: window errors only as transitions when many.
    const { timeline, omitted } = compactTimeline(report.timeline, MAX_WINDOW_ERRORS);
    return omitted ? { ...report, timeline, windowErrorsOmitted: omitted } : report;
  },
  /** Writes and posts nothing, reads no history: the verdict from the step records alone, and where the report would go. */
  async dryRun(i, ctx) {
    const paths = reportPaths(reportsDirOf(i).dir, ctx.workflow?.workflowId ?? 'standalone');
    const slack = i.slackChannel || process.env.RUNWRIGHT_SLACK_CHANNEL;
    return {
      changed: true,
      summary: `write the report of drill ${i.drill} (verdict from the step records: ${computeDrill(i).verdict}) to ${paths.dir}${slack ? `, post it to Slack ${slack} when configured` : ''}`,
      diff: [paths.json, paths.markdown, paths.png].map((f) => `~ ${f}`).join('\n'),
    };
  },
  plan: (i) => `report drill ${i.drill} on ${i.target} (objective RTO ${i.objectiveRtoMs} ms) to ${i.reportsDir ? `${i.reportsDir} under ` : ''}RUNWRIGHT_REPORTS_DIR${i.slackChannel ? ` and Slack ${i.slackChannel}` : ''}`,
});
