/**
 * Approval gates inside the interpreter workflow: the thin Temporal driver of the pure machine
 * in dsl/approval-machine.ts (who may decide, what a decision, a new plan, a deadline do). This
 * file owns only what needs the engine: the Update/Signal handlers, timers and conditions, and
 * the activities (prepare the plan and approvers; authorize; notify). It formats no Slack text:
 * it emits ApprovalEvents to the one notify activity (activities/approval/notify.ts).
 *
 * A gate (v2, behind `runwright-approval-v2`; runs from before it use approval-legacy.ts):
 *  1. prepares: the plan of the steps that follow (with the current params) and its hash; the
 *     approvers with groups expanded; a quorum that can never be met fails the step at once;
 *  2. emits `approval.requested` (posted to Slack if the worker has a token and a channel), in the background;
 *  3. accepts decisions through the `decide` Update, whose synchronous validator (machine.validate)
 *     refuses unauthorised, duplicate, late, wrong-step, self-approval, stale-plan and reason-less
 *     decisions with a clear message (clients report refusals back by Signal, so they are in the
 *     history too); decisions queued as a Signal while no worker was up are validated the same way;
 *  4. re-renders the plan when params change (`setParams` Update): decisions on the old plan
 *     stay in the record but no longer count;
 *  5. on timeout: abort, approve, or escalate (more approvers, a new request, a second wait,
 *     then a final abort|approve).
 *
 * Versions and how v1 retires (patch `runwright-approval-machine-v2`, APPROVAL_MACHINE_PATCH):
 *  - The machine keeps every command of a gate as it was (same activities, ids, timers) except
 *    one: notifications go to `runwright.approval.notify` (an ApprovalEvent in, Slack text made
 *    there) instead of `runwright.slack.notify` (a card or text made by the workflow). patched()
 *    picks the activity at each notification: replays of runs recorded before the patch get the
 *    old type (the v1 path); live code always gets the new one and records the marker.
 *  - `runwright.slack.notify` stays registered (deprecated) with its old input, for its tasks
 *    scheduled by workers from before the patch while both run during a deploy.
 *  - Retiring v1: once no open run has events from before the deploy, i.e.
 *      temporal workflow list --query 'WorkflowType="runbook" AND ExecutionStatus="Running" AND StartTime < "<deploy time, RFC 3339>"'
 *    (also for WorkflowType="runbookForeachChunk") prints nothing (continued-as-new runs start
 *    anew and count as new), 1) replace patched() by deprecatePatch(APPROVAL_MACHINE_PATCH) and
 *    re-record test/histories (npm run record-histories) so they carry the marker; 2) one
 *    release later, when no run from before step 1 is open (same query, step 1's deploy time),
 *    drop deprecatePatch, SLACK_NOTIFY_ACTIVITY, SlackNotifyInput and slackNotify's legacy input.
 *    The same check retires `runwright-approval-v2` (approval-legacy.ts) for runs older than it.
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
import * as M from '../dsl/approval-machine';
import { secretParamNames } from '../dsl/params';
import type { ApprovalStep, Runbook } from '../dsl/schema';
import type { AuthorizeInput, AuthorizeResult } from '../lib/identity/authorize';
import { decideV1, validateV1, waitV1, type GateV1 } from './approval-legacy';
import {
  APPROVAL_NOTIFY_ACTIVITY,
  APPROVAL_PREPARE_ACTIVITY,
  IDENTITY_AUTHORIZE_ACTIVITY,
  RUN_CANCEL_ACTIVITY,
  SLACK_NOTIFY_ACTIVITY,
  cancelUpdate,
  decideUpdate,
  queuedDecisionSignal,
  refusalSignal,
  setParamsUpdate,
  type ApprovalEvent,
  type ApprovalRecord,
  type ApprovalViewState,
  type AuthRecord,
  type CancelInput,
  type CancelResult,
  type DecisionInput,
  type DecisionResult,
  type PrepareApprovalResult,
  type Refusal,
  type RunInput,
  type RunState,
  type RunStatus,
  type RunThread,
  type SetParamsInput,
  type SetParamsResult,
  type SlackNotifyResult,
} from './definitions';

export { followingSteps } from '../dsl/approval-machine';

export const APPROVAL_V2_PATCH = 'runwright-approval-v2';
/** Notifications are ApprovalEvents to APPROVAL_NOTIFY_ACTIVITY (see the top of this file for how the v1 path retires). */
export const APPROVAL_MACHINE_PATCH = 'runwright-approval-machine-v2';
/** Proven identity: the run authorizes its start, and every decision, params change and cancel, in an activity. */
export const IDENTITY_PATCH = 'runwright-identity-v1';
const MAX_REFUSALS = 100;
const MAX_THREAD_POSTS = 20;

type Validated = { gate: M.Gate } | { duplicate: DecisionResult } | { v1: GateV1 };

const iso = (ms: number) => new Date(ms).toISOString();
/** Notice wording per event, as before the events (`slack request for … failed`). */
const noticeKind = (e: ApprovalEvent) => (e.kind === 'approval.requested' ? 'request' : e.kind === 'approval.changed' ? 'update' : 'thread');

export class ApprovalGates {
  private mode: 1 | 2 | undefined;
  /** Gates of this run not yet ended (v2). */
  private gates: M.Gate[] = [];
  /** requestId -> result, across gates: a replayed click or a queued Signal plus a late Update count once. */
  private readonly applied = new Map<string, DecisionResult>();
  private paramsVersion = 0;
  private seq = 0;
  private runbook: Pick<Runbook, 'metadata'> & Partial<Pick<Runbook, 'spec'>>;
  private defaultChannel?: string;
  /** Where run news goes: a ChatOps thread, or the first request posted. */
  private thread?: RunThread;
  private threadPosts = 0;
  private updates = 0;
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
    if (!('gate' in v)) return this.applyValidated(v, d, queued);
    const { step, planHash } = v.gate.view;
    const r = await this.authorize({ action: d.decision, user: d.user, proof: d.proof, planHash, step, queued });
    if (!r.ok) this.refuse({ ...d, step, reason: `unverified: ${r.reason}`, queued });
    let again: Validated;
    try {
      again = this.validate(d);
    } catch (e) {
      throw ApplicationFailure.nonRetryable((e as Error).message, 'DecisionRefused');
    }
    if (!('gate' in again)) return this.applyValidated(again, d, queued);
    if (again.gate.view.planHash !== planHash) this.refuse({ ...d, step, reason: `the plan of ${step} changed while the decision was checked; review the new plan and decide again`, queued });
    return this.applyValidated(again, d, queued, r.auth);
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
      return waitV1(this.status, this.setRunState, step, path, message);
    }
    this.mode = 2;
    return this.waitV2(step, path, message);
  }

  /**
   * A gate on a plan the caller already has (an applied run's drift: the live plan of one step
   * and its hash), instead of the plan of the steps that follow. Runs with a plan are new runs,
   * so always the v2 machine.
   */
  async waitOnPlan(step: ApprovalStep, path: string, message: string, prep: PrepareApprovalResult): Promise<unknown> {
    this.mode = 2;
    return this.waitV2(step, path, message, prep);
  }

  private async waitV2(step: ApprovalStep, path: string, message: string, given?: PrepareApprovalResult): Promise<unknown> {
    const seq = ++this.seq;
    const paramsVersion = this.paramsVersion;
    const prep = given ?? (await this.prepare(step, path, seq));
    const { gate: g, impossible } = M.open({ spec: step.approval, path, message, seq, paramsVersion, prep, startedBy: this.startedBy, now: Date.now() });
    // A gate nobody can ever satisfy fails now rather than waiting for its timeout.
    if (impossible) throw ApplicationFailure.nonRetryable(impossible, 'ApprovalImpossible');
    this.gates.push(g);
    this.status.pendingApprovals.push(g.view);
    this.setRunState('waiting-approval');

    const channel = step.approval.channel ?? this.defaultChannel;
    // Posting runs beside the wait; its failures are notices, so nothing it throws may go unhandled.
    let posting: Promise<void> = this.postRequest(g, channel, false).catch(() => undefined);
    let seen = 0;
    const result = (timedOut: boolean) => ({ approved: true, timedOut, escalated: g.escalated, planHash: g.view.planHash, decisions: M.counted(g.view) });
    try {
      for (;;) {
        const woke = () => M.outcome(g) !== 'pending' || this.paramsVersion !== g.preparedFor || g.changes !== seen;
        let inTime = true;
        if (g.deadlineMs === undefined) await condition(woke);
        else {
          const remaining = g.deadlineMs - Date.now();
          inTime = remaining > 0 ? await condition(woke, remaining) : woke();
        }

        if (this.paramsVersion !== g.preparedFor) {
          // Params changed (checked first: a quorum reached in the same instant approved the old plan, not this one).
          g.preparedFor = this.paramsVersion;
          // A gate on a given plan keeps it: params do not change what the dry run saw.
          if (given) continue;
          const p = await this.prepare(step, path, seq);
          if (M.replan(g, p, Date.now()).length) {
            await posting;
            await this.updateCard(g, 'pending');
          }
          continue;
        }
        const out = M.outcome(g);
        if (out === 'rejected') {
          const r = M.counted(g.view).find((d) => d.decision === 'reject')!;
          await this.finish(g, 'rejected', posting);
          throw ApplicationFailure.nonRetryable(`approval ${path} rejected by ${r.user}: ${r.reason}`, 'ApprovalRejected');
        }
        if (out === 'approved') {
          await this.finish(g, 'approved', posting);
          return result(false);
        }
        if (g.changes !== seen) {
          seen = g.changes;
          await posting;
          await this.updateCard(g, 'pending');
          continue;
        }
        if (inTime) continue;

        const t = M.deadline(g, Date.now());
        if (t.kind === 'escalated') {
          await posting;
          const { target } = M.escalation(g, channel);
          await this.updateCard(g, 'escalated');
          posting = this.postRequest(g, target, true).catch(() => undefined);
          if (this.thread) await this.postThread((thread) => ({ kind: 'approval.escalated', thread, step: path, note: g.note ?? '' }));
          continue;
        }
        if (t.kind === 'approved-on-timeout') {
          await this.finish(g, 'approved-on-timeout', posting);
          return result(true);
        }
        await this.finish(g, 'timed-out', posting);
        throw ApplicationFailure.nonRetryable(t.message, 'ApprovalTimeout');
      }
    } catch (e) {
      // Cancelled, or the plan could not be re-rendered: close the request too.
      if (!g.done) {
        if (!isCancellation(e)) g.note = `the approval step failed: ${(e as Error)?.message ?? e}`;
        await CancellationScope.nonCancellable(() => this.finish(g, isCancellation(e) ? 'cancelled' : 'failed', posting));
      }
      throw e;
    } finally {
      g.done = true;
      this.gates = this.gates.filter((x) => x !== g);
      this.status.pendingApprovals = this.status.pendingApprovals.filter((p) => p !== g.view);
      if (this.status.pendingApprovals.length === 0 && this.status.state === 'waiting-approval') this.setRunState('running');
    }
  }

  private async prepare(step: ApprovalStep, path: string, seq: number): Promise<PrepareApprovalResult> {
    const following = this.runbook.spec ? (M.followingSteps(this.runbook.spec.steps, step.id) ?? []) : [];
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

  // ---------------------------------------------------------------- notifications (events; the activity formats them)

  /** Schedule the notify activity; a failure becomes a notice in the status, never a failed run. */
  private async notify(event: ApprovalEvent, id: string): Promise<SlackNotifyResult | undefined> {
    const opts: ActivityOptions = {
      activityId: id,
      startToCloseTimeout: '2m',
      retry: { maximumAttempts: 4, initialInterval: '2s', backoffCoefficient: 2, nonRetryableErrorTypes: ['SlackError', 'SlackConfig'] },
    };
    // v1 path (deprecated): replays of runs recorded before the patch scheduled the old activity type here.
    const activity = patched(APPROVAL_MACHINE_PATCH) ? APPROVAL_NOTIFY_ACTIVITY : SLACK_NOTIFY_ACTIVITY;
    try {
      const r = await scheduleActivity<SlackNotifyResult>(activity, [event], opts);
      if (!r.posted && r.skipped) this.notice(`slack: ${r.skipped}`, true);
      return r;
    } catch (e) {
      if (isCancellation(e)) throw e;
      let c: any = e;
      while (c?.cause) c = c.cause;
      this.notice(`slack ${noticeKind(event)} for ${workflowInfo().workflowId} failed: ${c?.message ?? e}`);
      return undefined;
    }
  }

  private notice(text: string, once = false): void {
    const list = (this.status.notices ??= []);
    if (once && list.includes(text)) return;
    if (list.length < 50) list.push(text);
  }

  private view(g: M.Gate, state: ApprovalViewState, escalation = false) {
    const { params, paramChanges } = this.status;
    return M.view(g, { workflowId: workflowInfo().workflowId, runbook: this.runbook, params, paramChanges, startedBy: this.startedBy, state, escalation });
  }

  private async postRequest(g: M.Gate, channel: string | undefined, escalation: boolean): Promise<void> {
    const which = escalation ? 'escalation' : 'request';
    const key = `${workflowInfo().workflowId}:${g.view.step}:${g.seq}:${which}`;
    const r = await this.notify({ kind: 'approval.requested', approval: this.view(g, 'pending', escalation), channel, key }, `approval:${g.view.step}:slack:${g.seq}:${which}`);
    if (r?.posted && r.channel && r.ts) {
      g.view.slack = { channel: r.channel, ts: r.ts };
      this.thread ??= { channel: r.channel, threadTs: r.ts };
    }
  }

  private async updateCard(g: M.Gate, state: ApprovalViewState): Promise<void> {
    if (!g.view.slack) return;
    const approval = this.view(g, state, g.view.phase === 'escalated' && state !== 'escalated');
    await this.notify({ kind: 'approval.changed', approval, channel: g.view.slack.channel, ts: g.view.slack.ts }, `approval:${g.view.step}:slack-update:${++this.updates}`);
  }

  private async finish(g: M.Gate, outcome: ApprovalRecord['outcome'], posting: Promise<void>): Promise<void> {
    const { record } = M.finish(g, outcome, Date.now());
    (this.status.approvals ??= []).push(record);
    await posting;
    await this.updateCard(g, outcome === 'cancelled' || outcome === 'failed' ? 'ended' : outcome);
  }

  /** Post in the run's thread (ChatOps thread or first request), if there is one. */
  private async postThread(event: (thread: RunThread) => ApprovalEvent): Promise<void> {
    if (!this.thread || this.threadPosts >= MAX_THREAD_POSTS) return;
    const n = ++this.threadPosts;
    await this.notify(event(this.thread), `run:slack-thread:${n}`);
  }

  /** True when step failures and the run's end are posted (a Slack thread exists). Callers check it first: no thread, no extra await. */
  get threadActive(): boolean {
    return this.thread !== undefined;
  }

  /** The run's Slack thread, carried into a continued-as-new run (RunInput.slack). */
  get threadRef(): RunThread | undefined {
    return this.thread;
  }

  async stepFailed(path: string, error: string): Promise<void> {
    // Items of a loop would flood the thread; the foreach step's own failure is posted.
    if (path.includes('[')) return;
    // Never replace the step's own error (not even by a cancellation of this post).
    await this.postThread((thread) => ({ kind: 'run.step-failed', thread, step: path, error })).catch(() => undefined);
  }

  async runEnded(state: RunState, error?: string): Promise<void> {
    this.threadPosts = Math.min(this.threadPosts, MAX_THREAD_POSTS - 1);
    await this.postThread((thread) => ({ kind: 'run.ended', thread, workflowId: workflowInfo().workflowId, runbook: this.runbook.metadata.name, state, error }));
  }

  // ---------------------------------------------------------------- decisions and params (checked by the machine)

  /** Synchronous check of a decision; a throw refuses the Update with that message. */
  validate(d: DecisionInput): Validated {
    if (this.mode === 1) return { v1: validateV1(this.status, this.startedBy, d) };
    const { state: runState, approvals: ended = [] } = this.status;
    const v = M.validate({ open: this.gates, ended, applied: this.applied, runState, startedBy: this.startedBy, paramsVersion: this.paramsVersion }, d);
    if (!v.ok) throw new Error(v.reason);
    return v;
  }

  decide(d: DecisionInput): DecisionResult {
    return this.applyValidated(this.validate(d), d, false);
  }

  private applyValidated(v: Validated, d: DecisionInput, queued: boolean, auth?: AuthRecord): DecisionResult {
    if ('duplicate' in v) return v.duplicate;
    if ('v1' in v) return decideV1(this.status, v.v1, d);
    const { decision, result } = M.apply(v.gate, d, { now: Date.now(), queued, auth });
    this.status.decisions.push(decision);
    if (d.requestId) this.applied.set(d.requestId, result);
    return result;
  }

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

  /** A decision that arrived as a Signal because no worker answered the Update: validated now. */
  private decideQueued(d: DecisionInput): void {
    try {
      this.applyValidated(this.validate(d), d, true);
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
    const r = M.validateParams({ open: this.gates, runState: this.status.state, startedBy: this.startedBy, runbook: this.runbook, params: this.status.params }, p);
    if (!r.ok) throw new Error(r.reason);
    return r;
  }

  private setParams(p: SetParamsInput, auth?: AuthRecord): SetParamsResult {
    const { values, changed } = this.checkParams(p);
    const diff = Object.fromEntries(changed.map((k) => [k, { from: this.status.params[k], to: values[k] }]));
    // The same object is the expression scope's `params`: later steps see the new values.
    Object.assign(this.status.params, values);
    (this.status.paramChanges ??= []).push({ user: p.user, source: p.source ?? 'api', ...(p.actor ? { actor: p.actor } : {}), reason: p.reason, at: iso(Date.now()), changed: diff, auth });
    this.paramsVersion++;
    return { params: this.status.params, changed };
  }
}
