/**
 * Approval gates inside the interpreter workflow: pending requests, the `decide` Update and its
 * synchronous validator, and waiting with a timeout. Deterministic; notifications (Slack) and
 * anything else with side effects belong in activities.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { ApprovalStep } from '../dsl/schema';
import { decideUpdate, type DecisionInput, type PendingApproval, type RunState, type RunStatus } from './definitions';
import { msOf } from './duration';

type Gate = PendingApproval & { allowSelfApproval: boolean };

export class ApprovalGates {
  constructor(
    private readonly status: RunStatus,
    private readonly startedBy: string | undefined,
    private readonly setRunState: (s: RunState) => void,
  ) {}

  installHandlers(): void {
    setHandler(decideUpdate, (d) => this.decide(d), { validator: (d) => void this.validate(d) });
  }

  /** Wait for enough approvals, a rejection, or the timeout. Returns the step's outputs. */
  async wait(step: ApprovalStep, path: string, message: string): Promise<unknown> {
    const a = step.approval;
    const now = Date.now();
    const timeoutMs = a.timeout ? msOf(a.timeout) : undefined;
    const gate: Gate = {
      step: path,
      message,
      requestedAt: new Date(now).toISOString(),
      deadline: timeoutMs ? new Date(now + timeoutMs).toISOString() : undefined,
      approvers: a.approvers,
      required: a.required ?? 1,
      decisions: [],
      allowSelfApproval: a.allowSelfApproval ?? false,
    };
    this.status.pendingApprovals.push(gate);
    this.setRunState('waiting-approval');
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
      this.status.pendingApprovals = this.status.pendingApprovals.filter((p) => p !== gate);
      if (this.status.pendingApprovals.length === 0 && this.status.state === 'waiting-approval') this.setRunState('running');
    }
  }

  /** Synchronous check of a decision; a throw refuses the Update with that message. */
  validate(d: DecisionInput): Gate {
    const pend = this.status.pendingApprovals as Gate[];
    if (!d || (d.decision !== 'approve' && d.decision !== 'reject')) throw new Error('decision must be "approve" or "reject"');
    if (!d.user) throw new Error('a decision needs a user identity');
    if (pend.length === 0) throw new Error(`no approval is pending in this run (state: ${this.status.state})`);
    let target: Gate | undefined;
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
    if (!target.allowSelfApproval && target.approvers?.length && this.startedBy && d.user === this.startedBy && d.decision === 'approve')
      throw new Error(`${d.user} started this run and cannot approve it (allowSelfApproval is false)`);
    if (target.decisions.some((x) => x.user === d.user)) throw new Error(`${d.user} has already decided on ${target.step}`);
    return target;
  }

  decide(d: DecisionInput): { accepted: true; step: string; approvals: number; required: number } {
    const target = this.validate(d);
    const decision = { decision: d.decision, user: d.user, reason: d.reason, source: d.source ?? 'cli', at: new Date().toISOString() };
    target.decisions.push(decision);
    this.status.decisions.push({ ...decision, step: target.step });
    return { accepted: true, step: target.step, approvals: target.decisions.filter((x) => x.decision === 'approve').length, required: target.required };
  }
}
