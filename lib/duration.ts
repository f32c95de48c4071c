/**
 * Durations in action inputs: either milliseconds (a number) or a duration string as in runbooks
 * ("500ms", "2s", "5m", "1h30m"). Both parse to milliseconds.
 */
import { z } from 'zod';
import { DURATION_RE } from '../dsl/schema';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationMs(text: string): number {
  if (!DURATION_RE.test(text)) throw new Error(`not a duration: ${JSON.stringify(text)} (expected e.g. "500ms", "30s", "5m")`);
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(ms);
}

/** Zod field: milliseconds or a duration string, parsed to milliseconds, within [min, max]. */
export function msField(min: number, max: number) {
  return z
    .union([z.number().int(), z.string().regex(DURATION_RE, 'expected milliseconds or a duration such as "500ms", "30s", "5m"')])
    .transform((v) => (typeof v === 'number' ? v : parseDurationMs(v)))
    .pipe(z.number().int().min(min, `must be at least ${min}ms`).max(max, `must be at most ${max}ms`));
}
