/** Duration strings of the runbook language ("1h30m") to milliseconds; deterministic, no deps. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function msOf(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}

/** Go-style durations as Temporal accepts them: "500ms", "30s", "4h", "1h30m", "2d" (dsl/schema.ts uses it too; no zod here). */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
