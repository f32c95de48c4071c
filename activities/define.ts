/**
 * An action is one file: its zod input schema, what it does (a Temporal activity), and an
 * optional dry-run for plan mode. Like an Ansible module, it says whether it changed anything.
 */
import { z } from 'zod';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isWorkerShutdown } from '../lib/shutdown';
import { msField } from '../dsl/duration';
import { maskDeep, redact, SecretError, withSecretScope, type SecretScope } from '../lib/secrets';
import type { StepMeta } from '../dsl/secret-ref';
import type { ActionDefaults, ActionInverse } from '../dsl/contract';
import type { DryRunResult, Plugin } from './plugin';

export type { DryRunResult } from './plugin';

export interface ActionContext {
  /** Stable across retries of the same step in the same run: the key for idempotent creates. */
  idempotencyKey: string;
  /** This run's execution of the step (run id included): what attempts share, and a rerun under the same workflow id does not. */
  executionKey: string;
  attempt: number;
  /** Aborted when the step is cancelled (delivered through heartbeats). */
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  /** Details from the last heartbeat of a previous attempt, to resume long work. */
  heartbeatDetails<T = unknown>(): T | undefined;
  log(message: string): void;
  /**
   * The workflow id of the run this step belongs to at the top: the same in a child runbook
   * and in its parent, so an inverse (fault.restore) compensated in the parent finds what the
   * child did. Undefined outside the interpreter.
   */
  rootWorkflowId?: string;
  /** The workflow run this step belongs to; undefined outside a workflow. */
  workflow?: { workflowId: string; runId: string; namespace: string };
  /** The worker's Temporal client (reading a run's history); actions use this, never Context.current(). Throws when the worker has none (a bare test environment). */
  readonly client?: Client;
}

/** What the interpreter passes to every activity beside the action input. */
export interface CallContext {
  rootWorkflowId?: string;
}

/** An action is the Plugin family's widest member (activities/plugin.ts): run in a Temporal activity. */
export interface ActionDefinition<S extends z.ZodTypeAny = z.ZodTypeAny, O = unknown> extends Plugin<S, ActionContext, O> {
  /** Plan mode: say what would happen, without side effects. */
  plan?(input: z.output<S>): string;
  /**
   * Dry run: read the current state and report what `run` would change, changing nothing.
   * Every action that changes anything has one; `readOnly` actions need none.
   */
  dryRun?(input: z.output<S>, ctx: ActionContext): Promise<DryRunResult>;
  /** The action changes nothing outside the run (reads, waits, probes, logs). */
  readOnly?: boolean;
  /**
   * A quick read-only action whose outputs later steps use (names, ids): `runwright plan` runs it
   * to feed its outputs forward instead of marking them "(known after apply)". Only with readOnly.
   */
  predicts?: boolean;
  /**
   * Activity options for steps of this action that set none (the step's own value, then the
   * runbook's spec.defaults, win). Compiled into the runbook when it is loaded (dsl/contract.ts).
   */
  defaults?: ActionDefaults;
  /**
   * The action that undoes this one: a step of this action that writes no `compensate` gets this
   * one (`compensate: none` opts out). Templates over `input.<field>` (the step's own `with`
   * value, copied as written) and `outputs.<field>` (the step's outputs).
   */
  inverse?: ActionInverse;
  /** Problems in `{{ }}` template text of the (unrendered) input that the schema cannot see; offset is within the string at path. */
  templateProblems?(input: unknown): { path: (string | number)[]; offset: number; message: string }[];
}

export type { ActionDefaults, ActionInverse } from '../dsl/contract';

/**
 * An action's own time limit (per request, per command) is named `timeout`: milliseconds or a
 * duration ("10s"), read by dsl/duration.ts msField. `timeoutMs` (milliseconds) is its deprecated
 * old name, still accepted so existing runbooks validate; `timeout` wins when both are given.
 * A shape to spread into the input's object schema (it stays a plain object, so a
 * discriminated union can hold it); read the value with timeoutOf.
 */
export function timeoutFields(min: number, max: number, defaultMs: number, what: string) {
  return {
    timeout: msField(min, max).optional().describe(`${what} Milliseconds or a duration (default ${defaultMs}ms).`),
    timeoutMs: z.number().int().min(min).max(max).optional().describe('Deprecated: the old name of `timeout` (milliseconds).'),
  };
}

/** The time limit of an input with timeoutFields, in milliseconds. */
export function timeoutOf(input: { timeout?: number; timeoutMs?: number }, defaultMs: number): number {
  return input.timeout ?? input.timeoutMs ?? defaultMs;
}

export function defineAction<S extends z.ZodTypeAny, O>(def: ActionDefinition<S, O>): ActionDefinition<S, O> {
  return def;
}


/**
 * A dry run for an action whose input already has a "change nothing" switch (`dryRun: true`,
 * or `check: true` for host plays): run it with the switch on and read `changed`/`diff` from
 * its outputs.
 */
export function dryRunVia<I extends object>(flag: 'dryRun' | 'check', run: (input: I, ctx: ActionContext) => Promise<unknown>, summary: (input: I, outputs: any) => string) {
  return async (input: I, ctx: ActionContext): Promise<DryRunResult> => {
    // The step itself only checks (its switch is on in the input): it changes nothing when it runs.
    if ((input as Record<string, unknown>)[flag] === true) return { changed: false, effect: 'none', summary: `${flag === 'check' ? 'check mode' : 'dry run'} only: changes nothing` };
    const out = (await run({ ...input, [flag]: true }, ctx)) as { changed?: unknown; diff?: unknown } | null;
    const diff = out?.diff === undefined || out.diff === null ? undefined : typeof out.diff === 'string' ? out.diff : JSON.stringify(out.diff, null, 1);
    const effect = (out as { effect?: unknown } | null)?.effect;
    return { changed: !!out?.changed, effect: typeof effect === 'string' ? (effect as DryRunResult['effect']) : out?.changed ? 'change' : 'none', summary: typeof (out as { summary?: unknown } | null)?.summary === 'string' ? (out as { summary: string }).summary : summary(input, out), ...(diff !== undefined ? { diff } : {}) };
  };
}

/** The action with a dry run through its own switch (see dryRunVia); the summary is its plan text. */
export function withDryRunSwitch<D extends ActionDefinition<any, any>>(def: D, flag: 'dryRun' | 'check'): D {
  return { ...def, dryRun: dryRunVia(flag, (i, ctx) => def.run(i, ctx), (i) => (def.plan ? def.plan(i) : def.name)) };
}

/**
 * The standard result shape of an action's outputs, as of an Ansible module: did it change
 * anything, and, when there is one, a diff and a one-line summary, beside the action's own
 * outputs. The wrapper (toActivity) fills in `changed: false` for a readOnly action that does not
 * say; an action that changes things says so itself (`changed` is its own claim, never guessed).
 */
export type StandardResult<O extends object = Record<string, unknown>> = { changed: boolean; diff?: string; summary?: string } & O;

/** Outputs in the standard shape where the wrapper can tell: a readOnly action's plain-object outputs get `changed: false`. */
export function standardOutputs(def: Pick<ActionDefinition, 'readOnly'>, outputs: unknown): unknown {
  if (!def.readOnly || !outputs || typeof outputs !== 'object' || Array.isArray(outputs) || 'changed' in outputs) return outputs;
  return { ...(outputs as Record<string, unknown>), changed: false };
}

/** What every activity returns to the interpreter; `attempt` feeds the status query. */
export interface ActionResult<O = unknown> {
  outputs: O;
  attempt: number;
}

/** Temporal refuses payloads over 2 MB; stop well before, with a message that says why. */
export const MAX_OUTPUT_BYTES = 1.5 * 1024 * 1024;
/** Wrapper heartbeat interval when the step has no heartbeatTimeout (runs started before it had one). */
const FALLBACK_HEARTBEAT_MS = 5000;

/** The interpreter's second activity argument, checked: anything else means "no runbook known". */
function scopeFrom(meta: unknown): SecretScope {
  const m = (meta ?? {}) as Partial<StepMeta>;
  return {
    runbook: typeof m.runbook === 'string' ? m.runbook : undefined,
    labels: m.labels && typeof m.labels === 'object' ? (m.labels as Record<string, string>) : undefined,
    authorRefs: Array.isArray(m.authorRefs) ? m.authorRefs.filter((r): r is string => typeof r === 'string') : [],
  };
}

/** Mask in place what a thrown error carries (message, stack, details, causes), keeping its type. */
function maskError(e: unknown, values: Set<string>, depth = 0): unknown {
  if (!values.size || !e || typeof e !== 'object' || depth > 8) return e;
  const err = e as { message?: unknown; stack?: unknown; details?: unknown; cause?: unknown };
  const secrets = [...values];
  try {
    if (typeof err.message === 'string') err.message = redact(err.message, secrets);
    if (typeof err.stack === 'string') err.stack = redact(err.stack, secrets);
    if (Array.isArray(err.details)) err.details = maskDeep(err.details, secrets);
    if (err.cause) maskError(err.cause, values, depth + 1);
  } catch {
    /* a frozen error: fall through with what we could do */
  }
  return e;
}

/**
 * Wrap an action as a Temporal activity: re-check input, build the context, run.
 *
 * The wrapper heartbeats on its own while the action runs (every third of the step's
 * heartbeatTimeout), so a step on a worker that dies is retried elsewhere after the heartbeat
 * timeout instead of the whole start-to-close timeout, and a cancel reaches every action. It
 * re-sends the action's latest heartbeat details (or the previous attempt's) so progress is
 * never overwritten with nothing.
 *
 * Secrets the action resolves are scoped to the step's runbook (`meta` from the interpreter) and
 * recorded for this execution only; every value resolved is masked here, once for every action,
 * in outputs, heartbeat details, log lines and thrown errors.
 */
export function toActivity(def: ActionDefinition): (input: unknown, meta?: unknown) => Promise<ActionResult> {
  return (input: unknown, meta?: unknown) => invokeAction(def, input, meta, (i, ctx) => def.run(i, ctx));
}

/**
 * One call of an action inside the current activity, with everything toActivity gives it (input
 * re-checked, context, heartbeats, secrets scoped and masked, output size checked); `invoke` says
 * what to call: `run`, or its dry run (activities/plan/dry-run.ts).
 */
export async function invokeAction<R = unknown>(def: ActionDefinition, input: unknown, meta: unknown, invoke: (input: any, ctx: ActionContext) => Promise<R>): Promise<ActionResult<R>> {
  const call = (meta && typeof meta === 'object' ? meta : {}) as CallContext;
  const ctx = Context.current();
  const parsed = def.input.safeParse(input ?? {});
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    throw ApplicationFailure.nonRetryable(`${def.name}: invalid input: ${msg}`, 'InvalidInput');
  }
  const info = ctx.info;
  const values = new Set<string>();
  const mask = <T>(v: T): T => (values.size ? maskDeep(v, values) : v);
  let details: unknown = info.heartbeatDetails;
  const beat = () => ctx.heartbeat(mask(details));
  const actionCtx: ActionContext = {
    idempotencyKey: `${info.workflowExecution?.workflowId ?? "standalone"}:${info.activityId}`,
    executionKey: `${info.workflowExecution?.workflowId ?? "standalone"}:${info.workflowExecution?.runId ?? ""}:${info.activityId}`,
    attempt: info.attempt,
    signal: ctx.cancellationSignal,
    heartbeat: (d) => {
      details = d;
      beat();
    },
    heartbeatDetails: <T>() => info.heartbeatDetails as T | undefined,
    log: (m) => ctx.log.info(mask(m), { action: def.name }),
    rootWorkflowId: typeof call.rootWorkflowId === 'string' ? call.rootWorkflowId : info.workflowExecution?.workflowId,
    workflow: info.workflowExecution ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId, namespace: info.workflowNamespace ?? 'default' } : undefined,
    get client() {
      return ctx.client;
    },
  };
  // No beat at the start: a short action costs no extra RPC, and until the first one the
  // server still holds the previous attempt's details.
  const timer = setInterval(beat, info.heartbeatTimeoutMs ? Math.max(100, Math.floor(info.heartbeatTimeoutMs / 3)) : FALLBACK_HEARTBEAT_MS);
  let outputs: unknown;
  try {
    outputs = await withSecretScope(scopeFrom(meta), () => invoke(parsed.data, actionCtx), values).result;
  } catch (err) {
    // After the worker's shutdown grace time the SDK cancels running activities with reason
    // WORKER_SHUTDOWN (SSH commands are left to finish, activities/host/ssh.ts). That is no cancel of the
    // step: fail this attempt retryably, so the step runs again on another worker.
    if (ctx.cancellationSignal.aborted && isWorkerShutdown(ctx.cancellationSignal.reason)) {
      throw maskError(ApplicationFailure.retryable(`${def.name}: worker shutting down; the step will be retried (${(err as Error)?.message ?? err})`, 'WorkerShutdown'), values);
    }
    // A refused or missing secret will not appear on a retry: fail the step now, clearly.
    if (err instanceof SecretError) throw maskError(ApplicationFailure.nonRetryable(`${def.name}: ${err.message}`, 'SecretRefused'), values);
    throw maskError(err, values);
  } finally {
    clearInterval(timer);
  }
  outputs = standardOutputs(def, mask(outputs ?? null));
  // Checked here, before the SDK sends it: an oversized result would otherwise fail the
  // workflow task (or the run) with a message that names neither the step nor the size.
  const size = Buffer.byteLength(JSON.stringify(outputs) ?? '', 'utf8');
  if (size > MAX_OUTPUT_BYTES) {
    throw ApplicationFailure.nonRetryable(
      `step ${info.activityId}: ${def.name} returned ${(size / 1048576).toFixed(2)} MB of outputs, more than the ${(MAX_OUTPUT_BYTES / 1048576).toFixed(1)} MB a step may return (Temporal's payload limit is 2 MB); return less, or write it elsewhere and return a reference`,
      'OutputTooLarge',
    );
  }
  return { outputs: outputs as R, attempt: info.attempt };
}

/** Sleep that ends early, with the abort reason, when the activity is cancelled. */
export function cancellableSleep(ms: number, signal: AbortSignal, onTick?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const tick = onTick ? setInterval(onTick, Math.min(1000, Math.max(50, ms / 4))) : undefined;
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      if (tick) clearInterval(tick);
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      if (tick) clearInterval(tick);
      reject(signal.reason);
    }
    signal.addEventListener('abort', abort, { once: true });
  });
}
