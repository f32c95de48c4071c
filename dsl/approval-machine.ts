/**
 * Approval gates as a pure state machine: open → validate → apply → outcome, plus what a new
 * plan, a deadline and the end do to a gate. Deterministic and engine-neutral: no Temporal, no
 * I/O, no clock (every function that needs the time takes `now`, epoch ms). The workflow driver
 * (workflows/approval.ts) owns the timers, conditions and activities, and calls these.
 *
 * A gate's `view` is the PendingApproval the status query shows; the functions here update it in
 * place (so the query sees it at once) and return what happened as events.
 */
import { maskParams, maskText, paramHistory, resolveParams, secretParamNames } from './params';
import type { ApprovalStep, Runbook, Step } from './schema';
import type {
  ApprovalRecord,
  ApprovalView,
  ApprovalViewState,
  AuthRecord,
  Decision,
  DecisionInput,
  DecisionResult,
  ParamChange,
  PendingApproval,
  PrepareApprovalResult,
  RunState,
  SetParamsInput,
} from '../workflows/definitions';
import { msOf } from './duration';

type Spec = ApprovalStep['approval'];

export interface Gate {
  /** What the status query shows (pendingApprovals). */
  view: PendingApproval;
  spec: Spec;
  /** Which gate of the run this is (activity ids). */
  seq: number;
  /** paramsVersion the current plan was rendered for. */
  preparedFor: number;
  escalationEligible?: string[];
  /** Epoch ms of the current deadline. */
  deadlineMs?: number;
  escalated: boolean;
  /** Bumped on every accepted decision, so the driver refreshes the request. */
  changes: number;
  note?: string;
  /** Ended: decisions are refused from then on. */
  done: boolean;
}

export type Outcome = 'pending' | 'approved' | 'rejected';

/** What happened to a gate; the driver turns these into notifications. */
export type MachineEvent =
  | { kind: 'approval.decided'; step: string; decision: Decision }
  | { kind: 'approval.replanned'; step: string; planHash: string }
  | { kind: 'approval.escalated'; step: string; note: string; channel?: string }
  | { kind: 'approval.ended'; step: string; outcome: ApprovalRecord['outcome'] };

export type Validation = { ok: true; gate: Gate } | { ok: true; duplicate: DecisionResult } | { ok: false; reason: string };

/** What a decision is checked against, besides the gates. */
export interface DecideContext {
  /** Gates not yet ended. */
  open: readonly Gate[];
  /** Ended gates (status.approvals). */
  ended: readonly ApprovalRecord[];
  /** requestId -> result of decisions already applied (across gates). */
  applied: ReadonlyMap<string, DecisionResult>;
  runState: RunState;
  startedBy?: string;
  paramsVersion: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const union = (a: string[] | undefined, b: string[] | undefined) => (a === undefined ? undefined : [...new Set([...a, ...(b ?? [])])].sort());

/** Steps that run after the gate with this id: the one walker's (dsl/walk.ts). */
export { followingSteps } from './walk';

export const counted = (g: Pick<PendingApproval, 'decisions'>): Decision[] => g.decisions.filter((d) => d.counted !== false);
export const approvals = (g: Pick<PendingApproval, 'decisions'>): number => counted(g).filter((d) => d.decision === 'approve').length;

export function outcome(g: Gate): Outcome {
  if (counted(g.view).some((d) => d.decision === 'reject')) return 'rejected';
  return approvals(g.view) >= g.view.required ? 'approved' : 'pending';
}

/**
 * A new gate from its step and what the prepare activity found; `impossible` when no set of
 * the people who may decide can ever reach the quorum (the step fails at once).
 */
export function open(o: {
  spec: Spec;
  path: string;
  message: string;
  seq: number;
  paramsVersion: number;
  prep: PrepareApprovalResult;
  startedBy?: string;
  now: number;
}): { gate: Gate; impossible?: string } {
  const a = o.spec;
  const required = a.required ?? 1;
  const allowSelf = a.allowSelfApproval ?? false;
  const onTimeout = a.onTimeout ?? 'abort';
  const deadlineMs = a.timeout ? o.now + msOf(a.timeout) : undefined;
  const view: PendingApproval = {
    step: o.path,
    message: o.message,
    requestedAt: iso(o.now),
    deadline: deadlineMs !== undefined ? iso(deadlineMs) : undefined,
    approvers: a.approvers,
    required,
    decisions: [],
    eligible: o.prep.eligible,
    allowSelfApproval: allowSelf,
    plan: o.prep.plan,
    planHash: o.prep.planHash,
    onTimeout,
    phase: 'waiting',
  };
  const gate: Gate = { view, spec: a, seq: o.seq, preparedFor: o.paramsVersion, escalationEligible: o.prep.escalationEligible, deadlineMs, escalated: false, changes: 0, done: false };
  const canDecide = (list: string[] | undefined) => list?.filter((u) => allowSelf || u !== o.startedBy);
  const reachable = canDecide(onTimeout === 'escalate' ? union(o.prep.eligible, o.prep.escalationEligible) : o.prep.eligible);
  if (!reachable || reachable.length >= required) return { gate };
  const self = !allowSelf && o.startedBy && o.prep.eligible?.includes(o.startedBy) ? `; ${o.startedBy} started the run and may not approve it (allowSelfApproval is false)` : '';
  return {
    gate,
    impossible: `approval ${o.path} can never be approved: it needs ${required} approval(s) but only ${reachable.length} approver(s) can decide (${reachable.join(', ') || 'none'})${self}`,
  };
}

function endedText(r: ApprovalRecord): string {
  const by = r.decisions.map((x) => `${x.decision === 'approve' ? 'approved' : 'rejected'} by ${x.user}`).join(', ');
  return `approval ${r.step} has already ended (${r.outcome}${by ? `: ${by}` : ''} at ${r.endedAt})`;
}

/** May this decision be applied, and to which gate? Refusals say why, for the decider. */
export function validate(ctx: DecideContext, d: DecisionInput): Validation {
  const no = (reason: string): Validation => ({ ok: false, reason });
  if (!d || (d.decision !== 'approve' && d.decision !== 'reject')) return no('decision must be "approve" or "reject"');
  if (!d.user || typeof d.user !== 'string') return no('a decision needs a user identity');
  const prev = d.requestId ? ctx.applied.get(d.requestId) : undefined;
  if (prev) return { ok: true, duplicate: { ...prev, duplicate: true } };
  const pend = ctx.open.filter((g) => !g.done);
  const ended = (step: string | undefined) => [...ctx.ended].reverse().find((r) => !step || r.step === step || r.step.endsWith(`.${step}`));
  let gate: Gate | undefined;
  if (d.step) {
    const wanted = d.step;
    gate = pend.find((g) => g.view.step === wanted || g.view.step.endsWith(`.${wanted}`));
    if (!gate) {
      const r = ended(wanted);
      if (r) return no(`too late: ${endedText(r)}`);
      return no(`step "${wanted}" is not waiting for approval (${pend.length ? `waiting: ${pend.map((g) => g.view.step).join(', ')}` : `no approval is pending; run state: ${ctx.runState}`})`);
    }
  } else {
    if (pend.length === 0) {
      const r = ended(undefined);
      return no(r ? `too late: ${endedText(r)}` : `no approval is pending in this run (state: ${ctx.runState})`);
    }
    if (pend.length > 1) return no(`several approvals are pending (${pend.map((g) => g.view.step).join(', ')}); name one with --step`);
    gate = pend[0];
  }
  const v = gate.view;
  if (ctx.paramsVersion !== gate.preparedFor) return no(`the params of this run were just changed and the plan of ${v.step} is being re-rendered; review the new plan and decide again`);
  if (d.planHash && d.planHash !== v.planHash)
    return no(`the plan of ${v.step} changed since you reviewed it (you saw ${d.planHash.slice(0, 12)}, it is now ${v.planHash?.slice(0, 12)}); review the new plan and decide again`);
  if (d.decision === 'reject' && !d.reason?.trim()) return no('a rejection needs a reason');
  if (v.eligible && !v.eligible.includes(d.user)) {
    const later = v.phase !== 'escalated' && gate.escalationEligible?.includes(d.user) ? `; ${d.user} may decide once the approval escalates (at ${v.deadline})` : '';
    return no(`${d.user} is not an approver for ${v.step} (approvers: ${(v.approvers ?? []).join(', ')} = ${v.eligible.join(', ')})${later}`);
  }
  if (!v.allowSelfApproval && ctx.startedBy && d.user === ctx.startedBy && d.decision === 'approve') return no(`${d.user} started this run and cannot approve it (allowSelfApproval is false)`);
  const mine = counted(v).find((x) => x.user === d.user);
  if (mine) return no(`${d.user} already ${mine.decision === 'approve' ? 'approved' : 'rejected'} ${v.step} at ${mine.at} (via ${mine.source ?? 'cli'}); a decision counts once`);
  return { ok: true, gate };
}

/** Record a validated decision on its gate. */
export function apply(
  gate: Gate,
  d: DecisionInput,
  o: { now: number; queued?: boolean; auth?: AuthRecord },
): { decision: Decision & { step: string }; result: DecisionResult; events: MachineEvent[] } {
  const v = gate.view;
  const decision: Decision & { step: string } = {
    step: v.step,
    decision: d.decision,
    user: d.user,
    reason: d.reason?.trim() || undefined,
    source: d.source ?? 'api',
    at: iso(o.now),
    planHash: v.planHash,
    counted: true,
    actor: d.actor,
    requestId: d.requestId,
    queued: o.queued || undefined,
    auth: o.auth,
  };
  v.decisions.push(decision);
  gate.changes++;
  const result: DecisionResult = { accepted: true, step: v.step, approvals: approvals(v), required: v.required, planHash: v.planHash };
  return { decision, result, events: [{ kind: 'approval.decided', step: v.step, decision }] };
}

/**
 * The plan was re-rendered for new params (the driver set `preparedFor` when it asked): approvals
 * of another plan stop counting, a rejection stands.
 */
export function replan(gate: Gate, prep: Pick<PrepareApprovalResult, 'plan' | 'planHash'>, now: number): MachineEvent[] {
  const v = gate.view;
  if (prep.planHash === v.planHash) return [];
  v.plan = prep.plan;
  v.planHash = prep.planHash;
  for (const d of v.decisions) d.counted = d.decision === 'reject' || d.planHash === prep.planHash;
  gate.note = `Params changed at ${iso(now)}: the plan was re-rendered; approvals of the previous plan no longer count.`;
  return [{ kind: 'approval.replanned', step: v.step, planHash: prep.planHash }];
}

export type DeadlineResult = { kind: 'escalated' } | { kind: 'approved-on-timeout' } | { kind: 'timed-out'; message: string };

/** The deadline passed with no outcome: escalate once (more approvers, a new deadline), or end with the final onTimeout. */
export function deadline(gate: Gate, now: number): DeadlineResult {
  const a = gate.spec;
  const v = gate.view;
  if ((a.onTimeout ?? 'abort') === 'escalate' && !gate.escalated) {
    const esc = a.escalate ?? {};
    gate.escalated = true;
    v.phase = 'escalated';
    v.eligible = union(v.eligible, gate.escalationEligible);
    if (esc.approvers?.length) v.approvers = [...new Set([...(v.approvers ?? []), ...esc.approvers])];
    gate.deadlineMs = now + msOf(esc.timeout ?? a.timeout!);
    v.deadline = iso(gate.deadlineMs);
    return { kind: 'escalated' };
  }
  const final = gate.escalated ? (a.escalate?.onTimeout ?? 'abort') : (a.onTimeout ?? 'abort');
  if (final === 'approve') return { kind: 'approved-on-timeout' };
  const waited = gate.escalated ? `${a.timeout} and again ${a.escalate?.timeout ?? a.timeout} after escalating` : a.timeout;
  return { kind: 'timed-out', message: `approval ${v.step} timed out after ${waited} with ${approvals(v)} of ${v.required} approvals` };
}

/**
 * Where an escalated gate's new request goes (escalate.channel, else where the request was, else
 * `channel`) and the note that says so. Separate from deadline(): the driver asks once the first
 * request's post has settled, so "where the request was" is known.
 */
export function escalation(gate: Gate, channel: string | undefined): { target?: string; events: MachineEvent[] } {
  const a = gate.spec;
  const esc = a.escalate ?? {};
  const v = gate.view;
  const target = esc.channel ?? v.slack?.channel ?? channel;
  gate.note = `no decision within ${a.timeout}; escalated${esc.approvers?.length ? ` to ${esc.approvers.join(', ')}` : ''}${target ? ` in ${target}` : ''}, waiting until ${v.deadline}`;
  return { target, events: [{ kind: 'approval.escalated', step: v.step, note: gate.note, channel: target }] };
}

/** End the gate: its audit record. */
export function finish(gate: Gate, result: ApprovalRecord['outcome'], now: number): { record: ApprovalRecord; events: MachineEvent[] } {
  gate.done = true;
  const v = gate.view;
  const record: ApprovalRecord = {
    step: v.step,
    outcome: result,
    requestedAt: v.requestedAt,
    endedAt: iso(now),
    required: v.required,
    planHash: v.planHash,
    escalated: v.phase === 'escalated' || undefined,
    decisions: counted(v),
    note: result === 'cancelled' ? 'the run was cancelled while waiting' : result === 'failed' ? gate.note : undefined,
  };
  if (result === 'cancelled') gate.note = 'the run was cancelled';
  return { record, events: [{ kind: 'approval.ended', step: v.step, outcome: result }] };
}

/** What the request shows for a gate (secret params masked: the view leaves the workflow). */
export function view(
  gate: Gate,
  o: { workflowId: string; runbook: Pick<Runbook, 'metadata'> & Partial<Pick<Runbook, 'spec'>>; params: Record<string, unknown>; paramChanges?: ParamChange[]; startedBy?: string; state: ApprovalViewState; escalation?: boolean },
): ApprovalView {
  const v = gate.view;
  const secret = secretParamNames(o.runbook.spec?.params);
  const esc = gate.spec.escalate;
  return {
    notifyUsers: o.escalation ? (gate.escalationEligible ?? esc?.approvers?.filter((x) => !x.startsWith('group:'))) : undefined,
    workflowId: o.workflowId,
    runbook: o.runbook.metadata.name,
    step: v.step,
    message: maskText(v.message, paramHistory(o.params, o.paramChanges), secret),
    requester: o.startedBy,
    params: maskParams(o.params, secret),
    plan: v.plan,
    planHash: v.planHash,
    approvers: v.approvers,
    eligible: v.eligible,
    required: v.required,
    deadline: v.deadline,
    decisions: counted(v),
    state: o.state,
    note: gate.note,
    escalation: o.escalation ?? false,
  };
}

/** A params change: allowed only while a gate waits undecided, by the starter or someone who may decide it. */
export function validateParams(
  ctx: { open: readonly Gate[]; runState: RunState; startedBy?: string; runbook: Partial<Pick<Runbook, 'spec'>>; params: Record<string, unknown> },
  p: SetParamsInput,
): { ok: true; values: Record<string, unknown>; changed: string[] } | { ok: false; reason: string } {
  const no = (reason: string) => ({ ok: false as const, reason });
  if (!p?.user) return no('a params change needs a user identity');
  if (!p.params || typeof p.params !== 'object' || Array.isArray(p.params) || !Object.keys(p.params).length) return no('no params given');
  const pend = ctx.open.filter((g) => !g.done && outcome(g) === 'pending');
  if (!pend.length) return no(`params can only be changed while the run waits for an approval that is not yet decided (state: ${ctx.runState})`);
  const may = p.user === ctx.startedBy || pend.some((g) => !g.view.eligible || g.view.eligible.includes(p.user));
  if (!may) return no(`${p.user} may not change params: only the starter (${ctx.startedBy ?? 'unknown'}) or an approver of ${pend.map((g) => g.view.step).join(', ')}`);
  if (!ctx.runbook.spec) return no('this run cannot change params');
  const { values, errors } = resolveParams(ctx.runbook as Pick<Runbook, 'spec'>, { ...ctx.params, ...p.params }, { coerce: p.coerce ? new Set(Object.keys(p.params)) : undefined });
  if (errors.length) return no(errors.map((e) => e.message).join('; '));
  const changed = Object.keys(values).filter((k) => JSON.stringify(values[k]) !== JSON.stringify(ctx.params[k]));
  if (!changed.length) return no('nothing changed: the params already have these values');
  return { ok: true, values, changed };
}
