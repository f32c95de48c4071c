/**
 * `runwright plan FILE` and `runwright apply PLANFILE`: the live plan of a whole runbook (every
 * step's dry run against the real systems, through the worker: workflow `runbookPlan`), saved
 * as a plan file with its hash (lib/plan-file.ts); and a run bound to that plan, which re-checks
 * each planned step before it runs and stops for an approval where the world drifted.
 */
import { writeFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { formatLivePlan, summaryLine, type StepPrediction } from '../dsl/live-plan';
import { appliedPlan, makePlanFile, PlanFileError, readPlanFile, type PlanFile } from '../lib/plan-file';
import { runLink } from '../lib/config';
import { buildRegistry } from '../activities/registry';
import { displayPath, planApplyParams } from '../client/runbooks';
import { newRunId, RunExistsError, startRun } from '../client/runs';
import { PLAN_WORKFLOW, type PlanRunInput, type RunInput } from '../workflows/definitions';
import { collectParams, currentUser, out, prepareRun, runInput, withSession } from './common';
import { CliError, EXIT, type Session } from './session';
import { KEY_OPTION, signStart, signingKey } from './sign';

export interface PlanCommandDeps {
  actionsOpt: () => Option;
  watch: (s: Session, h: WorkflowHandle, json: boolean) => Promise<number>;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Read a plan file for apply: any problem is a usage error (exit 2) with the reason, no stack. */
export function loadPlan(path: string): PlanFile {
  try {
    return readPlanFile(path);
  } catch (e) {
    if (e instanceof PlanFileError) throw new CliError(`runwright apply: ${e.message}`, EXIT.usage);
    throw e;
  }
}

/** The params an applied run starts with: the plan's, plus the masked secret ones given again with --set. */
export function applyParams(plan: PlanFile, sets: string[]): Record<string, unknown> {
  const given = collectParams(undefined, sets);
  const r = planApplyParams(plan, given.values, given.coerce, { given: '--set', how: 'with --set NAME=VALUE (or a secret:/env:/file: reference)' });
  if (r.problem !== undefined) throw new CliError(`runwright apply: ${r.problem}`, EXIT.usage);
  return r.values;
}

export function registerPlanCommands(program: Command, deps: PlanCommandDeps): void {
  program
    .command('plan')
    .argument('<file>', 'runbook file')
    .option('--set <name=value>', 'set a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file with params')
    .option('--out <planfile>', 'save the plan (JSON, with its hash) for `runwright apply`')
    .option('--json', 'machine-readable output (the plan file)')
    .option('--as <user>', 'who asks (default: RUNWRIGHT_USER or the OS user)')
    .option(...KEY_OPTION)
    .addOption(deps.actionsOpt())
    .description('live plan: dry-run every step against the real systems, in order; what would be created, changed, destroyed')
    .action(async (file: string, o) => {
      const { registry, loaded, params } = prepareRun(file, o);
      const { runbook } = loaded;
      const extraActions = [...registry.values()].filter((a) => !buildRegistry().has(a.name));
      const steps = await withSession({ worker: 'if-embedded', extraActions }, async (s) => {
        const id = `plan-${newRunId(runbook.metadata.name)}`;
        // Signed like a start (over runbook, params and the child runbooks it plans in place).
        const children = loaded.children ?? {};
        const { proof } = await signStart({ runbook, params, children, startedBy: currentUser(o.as) }, id, signingKey(o.key));
        const input: PlanRunInput = { runbook, params, startedBy: currentUser(o.as), children, ...(proof ? { proof } : {}) };
        const h = await s.client.workflow.start(PLAN_WORKFLOW, { taskQueue: s.taskQueue, workflowId: id, args: [input], memo: { runbook: runbook.metadata.name, plan: true } });
        try {
          return ((await h.result()) as { steps: StepPrediction[] }).steps;
        } catch (e) {
          let c: any = e;
          while (c?.cause) c = c.cause;
          throw new CliError(`runwright plan: the plan failed: ${c?.message ?? e}`, EXIT.failed);
        }
      });
      const plan = makePlanFile(runbook, loaded.children, params, steps);
      if (o.out) writeFileSync(o.out, `${JSON.stringify(plan, null, 2)}\n`);
      if (o.json) return out(JSON.stringify(plan, null, 2));
      out(formatLivePlan(runbook.metadata.name, plan.steps));
      out(`\nPlan hash: ${plan.hash}`);
      if (o.out) out(`Saved to ${displayPath(o.out)}; apply exactly this plan with: runwright apply ${displayPath(o.out)}`);
    });

  program
    .command('apply')
    .argument('<planfile>', 'a plan file from `runwright plan --out`')
    .option('--set <name=value>', 'a masked secret param of the plan, given again (repeatable)', collect, [])
    .option('--id <workflowId>', 'workflow id (default: <runbook>-<time>)')
    .option('--detach', 'start and return; watch later with `runwright status`')
    .option('--json', 'machine-readable output')
    .option('--as <user>', 'who starts the run (default: RUNWRIGHT_USER or the OS user)')
    .option(...KEY_OPTION)
    .addOption(deps.actionsOpt())
    .description('run the runbook bound to a plan: each planned step is re-checked first; drift stops it for an approval of the live plan')
    .action(async (file: string, o) => {
      const plan = loadPlan(file);
      const params = applyParams(plan, o.set);
      const code = await withSession({ worker: o.detach ? 'never' : 'if-embedded' }, async (s) => {
        if (o.detach && s.embedded) throw new CliError('--detach needs a Temporal server that keeps running: start one with `runwright dev` (or set TEMPORAL_ADDRESS)', EXIT.usage);
        const id = o.id ?? newRunId(plan.runbook.name);
        const base = runInput({ file, runbook: plan.runbook.definition, children: plan.runbook.children ?? {} }, params, currentUser(o.as), s.searchAttributes);
        const input: RunInput = await signStart({ ...base, plan: appliedPlan(plan) }, id, signingKey(o.key));
        let h: WorkflowHandle;
        try {
          h = await startRun(s, input, id, { file: displayPath(file), planHash: plan.hash }, o.id !== undefined);
        } catch (e) {
          if (e instanceof RunExistsError) throw new CliError(e.message, EXIT.usage);
          throw e;
        }
        if (!o.json) {
          out(`applying plan ${plan.hash.slice(0, 12)}… of ${plan.runbook.name} (${summaryLine(plan.summary)}) as ${h.workflowId}`);
          out(s.embedded ? `(embedded server; for the web UI run \`runwright dev\`)` : runLink(s.namespace, h.workflowId));
        }
        if (o.detach) {
          if (o.json) out(JSON.stringify({ workflowId: h.workflowId, planHash: plan.hash }));
          return EXIT.ok;
        }
        return deps.watch(s, h, !!o.json);
      });
      process.exitCode = code;
    });
}
