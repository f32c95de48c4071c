/**
 * The interpreter's public contract: input, result, status query and approval updates.
 * Shared by the workflow, the worker and the CLI; contains no logic.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Runbook, Step } from '../dsl/schema';
import type { StepMeta } from '../dsl/secret-ref';
import type { AuthRecord, Proof } from '../lib/identity/request';

export type { AuthRecord, Proof } from '../lib/identity/request';

export const INTERPRETER_WORKFLOW = 'runbook';
export const FOREACH_CHUNK_WORKFLOW = 'runbookForeachChunk';

export interface RunInput {
  /** The validated runbook: history shows exactly what ran. */
  runbook: Runbook;
  /** Params after defaults and coercion. */
  params: Record<string, unknown>;
  /** Runbooks that `runbook:` steps may start, by metadata.name (validated by the CLI). */
  children?: Record<string, Runbook>;
  /** Who started the run (CLI user / Slack user); approvals may refuse self-approval. */
  startedBy?: string;
  /** Upsert RunwrightRunbook/RunwrightState search attributes (only when the server has them). */
  searchAttributes?: boolean;
  /** Slack context of a run started from ChatOps: requests default to this channel; failures and completion go to this thread. */
  slack?: { channel?: string; threadTs?: string };
  /** Step defaults from the starter's environment (RUNWRIGHT_DEFAULT_HEARTBEAT_TIMEOUT); spec.defaults win; passed on to child runbooks. */
  defaults?: RunDefaults;
  /** Set by a parent for a child runbook: the top run's workflow id (actions see it as ctx.rootWorkflowId). */
  rootWorkflowId?: string;
  /** Set by a parent for a child runbook with `timeout:`: enforced by the child like spec.timeout, so it compensates. */
  timeout?: string;
  /** Set by a parent for a child runbook with `site:`: the site of the child's steps that name none (over its spec.defaults.site). */
  site?: string;
  /** Proof of who starts the run (signed request); checked by the workflow's first activity before any step. */
  proof?: Proof;
  /** Continue-as-new when the history has this many events at a top-level step boundary (default: when Temporal suggests it). */
  continueAsNewAfterEvents?: number;
  /** Set when a long run continued as new: where it was, so nothing is lost. */
  resume?: RunResume;
  /** Set by `runwright apply`: the run is bound to this plan; each planned step's dry run is re-checked before it runs. */
  plan?: AppliedPlan;
}

/** The plan an applied run is bound to (RunInput.plan): its hash, and each dry-run step's prediction by step path. */
export interface AppliedPlan {
  hash: string;
  steps: Record<string, { hash: string; summary: string; diff?: string; changed: boolean }>;
}

/** The world changed between plan and apply: what the plan saw at a step and what its dry run says now. */
export interface DriftRecord {
  step: string;
  at: string;
  planned: { hash: string; summary: string; diff?: string };
  live: { hash: string; summary: string; diff?: string };
  /** The hash to approve (`runwright approve --plan-hash`): the plan's, this step, and its live prediction. */
  planHash: string;
  outcome?: 'approved' | 'rejected' | 'pending';
}

/** Input of the `runbookPlan` workflow (`runwright plan`). */
export interface PlanRunInput {
  runbook: Runbook;
  params: Record<string, unknown>;
  startedBy?: string;
  /** A signed start request (the same as a run's, over runbook, params and children): planning reads with the run's credentials, so it needs the right to start. */
  proof?: Proof;
  /** Child runbooks by name: their steps are planned in place. */
  children?: Record<string, Runbook>;
}

export const PLAN_WORKFLOW = 'runbookPlan';
/** One step of a plan or an apply re-check: the action's dry run (or a predicting read) on the worker. */
export const PLAN_DRY_RUN_ACTIVITY = 'runwright.plan.dryRun';

export interface PlanDryRunInput {
  action: string;
  input?: unknown;
  /** The input depends on values known only after apply: say only what the action would do. */
  unknown?: boolean;
  /** The interpreter's second activity argument (secrets policy): runbook, labels, literal references. */
  meta: StepMeta;
  /** Apply: only the dry run, never a read. */
  mode: 'plan' | 'apply';
  /** Apply: the plan's hash, bound into the live plan hash of a drifted step. */
  planHash?: string;
  path?: string;
}

/** The state a run carries into its continued-as-new successor (only at a top-level step boundary). */
export interface RunResume {
  /** Index of the next top-level step. */
  next: number;
  steps: Record<string, { outputs?: unknown; state: StepState; error?: string }>;
  compensations: PendingCompensation[];
  status: Pick<RunStatus, 'startedAt' | 'steps' | 'decisions' | 'approvals' | 'refusals' | 'paramChanges' | 'notices' | 'identity' | 'plan'>;
  /** Workflow time (epoch ms) when spec.timeout / the parent's timeout expires. */
  deadline?: number;
  limit?: string;
  /** How many runs came before this one. */
  generation: number;
  /** The run's CEL engine (dsl/expr.ts); absent from runs continued before runwright-cel-bufbuild-v1: cel-js. */
  cel?: 'cel-js' | 'bufbuild';
}

export type StepState = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'compensated';
export type RunState = 'running' | 'waiting-approval' | 'compensating' | 'succeeded' | 'failed' | 'cancelled';

export interface StepStatus {
  path: string;
  id: string;
  kind: string;
  state: StepState;
  attempts?: number;
  startedAt?: string;
  endedAt?: string;
  outputs?: unknown;
  error?: string;
  /** Latest heartbeat progress of a running action (merged in by the CLI from describe()). */
  progress?: string;
  /** foreach progress */
  items?: { total: number; succeeded: number; failed: number; running: number; batches: number; batch: number };
}

export interface Decision {
  decision: 'approve' | 'reject';
  user: string;
  reason?: string;
  /** Where the decision came from: cli | slack | api. */
  source?: string;
  at: string;
  /** Hash of the plan the decision was made on; a decision on an older plan no longer counts. */
  planHash?: string;
  /** False once the plan changed after this decision (it stays in the record, but is not counted). */
  counted?: boolean;
  /** Who actually acted, when it differs from `user` (OS user@host for the CLI, slack:<id> for Slack). */
  actor?: string;
  requestId?: string;
  /** Arrived as a queued Signal (no worker was up when it was sent) and was validated later. */
  queued?: boolean;
  /** How the decider's identity was established (signature, Slack gateway, unverified claim). */
  auth?: AuthRecord;
}

export interface PendingApproval {
  step: string;
  message: string;
  requestedAt: string;
  deadline?: string;
  approvers?: string[];
  required: number;
  decisions: Decision[];
  /** Users the approvers (groups expanded) resolve to; absent: anyone may decide. */
  eligible?: string[];
  allowSelfApproval?: boolean;
  /** The rendered plan of the steps that follow, as shown to approvers, and its hash. */
  plan?: string;
  planHash?: string;
  onTimeout?: 'abort' | 'approve' | 'escalate';
  /** 'escalated' after the first timeout of an `onTimeout: escalate` gate. */
  phase?: 'waiting' | 'escalated';
  /** Where the Slack request was posted, if it was. */
  slack?: { channel: string; ts: string };
}

/** A decision that was refused (validators write no history: clients report refusals by Signal). */
export interface Refusal {
  step?: string;
  user: string;
  decision: string;
  reason: string;
  source?: string;
  actor?: string;
  requestId?: string;
  at: string;
  /** Refused by the workflow itself when a queued decision was checked. */
  queued?: boolean;
}

/** The outcome of an approval gate, kept for the audit trail after it is no longer pending. */
export interface ApprovalRecord {
  step: string;
  outcome: 'approved' | 'rejected' | 'timed-out' | 'approved-on-timeout' | 'cancelled' | 'failed';
  requestedAt: string;
  endedAt: string;
  required: number;
  planHash?: string;
  escalated?: boolean;
  /** Counted decisions (on the final plan). */
  decisions: Decision[];
  note?: string;
}

export interface ParamChange {
  user: string;
  source?: string;
  /** Who actually acted and from where (cli:os-user@host, console:user@address). */
  actor?: string;
  reason?: string;
  at: string;
  changed: Record<string, { from: unknown; to: unknown }>;
  auth?: AuthRecord;
}

export interface CompensationRecord {
  path: string;
  action: string;
  input: unknown;
  retry?: unknown;
  timeout?: string;
  heartbeatTimeout?: string;
  state: 'done' | 'failed' | 'pending' | 'skipped';
  error?: string;
}

export interface RunStatus {
  runbook: string;
  state: RunState;
  startedAt: string;
  endedAt?: string;
  params: Record<string, unknown>;
  steps: StepStatus[];
  pendingApprovals: PendingApproval[];
  decisions: (Decision & { step: string })[];
  compensations: CompensationRecord[];
  error?: string;
  /** Refused decisions, newest last (the last 100; all of them are in the history as signals). */
  refusals?: Refusal[];
  /** Finished approval gates. */
  approvals?: ApprovalRecord[];
  /** Params changed by the setParams update while an approval was pending. */
  paramChanges?: ParamChange[];
  /** Notifications that could not be delivered (Slack down, misconfigured); the run goes on. */
  notices?: string[];
  /** How the starter's identity was established (runs with proven identity). */
  identity?: AuthRecord;
  /** Who cancelled the run through `runwright cancel` (the signed cancel Update). */
  cancelledBy?: AuthRecord & { reason?: string; at: string };
  /** Runs applied from a plan: its hash, and the steps where the world had drifted from it. */
  plan?: { hash: string; drift: DriftRecord[] };
}

export interface RunResult {
  state: 'succeeded';
  outputs: Record<string, unknown>;
  /** Undo actions of completed steps, for a parent that fails later (child runbooks). */
  compensations: PendingCompensation[];
}

export interface PendingCompensation {
  path: string;
  action: string;
  input: unknown;
  /** Which runbook the compensation belongs to (a child's are run by its parent); see StepMeta. */
  meta?: import('../dsl/secret-ref').StepMeta;
  retry?: unknown;
  timeout?: string;
  heartbeatTimeout?: string;
  /** The task queue of the step's site, when it has one (a child's compensation runs in its parent). */
  taskQueue?: string;
  /** `compensate.when` was false (or failed to evaluate: `whenError`) when the step succeeded. */
  skip?: boolean;
  whenError?: string;
}

export interface DecisionInput {
  decision: 'approve' | 'reject';
  user: string;
  step?: string;
  reason?: string;
  source?: string;
  /** Idempotency key: the same request counts once (Slack retries, replayed clicks, a queued Signal plus a late Update). */
  requestId?: string;
  /** The plan hash the decider reviewed; refused when the plan has changed since. */
  planHash?: string;
  actor?: string;
  /** Signed request proving `user` (required when the worker has allowed signers). */
  proof?: Proof;
}

export interface DecisionResult {
  accepted: true;
  step: string;
  approvals: number;
  required: number;
  planHash?: string;
  /** True when this requestId had already been applied (nothing new was recorded). */
  duplicate?: boolean;
}

export interface SetParamsInput {
  user: string;
  params: Record<string, unknown>;
  source?: string;
  actor?: string;
  reason?: string;
  /** Coerce strings like --set does (CLI, Slack). */
  coerce?: boolean;
  proof?: Proof;
}

export interface CancelInput {
  user: string;
  reason?: string;
  source?: string;
  actor?: string;
  proof?: Proof;
}

export interface CancelResult {
  cancelling: true;
  user: string;
}

export interface SetParamsResult {
  params: Record<string, unknown>;
  changed: string[];
}

export interface ChunkInput {
  parentWorkflowId: string;
  /** The runbook the chunk's steps belong to (secrets policy scope). */
  runbook?: { name: string; labels?: Record<string, string> };
  path: string;
  steps: Step[];
  items: unknown[];
  firstIndex: number;
  as: string;
  concurrency: number;
  /** The parent's top run and step defaults (absent in chunks started before they were passed). */
  rootWorkflowId?: string;
  defaults?: RunDefaults;
  /** `cel`: the parent run's CEL engine; absent from chunks started before runwright-cel-bufbuild-v1 (cel-js). */
  scope: { params: Record<string, unknown>; steps: Record<string, unknown>; run: Record<string, unknown>; vars: Record<string, unknown>; cel?: 'cel-js' | 'bufbuild' };
}

/** spec.defaults of the runbook a step belongs to. */
export interface RunDefaults {
  heartbeatTimeout?: string;
  /** Site whose workers run the actions of steps that name none (a name or a {{ }} template). */
  site?: string;
}

export { SITE_NAME_RE, siteTaskQueue } from '../dsl/site';

export interface IterationResult {
  index: number;
  ok: boolean;
  outputs?: Record<string, unknown>;
  error?: string;
}

export interface ChunkResult {
  iterations: IterationResult[];
  compensations: PendingCompensation[];
}

export const statusQuery = defineQuery<RunStatus>('status');
export const decideUpdate = defineUpdate<DecisionResult, [DecisionInput]>('decide');
/** Change params while an approval is pending; the plan is re-rendered and earlier approvals stop counting. */
export const setParamsUpdate = defineUpdate<SetParamsResult, [SetParamsInput]>('setParams');
/** `runwright cancel`: a signed request the workflow authorizes before it cancels itself (raw `temporal workflow cancel` bypasses this). */
export const cancelUpdate = defineUpdate<CancelResult, [CancelInput]>('cancelRun');
/** A client reports a decision its `decide` Update had refused, so the refusal is in the history. */
export const refusalSignal = defineSignal<[Omit<Refusal, 'at' | 'queued'>]>('approvalRefused');
/** A decision sent while no worker could answer an Update: validated like one when a worker resumes. */
export const queuedDecisionSignal = defineSignal<[DecisionInput]>('decideQueued');

/** Internal activities of approval gates (registered on every worker; not runbook actions). */
export const APPROVAL_PREPARE_ACTIVITY = 'runwright.approval.prepare';
/** The one notify activity: takes an ApprovalEvent, formats it for Slack (runs with `runwright-approval-machine-v2`). */
export const APPROVAL_NOTIFY_ACTIVITY = 'runwright.approval.notify';
/** @deprecated Runs without `runwright-approval-machine-v2` schedule this one (same handler, also takes the old SlackNotifyInput). */
export const SLACK_NOTIFY_ACTIVITY = 'runwright.slack.notify';
export const IDENTITY_AUTHORIZE_ACTIVITY = 'runwright.identity.authorize';
export const RUN_CANCEL_ACTIVITY = 'runwright.run.cancel';

export interface PrepareApprovalInput {
  runbook: string;
  /** The steps that run after the gate, in order (what approvers are asked to allow). */
  following: Step[];
  params: Record<string, unknown>;
  /** Params declared `secret: true`: the plan shows them masked. */
  secretParams?: string[];
  approvers?: string[];
  escalationApprovers?: string[];
}

export interface PrepareApprovalResult {
  plan: string;
  planHash: string;
  /** Absent: anyone may decide. */
  eligible?: string[];
  escalationEligible?: string[];
}

/**
 * What an approval request looks like, as data (no Slack markup): the notify activity turns it
 * into Block Kit (lib/slack-blocks.ts), adding the run link and the mentions.
 */
export type ApprovalViewState = 'pending' | 'approved' | 'rejected' | 'timed-out' | 'approved-on-timeout' | 'escalated' | 'ended';

export interface ApprovalView {
  workflowId: string;
  runbook: string;
  step: string;
  message: string;
  requester?: string;
  params: Record<string, unknown>;
  plan?: string;
  planHash?: string;
  approvers?: string[];
  eligible?: string[];
  required: number;
  deadline?: string;
  link?: string;
  /** Counted decisions so far. */
  decisions: Decision[];
  state: ApprovalViewState;
  note?: string;
  /** Identities to @-mention (escalation approvers); the notifier maps them to Slack ids. */
  notifyUsers?: string[];
  /** Slack user ids mentioned at the top (set by the notifier). */
  mentions?: string[];
  escalation?: boolean;
}

export interface RunThread {
  channel: string;
  threadTs: string;
}

/**
 * The events approval gates and the run emit, handed to the one notify activity
 * (APPROVAL_NOTIFY_ACTIVITY), which formats them for Slack. No Slack text is made in the workflow.
 */
export type ApprovalEvent =
  /** A gate opened (or escalated: `approval.escalation`): post the request. `key` finds an earlier attempt's post. */
  | { kind: 'approval.requested'; approval: ApprovalView; channel?: string; key: string }
  /** A gate changed (decision, new plan, escalation, end): update the posted request. */
  | { kind: 'approval.changed'; approval: ApprovalView; channel: string; ts: string }
  /** Run news in the run's thread. */
  | { kind: 'approval.escalated'; thread: RunThread; step: string; note: string }
  | { kind: 'run.step-failed'; thread: RunThread; step: string; error: string }
  | { kind: 'run.ended'; thread: RunThread; workflowId: string; runbook: string; state: RunState; error?: string };

/**
 * @deprecated Input of SLACK_NOTIFY_ACTIVITY as scheduled by workers from before
 * `runwright-approval-machine-v2`; kept so their activity tasks still run. Retired with the patch.
 */
export type SlackNotifyInput =
  | { kind: 'request'; card: ApprovalView; channel?: string; key: string }
  | { kind: 'update'; card: ApprovalView; channel: string; ts: string }
  | { kind: 'thread'; channel: string; threadTs: string; text: string };

export interface SlackNotifyResult {
  posted: boolean;
  channel?: string;
  ts?: string;
  /** Why nothing was posted (Slack not configured on the worker, no channel). */
  skipped?: string;
}
