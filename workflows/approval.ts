/**
 * Approval gates inside the interpreter workflow. Deterministic; everything with side effects
 * (rendering the plan with the actions' dry-run text, expanding approver groups from the
 * worker's approvers file, Slack) runs in activities whose results the history records.
 *
 * A gate (v2, behind the `runwright-approval-v2` patch so runs recorded before it still replay):
 *  1. prepares: the plan of the steps that follow (with the current params) and its hash; the
 *     approvers with groups expanded; a quorum that can never be met fails the step at once;
 *  2. posts the request to Slack (if the worker has a token and a channel), in the background;
 *  3. accepts decisions through the `decide` Update, whose synchronous validator refuses
 *     unauthorised, duplicate, late, wrong-step, self-approval, stale-plan and reason-less
 *     decisions with a clear message (clients report refusals back by Signal, so they are in
 *     the history too); decisions sent while no worker was up arrive as a queued Signal and are
 *     validated the same way when a worker resumes;
 *  4. re-renders the plan when params change (`setParams` Update): decisions on the old plan
 *     stay in the record but no longer count;
 *  5. on timeout: abort, approve, or escalate (more approvers, a new request, a second wait,
 *     then a final abort|approve).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  scheduleActivity,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { maskParams, maskText, paramHistory, resolveParams, secretParamNames } from '../dsl/params';
import type { ApprovalStep, Runbook, Step } from '../dsl/schema';
import type { ApprovalCard, CardState } from '../lib/slack-blocks';
import type { AuthorizeInput, AuthorizeResult } from '../lib/identity/authorize';
import {
  APPROVAL_PREPARE_ACTIVITY,
  IDENTITY_AUTHORIZE_ACTIVITY,
  RUN_CANCEL_ACTIVITY,
  SLACK_NOTIFY_ACTIVITY,
  cancelUpdate,
  decideUpdate,
  queuedDecisionSignal,
  refusalSignal,
  setParamsUpdate,
  type ApprovalRecord,
  type AuthRecord,
  type CancelInput,
  type CancelResult,
  type Decision,
  type DecisionInput,
  type DecisionResult,
  type PendingApproval,
  type PrepareApprovalResult,
  type Refusal,
  type RunInput,
  type RunState,
  type RunStatus,
  type SetParamsInput,
  type SetParamsResult,
  type SlackNotifyInput,
  type SlackNotifyResult,
} from './definitions';
import { msOf } from './duration';

export const APPROVAL_V2_PATCH = 'runwright-approval-v2';
/** Proven identity: the run authorizes its start, and every decision, params change and cancel, in an activity. */
export const IDENTITY_PATCH = 'runwright-identity-v1';
const MAX_REFUSALS = 100;
const MAX_THREAD_POSTS = 20;

type GateV1 = PendingApproval & { allowSelfApproval: boolean };
type Recorded = Decision & { step: string };

/** Internal state of a v2 gate (kept out of the status query). */
interface GateState {
  step: ApprovalStep;
  path: string;
  seq: number;
  /** paramsVersion the current plan was rendered for. */
  preparedFor: number;
  escalationEligible?: string[];
  /** Bumped on every accepted decision, so the wait loop can refresh the Slack message. */
  changes: number;
  note?: string;
  /** Finished? (set by finish(); decisions are refused from then on). */
  done: boolean;
}

/** Steps that run after the step with this id (ids are unique in a runbook): rest of its list, then of the enclosing lists. */
export function followingSteps(steps: readonly Step[], id: string): Step[] | undefined {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    let rest: Step[] | undefined;
    if (s.id === id) rest = [];
    else if ('parallel' in s) {
      // Sibling branches run at the same time, not after: only the rest of the gate's own branch.
      for (const b of s.parallel) {
        rest = followingSteps([b], id);
        if (rest) break;
      }
    } else if ('steps' in s) rest = followingSteps(s.steps, id);
    if (rest) return [...rest, ...steps.slice(i + 1)];
  }
  return undefined;
}

const union = (a: string[] | undefined, b: string[] | undefined) => (a === undefined ? undefined : [...new Set([...a, ...(b ?? [])])].sort());
const iso = (ms: number) => new Date(ms).toISOString();

export class ApprovalGates {
  private mode: 1 | 2 | undefined;
  private readonly states = new Map<PendingApproval, GateState>();
  /** requestId -> result, across gates: a replayed click or a queued Signal plus a late Update count once. */
  private readonly applied = new Map<string, DecisionResult>();
  private paramsVersion = 0;
  private seq = 0;
  private runbook: Pick<Runbook, 'metadata'> & Partial<Pick<Runbook, 'spec'>>;
  private defaultChannel?: string;
  /** Where run news goes: a ChatOps thread, or the first request posted. */
  private thread?: { channel: string; threadTs: string };
  private threadPosts = 0;
  /** Runs with proven identity (IDENTITY_PATCH): decisions, params changes and cancels are authorized by an activity first. */
  private identity = false;
  private authSeq = 0;
  /** Nonces of signed requests already used in this run: a signature counts once. */
  private readonly nonces = new Set<string>();
  private cancelling = false;

  constructor(
    private readonly status: RunStatus,
    private startedBy: string | undefined,
    private readonly setRunState: (s: RunState) => void,
    runbook?: Pick<Runbook, 'metadata'>,
  ) {
    this.runbook = runbook ?? { metadata: { name: status.runbook } };
  }

  /** Run context the gates need besides the constructor's: the whole runbook (plans, params) and a ChatOps thread. */
  useRun(input: Pick<RunInput, 'runbook' | 'slack'>): void {
    this.runbook = input.runbook;
    this.defaultChannel = input.slack?.channel;
    if (input.slack?.channel && input.slack.threadTs) this.thread = { channel: input.slack.channel, threadTs: input.slack.threadTs };
  }

  installHandlers(): void {
    setHandler(decideUpdate, (d) => (this.identity ? this.decideProven(d) : this.decide(d)), { validator: (d) => void this.validate(d) });
    setHandler(setParamsUpdate, (p) => (this.identity ? this.setParamsProven(p) : this.setParams(p)), { validator: (p) => void this.checkParams(p) });
    setHandler(refusalSignal, (r) => this.recordRefusal({ ...r, at: iso(Date.now()) }));
    setHandler(queuedDecisionSignal, (d) => (this.identity ? this.decideQueuedProven(d) : this.decideQueued(d)));
    setHandler(cancelUpdate, (c) => this.cancelRun(c), { validator: (c) => void this.checkCancel(c) });
  }

  // ---------------------------------------------------------------- proven identity

  /** Turn on proven identity for this run (the interpreter decides, once, behind IDENTITY_PATCH). */
  enableIdentity(): void {
    this.identity = true;
  }

  /** A cancelRun Update is under way (the run lets it answer before it ends). */
  get cancelPending(): boolean {
    return this.cancelling;
  }

  /** The verified starter replaces the claimed one (self-approval is checked against it). */
  setStartedBy(user: string): void {
    this.startedBy = user;
  }

  private labels(): Record<string, string> | undefined {
    return (this.runbook.metadata as { labels?: Record<string, string> }).labels;
  }

  /** Run the authorize activity (its input and result are the audit trail in the history); a used nonce is refused here. */
  async authorize(input: Omit<AuthorizeInput, 'workflowId' | 'runbook' | 'labels'>): Promise<AuthorizeResult> {
    const r = await scheduleActivity<AuthorizeResult>(
      IDENTITY_AUTHORIZE_ACTIVITY,
      [{ ...input, workflowId: workflowInfo().workflowId, runbook: this.runbook.metadata.name, labels: this.labels() }],
      { activityId: `identity:${input.action}:${++this.authSeq}`, startToCloseTimeout: '30s', retry: { maximumAttempts: 3, initialInterval: '1s' } },
    );
    if (r.ok && r.auth.nonce) {
      if (this.nonces.has(r.auth.nonce)) return { ok: false, reason: `replayed request: this signed request (nonce ${r.auth.nonce.slice(0, 12)}) was already used in this run` };
      this.nonces.add(r.auth.nonce);
    }
    return r;
  }

  private refuse(r: { step?: string; user?: unknown; decision: string; reason: string; source?: string; actor?: string; requestId?: string; queued?: boolean }): never {
    this.recordRefusal({ step: r.step, user: String(r.user ?? ''), decision: r.decision, reason: r.reason, source: r.source, actor: r.actor, requestId: r.requestId, at: iso(Date.now()), queued: r.queued });
    throw ApplicationFailure.nonRetryable(r.reason, 'Unauthorized');
  }

  /** Validate, prove who decides (activity), validate again (state may have moved while it ran), apply. */
  private async decideProven(d: DecisionInput, queued = false): Promise<DecisionResult> {
    const v = this.validate(d);
    if (v.duplicate) return v.duplicate;
    const r = await this.authorize({ action: d.decision, user: d.user, proof: d.proof, planHash: v.gate.planHash, step: v.gate.step, queued });
    if (!r.ok) this.refuse({ ...d, step: v.gate.step, reason: `unverified: ${r.reason}`, queued });
    let again: ReturnType<ApprovalGates['validate']>;
    try {
      again = this.validate(d);
    } catch (e) {
      throw ApplicationFailure.nonRetryable((e as Error).message, 'DecisionRefused');
    }
    if (again.duplicate) return again.duplicate;
    if (again.gate.planHash !== v.gate.planHash) this.refuse({ ...d, step: v.gate.step, reason: `the plan of ${v.gate.step} changed while the decision was checked; review the new plan and decide again`, queued });
    return this.apply(again.gate, d, queued, r.auth);
  }

  private async decideQueuedProven(d: DecisionInput): Promise<void> {
    try {
      await this.decideProven(d, true);
    } catch (e) {
      // Already recorded when refused by authorization; the validator's refusals are recorded here.
      if ((e as ApplicationFailure)?.type === 'Unauthorized') return;
      this.recordQueuedRefusal(d, e);
    }
  }

  private async setParamsProven(p: SetParamsInput): Promise<SetParamsResult> {
    this.checkParams(p);
    const r = await this.authorize({ action: 'set-params', user: p.user, proof: p.proof, params: p.params });
    if (!r.ok) this.refuse({ user: p.user, decision: 'set-params', reason: `unverified: ${r.reason}`, source: p.source });
    try {
      return this.setParams(p, r.auth);
    } catch (e) {
      throw ApplicationFailure.nonRetryable((e as Error).message, 'ParamsRefused');
    }
  }

  private checkCancel(c: CancelInput): void {
    if (!c?.user || typeof c.user !== 'string') throw new Error('a cancel needs a user identity');
    if (this.cancelling) throw new Error('the run is already being cancelled');
    if (['succeeded', 'failed', 'cancelled', 'compensating'].includes(this.status.state)) throw new Error(`the run has already ended or is compensating (state: ${this.status.state})`);
  }

  /** `runwright cancel`: authorize, then ask Temporal to cancel this run (the normal cancellation path: compensations run). */
  private async cancelRun(c: CancelInput): Promise<CancelResult> {
    this.checkCancel(c);
    const r = await this.authorize({ action: 'cancel', user: c.user, proof: c.proof });
    if (!r.ok) this.refuse({ user: c.user, decision: 'cancel', reason: `unverified: ${r.reason}`, source: c.source, actor: c.actor });
    if (this.cancelling) throw ApplicationFailure.nonRetryable('the run is already being cancelled', 'CancelRefused');
    this.cancelling = true;
    this.status.cancelledBy = { ...r.auth, reason: c.reason, at: iso(Date.now()) };
    // Not cancellable: the cancellation it requests must not cancel the request itself (the run waits for this handler before it ends).
    await CancellationScope.nonCancellable(() =>
      scheduleActivity(RUN_CANCEL_ACTIVITY, [{ workflowId: workflowInfo().workflowId, runId: workflowInfo().runId }], {
        activityId: 'identity:cancel-run',
        startToCloseTimeout: '30s',
        retry: { maximumAttempts: 5, initialInterval: '1s' },
      }),
    );
    return { cancelling: true, user: r.auth.user };
  }

  /** Wait for enough approvals, a rejection, or the timeout. Returns the step's outputs. */
  async wait(step: ApprovalStep, path: string, message: string): Promise<unknown> {
    if (this.mode !== 2 && !patched(APPROVAL_V2_PATCH)) {
      this.mode = 1;
      return this.waitV1(step, path, message);
    }
    this.mode = 2;
    return this.waitV2(step, path, message);
  }

  // ---------------------------------------------------------------- v2

  private async waitV2(step: ApprovalStep, path: string, message: string): Promise<unknown> {
    const a = step.approval;
    const seq = ++this.seq;
    const required = a.required ?? 1;
    const allowSelf = a.allowSelfApproval ?? false;
    const onTimeout = a.onTimeout ?? 'abort';
    const preparedFor = this.paramsVersion;
    const prep = await this.prepare(step, path, seq);

    // A gate nobody can ever satisfy fails now rather than waiting for its timeout.
    const canDecide = (list: string[] | undefined) => list?.filter((u) => allowSelf || u !== this.startedBy);
    const reachable = canDecide(onTimeout === 'escalate' ? union(prep.eligible, prep.escalationEligible) : prep.eligible);
    if (reachable && reachable.length < required) {
      const self = !allowSelf && this.startedBy && prep.eligible?.includes(this.startedBy) ? `; ${this.startedBy} started the run and may not approve it (allowSelfApproval is false)` : '';
      throw ApplicationFailure.nonRetryable(
        `approval ${path} can never be approved: it needs ${required} approval(s) but only ${reachable.length} approver(s) can decide (${reachable.join(', ') || 'none'})${self}`,
        'ApprovalImpossible',
      );
    }

    const now = Date.now();
    const timeoutMs = a.timeout ? msOf(a.timeout) : undefined;
    let deadlineMs = timeoutMs !== undefined ? now + timeoutMs : undefined;
    const gate: PendingApproval = {
      step: path,
      message,
      requestedAt: iso(now),
      deadline: deadlineMs !== undefined ? iso(deadlineMs) : undefined,
      approvers: a.approvers,
      required,
      decisions: [],
      eligible: prep.eligible,
      allowSelfApproval: allowSelf,
      plan: prep.plan,
      planHash: prep.planHash,
      onTimeout,
      phase: 'waiting',
    };
    const st: GateState = { step, path, seq, preparedFor, escalationEligible: prep.escalationEligible, changes: 0, done: false };
    this.states.set(gate, st);
    this.status.pendingApprovals.push(gate);
    this.setRunState('waiting-approval');

    const channel = a.channel ?? this.defaultChannel;
    // Posting runs beside the wait; its failures are notices, so nothing it throws may go unhandled.
    let posting: Promise<void> = this.postRequest(gate, st, channel, false).catch(() => undefined);
    let escalated = false;
    let seen = 0;
    try {
      for (;;) {
        const woke = () => this.outcome(gate) !== undefined || this.paramsVersion !== st.preparedFor || st.changes !== seen;
        let inTime = true;
        if (deadlineMs === undefined) await condition(woke);
        else {
          const remaining = deadlineMs - Date.now();
          inTime = remaining > 0 ? await condition(woke, remaining) : woke();
        }

        if (this.paramsVersion !== st.preparedFor) {
          // Params changed (checked first: a quorum reached in the same instant approved the old plan, not this one).
          // Re-render the plan; approvals of the old plan stop counting, a rejection stands.
          st.preparedFor = this.paramsVersion;
          const p = await this.prepare(step, path, seq);
          if (p.planHash !== gate.planHash) {
            gate.plan = p.plan;
            gate.planHash = p.planHash;
            for (const d of gate.decisions) d.counted = d.decision === 'reject' || d.planHash === p.planHash;
            st.note = `Params changed at ${iso(Date.now())}: the plan was re-rendered; approvals of the previous plan no longer count.`;
            await posting;
            await this.updateCard(gate, st, 'pending');
          }
          continue;
        }
        const out = this.outcome(gate);
        if (out === 'rejected') {
          const r = this.counted(gate).find((d) => d.decision === 'reject')!;
          await this.finish(gate, st, 'rejected', posting);
          throw ApplicationFailure.nonRetryable(`approval ${path} rejected by ${r.user}: ${r.reason}`, 'ApprovalRejected');
        }
        if (out === 'approved') {
          await this.finish(gate, st, 'approved', posting);
          return { approved: true, timedOut: false, escalated, planHash: gate.planHash, decisions: this.counted(gate) };
        }
        if (st.changes !== seen) {
          seen = st.changes;
          await posting;
          await this.updateCard(gate, st, 'pending');
          continue;
        }
        if (inTime) continue;

        // Timed out.
        if (onTimeout === 'escalate' && !escalated) {
          escalated = true;
          const esc = a.escalate ?? {};
          gate.phase = 'escalated';
          gate.eligible = union(gate.eligible, st.escalationEligible);
          if (esc.approvers?.length) gate.approvers = [...new Set([...(gate.approvers ?? []), ...esc.approvers])];
          deadlineMs = Date.now() + msOf(esc.timeout ?? a.timeout!);
          gate.deadline = iso(deadlineMs);
          await posting;
          const target = esc.channel ?? gate.slack?.channel ?? channel;
          st.note = `no decision within ${a.timeout}; escalated${esc.approvers?.length ? ` to ${esc.approvers.join(', ')}` : ''}${target ? ` in ${target}` : ''}, waiting until ${gate.deadline}`;
          await this.updateCard(gate, st, 'escalated');
          posting = this.postRequest(gate, st, target, true).catch(() => undefined);
          if (this.thread) await this.postThread(`:arrow_double_up: approval ${path} escalated: ${st.note}`);
          continue;
        }
        const final = escalated ? (a.escalate?.onTimeout ?? 'abort') : onTimeout;
        if (final === 'approve') {
          await this.finish(gate, st, 'approved-on-timeout', posting);
          return { approved: true, timedOut: true, escalated, planHash: gate.planHash, decisions: this.counted(gate) };
        }
        await this.finish(gate, st, 'timed-out', posting);
        const waited = escalated ? `${a.timeout} and again ${a.escalate?.timeout ?? a.timeout} after escalating` : a.timeout;
        throw ApplicationFailure.nonRetryable(
          `approval ${path} timed out after ${waited} with ${this.approvals(gate)} of ${required} approvals`,
          'ApprovalTimeout',
        );
      }
    } catch (e) {
      // Cancelled, or the plan could not be re-rendered: close the request too.
      if (!st.done) {
        if (!isCancellation(e)) st.note = `the approval step failed: ${(e as Error)?.message ?? e}`;
        await CancellationScope.nonCancellable(() => this.finish(gate, st, isCancellation(e) ? 'cancelled' : 'failed', posting));
      }
      throw e;
    } finally {
      st.done = true;
      this.status.pendingApprovals = this.status.pendingApprovals.filter((p) => p !== gate);
      if (this.status.pendingApprovals.length === 0 && this.status.state === 'waiting-approval') this.setRunState('running');
    }
  }

  private counted(gate: PendingApproval): Decision[] {
    return gate.decisions.filter((d) => d.counted !== false);
  }

  private approvals(gate: PendingApproval): number {
    return this.counted(gate).filter((d) => d.decision === 'approve').length;
  }

  private outcome(gate: PendingApproval): 'approved' | 'rejected' | undefined {
    if (this.counted(gate).some((d) => d.decision === 'reject')) return 'rejected';
    return this.approvals(gate) >= gate.required ? 'approved' : undefined;
  }

  private async prepare(step: ApprovalStep, path: string, seq: number): Promise<PrepareApprovalResult> {
    const following = this.runbook.spec ? (followingSteps(this.runbook.spec.steps, step.id) ?? []) : [];
    return scheduleActivity<PrepareApprovalResult>(
      APPROVAL_PREPARE_ACTIVITY,
      [
        {
          runbook: this.runbook.metadata.name,
          following,
          params: this.status.params,
          secretParams: secretParamNames(this.runbook.spec?.params),
          approvers: step.approval.approvers,
          escalationApprovers: step.approval.escalate?.approvers,
        },
      ],
      {
        activityId: `approval:${path}:prepare:${seq}.${this.paramsVersion}`,
        startToCloseTimeout: '30s',
        retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: ['ApprovalPolicy'] },
      },
    );
  }

  private card(gate: PendingApproval, st: GateState, state: CardState, escalation = false): ApprovalCard {
    const esc = st.step.approval.escalate;
    return {
      notifyUsers: escalation ? (st.escalationEligible ?? esc?.approvers?.filter((x) => !x.startsWith('group:'))) : undefined,
      workflowId: workflowInfo().workflowId,
      runbook: this.runbook.metadata.name,
      step: gate.step,
      message: maskText(gate.message, paramHistory(this.status.params, this.status.paramChanges), secretParamNames(this.runbook.spec?.params)),
      requester: this.startedBy,
      // Cards reach Slack: secret params masked (the plan is masked by prepare).
      params: maskParams(this.status.params, secretParamNames(this.runbook.spec?.params)),
      plan: gate.plan,
      planHash: gate.planHash,
      approvers: gate.approvers,
      eligible: gate.eligible,
      required: gate.required,
      deadline: gate.deadline,
      decisions: this.counted(gate),
      state,
      note: st.note,
      escalation,
    };
  }

  /** Schedule the Slack activity; a failure becomes a notice in the status, never a failed run. */
  private async notify(input: SlackNotifyInput, id: string): Promise<SlackNotifyResult | undefined> {
    const opts: ActivityOptions = {
      activityId: id,
      startToCloseTimeout: '2m',
      retry: { maximumAttempts: 4, initialInterval: '2s', backoffCoefficient: 2, nonRetryableErrorTypes: ['SlackError', 'SlackConfig'] },
    };
    try {
      const r = await scheduleActivity<SlackNotifyResult>(SLACK_NOTIFY_ACTIVITY, [input], opts);
      if (!r.posted && r.skipped) this.notice(`slack: ${r.skipped}`, true);
      return r;
    } catch (e) {
      if (isCancellation(e)) throw e;
      let c: any = e;
      while (c?.cause) c = c.cause;
      this.notice(`slack ${input.kind} for ${workflowInfo().workflowId} failed: ${c?.message ?? e}`);
      return undefined;
    }
  }

  private notice(text: string, once = false): void {
    const list = (this.status.notices ??= []);
    if (once && list.includes(text)) return;
    if (list.length < 50) list.push(text);
  }

  private async postRequest(gate: PendingApproval, st: GateState, channel: string | undefined, escalation: boolean): Promise<void> {
    const r = await this.notify(
      { kind: 'request', card: this.card(gate, st, 'pending', escalation), channel, key: `${workflowInfo().workflowId}:${gate.step}:${st.seq}:${escalation ? 'escalation' : 'request'}` },
      `approval:${gate.step}:slack:${st.seq}:${escalation ? 'escalation' : 'request'}`,
    );
    if (r?.posted && r.channel && r.ts) {
      gate.slack = { channel: r.channel, ts: r.ts };
      this.thread ??= { channel: r.channel, threadTs: r.ts };
    }
  }

  private updates = 0;
  private async updateCard(gate: PendingApproval, st: GateState, state: CardState): Promise<void> {
    if (!gate.slack) return;
    await this.notify({ kind: 'update', card: this.card(gate, st, state, gate.phase === 'escalated' && state !== 'escalated'), channel: gate.slack.channel, ts: gate.slack.ts }, `approval:${gate.step}:slack-update:${++this.updates}`);
  }

  private async finish(gate: PendingApproval, st: GateState, outcome: ApprovalRecord['outcome'], posting: Promise<void>): Promise<void> {
    st.done = true;
    const rec: ApprovalRecord = {
      step: gate.step,
      outcome,
      requestedAt: gate.requestedAt,
      endedAt: iso(Date.now()),
      required: gate.required,
      planHash: gate.planHash,
      escalated: gate.phase === 'escalated' || undefined,
      decisions: this.counted(gate),
      note: outcome === 'cancelled' ? 'the run was cancelled while waiting' : outcome === 'failed' ? st.note : undefined,
    };
    (this.status.approvals ??= []).push(rec);
    if (outcome === 'cancelled') st.note = 'the run was cancelled';
    await posting;
    const state: CardState = outcome === 'cancelled' || outcome === 'failed' ? 'ended' : outcome;
    await this.updateCard(gate, st, state);
  }

  /** Post in the run's thread (ChatOps thread or first request), if there is one. */
  private async postThread(text: string): Promise<void> {
    if (!this.thread || this.threadPosts >= MAX_THREAD_POSTS) return;
    const n = ++this.threadPosts;
    await this.notify({ kind: 'thread', channel: this.thread.channel, threadTs: this.thread.threadTs, text }, `run:slack-thread:${n}`);
  }

  /** True when step failures and the run's end are posted (a Slack thread exists). Callers check it first: no thread, no extra await. */
  get threadActive(): boolean {
    return this.thread !== undefined;
  }

  /** The run's Slack thread, carried into a continued-as-new run (RunInput.slack). */
  get threadRef(): { channel: string; threadTs: string } | undefined {
    return this.thread;
  }

  async stepFailed(path: string, error: string): Promise<void> {
    // Items of a loop would flood the thread; the foreach step's own failure is posted.
    if (path.includes('[')) return;
    // Never replace the step's own error (not even by a cancellation of this post).
    await this.postThread(`:x: step \`${path}\` failed: ${error.slice(0, 1500)}`).catch(() => undefined);
  }

  async runEnded(state: RunState, error?: string): Promise<void> {
    const id = workflowInfo().workflowId;
    const text =
      state === 'succeeded'
        ? `:white_check_mark: run \`${id}\` of ${this.runbook.metadata.name} succeeded`
        : state === 'cancelled'
          ? `:no_entry_sign: run \`${id}\` was cancelled${error ? `: ${error.slice(0, 1500)}` : ''}`
          : `:x: run \`${id}\` failed: ${(error ?? 'unknown error').slice(0, 1500)}`;
    this.threadPosts = Math.min(this.threadPosts, MAX_THREAD_POSTS - 1);
    await this.postThread(text);
  }

  /** Synchronous check of a decision; a throw refuses the Update with that message. */
  validate(d: DecisionInput): { gate: PendingApproval; duplicate?: DecisionResult } {
    if (this.mode === 1) return { gate: this.validateV1(d) };
    if (!d || (d.decision !== 'approve' && d.decision !== 'reject')) throw new Error('decision must be "approve" or "reject"');
    if (!d.user || typeof d.user !== 'string') throw new Error('a decision needs a user identity');
    if (d.requestId) {
      const prev = this.applied.get(d.requestId);
      if (prev) return { gate: this.status.pendingApprovals.find((p) => p.step === prev.step) ?? ({ step: prev.step } as PendingApproval), duplicate: { ...prev, duplicate: true } };
    }
    const pend = this.status.pendingApprovals.filter((p) => this.states.get(p) && !this.states.get(p)!.done);
    const ended = (step: string | undefined) =>
      [...(this.status.approvals ?? [])].reverse().find((r) => !step || r.step === step || r.step.endsWith(`.${step}`));
    const endedText = (r: ApprovalRecord) => {
      const by = r.decisions.map((x) => `${x.decision === 'approve' ? 'approved' : 'rejected'} by ${x.user}`).join(', ');
      return `approval ${r.step} has already ended (${r.outcome}${by ? `: ${by}` : ''} at ${r.endedAt})`;
    };
    let gate: PendingApproval | undefined;
    if (d.step) {
      const wanted = d.step;
      gate = pend.find((p) => p.step === wanted || p.step.endsWith(`.${wanted}`));
      if (!gate) {
        const r = ended(wanted);
        if (r) throw new Error(`too late: ${endedText(r)}`);
        throw new Error(
          `step "${wanted}" is not waiting for approval (${pend.length ? `waiting: ${pend.map((p) => p.step).join(', ')}` : `no approval is pending; run state: ${this.status.state}`})`,
        );
      }
    } else {
      if (pend.length === 0) {
        const r = ended(undefined);
        throw new Error(r ? `too late: ${endedText(r)}` : `no approval is pending in this run (state: ${this.status.state})`);
      }
      if (pend.length > 1) throw new Error(`several approvals are pending (${pend.map((p) => p.step).join(', ')}); name one with --step`);
      gate = pend[0];
    }
    const st = this.states.get(gate)!;
    if (this.paramsVersion !== st.preparedFor) throw new Error(`the params of this run were just changed and the plan of ${gate.step} is being re-rendered; review the new plan and decide again`);
    if (d.planHash && d.planHash !== gate.planHash)
      throw new Error(`the plan of ${gate.step} changed since you reviewed it (you saw ${d.planHash.slice(0, 12)}, it is now ${gate.planHash?.slice(0, 12)}); review the new plan and decide again`);
    if (d.decision === 'reject' && !d.reason?.trim()) throw new Error('a rejection needs a reason');
    if (gate.eligible && !gate.eligible.includes(d.user)) {
      const later = gate.phase !== 'escalated' && st.escalationEligible?.includes(d.user) ? `; ${d.user} may decide once the approval escalates (at ${gate.deadline})` : '';
      throw new Error(`${d.user} is not an approver for ${gate.step} (approvers: ${(gate.approvers ?? []).join(', ')} = ${gate.eligible.join(', ')})${later}`);
    }
    if (!gate.allowSelfApproval && this.startedBy && d.user === this.startedBy && d.decision === 'approve')
      throw new Error(`${d.user} started this run and cannot approve it (allowSelfApproval is false)`);
    const mine = this.counted(gate).find((x) => x.user === d.user);
    if (mine) throw new Error(`${d.user} already ${mine.decision === 'approve' ? 'approved' : 'rejected'} ${gate.step} at ${mine.at} (via ${mine.source ?? 'cli'}); a decision counts once`);
    return { gate };
  }

  decide(d: DecisionInput): DecisionResult {
    const v = this.validate(d);
    if (v.duplicate) return v.duplicate;
    if (this.mode === 1) return this.decideV1(v.gate as GateV1, d);
    return this.apply(v.gate, d, false);
  }

  private apply(gate: PendingApproval, d: DecisionInput, queued: boolean, auth?: AuthRecord): DecisionResult {
    const rec: Recorded = {
      step: gate.step,
      decision: d.decision,
      user: d.user,
      reason: d.reason?.trim() || undefined,
      source: d.source ?? 'api',
      at: iso(Date.now()),
      planHash: gate.planHash,
      counted: true,
      actor: d.actor,
      requestId: d.requestId,
      queued: queued || undefined,
      auth,
    };
    gate.decisions.push(rec);
    this.status.decisions.push(rec);
    this.states.get(gate)!.changes++;
    const res: DecisionResult = { accepted: true, step: gate.step, approvals: this.approvals(gate), required: gate.required, planHash: gate.planHash };
    if (d.requestId) this.applied.set(d.requestId, res);
    return res;
  }

  /** A decision that arrived as a Signal because no worker answered the Update: validated now. */
  /** A decision queued as a Signal (no worker was up) that was refused when checked: recorded, as Signals cannot answer. */
  private recordQueuedRefusal(d: DecisionInput, e: unknown): void {
    this.recordRefusal({
      step: d?.step,
      user: String(d?.user ?? ''),
      decision: String(d?.decision ?? ''),
      reason: (e as Error).message,
      source: d?.source,
      actor: d?.actor,
      requestId: d?.requestId,
      at: iso(Date.now()),
      queued: true,
    });
  }

  private decideQueued(d: DecisionInput): void {
    try {
      const v = this.validate(d);
      if (v.duplicate) return;
      if (this.mode === 1) this.decideV1(v.gate as GateV1, d);
      else this.apply(v.gate, d, true);
    } catch (e) {
      this.recordQueuedRefusal(d, e);
    }
  }

  private recordRefusal(r: Refusal): void {
    const list = (this.status.refusals ??= []);
    // The same refused request reported twice (client retry) is recorded once.
    if (r.requestId && list.some((x) => x.requestId === r.requestId)) return;
    // A decision that named no step was meant for the one gate pending, if there is just one.
    const pend = this.status.pendingApprovals;
    const step = r.step ?? (pend.length === 1 ? pend[0].step : undefined);
    list.push({ ...r, step, reason: String(r.reason ?? '').slice(0, 1000) });
    if (list.length > MAX_REFUSALS) list.splice(0, list.length - MAX_REFUSALS);
  }

  /** Params may change only while an approval is pending, by the starter or someone who may decide. */
  private checkParams(p: SetParamsInput): { values: Record<string, unknown>; changed: string[] } {
    if (!p?.user) throw new Error('a params change needs a user identity');
    if (!p.params || typeof p.params !== 'object' || Array.isArray(p.params) || !Object.keys(p.params).length) throw new Error('no params given');
    const pend = this.status.pendingApprovals.filter((g) => this.states.get(g) && !this.states.get(g)!.done && this.outcome(g) === undefined);
    if (!pend.length) throw new Error(`params can only be changed while the run waits for an approval that is not yet decided (state: ${this.status.state})`);
    const may = p.user === this.startedBy || pend.some((g) => !g.eligible || g.eligible.includes(p.user));
    if (!may) throw new Error(`${p.user} may not change params: only the starter (${this.startedBy ?? 'unknown'}) or an approver of ${pend.map((g) => g.step).join(', ')}`);
    if (!this.runbook.spec) throw new Error('this run cannot change params');
    const { values, errors } = resolveParams(this.runbook as Pick<Runbook, 'spec'>, { ...this.status.params, ...p.params }, { coerce: p.coerce ? new Set(Object.keys(p.params)) : undefined });
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    const changed = Object.keys(values).filter((k) => JSON.stringify(values[k]) !== JSON.stringify(this.status.params[k]));
    if (!changed.length) throw new Error('nothing changed: the params already have these values');
    return { values, changed };
  }

  private setParams(p: SetParamsInput, auth?: AuthRecord): SetParamsResult {
    const { values, changed } = this.checkParams(p);
    const diff = Object.fromEntries(changed.map((k) => [k, { from: this.status.params[k], to: values[k] }]));
    // The same object is the expression scope's `params`: later steps see the new values.
    Object.assign(this.status.params, values);
    (this.status.paramChanges ??= []).push({ user: p.user, source: p.source ?? 'api', reason: p.reason, at: iso(Date.now()), changed: diff, auth });
    this.paramsVersion++;
    return { params: this.status.params, changed };
  }

  // ---------------------------------------------------------------- v1 (runs recorded before the v2 patch)

  private async waitV1(step: ApprovalStep, path: string, message: string): Promise<unknown> {
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

  private validateV1(d: DecisionInput): GateV1 {
    const pend = this.status.pendingApprovals as GateV1[];
    if (!d || (d.decision !== 'approve' && d.decision !== 'reject')) throw new Error('decision must be "approve" or "reject"');
    if (!d.user) throw new Error('a decision needs a user identity');
    if (pend.length === 0) throw new Error(`no approval is pending in this run (state: ${this.status.state})`);
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
    if (!target.allowSelfApproval && target.approvers?.length && this.startedBy && d.user === this.startedBy && d.decision === 'approve')
      throw new Error(`${d.user} started this run and cannot approve it (allowSelfApproval is false)`);
    if (target.decisions.some((x) => x.user === d.user)) throw new Error(`${d.user} has already decided on ${target.step}`);
    return target;
  }

  private decideV1(target: GateV1, d: DecisionInput): DecisionResult {
    const decision = { decision: d.decision, user: d.user, reason: d.reason, source: d.source ?? 'cli', at: new Date().toISOString() };
    target.decisions.push(decision);
    this.status.decisions.push({ ...decision, step: target.step });
    return { accepted: true, step: target.step, approvals: target.decisions.filter((x) => x.decision === 'approve').length, required: target.required };
  }
}
