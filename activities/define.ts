/**
 * An action is one file: its zod input schema, what it does (a Temporal activity), and an
 * optional dry-run for plan mode. Like an Ansible module, it says whether it changed anything.
 */
import { z } from 'zod';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

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
  /** Problems in `{{ }}` template text of the (unrendered) input that the schema cannot see; offset is within the string at path. */
  templateProblems?(input: unknown): { path: (string | number)[]; offset: number; message: string }[];
}

export function defineAction<S extends z.ZodTypeAny, O>(def: ActionDefinition<S, O>): ActionDefinition<S, O> {
  return def;
}

/** What every activity returns to the interpreter; `attempt` feeds the status query. */
export interface ActionResult<O = unknown> {
  outputs: O;
  attempt: number;
}

/** Wrap an action as a Temporal activity: re-check input, build the context, run. */
export function toActivity(def: ActionDefinition): (input: unknown) => Promise<ActionResult> {
  return async (input: unknown) => {
    const ctx = Context.current();
    const parsed = def.input.safeParse(input ?? {});
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
      throw ApplicationFailure.nonRetryable(`${def.name}: invalid input: ${msg}`, 'InvalidInput');
    }
    const info = ctx.info;
    const actionCtx: ActionContext = {
      idempotencyKey: `${info.workflowExecution?.workflowId ?? "standalone"}:${info.activityId}`,
      attempt: info.attempt,
      signal: ctx.cancellationSignal,
      heartbeat: (d) => ctx.heartbeat(d),
      heartbeatDetails: <T>() => info.heartbeatDetails as T | undefined,
      log: (m) => ctx.log.info(m, { action: def.name }),
    };
    const outputs = await def.run(parsed.data, actionCtx);
    return { outputs: outputs ?? null, attempt: info.attempt };
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
