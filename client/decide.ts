/**
 * Sending a decision to a run, the same way from the CLI and from the Slack gateway:
 *  - the `decide` Update (updateId = requestId, so a retried or replayed request counts once);
 *  - a refusal by its validator is reported back by Signal, so the history records it too;
 *  - when no worker answers in time, the decision is sent as a Signal instead: it is queued in
 *    the history and validated by the workflow when a worker resumes (accepted or recorded as a
 *    refusal there; `runwright status` shows which);
 *  - a run that has already ended gets a clear answer, not a timeout.
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  decideUpdate,
  queuedDecisionSignal,
  refusalSignal,
  setParamsUpdate,
  type DecisionInput,
  type DecisionResult,
  type SetParamsInput,
  type SetParamsResult,
} from '../workflows/definitions';

export type DecisionOutcome =
  | { status: 'accepted'; result: DecisionResult; requestId: string }
  | { status: 'refused'; reason: string; requestId: string }
  | { status: 'queued'; requestId: string }
  | { status: 'ended'; execution: string; closedAt?: string }
  | { status: 'not-found' };

export const DEFAULT_DECISION_TIMEOUT_MS = 10_000;

/** RUNWRIGHT_DECISION_TIMEOUT (e.g. "10s", "2000ms"): how long to wait for a worker before queueing. */
export function decisionTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.RUNWRIGHT_DECISION_TIMEOUT;
  const m = v?.match(/^(\d+)(ms|s)?$/);
  if (!m) return DEFAULT_DECISION_TIMEOUT_MS;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

/** The innermost cause's message of a Temporal failure (what the user should read). */
export function rootMessage(e: unknown): string {
  let c: any = e;
  while (c?.cause) c = c.cause;
  return String(c?.message ?? e);
}

async function endedState(h: WorkflowHandle): Promise<DecisionOutcome | undefined> {
  try {
    const d = await h.describe();
    if (d.status.name !== 'RUNNING') return { status: 'ended', execution: d.status.name.toLowerCase(), closedAt: d.closeTime?.toISOString() };
    return undefined;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return { status: 'not-found' };
    throw e;
  }
}

export async function sendDecision(
  client: Client,
  workflowId: string,
  input: DecisionInput,
  opts: { timeoutMs?: number; queueIfNoWorker?: boolean } = {},
): Promise<DecisionOutcome> {
  const h = client.workflow.getHandle(workflowId);
  const early = await endedState(h);
  if (early) return early;
  const requestId = input.requestId ?? `${input.source ?? 'api'}:${randomUUID()}`;
  const d: DecisionInput = { ...input, requestId };
  try {
    const result = await client.connection.withDeadline(Date.now() + (opts.timeoutMs ?? decisionTimeoutMs()), () =>
      h.executeUpdate(decideUpdate, { args: [d], updateId: requestId }),
    );
    return { status: 'accepted', result, requestId };
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) {
      const reason = rootMessage(e);
      // Validators write no history: report the refusal so the audit trail has it.
      await h
        .signal(refusalSignal, { step: d.step, user: d.user, decision: d.decision, reason, source: d.source, actor: d.actor, requestId })
        .catch(() => undefined);
      return { status: 'refused', reason, requestId };
    }
    const ended = await endedState(h).catch(() => undefined);
    if (ended) return ended;
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError || /DEADLINE_EXCEEDED/.test(String((e as Error)?.message))) {
      if (opts.queueIfNoWorker === false) throw e;
      try {
        await h.signal(queuedDecisionSignal, d);
      } catch (se) {
        const gone = await endedState(h).catch(() => undefined);
        if (gone) return gone;
        throw se;
      }
      return { status: 'queued', requestId };
    }
    throw e;
  }
}

/** Human wording of an outcome, shared by the CLI and Slack. */
export function describeOutcome(o: DecisionOutcome, workflowId: string, decision: 'approve' | 'reject', user: string): string {
  switch (o.status) {
    case 'accepted':
      if (decision === 'reject') return `rejected ${o.result.step} of ${workflowId} as ${user}${o.result.duplicate ? ' (already recorded)' : ''}`;
      return `approved ${o.result.step} of ${workflowId} as ${user} (${o.result.approvals}/${o.result.required} approvals)${o.result.duplicate ? ' (already recorded)' : ''}`;
    case 'refused':
      return `refused: ${o.reason}`;
    case 'queued':
      return (
        `no worker answered in time, so your ${decision} was queued (request ${o.requestId}); ` +
        `it is checked against the approval policy when a worker resumes, and \`runwright status ${workflowId}\` shows whether it counted`
      );
    case 'ended':
      return `refused: run ${workflowId} has already ended (${o.execution}${o.closedAt ? ` at ${o.closedAt}` : ''}); nothing to ${decision}`;
    case 'not-found':
      return `refused: no run with id "${workflowId}"`;
  }
}

export async function sendSetParams(client: Client, workflowId: string, input: SetParamsInput, timeoutMs = decisionTimeoutMs()): Promise<SetParamsResult> {
  const h = client.workflow.getHandle(workflowId);
  return client.connection.withDeadline(Date.now() + timeoutMs, () => h.executeUpdate(setParamsUpdate, { args: [input] }));
}
