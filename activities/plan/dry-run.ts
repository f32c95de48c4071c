/**
 * `runwright.plan.dryRun`: one step of a live plan (`runwright plan`) or of an apply's re-check,
 * on the worker (where credentials and the secrets policy are): the action's dry run with the
 * rendered input, wrapped like a step (activities/define.ts invokeAction: input re-checked,
 * secrets scoped to the runbook and masked). In a plan, a read-only action that predicts outputs
 * (`predicts: true`, e.g. openstack.server.prepare) is run so later steps see its outputs.
 *
 * The prediction hash covers the action, its input and what the dry run said would change
 * (changed, effect, diff; not the wording of the summary): apply compares it to the plan's.
 */
import { ApplicationFailure } from '@temporalio/common';
import { invokeAction, type DryRunResult } from '../define';
import type { Actions } from '../approval/prepare';
import { hashOf } from '../../lib/identity/canonical';
import { effectOf, effectOfAction, type StepAnswer } from '../../dsl/live-plan';
import type { PlanDryRunInput } from '../../workflows/definitions';

export type PlanDryRunAnswer = StepAnswer & { liveHash?: string };

export function predictionHash(action: string, input: unknown, r: DryRunResult): string {
  return hashOf({ v: 'runwright-prediction/1', action, input, changed: r.changed, effect: effectOf(action, r), diff: r.diff ?? null });
}

const WILL: Record<string, string> = { create: 'will create', change: 'will change', destroy: 'will destroy', none: 'changes nothing' };

export function planDryRun(registry: Actions) {
  return async (q: PlanDryRunInput): Promise<PlanDryRunAnswer> => {
    const def = registry.get(q.action);
    if (!def) throw ApplicationFailure.nonRetryable(`${q.path ?? q.action}: no action named ${q.action} on this worker`, 'InvalidInput');
    const effect = def.readOnly ? 'none' : effectOfAction(def.name);
    if (q.unknown || q.input === undefined) return { kind: 'not-run', summary: WILL[effect], effect, dryRunnable: !!def.dryRun };
    if (def.readOnly) {
      if (q.mode === 'plan' && def.predicts) {
        const r = await invokeAction(def, q.input, q.meta, (i, ctx) => def.run(i, ctx));
        const parsed = def.input.safeParse(q.input);
        return { kind: 'read', summary: def.plan && parsed.success ? def.plan(parsed.data) : `read ${def.name}`, outputs: r.outputs };
      }
      return { kind: 'not-run', summary: 'read-only: changes nothing', effect: 'none', dryRunnable: false };
    }
    if (!def.dryRun) return { kind: 'not-run', summary: `${def.name} has no dry run: not planned, not re-checked`, effect, dryRunnable: false };
    const dry = def.dryRun.bind(def);
    const { outputs: result } = await invokeAction<DryRunResult>(def, q.input, q.meta, (i, ctx) => dry(i, ctx));
    const hash = predictionHash(def.name, q.input, result);
    const answer: PlanDryRunAnswer = { kind: 'dry-run', result, hash };
    if (q.planHash) answer.liveHash = hashOf({ v: 'runwright-live-plan/1', plan: q.planHash, step: q.path ?? '', prediction: hash });
    return answer;
  };
}
