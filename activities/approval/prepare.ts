/**
 * Activity run when an approval gate opens (and again when params change): renders the plan of
 * the steps that follow with the current params (plan mode, with the actions' own dry-run text),
 * hashes it, and expands the approvers' groups from the approvers file on the worker. The
 * workflow stays deterministic: it only sees this activity's recorded result.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { ActionRegistry } from '../registry';
import { formatPlan, planRunbook } from '../../dsl/plan';
import type { Runbook } from '../../dsl/schema';
import { ApproversConfigError, expandApprovers, loadApprovers } from '../../lib/approvers';
import type { PrepareApprovalInput, PrepareApprovalResult } from '../../workflows/definitions';

export function renderFollowingPlan(input: Pick<PrepareApprovalInput, 'runbook' | 'following' | 'params' | 'secretParams'>, registry: ActionRegistry): { plan: string; planHash: string } {
  const rb = { apiVersion: 'runwright/v1', kind: 'Runbook', metadata: { name: input.runbook }, spec: { steps: input.following } } as Runbook;
  const entries = planRunbook(rb, input.params, registry, undefined, input.secretParams ?? []);
  const body = entries.length ? formatPlan(rb, entries).split('\n').slice(1).join('\n') : '  (no further steps)';
  const plan = `After this approval, ${input.runbook} runs:\n${body}`;
  return { plan, planHash: createHash('sha256').update(plan).digest('hex') };
}

export function prepareApproval(registry: ActionRegistry) {
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
