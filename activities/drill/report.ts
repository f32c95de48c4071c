/**
 * drill.report: the last-but-one step of a DR drill (runbooks/dr-drill.yaml). From the records
 * of the drill's steps it computes the verdict (pass when the RTO met the objective, the fault
 * was restored and steady state came back), RTO, detection and failover times, errors seen by
 * the window probe, a timeline, and the engine's share of the RTO window (from the histories of
 * this run and its child runs). Writes report.json, report.md and timeline.png under
 * <reportsDir>/<workflow id>/ (the same files again on a retry), posts the summary and the chart
 * to Slack when configured, and returns the report, so it stays in the run's history for
 * `runwright drill report ID`.
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { msField } from '../../lib/duration';
import { defineAction } from '../define';
import { computeDrill, engineShare, type EngineShare } from './report-compute';
import { defaultReportsDir, reportPaths, writeWhole } from './report-files';
import { fetchRunTree } from './report-history';
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

const STEP_NAMES = ['steadyBefore', 'guard', 'approval', 'inject', 'detect', 'failover', 'window', 'restore', 'steadyAfter'] as const;

const input = z.strictObject({
  drill: z.string().min(1).describe('The drill name (e.g. the scenario).'),
  target: z.string().min(1).describe('The cluster the fault is injected into.'),
  clusters: z.array(z.string().min(1)).min(1).describe('Every cluster of the Active-Active set.'),
  objectiveRtoMs: msField(1, 7 * 86_400_000).describe('RTO objective: milliseconds or a duration ("60s").'),
  fault: z.record(z.string(), z.unknown()).default({}).describe('The fault spec, shown in the report.'),
  safe: z.boolean().default(true).describe('Whether the drill ran in safe mode (shown in the report).'),
  skipped: z.string().optional().transform(emptyIsUnset).describe('Why the drill did not run (steady state failed, guard refused, freeze): verdict skipped.'),
  shiftStep: z.string().optional().describe("The failover runbook's traffic-shift step id (default: found by its `at` output for the target)."),
  steadyBefore: stepRecord('the steady-state check before the drill'),
  guard: stepRecord('the blast-radius guard'),
  approval: stepRecord('the approval gate'),
  inject: stepRecord('fault.inject (outputs.injectedAt)'),
  detect: stepRecord('the detection probe.http (startedAt, reached.down)'),
  failover: stepRecord('the failover child runbook (its traffic-shift step outputs `at`)'),
  window: stepRecord('the probe.http watching the entry point during the window (until: deadline)'),
  restore: stepRecord('fault.restore (outputs.restoredAt)'),
  steadyAfter: stepRecord('the steady-state check after the drill'),
  reportsDir: z.string().optional().transform(emptyIsUnset).describe('Default RUNWRIGHT_REPORTS_DIR on the worker, else ./.runwright/reports.'),
  slackChannel: z.string().optional().transform(emptyIsUnset).describe('Default RUNWRIGHT_SLACK_CHANNEL on the worker.'),
  engine: z.boolean().default(true).describe("Compute the engine's share of the RTO window from the run's history."),
});

export type DrillReportInput = z.output<typeof input>;

/** The RTO window's engine share, from this run's history and its children's; null with a note when it cannot be had. */
async function engineFor(i: DrillReportInput, injectedAt: string | null, shiftedAt: string | null): Promise<{ engine: EngineShare | null; note?: string }> {
  if (!i.engine) return { engine: null, note: 'not requested' };
  if (!injectedAt || !shiftedAt) return { engine: null, note: 'no RTO window (fault not injected or traffic never shifted)' };
  const ctx = Context.current();
  const wf = ctx.info.workflowExecution;
  if (!wf) return { engine: null, note: 'not running in a workflow' };
  try {
    const runs = await fetchRunTree(ctx.client, wf.workflowId, wf.runId);
    // The window ends when the traffic-shift activity completed (its `at` is taken inside it).
    let endMs = Date.parse(shiftedAt);
    for (const r of runs) for (const e of r.events) if (e.type === 'ActivityTaskCompleted' && (e.result as any)?.outputs?.at === shiftedAt) endMs = e.timeMs;
    const win = i.window?.outputs as { startedAt?: string; url?: string } | null | undefined;
    // The window probe watches beside the failover; its time is not on the path to the shift.
    const isWindowProbe = (s: { closed: { result?: unknown } }) => {
      const o = (s.closed.result as any)?.outputs;
      return !!win?.startedAt && o?.startedAt === win.startedAt && o?.url === win.url;
    };
    return { engine: engineShare(runs.map((r) => r.events), { startMs: Date.parse(injectedAt), endMs }, isWindowProbe) };
  } catch (e) {
    return { engine: null, note: `history not available: ${(e as Error).message.split('\n')[0]}` };
  }
}

export default defineAction({
  name: 'drill.report',
  description: 'DR drill report: verdict, RTO vs objective, detection, errors, timeline, engine share; writes JSON, Markdown and a timeline PNG, posts to Slack.',
  input,
  async run(i, ctx): Promise<DrillReport> {
    const info = Context.current().info;
    const id = info.workflowExecution?.workflowId ?? 'standalone';
    const facts = computeDrill(i);
    const { engine, note } = await engineFor(i, facts.injectedAt, facts.shiftedAt);
    const paths = reportPaths(i.reportsDir ?? defaultReportsDir(), id);
    const report: DrillReport = {
      id,
      runId: info.workflowExecution?.runId ?? null,
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
    ctx.log(`drill.report ${i.drill}: ${report.verdict}${report.reasons.length ? ` (${report.reasons.join('; ')})` : ''}; ${paths.dir}`);
    return report;
  },
  plan: (i) => `report drill ${i.drill} on ${i.target} (objective RTO ${i.objectiveRtoMs} ms) to ${i.reportsDir ?? 'RUNWRIGHT_REPORTS_DIR'}${i.slackChannel ? ` and Slack ${i.slackChannel}` : ''}`,
});
