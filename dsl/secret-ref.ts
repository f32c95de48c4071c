/**
 * Secret reference syntax, pure (the interpreter workflow imports it): `secret:NAME` (granted
 * in the worker's secrets policy), `env:NAME`, `file:PATH`. See lib/secrets.ts.
 */
export const SECRET_REF_PATTERN = /^(secret:[A-Za-z0-9][A-Za-z0-9_.\/-]*|env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/;

/** What the interpreter tells every action it schedules (second activity argument). */
export interface StepMeta {
  /** metadata.name of the runbook the step belongs to. */
  runbook: string;
  labels?: Record<string, string>;
  /** Secret references written literally in the step's `with:` (no `{{ }}`): the author's choice. */
  authorRefs: string[];
}

/** Secret references written literally (not through an expression) in a step's `with:`. */
export function literalSecretRefs(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 64) return out;
  if (typeof v === 'string') {
    if (!v.includes('{{') && SECRET_REF_PATTERN.test(v) && !out.includes(v)) out.push(v);
  } else if (Array.isArray(v)) for (const x of v) literalSecretRefs(x, out, depth + 1);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) literalSecretRefs(x, out, depth + 1);
  return out;
}
