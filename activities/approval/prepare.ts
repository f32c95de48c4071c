/**
 * Activity run when an approval gate opens (and again when params change): renders the plan of
 * the steps that follow with the current params (plan mode, with the actions' own dry-run text),
 * hashes every following step's rendered input (planHashInput), and expands the approvers' groups from the approvers file on the worker. The
 * workflow stays deterministic: it only sees this activity's recorded result.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActionDefinition } from '../define';

/** The actions by name (activities/registry.ts's ActionRegistry; named here: the registry imports this folder, not the other way). */
export type Actions = ReadonlyMap<string, ActionDefinition>;
import { formatPlan, planRunbook, tryRender } from '../../dsl/plan';
import { hashOf } from '../../lib/identity/canonical';
import type { Runbook } from '../../dsl/schema';
import { ApproversConfigError, expandApprovers, loadApprovers } from '../../lib/approvers';
import type { PrepareApprovalInput, PrepareApprovalResult } from '../../workflows/definitions';

/**
 * What the plan hash covers: the canonical JSON of every following step with all its inputs
 * rendered with the current params (`with`, `compensate.with`, `when`, `foreach` items, child
 * runbook `with`, …; secrets stay `env:`/`file:` references), the unrendered step definitions
 * (so what depends on outputs of steps not yet run is covered by its template), all the params,
 * and the plan text shown to approvers. Any params change that changes any of it changes the hash.
 */
export function planHashInput(input: Pick<PrepareApprovalInput, 'runbook' | 'following' | 'params'>, plan: string): unknown {
  const scope = { params: input.params, steps: {}, run: { id: '⟨run id⟩', runbook: input.runbook } };
  return { v: 'runwright-plan/2', runbook: input.runbook, params: input.params, steps: input.following, rendered: tryRender(input.following, scope), plan };
}

export function renderFollowingPlan(input: Pick<PrepareApprovalInput, 'runbook' | 'following' | 'params' | 'secretParams'>, registry: Actions): { plan: string; planHash: string } {
  const rb = { apiVersion: 'runwright/v1', kind: 'Runbook', metadata: { name: input.runbook }, spec: { steps: input.following } } as Runbook;
  const entries = planRunbook(rb, input.params, registry, undefined, input.secretParams ?? []);
  const body = entries.length ? formatPlan(rb, entries).split('\n').slice(1).join('\n') : '  (no further steps)';
  const plan = `After this approval, ${input.runbook} runs:\n${body}`;
  return { plan, planHash: hashOf(planHashInput(input, plan)) };
}

export function prepareApproval(registry: Actions) {
  return async (input: PrepareApprovalInput): Promise<PrepareApprovalResult> => {
    const { plan, planHash } = renderFollowingPlan(input, registry);
    try {
      const needsConfig = [...(input.approvers ?? []), ...(input.escalationApprovers ?? [])].some((a) => a.startsWith('group:'));
      const cfg = needsConfig ? loadApprovers() : {};
      return {
        plan,
        planHash,
        eligible: input.approvers?.length ? expandApprovers(input.approvers, cfg) : undefined,
        escalationEligible: input.escalationApprovers?.length ? expandApprovers(input.escalationApprovers, cfg) : undefined,
      };
    } catch (e) {
      // A wrong approvers file is a configuration error: say so, do not retry forever.
      if (e instanceof ApproversConfigError) throw ApplicationFailure.nonRetryable(`approval policy: ${e.message}`, 'ApprovalPolicy');
      throw e;
    }
  };
}
