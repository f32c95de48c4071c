/**
 * The one duration grammar of Runwright: runbooks, action inputs, CLI flags, environment
 * variables and workflow code all read durations here.
 *
 *   duration := (number unit)+     number := digits[.digits]     unit := ms | s | m | h | d
 *
 * so "500ms", "30s", "5m", "4h", "2d" and combined "1h30m" (Go/Temporal style plus `d`).
 * The core (DURATION_RE, durationMs, parseDurationMs, msOf) is pure and deterministic, so
 * workflow code may import it; the zod fields at the end are for schemas (dsl/, activities/).
 */
import { z } from 'zod';

/** Whole-string match of one duration ("1h30m"). */
export const DURATION_RE = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
/** Same grammar, for code that predates the rename. */
export const DURATION_PATTERN = DURATION_RE;
/** What the grammar means, for error messages. */
export const DURATION_HINT = 'a duration such as "500ms", "30s", "5m", "4h" or "1h30m"';

const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function isDuration(text: unknown): text is string {
  return typeof text === 'string' && DURATION_RE.test(text);
}

/**
 * Sum of the parts, without checking the whole string first (the caller validated it, as
 * workflow code does with schema-checked runbooks; it must not throw there). Not rounded.
 */
export function msOf(text: string): number {
  let total = 0;
  for (const m of text.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

/** A duration string to milliseconds (not rounded); throws on anything else. */
export function durationMs(text: string): number {
  if (!isDuration(text)) throw new Error(`not a duration: ${JSON.stringify(text)} (expected ${DURATION_HINT})`);
  return msOf(text);
}

/** A duration string to whole milliseconds; throws on anything else. */
export function parseDurationMs(text: string): number {
  return Math.round(durationMs(text));
}

/** Milliseconds as a number, or a duration string, to milliseconds. */
export function toMs(d: number | string): number {
  return typeof d === 'number' ? d : durationMs(d);
}

/**
 * Temporal's own reading of a cron `@every <interval>[/<phase>]` (Go's time.ParseDuration plus
 * `d`): wider than the runbook grammar (ns, us, signs, ".5s"). Only the schedule checker uses it,
 * to refuse exactly what the server would; it is not a grammar for Runwright's own fields.
 */
export function goDurationMs(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const m = /^([+-]?)(.*)$/.exec(text)!;
  if (m[2] === '0') return 0;
  if (!m[2] || !/^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+$/.test(m[2])) return undefined;
  let ms = 0;
  for (const x of m[2].matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g)) ms += Number(x[1]) * units[x[2]];
  return m[1] === '-' ? -ms : ms;
}

// ---- zod fields ------------------------------------------------------------------------------

/** A duration string (kept as text: runbook fields, Temporal options). */
export const DurationString = z.string().regex(DURATION_RE, { message: `expected ${DURATION_HINT}` });

/** Milliseconds or a duration string, kept as given (read it with toMs). */
export function msOrDuration(minMs = 0) {
  return z.union([z.number().int().min(minMs), DurationString]);
}

/** Zod field: milliseconds or a duration string, parsed to milliseconds, within [min, max]. */
export function msField(min: number, max: number) {
  return z
    .union([z.number().int(), z.string().regex(DURATION_RE, `expected milliseconds or ${DURATION_HINT}`)])
    .transform((v) => (typeof v === 'number' ? v : parseDurationMs(v)))
    .pipe(z.number().int().min(min, `must be at least ${min}ms`).max(max, `must be at most ${max}ms`));
}
