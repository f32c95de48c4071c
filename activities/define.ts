/**
 * An action is one file: its zod input schema, what it does (a Temporal activity), and an
 * optional dry-run for plan mode. Like an Ansible module, it says whether it changed anything.
 */
import { z } from 'zod';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { maskDeep, redact, SecretError, withSecretScope, type SecretScope } from '../lib/secrets';
import type { StepMeta } from '../dsl/secret-ref';

export interface ActionContext {
  /** Stable across retries of the same step in the same run: the key for idempotent creates. */
  idempotencyKey: string;
  attempt: number;
  /** Aborted when the step is cancelled (delivered through heartbeats). */
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  /** Details from the last heartbeat of a previous attempt, to resume long work. */
  heartbeatDetails<T = unknown>(): T | undefined;
  log(message: string): void;
}

export interface ActionDefinition<S extends z.ZodTypeAny = z.ZodTypeAny, O = unknown> {
  name: string;
  description: string;
  input: S;
  run(input: z.output<S>, ctx: ActionContext): Promise<O>;
  /** Plan mode: say what would happen, without side effects. */
  plan?(input: z.output<S>): string;
}

export function defineAction<S extends z.ZodTypeAny, O>(def: ActionDefinition<S, O>): ActionDefinition<S, O> {
  return def;
}

/** What every activity returns to the interpreter; `attempt` feeds the status query. */
export interface ActionResult<O = unknown> {
  outputs: O;
  attempt: number;
}

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
 * Wrap an action as a Temporal activity: re-check input, build the context, run. Secrets the
 * action resolves are scoped to the step's runbook (`meta` from the interpreter) and recorded
 * for this execution only; every value resolved is masked here, once for every action, in
 * outputs, heartbeat details, log lines and thrown errors.
 */
export function toActivity(def: ActionDefinition): (input: unknown, meta?: unknown) => Promise<ActionResult> {
  return async (input: unknown, meta?: unknown) => {
    const ctx = Context.current();
    const parsed = def.input.safeParse(input ?? {});
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
      throw ApplicationFailure.nonRetryable(`${def.name}: invalid input: ${msg}`, 'InvalidInput');
    }
    const info = ctx.info;
    const values = new Set<string>();
    const mask = <T>(v: T): T => (values.size ? maskDeep(v, values) : v);
    const actionCtx: ActionContext = {
      idempotencyKey: `${info.workflowExecution?.workflowId ?? "standalone"}:${info.activityId}`,
      attempt: info.attempt,
      signal: ctx.cancellationSignal,
      heartbeat: (d) => ctx.heartbeat(mask(d)),
      heartbeatDetails: <T>() => info.heartbeatDetails as T | undefined,
      log: (m) => ctx.log.info(mask(m), { action: def.name }),
    };
    const run = withSecretScope(scopeFrom(meta), () => def.run(parsed.data, actionCtx), values);
    try {
      const outputs = await run.result;
      return { outputs: mask(outputs ?? null), attempt: info.attempt };
    } catch (e) {
      // A refused or missing secret will not appear on a retry: fail the step now, clearly.
      if (e instanceof SecretError) throw maskError(ApplicationFailure.nonRetryable(`${def.name}: ${e.message}`, 'SecretRefused'), values);
      throw maskError(e, values);
    }
  };
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
