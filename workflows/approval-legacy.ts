/**
 * @deprecated Approval gates of runs recorded before the `runwright-approval-v2` patch (no plan,
 * no groups, no Slack). Frozen: only replays and runs still open from before that patch use it.
 * Nothing here may change the commands it issues (one timer per gate, no activities).
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { ApprovalStep } from '../dsl/schema';
import type { DecisionInput, DecisionResult, PendingApproval, RunState, RunStatus } from './definitions';
import { msOf } from '../dsl/duration';

export type GateV1 = PendingApproval & { allowSelfApproval: boolean };

export async function waitV1(status: RunStatus, setRunState: (s: RunState) => void, step: ApprovalStep, path: string, message: string): Promise<unknown> {
  const a = step.approval;
  const now = Date.now();
  const timeoutMs = a.timeout ? msOf(a.timeout) : undefined;
  const gate: GateV1 = {
    step: path,
    message,
    requestedAt: new Date(now).toISOString(),
    deadline: timeoutMs ? new Date(now + timeoutMs).toISOString() : undefined,
    approvers: a.approvers,
    required: a.required ?? 1,
    decisions: [],
    allowSelfApproval: a.allowSelfApproval ?? false,
  };
  status.pendingApprovals.push(gate);
  setRunState('waiting-approval');
  const approvals = () => gate.decisions.filter((d) => d.decision === 'approve').length;
  const rejected = () => gate.decisions.find((d) => d.decision === 'reject');
  try {
    const done = () => rejected() !== undefined || approvals() >= gate.required;
    const decided = timeoutMs === undefined ? (await condition(done), true) : await condition(done, timeoutMs);
    const r = rejected();
    if (r) throw ApplicationFailure.nonRetryable(`approval ${path} rejected by ${r.user}: ${r.reason}`, 'ApprovalRejected');
    if (!decided) {
      if (a.onTimeout === 'approve') return { approved: true, timedOut: true, decisions: gate.decisions };
      throw ApplicationFailure.nonRetryable(`approval ${path} timed out after ${a.timeout} with ${approvals()} of ${gate.required} approvals`, 'ApprovalTimeout');
    }
    return { approved: true, timedOut: false, decisions: gate.decisions };
  } finally {
    status.pendingApprovals = status.pendingApprovals.filter((p) => p !== gate);
    if (status.pendingApprovals.length === 0 && status.state === 'waiting-approval') setRunState('running');
  }
}

export function validateV1(status: RunStatus, startedBy: string | undefined, d: DecisionInput): GateV1 {
  const pend = status.pendingApprovals as GateV1[];
  if (!d || (d.decision !== 'approve' && d.decision !== 'reject')) throw new Error('decision must be "approve" or "reject"');
  if (!d.user) throw new Error('a decision needs a user identity');
  if (pend.length === 0) throw new Error(`no approval is pending in this run (state: ${status.state})`);
  let target: GateV1 | undefined;
  if (d.step) {
    const wanted = d.step;
    target = pend.find((p) => p.step === wanted || p.step.endsWith(`.${wanted}`));
    if (!target) throw new Error(`step "${wanted}" is not waiting for approval (waiting: ${pend.map((p) => p.step).join(', ')})`);
  } else {
    if (pend.length > 1) throw new Error(`several approvals are pending (${pend.map((p) => p.step).join(', ')}); name one with --step`);
    target = pend[0];
  }
  if (d.decision === 'reject' && !d.reason?.trim()) throw new Error('a rejection needs a reason');
  if (target.approvers?.length && !target.approvers.includes(d.user)) throw new Error(`${d.user} is not an approver for ${target.step} (approvers: ${target.approvers.join(', ')})`);
  if (!target.allowSelfApproval && target.approvers?.length && startedBy && d.user === startedBy && d.decision === 'approve')
    throw new Error(`${d.user} started this run and cannot approve it (allowSelfApproval is false)`);
  if (target.decisions.some((x) => x.user === d.user)) throw new Error(`${d.user} has already decided on ${target.step}`);
  return target;
}

export function decideV1(status: RunStatus, target: GateV1, d: DecisionInput): DecisionResult {
  const decision = { decision: d.decision, user: d.user, reason: d.reason, source: d.source ?? 'cli', at: new Date().toISOString() };
  target.decisions.push(decision);
  status.decisions.push({ ...decision, step: target.step });
  return { accepted: true, step: target.step, approvals: target.decisions.filter((x) => x.decision === 'approve').length, required: target.required };
}
