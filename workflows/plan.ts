/**
 * Workflow `runbookPlan` (`runwright plan`): the live plan of a runbook. The walk is the pure
 * dsl/live-plan.ts; every step's dry run (or predicting read) is an activity, run in order, so
 * each sees the world as the steps before it leave it in a plan, and the history records what
 * the plan saw. It changes nothing: only dry runs and read-only actions run.
 */
import { ApplicationFailure, scheduleActivity, workflowInfo } from '@temporalio/workflow';
import type { AuthorizeInput, AuthorizeResult } from '../lib/identity/authorize';
import { livePlan, type StepAnswer, type StepPrediction } from '../dsl/live-plan';
import { literalSecretRefs } from '../dsl/secret-ref';
import { IDENTITY_AUTHORIZE_ACTIVITY, PLAN_DRY_RUN_ACTIVITY, type PlanDryRunInput, type PlanRunInput } from './definitions';

export async function runbookPlan(input: PlanRunInput): Promise<{ steps: StepPrediction[] }> {
  const { runbook } = input;
  const labels = (runbook.metadata as { labels?: Record<string, string> }).labels;
  // Who asks may start this runbook (the worker's access policy, a signed request where it requires one), before any dry run.
  const auth: AuthorizeInput = {
    action: 'start',
    user: input.startedBy ?? '',
    proof: input.proof,
    start: { runbook, params: input.params, children: input.children ?? {} },
    workflowId: workflowInfo().workflowId,
    runbook: runbook.metadata.name,
    ...(labels ? { labels } : {}),
  };
  const r = await scheduleActivity<AuthorizeResult>(IDENTITY_AUTHORIZE_ACTIVITY, [auth], { activityId: 'identity:plan', startToCloseTimeout: '30s', retry: { maximumAttempts: 3, initialInterval: '1s' } });
  if (!r.ok) throw ApplicationFailure.nonRetryable(`plan refused: ${r.reason}`, 'Unauthorized');
  const steps = await livePlan(runbook, input.params, (q) => {
    const arg: PlanDryRunInput = {
      action: q.action,
      input: q.input,
      unknown: q.unknown,
      meta: { runbook: runbook.metadata.name, ...(labels ? { labels } : {}), authorRefs: literalSecretRefs(q.written) },
      mode: 'plan',
      path: q.path,
    };
    return scheduleActivity<StepAnswer>(PLAN_DRY_RUN_ACTIVITY, [arg], {
      activityId: `plan:${q.path}`,
      startToCloseTimeout: '5m',
      heartbeatTimeout: '1m',
      retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: ['InvalidInput'] },
    });
  }, undefined, input.children ?? {});
  return { steps };
}
