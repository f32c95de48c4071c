/**
 * The one generic workflow: it interprets a validated runbook. Deterministic orchestration
 * only; every side effect is an activity named after its action.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  ContinueAsNew,
  executeChild,
  isCancellation,
  patched,
  scheduleActivity,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, type RetryPolicy as TemporalRetry } from '@temporalio/common';
import { CEL_ENGINE, CEL_ENGINE_PATCH, isTrue, render, type CelEngineName } from '../dsl/expr';
import { maskParams, maskText, paramHistory, resolveParams, secretParamNames, SECRET_MASK } from '../dsl/params';
import { renderActionInput } from '../dsl/play-values';
import type { ActionStep, ApprovalStep, ForeachStep, RetryPolicy, Runbook, RunbookStep, Step } from '../dsl/schema';
import { stepKind } from '../dsl/kinds';
import { eachStep, someStep } from '../dsl/walk';
import { literalSecretRefs, type StepMeta } from '../dsl/secret-ref';
import { DURATION_PATTERN, msOf } from '../dsl/duration';
import { ApprovalGates, IDENTITY_PATCH } from './approval';
import { timeApproval } from './metrics';
import {
  FOREACH_CHUNK_WORKFLOW,
  INTERPRETER_WORKFLOW,
  statusQuery,
  PLAN_DRY_RUN_ACTIVITY,
  type AppliedPlan,
  type DriftRecord,
  type PlanDryRunInput,
  type ChunkInput,
  type ChunkResult,
  type IterationResult,
  type PendingCompensation,
  type RunInput,
  type RunDefaults,
  type RunResume,
  type RunResult,
  type RunState,
  type RunStatus,
  type StepState,
  type StepStatus,
  siteTaskQueue,
  SITE_NAME_RE,
} from './definitions';

/** Defaults for a step that names no retry policy: a few quick retries, not Temporal's forever. */
export const DEFAULT_RETRY: RetryPolicy = { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' };
export const DEFAULT_STEP_TIMEOUT = '10m';
/**
 * Every action heartbeats from its wrapper (activities/define.ts, every third of this), so a
 * step whose worker died is retried on another worker about this long after its last
 * heartbeat, not after DEFAULT_STEP_TIMEOUT. A constant here, not worker env: the workflow
 * must not read the environment; spec.defaults.heartbeatTimeout and the step's own override it.
 * 20s: recovery after a SIGKILL within ~25s plus scheduling; Temporal throttles heartbeats to
 * 80% of it (16s), which stays clear of the timeout on a loaded worker.
 */
export const DEFAULT_HEARTBEAT_TIMEOUT = '20s';
/** A foreach whose items x inner actions exceed this runs its batches as child workflows (history limits). */
export const INLINE_ACTIVITY_BUDGET = 500;
/** Activities per child workflow chunk: keeps each chunk far below Temporal's 51,200-event history limit. */
export const CHUNK_ACTIVITY_BUDGET = 400;
/** Per-item step states are kept in the status query only for small loops. */
const ITEM_DETAIL_LIMIT = 25;
const DEFAULT_CONCURRENCY = 100;

const STATE_KEY = defineSearchAttributeKey('RunwrightState', SearchAttributeType.KEYWORD);

interface Scope {
  params: Record<string, unknown>;
  steps: Record<string, { outputs?: unknown; state: StepState; error?: string }>;
  run: Record<string, unknown>;
  vars: Record<string, unknown>;
  /** The CEL engine of the whole run (dsl/expr.ts): chosen once at its start, carried on. */
  cel: CelEngineName;
}

const exprScope = (s: Scope) => ({ params: s.params, steps: s.steps, run: s.run, ...s.vars, [CEL_ENGINE]: s.cel });

function errorMessage(err: unknown): string {
  let e: any = err;
  // Activity and child failures wrap the real cause.
  while (e?.cause && (e.name === 'ActivityFailure' || e.name === 'ChildWorkflowFailure')) e = e.cause;
  return String(e?.message ?? e);
}

function toRetry(r: RetryPolicy | undefined): TemporalRetry {
  const p = { ...DEFAULT_RETRY, ...(r ?? {}) };
  return {
    maximumAttempts: p.maximumAttempts,
    initialInterval: p.initialInterval as TemporalRetry['initialInterval'],
    backoffCoefficient: p.backoffCoefficient,
    maximumInterval: p.maximumInterval as TemporalRetry['maximumInterval'],
    nonRetryableErrorTypes: ['InvalidInput', ...(p.nonRetryableErrorTypes ?? [])],
  };
}

function countActions(steps: Step[]): number {
  let n = 0;
  for (const v of eachStep(steps)) if ('action' in v.step) n += 1;
  return n;
}

function containsApproval(steps: Step[]): boolean {
  return someStep(steps, (s) => 'approval' in s);
}

export class Interpreter {
  readonly status: RunStatus;
  private readonly stepMap = new Map<string, StepStatus>();
  readonly compensations: PendingCompensation[] = [];
  readonly approvals: ApprovalGates;
  /** Passed to every activity beside its input (ActionContext.rootWorkflowId). */
  private readonly call: { rootWorkflowId: string };
  readonly defaults: RunDefaults;
  /** Defaults the run was started with (RunInput.defaults), handed on to child runbooks. */
  private readonly startDefaults?: RunDefaults;

  constructor(
    private readonly runbook: Pick<Runbook, 'metadata'>,
    params: Record<string, unknown>,
    private readonly children: Record<string, Runbook> = {},
    private readonly startedBy: string | undefined,
    private readonly searchAttributes = false,
    opts: { rootWorkflowId?: string; defaults?: RunDefaults; startDefaults?: RunDefaults; plan?: AppliedPlan } = {},
  ) {
    this.call = { rootWorkflowId: opts.rootWorkflowId ?? workflowInfo().workflowId };
    // The runbook's spec.defaults win over those the run was started with.
    this.defaults = { ...opts.startDefaults, ...opts.defaults };
    this.startDefaults = opts.startDefaults;
    this.status = {
      runbook: runbook.metadata.name,
      state: 'running',
      startedAt: new Date().toISOString(),
      params,
      steps: [],
      pendingApprovals: [],
      decisions: [],
      compensations: [],
    };
    this.approvals = new ApprovalGates(this.status, startedBy, (st) => this.setRunState(st), runbook);
    // Only runs applied from a plan carry one (older runs' status and commands stay as they were).
    if (opts.plan) {
      this.plan = opts.plan;
      this.status.plan = { hash: opts.plan.hash, drift: [] };
    }
  }

  /** The plan this run applies (`runwright apply`), if any. */
  private readonly plan?: AppliedPlan;

  /** A continued-as-new run picks up the step records of the runs before it. */
  restore(r: RunResume): void {
    for (const s of r.status.steps) this.stepMap.set(s.path, s);
    this.compensations.push(...r.compensations);
    const { steps: _steps, ...rest } = r.status;
    Object.assign(this.status, rest);
  }

  carry(): RunResume['status'] {
    const { startedAt, decisions, approvals, refusals, paramChanges, notices, identity, plan } = this.status;
    // `plan` only when there is one (the drift seen so far), so runs without a plan carry what they did.
    return { startedAt, steps: [...this.stepMap.values()], decisions, approvals, refusals, paramChanges, notices, identity, ...(plan ? { plan } : {}) };
  }

  private stepMeta(withInput: unknown): StepMeta {
    const labels = (this.runbook.metadata as { labels?: Record<string, string> }).labels;
    return { runbook: this.runbook.metadata.name, ...(labels ? { labels } : {}), authorRefs: literalSecretRefs(withInput) };
  }

  /** The status query's answer: secret params masked (it is shown by the CLI, Slack and the UI). */
  snapshot(): RunStatus {
    const secret = secretParamNames((this.runbook as Partial<Runbook>).spec?.params);
    const st = { ...this.status, steps: [...this.stepMap.values()] };
    if (!secret.length) return st;
    const mask = (v: unknown) => (v === null || v === undefined || v === '' ? v : SECRET_MASK);
    const history = paramHistory(st.params, st.paramChanges);
    // A secret param's value (any it has had) can reach step outputs, errors and compensation
    // inputs through expressions: every string the status carries is masked, not only params.
    const deep = <T>(v: T): T =>
      (typeof v === 'string'
        ? maskText(v, history, secret)
        : Array.isArray(v)
          ? v.map(deep)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]))
            : v) as T;
    return {
      ...st,
      params: maskParams(st.params, secret),
      steps: deep(st.steps),
      error: st.error === undefined ? undefined : deep(st.error),
      compensations: deep(st.compensations),
      notices: st.notices === undefined ? undefined : deep(st.notices),
      pendingApprovals: st.pendingApprovals.map((p) => ({ ...p, message: maskText(p.message, history, secret) })),
      paramChanges: st.paramChanges?.map((c) => ({ ...c, changed: Object.fromEntries(Object.entries(c.changed).map(([k, d]) => [k, secret.includes(k) ? { from: mask(d.from), to: mask(d.to) } : d])) })),
    };
  }

  setRunState(state: RunState): void {
    this.status.state = state;
    if (this.searchAttributes) upsertSearchAttributes([{ key: STATE_KEY, value: state }]);
  }

  private track(path: string, id: string, kind: string, detail: boolean): StepStatus | undefined {
    if (!detail) return undefined;
    const s: StepStatus = { path, id, kind, state: 'running', startedAt: new Date().toISOString() };
    this.stepMap.set(path, s);
    return s;
  }

  private end(s: StepStatus | undefined, state: StepState, extra: Partial<StepStatus> = {}): void {
    if (!s) return;
    Object.assign(s, { state, endedAt: new Date().toISOString() }, extra);
  }

  /** Run steps in order; `prefix` makes paths unique inside foreach items ("each[3]."). */
  async runSteps(steps: Step[], scope: Scope, prefix: string, detail = true): Promise<void> {
    for (const step of steps) await this.runStep(step, scope, prefix, detail);
  }

  async runStep(step: Step, scope: Scope, prefix: string, detail = true): Promise<void> {
    const path = prefix + step.id;
    const kind = stepKind(step);
    const st = this.track(path, step.id, kind, detail);
    if (!isTrue(step.when, exprScope(scope))) {
      scope.steps[step.id] = { state: 'skipped', outputs: null };
      this.end(st, 'skipped');
      return;
    }
    try {
      const outputs = await this.execute(step, scope, path, prefix, detail, st);
      scope.steps[step.id] = { state: 'succeeded', outputs };
      this.end(st, 'succeeded', { outputs });
    } catch (err) {
      if (isCancellation(err)) {
        scope.steps[step.id] = { state: 'cancelled' };
        this.end(st, 'cancelled');
        throw err;
      }
      const msg = errorMessage(err);
      scope.steps[step.id] = { state: 'failed', error: msg, outputs: null };
      this.end(st, 'failed', { error: msg });
      // Posted in the Slack thread of the run's approval request, if there is one (no thread: no await).
      if (this.approvals.threadActive) await this.approvals.stepFailed(path, msg);
      if (step.onFailure === 'continue') return;
      throw err;
    }
  }

  private async execute(step: Step, scope: Scope, path: string, prefix: string, detail: boolean, st: StepStatus | undefined): Promise<unknown> {
    if ('action' in step) return this.action(step, scope, path, st);
    if ('foreach' in step) return this.foreach(step, scope, path, st);
    if ('parallel' in step) return this.parallel(step.parallel, scope, prefix, detail);
    if ('steps' in step) {
      await this.runSteps(step.steps, scope, prefix, detail);
      return Object.fromEntries(step.steps.map((s) => [s.id, scope.steps[s.id]?.outputs ?? null]));
    }
    if ('approval' in step) return this.approval(step, scope, path, st);
    if ('sleep' in step) {
      const d = render(step.sleep, exprScope(scope));
      if (typeof d !== 'string' || !DURATION_PATTERN.test(d)) throw ApplicationFailure.nonRetryable(`sleep ${path}: expected a duration such as "30s", got ${JSON.stringify(d)}`, 'InvalidInput');
      await sleep(d as Parameters<typeof sleep>[0]);
      return { slept: d };
    }
    if ('runbook' in step) return this.child(step, scope, path);
    throw ApplicationFailure.nonRetryable(`step ${path}: unknown step kind`, 'InvalidRunbook');
  }

  private async action(step: ActionStep, scope: Scope, path: string, st: StepStatus | undefined): Promise<unknown> {
    // host.play inline plays: runbook values go in as task vars, never into task text (dsl/play-values).
    const input = renderActionInput(step.action, step.with ?? {}, exprScope(scope));
    const opts: ActivityOptions = {
      activityId: path,
      startToCloseTimeout: (step.timeout ?? DEFAULT_STEP_TIMEOUT) as ActivityOptions['startToCloseTimeout'],
      heartbeatTimeout: this.heartbeatTimeout(step.heartbeatTimeout) as ActivityOptions['heartbeatTimeout'],
      retry: toRetry(step.retry),
    };
    const queue = this.siteQueue(step.site, exprScope(scope), path);
    if (queue) opts.taskQueue = queue;
    if (this.plan?.steps[path]) await this.recheck(step, path, input, opts, st);
    // A cancelled step counts as ended only once its activity has stopped, so no compensation
    // (a fault.restore armed earlier, an undo in a parent) runs while it is still at work.
    if (patched('runwright-wait-cancel-v1')) opts.cancellationType = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
    // The second argument tells the worker the top run (for inverses found by label), which
    // runbook asks (its secrets policy grants by runbook) and which secret references the author
    // wrote literally. Activity arguments are not part of replay's determinism check.
    const res = await scheduleActivity<{ outputs: unknown; attempt: number }>(step.action, [input, { ...this.call, ...this.stepMeta(step.with) }], opts);
    if (st) st.attempts = res.attempt;
    // `compensate: none` is no compensation (it only stops the action's inverse being compiled in).
    const comp = step.compensate === 'none' ? undefined : step.compensate;
    if (comp) {
      // Rendered now, while the step's own outputs are in scope; runs later only if needed.
      const selfScope = { ...exprScope(scope), steps: { ...scope.steps, [step.id]: { state: 'succeeded', outputs: res.outputs } } };
      const c: PendingCompensation = {
        path,
        action: comp.action,
        input: renderActionInput(comp.action, comp.with ?? {}, selfScope),
        meta: this.stepMeta(comp.with),
        retry: comp.retry,
        timeout: comp.timeout,
      };
      // Only new fields when set, so compensations of runs without them serialize as before.
      if (comp.heartbeatTimeout ?? this.defaults.heartbeatTimeout) c.heartbeatTimeout = this.heartbeatTimeout(comp.heartbeatTimeout);
      const compQueue = this.siteQueue(comp.site ?? step.site, selfScope, `${path} compensate`);
      if (compQueue) c.taskQueue = compQueue;
      if (comp.when !== undefined) {
        // The same scope the input is rendered with: the result is what it would be at
        // compensation time (CEL is pure), and a child's compensation carries no scope upward.
        try {
          if (!isTrue(comp.when, selfScope)) c.skip = true;
        } catch (e) {
          c.whenError = errorMessage(e);
        }
      }
      this.compensations.push(c);
    }
    return res.outputs;
  }

  /**
   * An applied plan: before a planned step runs, its dry run again, on the input it runs with. The
   * same prediction hash as in the plan: go on. Another (the world drifted, or the input did): the
   * step stops, the drift (planned and live diff) goes in the status, and an approval gate waits
   * on the live plan's hash (`runwright approve --plan-hash`); approved, the step runs.
   */
  private async recheck(step: ActionStep, path: string, input: unknown, opts: ActivityOptions, st: StepStatus | undefined): Promise<void> {
    const planned = this.plan!.steps[path];
    const ask: PlanDryRunInput = { action: step.action, input, meta: this.stepMeta(step.with), mode: 'apply', planHash: this.plan!.hash, path };
    const live = await scheduleActivity<{ kind: string; hash?: string; liveHash?: string; result?: { summary: string; diff?: string } }>(PLAN_DRY_RUN_ACTIVITY, [ask], {
      ...opts,
      activityId: `recheck:${path}`,
      retry: { ...opts.retry, nonRetryableErrorTypes: [...(opts.retry?.nonRetryableErrorTypes ?? []), 'InvalidInput'] },
    });
    if (live.kind !== 'dry-run' || live.hash === planned.hash) return;
    const drift: DriftRecord = {
      step: path,
      at: new Date().toISOString(),
      planned: { hash: planned.hash, summary: planned.summary, ...(planned.diff ? { diff: planned.diff } : {}) },
      live: { hash: live.hash!, summary: live.result!.summary, ...(live.result!.diff ? { diff: live.result!.diff } : {}) },
      planHash: live.liveHash!,
      outcome: 'pending',
    };
    this.status.plan!.drift.push(drift);
    const text = [
      `The world changed since plan ${this.plan!.hash.slice(0, 12)} at step ${path} (${step.action}).`,
      `planned: ${drift.planned.summary}`,
      ...(drift.planned.diff ?? '').split('\n').filter(Boolean).map((l) => `    ${l}`),
      `now:     ${drift.live.summary}`,
      ...(drift.live.diff ?? '').split('\n').filter(Boolean).map((l) => `    ${l}`),
      `Approve the live plan ${drift.planHash} to run the step as it is now.`,
    ].join('\n');
    const gate = `drift:${path}`;
    if (st) st.state = 'waiting';
    try {
      await this.approvals.waitOnPlan({ id: gate, approval: { message: text, allowSelfApproval: true } } as ApprovalStep, gate, text, { plan: text, planHash: drift.planHash });
      drift.outcome = 'approved';
    } catch (e) {
      if (!isCancellation(e)) drift.outcome = 'rejected';
      throw e;
    } finally {
      if (st && st.state === 'waiting') st.state = 'running';
    }
  }

  /**
   * The step's site (its own `site`, else the run's default), or undefined for the run's own task
   * queue. A {{ }} site is rendered with `vars`, the scope the step's input is rendered with.
   */
  private site(own: string | undefined, vars: Record<string, unknown>, path: string): string | undefined {
    const raw = own ?? this.defaults.site;
    if (raw === undefined) return undefined;
    const site = raw.includes('{{') ? render(raw, vars) : raw;
    if (typeof site !== 'string' || !SITE_NAME_RE.test(site)) {
      throw ApplicationFailure.nonRetryable(`step ${path}: site must be a site name (lowercase letters, digits and "-"), got ${JSON.stringify(site)}`, 'InvalidInput');
    }
    return site;
  }

  private siteQueue(own: string | undefined, vars: Record<string, unknown>, path: string): string | undefined {
    const site = this.site(own, vars, path);
    return site === undefined ? undefined : siteTaskQueue(workflowInfo().taskQueue, site);
  }

  /** The step's own heartbeatTimeout, else this runbook's spec.defaults, else the engine's. */
  private heartbeatTimeout(own: string | undefined): string {
    return own ?? this.defaults.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
  }

  private async parallel(branches: Step[], scope: Scope, prefix: string, detail: boolean): Promise<unknown> {
    let first: unknown;
    const inner = new CancellationScope();
    const results = await inner.run(() =>
      Promise.allSettled(
        branches.map(async (b) => {
          try {
            await this.runStep(b, scope, prefix, detail);
          } catch (e) {
            // The first real failure stops the sibling branches.
            if (first === undefined && !isCancellation(e)) {
              first = e;
              inner.cancel();
            }
            throw e;
          }
        }),
      ),
    );
    if (first !== undefined) throw first;
    const cancelled = results.find((r) => r.status === 'rejected');
    if (cancelled) throw (cancelled as PromiseRejectedResult).reason;
    return Object.fromEntries(branches.map((b) => [b.id, scope.steps[b.id]?.outputs ?? null]));
  }

  private async foreach(step: ForeachStep, scope: Scope, path: string, st: StepStatus | undefined): Promise<unknown> {
    const es = exprScope(scope);
    const items = render(step.foreach, es);
    if (!Array.isArray(items)) throw ApplicationFailure.nonRetryable(`foreach ${path}: expected a list, got ${JSON.stringify(items)?.slice(0, 200)}`, 'InvalidInput');
    const batchRaw = step.batch === undefined ? items.length : render(step.batch, es);
    const batchSize = Number(batchRaw);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      if (items.length === 0) return [];
      throw ApplicationFailure.nonRetryable(`foreach ${path}: batch must be an integer >= 1, got ${JSON.stringify(batchRaw)}`, 'InvalidInput');
    }
    const as = step.as ?? 'item';
    const concurrency = step.concurrency ?? DEFAULT_CONCURRENCY;
    const maxFail = step.maxFailPercentage ?? 0;
    const perItem = Math.max(1, countActions(step.steps));
    const chunked = items.length * perItem > INLINE_ACTIVITY_BUDGET && !containsApproval(step.steps);
    const batches = Math.ceil(items.length / batchSize);
    const progress = { total: items.length, succeeded: 0, failed: 0, running: 0, batches, batch: 0 };
    if (st) st.items = progress;
    const results: IterationResult[] = new Array(items.length);
    const detail = items.length <= ITEM_DETAIL_LIMIT;

    for (let b = 0; b < batches; b++) {
      progress.batch = b + 1;
      const start = b * batchSize;
      const batchItems = items.slice(start, start + batchSize);
      let batchResults: IterationResult[];
      if (chunked) {
        batchResults = await this.runChunks(step, scope, path, batchItems, start, as, concurrency, perItem, progress);
      } else {
        batchResults = await pool(batchItems, concurrency, async (item, i) => {
          progress.running++;
          const r = await this.iteration(step.steps, scope, path, as, item, start + i, detail);
          progress.running--;
          r.ok ? progress.succeeded++ : progress.failed++;
          return r;
        });
      }
      for (const r of batchResults) results[r.index] = r;
      const failed = results.filter((r) => r && !r.ok);
      // Like Ansible's max_fail_percentage: checked after each batch, against all items.
      if (failed.length > 0 && (failed.length * 100) / items.length > maxFail) {
        const sample = failed.slice(0, 3).map((r) => `item ${r.index}: ${r.error}`).join('; ');
        throw ApplicationFailure.nonRetryable(
          `foreach ${path}: ${failed.length} of ${items.length} items failed (max ${maxFail}%), stopped after batch ${b + 1} of ${batches}: ${sample}`,
          'ForeachFailed',
        );
      }
    }
    return results.map((r) => (r.ok ? r.outputs : { error: r.error }));
  }

  /** One item of a foreach: its steps see their own outputs, shadowing nothing outside. */
  async iteration(steps: Step[], scope: Scope, path: string, as: string, item: unknown, index: number, detail: boolean): Promise<IterationResult> {
    const local: Scope = { ...scope, steps: { ...scope.steps }, vars: { ...scope.vars, [as]: item, index } };
    try {
      await this.runSteps(steps, local, `${path}[${index}].`, detail);
      return { index, ok: true, outputs: Object.fromEntries(steps.map((s) => [s.id, local.steps[s.id]?.outputs ?? null])) };
    } catch (e) {
      if (isCancellation(e)) throw e;
      return { index, ok: false, error: errorMessage(e) };
    }
  }

  private async runChunks(
    step: ForeachStep,
    scope: Scope,
    path: string,
    items: unknown[],
    firstIndex: number,
    as: string,
    concurrency: number,
    perItem: number,
    progress: NonNullable<StepStatus['items']>,
  ): Promise<IterationResult[]> {
    const chunkSize = Math.max(1, Math.floor(CHUNK_ACTIVITY_BUDGET / perItem));
    const chunks: number[] = [];
    for (let i = 0; i < items.length; i += chunkSize) chunks.push(i);
    const wf = workflowInfo().workflowId;
    const parallelChunks = Math.max(1, Math.ceil(concurrency / chunkSize));
    const out = await pool(chunks, parallelChunks, async (offset) => {
      const slice = items.slice(offset, offset + chunkSize);
      const input: ChunkInput = {
        parentWorkflowId: wf,
        rootWorkflowId: this.call.rootWorkflowId,
        defaults: this.defaults,
        runbook: { name: this.runbook.metadata.name, labels: (this.runbook.metadata as { labels?: Record<string, string> }).labels },
        path,
        steps: step.steps,
        items: slice,
        firstIndex: firstIndex + offset,
        as,
        concurrency: Math.min(concurrency, chunkSize),
        scope: { params: scope.params, steps: scope.steps, run: scope.run, vars: scope.vars, cel: scope.cel },
      };
      progress.running += slice.length;
      const res = await executeChild<(i: ChunkInput) => Promise<ChunkResult>>(FOREACH_CHUNK_WORKFLOW, {
        args: [input],
        workflowId: `${wf}/${path}/${firstIndex + offset}`,
      });
      progress.running -= slice.length;
      this.compensations.push(...res.compensations);
      for (const r of res.iterations) r.ok ? progress.succeeded++ : progress.failed++;
      return res.iterations;
    });
    return out.flat();
  }

  private async approval(step: ApprovalStep, scope: Scope, path: string, st: StepStatus | undefined): Promise<unknown> {
    if (st) st.state = 'waiting';
    return timeApproval(this.runbook.metadata.name, this.approvals.wait(step, path, String(render(step.approval.message, exprScope(scope)))));
  }

  private async child(step: RunbookStep, scope: Scope, path: string): Promise<unknown> {
    const child = this.children[step.runbook];
    if (!child) throw ApplicationFailure.nonRetryable(`runbook "${step.runbook}" was not provided with this run`, 'InvalidRunbook');
    const { values, errors } = resolveParams(child, render(step.with ?? {}, exprScope(scope)));
    if (errors.length) throw ApplicationFailure.nonRetryable(`runbook ${step.runbook}: ${errors.map((e) => e.message).join('; ')}`, 'InvalidInput');
    // The child enforces its `timeout:` itself (like spec.timeout), so an expired child
    // compensates and fails instead of being terminated by the server with its work in place.
    const ownDeadline = step.timeout !== undefined && patched('runwright-child-timeout-v1');
    const args: RunInput = { runbook: child, params: values, children: this.children, startedBy: this.startedBy };
    if (ownDeadline) Object.assign(args, { timeout: step.timeout, rootWorkflowId: this.call.rootWorkflowId });
    else if (patched('runwright-child-root-v1')) args.rootWorkflowId = this.call.rootWorkflowId;
    if (this.startDefaults) args.defaults = this.startDefaults;
    if (step.site !== undefined) {
      const queue = this.siteQueue(step.site, exprScope(scope), path);
      args.site = queue!.slice(queue!.lastIndexOf('@') + 1);
    }
    const res = await executeChild<(i: RunInput) => Promise<RunResult>>(INTERPRETER_WORKFLOW, {
      args: [args],
      workflowId: `${workflowInfo().workflowId}/${path}`,
      ...(ownDeadline ? {} : { workflowExecutionTimeout: step.timeout as ActivityOptions['startToCloseTimeout'] }),
      memo: { runbook: child.metadata.name, parent: workflowInfo().workflowId },
    });
    // If this run fails later, the child's completed work is undone too (unless it must stay).
    if (step.compensateWithParent !== false) this.compensations.push(...res.compensations);
    return res.outputs;
  }

  /** Undo completed steps, newest first. A failing compensation is recorded; the rest still run. */
  async compensate(): Promise<void> {
    const todo = [...this.compensations].reverse();
    this.compensations.length = 0;
    for (const c of todo) {
      const rec = { ...c, state: 'pending' as 'pending' | 'done' | 'failed' | 'skipped', error: undefined as string | undefined };
      this.status.compensations.push(rec);
      if (c.skip) {
        rec.state = 'skipped';
        continue;
      }
      if (c.whenError) {
        rec.state = 'failed';
        rec.error = `compensate.when: ${c.whenError}`;
        continue;
      }
      try {
        await scheduleActivity(c.action, [c.input, { ...this.call, ...(c.meta ?? {}) }], {
          activityId: `compensate:${c.path}`,
          startToCloseTimeout: (c.timeout ?? DEFAULT_STEP_TIMEOUT) as ActivityOptions['startToCloseTimeout'],
          heartbeatTimeout: (c.heartbeatTimeout ?? this.heartbeatTimeout(undefined)) as ActivityOptions['heartbeatTimeout'],
          retry: toRetry({ maximumAttempts: 5, ...(c.retry as RetryPolicy | undefined) }),
          ...(c.taskQueue ? { taskQueue: c.taskQueue } : {}),
        });
        rec.state = 'done';
        const s = this.stepMap.get(c.path);
        if (s) s.state = 'compensated';
      } catch (e) {
        rec.state = 'failed';
        rec.error = errorMessage(e);
      }
    }
  }
}

/** Run `fn` over items with at most `limit` in flight; results keep item order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function installHandlers(it: Interpreter): void {
  setHandler(statusQuery, () => it.snapshot());
  it.approvals.installHandlers();
}

/** Workflow: run a whole runbook. */
export async function runbook(input: RunInput): Promise<RunResult> {
  const it = new Interpreter(input.runbook, input.params, input.children, input.startedBy, input.searchAttributes, {
    rootWorkflowId: input.rootWorkflowId,
    defaults: input.site ? { ...input.runbook.spec.defaults, site: input.site } : input.runbook.spec.defaults,
    startDefaults: input.defaults,
    plan: input.plan,
  });
  installHandlers(it);
  it.approvals.useRun(input);
  // A run continued as new carries its state; `resume` is trusted only when the server says this
  // run was continued from another (a starter cannot skip authorization by sending one).
  const resume = input.resume && workflowInfo().continuedFromExecutionRunId ? input.resume : undefined;
  if (resume) it.restore(resume);
  // The CEL engine, once for the whole run: runs started before the patch (their histories have no
  // marker) stay on cel-js, and a continued run keeps its first run's engine.
  const cel: CelEngineName = resume ? (resume.cel ?? 'cel-js') : patched(CEL_ENGINE_PATCH) ? 'bufbuild' : 'cel-js';
  const startedBy = resume ? resumeIdentity(it, input) : patched(IDENTITY_PATCH) ? await authorizeStart(it, input) : input.startedBy;
  const scope: Scope = {
    params: input.params,
    steps: { ...(resume?.steps ?? {}) },
    run: { id: workflowInfo().workflowId, runbook: input.runbook.metadata.name, startedBy: startedBy ?? null },
    vars: {},
    cel,
  };
  // spec.timeout is enforced here, not as a server-side execution timeout, so an expired run
  // still undoes its work (a drill restores its fault) before it ends.
  const specLimit = resume ? undefined : input.runbook.spec.timeout && patched('runwright-run-timeout-v1') ? input.runbook.spec.timeout : undefined;
  // A child's `timeout:` from its parent step (only parents with runwright-child-timeout-v1 pass it).
  const limit = resume ? resume.limit : [specLimit, input.timeout].filter((d): d is string => !!d).sort((a, b) => msOf(a) - msOf(b))[0];
  // A continued run keeps the first run's deadline, not a fresh one.
  const deadline = resume ? resume.deadline : limit ? Date.now() + msOf(limit) : undefined;
  let timedOut = false;
  let carryFrom: number | undefined;
  try {
    const steps = input.runbook.spec.steps;
    const body = async () => {
      const first = resume?.next ?? 0;
      for (let i = first; i < steps.length; i++) {
        // Long runs: at a top-level step boundary (nothing in flight), hand over to a fresh
        // history before this one nears Temporal's limits.
        if (i > first && historyFull(input) && patched('runwright-continue-as-new-v1')) {
          carryFrom = i;
          return;
        }
        await it.runStep(steps[i], scope, '');
      }
    };
    if (deadline !== undefined) await withDeadline(Math.max(0, deadline - Date.now()), body, () => (timedOut = true));
    else await body();
    if (carryFrom !== undefined) {
      await condition(allHandlersFinished);
      const thread = it.approvals.threadRef;
      const next: RunResume = {
        next: carryFrom,
        steps: scope.steps,
        compensations: it.compensations,
        status: it.carry(),
        deadline,
        limit,
        generation: (resume?.generation ?? 0) + 1,
        cel,
      };
      return await continueAsNew<typeof runbook>({ ...input, params: scope.params, slack: thread ? { ...thread } : input.slack, resume: next });
    }
    it.status.endedAt = new Date().toISOString();
    it.setRunState('succeeded');
    if (it.approvals.threadActive) await it.approvals.runEnded('succeeded');
    await condition(allHandlersFinished);
    const outputs = Object.fromEntries(Object.entries(scope.steps).map(([k, v]) => [k, v.outputs ?? null]));
    return { state: 'succeeded', outputs, compensations: it.compensations };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cancelled = isCancellation(err) && !timedOut;
    if (it.compensations.length) {
      it.setRunState('compensating');
      await CancellationScope.nonCancellable(() => it.compensate());
    }
    it.status.error = timedOut ? `runbook timed out after ${limit}` : errorMessage(err);
    it.status.endedAt = new Date().toISOString();
    it.setRunState(cancelled ? 'cancelled' : 'failed');
    if (it.approvals.threadActive) await CancellationScope.nonCancellable(() => it.approvals.runEnded(it.status.state, it.status.error));
    // A `runwright cancel` (cancelRun Update) answers its client once the cancellation it requested is under way.
    if (cancelled && it.approvals.cancelPending) await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    if (cancelled) throw err;
    const failedComp = it.status.compensations.filter((c) => c.state === 'failed');
    const note = failedComp.length ? ` (${failedComp.length} compensation(s) failed: ${failedComp.map((c) => `${c.path}: ${c.error}`).join('; ')})` : '';
    throw ApplicationFailure.nonRetryable(`${it.status.error}${note}`, 'RunbookFailed');
  }
}

/**
 * The first thing a run with proven identity does, before any step: check who starts it (the
 * signed request in the input, in an activity) and whether the access policy lets them start
 * this runbook. A refused start ends here with no side effect; the refusal is in the history.
 * A child runbook acts as its parent's starter (the server sets the parent; its runbook was part
 * of the parent's signed input).
 */
async function authorizeStart(it: Interpreter, input: RunInput): Promise<string | undefined> {
  it.approvals.enableIdentity();
  const info = workflowInfo();
  if (info.parent) {
    it.status.identity = { user: input.startedBy ?? '', method: 'parent', note: `started by ${info.parent.workflowId}` };
    return input.startedBy;
  }
  const scheduled = (info.searchAttributes as Record<string, unknown[] | undefined> | undefined)?.TemporalScheduledById?.[0];
  const r = await it.approvals.authorize({
    action: 'start',
    user: input.startedBy ?? '',
    proof: input.proof,
    start: { runbook: input.runbook, params: input.params, children: input.children, ...(input.plan ? { plan: input.plan } : {}) },
    scheduledBy: typeof scheduled === 'string' ? scheduled : undefined,
  });
  if (!r.ok) {
    const reason = `start refused: ${r.reason}`;
    (it.status.refusals ??= []).push({ user: input.startedBy ?? '', decision: 'start', reason, at: new Date().toISOString() });
    it.status.error = reason;
    it.status.endedAt = new Date().toISOString();
    it.setRunState('failed');
    throw ApplicationFailure.nonRetryable(reason, 'Unauthorized');
  }
  it.status.identity = r.auth;
  if (!r.auth.user) return input.startedBy;
  it.approvals.setStartedBy(r.auth.user);
  return r.auth.user;
}

/** A continued run keeps the identity its first run proved, and still requires proofs for decisions. */
function resumeIdentity(it: Interpreter, input: RunInput): string | undefined {
  if (it.status.identity) {
    it.approvals.enableIdentity();
    it.approvals.setStartedBy(it.status.identity.user);
    return it.status.identity.user;
  }
  return input.startedBy;
}

/** Temporal suggests continuing as new (or the run's own lower limit, for tests) is reached. */
function historyFull(input: RunInput): boolean {
  const info = workflowInfo();
  if (input.continueAsNewAfterEvents !== undefined) return info.historyLength >= input.continueAsNewAfterEvents;
  return info.continueAsNewSuggested;
}

/** Run `fn`, cancelling it after `ms` (durable timer); `onExpire` is called first, so callers can tell a timeout from a cancel. */
async function withDeadline<T>(ms: number, fn: () => Promise<T>, onExpire: () => void): Promise<T> {
  const body = new CancellationScope();
  const clock = new CancellationScope();
  const timer = clock.run(() => sleep(ms)).then(
    () => {
      onExpire();
      body.cancel();
    },
    () => undefined,
  );
  try {
    return await body.run(fn);
  } finally {
    clock.cancel();
    await timer;
  }
}

/** Workflow: a slice of a large foreach, so no single history grows past Temporal's limits. */
export async function runbookForeachChunk(input: ChunkInput): Promise<ChunkResult> {
  // The chunk's actions belong to the parent's runbook (its secrets grants apply); older chunk inputs lack it.
  const meta = { name: input.runbook?.name ?? String(input.scope.run.runbook ?? `${input.path} chunk`), labels: input.runbook?.labels } as Runbook['metadata'];
  const it = new Interpreter({ metadata: meta }, input.scope.params, {}, undefined, false, {
    rootWorkflowId: input.rootWorkflowId,
    defaults: input.defaults,
  });
  setHandler(statusQuery, () => it.snapshot());
  // The parent's engine; chunks started by workers before the CEL patch pass none (cel-js, as then).
  const scope: Scope = { ...input.scope, steps: { ...input.scope.steps } as Scope['steps'], cel: input.scope.cel ?? 'cel-js' };
  try {
    const iterations = await pool(input.items, input.concurrency, (item, i) =>
      it.iteration(input.steps, scope, input.path, input.as, item, input.firstIndex + i, false),
    );
    return { iterations, compensations: it.compensations };
  } catch (err) {
    // Cancelled: undo this chunk's work here, since the parent never receives it.
    await CancellationScope.nonCancellable(() => it.compensate());
    throw err;
  }
}
