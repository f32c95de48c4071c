/**
 * The one polling helper of the actions: poll a check until it says done, heartbeating progress,
 * with a deadline that survives retries.
 *
 * The deadline counts from the first attempt that started this wait, not from the current
 * attempt: the start time is kept in the heartbeat details under the wait's `key`, and a retry
 * (after a worker crash, a shutdown or a transient failure) that finds the same key there keeps
 * the clock running instead of restarting it. A step's `timeout` and a wait's `timeout` input
 * therefore mean the same thing on attempt 1 and attempt 5.
 */
import { cancellableSleep, type ActionContext } from './define';

export interface PollOptions {
  /** How long the wait may take in all, counted from its first attempt. */
  timeoutMs: number;
  /** One line for people: heartbeated as `progress` (shown by `runwright run`/`status`) and used in the timeout message. */
  what: string;
  /** Identifies this wait in heartbeat details so a retry resumes its deadline (default: `what`). */
  key?: string;
  /** First interval (default 250 ms). */
  intervalMs?: number;
  /** The interval grows by 1.5x up to this (default: intervalMs, i.e. a fixed interval). */
  maxIntervalMs?: number;
  /** Poll at the first interval this long before growing it (default 5 s): most waits end early. */
  fastForMs?: number;
  /** Tolerate this many consecutive errors for which `transient` says true (default none). */
  tolerate?: { count: number; transient(e: unknown): boolean };
  /** Extra heartbeat details (resume data, progress figures) sent with every beat. */
  details?: () => Record<string, unknown> | undefined;
  /** The error to throw when the deadline passes (default: an Error saying `what` is not done). */
  onTimeout?: (elapsedMs: number) => unknown | Promise<unknown>;
}

/** Heartbeat details the helper writes (besides `details()`): what a retry reads back. */
export interface PollBeat {
  key: string;
  startedAt: number;
  progress: string;
}

/** Keys already waited on in this attempt: only the first wait on a key resumes a previous attempt's clock. */
const resumed = new WeakMap<ActionContext, Set<string>>();

/**
 * When the wait `key` started: from the previous attempt's heartbeat, else now. A second wait
 * on the same key in one attempt (wait, change, wait again) is a new wait and starts now.
 */
export function waitStartedAt(ctx: ActionContext, key: string, now = Date.now()): number {
  let seen = resumed.get(ctx);
  if (!seen) resumed.set(ctx, (seen = new Set()));
  const first = !seen.has(key);
  seen.add(key);
  const prev = first ? ctx.heartbeatDetails<Partial<PollBeat>>() : undefined;
  return prev && prev.key === key && typeof prev.startedAt === 'number' && prev.startedAt <= now ? prev.startedAt : now;
}

/**
 * Call `check` until it returns something other than undefined. Between checks it heartbeats
 * `{ key, startedAt, progress, ...details() }`, sleeps (cancellably) and, once the deadline has
 * passed after a check, throws `onTimeout`. The last check runs at the deadline.
 */
export async function poll<T>(ctx: ActionContext, o: PollOptions, check: () => Promise<T | undefined>): Promise<T> {
  const key = o.key ?? o.what;
  const startedAt = waitStartedAt(ctx, key);
  const end = startedAt + o.timeoutMs;
  const first = o.intervalMs ?? 250;
  const max = Math.max(first, o.maxIntervalMs ?? first);
  const fastFor = o.fastForMs ?? 5000;
  const began = Date.now();
  let interval = first;
  let errors = 0;
  const beat = () => ctx.heartbeat({ key, startedAt, progress: o.what, ...(o.details?.() ?? {}) });
  for (;;) {
    try {
      const v = await check();
      errors = 0;
      if (v !== undefined) return v;
    } catch (e) {
      if (ctx.signal.aborted || !o.tolerate || !o.tolerate.transient(e) || ++errors > o.tolerate.count) throw e;
      ctx.log(`${o.what}: transient error while polling (${(e as Error).message}); retrying`);
    }
    beat();
    const now = Date.now();
    if (now >= end) throw await (o.onTimeout ?? defaultTimeout(o.what))(now - startedAt);
    await cancellableSleep(Math.min(interval, end - now + 1), ctx.signal, beat);
    if (Date.now() - began > fastFor) interval = Math.min(max, Math.ceil(interval * 1.5));
  }
}

function defaultTimeout(what: string) {
  return (elapsedMs: number) => new Error(`${what}: not done after ${Math.round(elapsedMs / 1000)} s`);
}
