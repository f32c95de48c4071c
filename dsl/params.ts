/**
 * Runbook params: one zod schema per runbook, built from its `spec.params`, so `--set`,
 * `--params FILE`, child-runbook `with:` and defaults are all checked and coerced the same way.
 */
import { z } from 'zod';
import type { ParamSpec, Runbook } from './schema';

const BOOL_WORDS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, on: true, off: false, '1': true, '0': false };

/** `--set` gives strings; turn them into the declared type, leaving anything unclear to fail. */
function coerceTo(type: ParamSpec['type'], v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  switch (type) {
    case 'integer':
    case 'number':
      // Number('') is 0; an empty value is not a number.
      return t === '' ? v : Number(t);
    case 'boolean':
      return Object.hasOwn(BOOL_WORDS, t.toLowerCase()) ? BOOL_WORDS[t.toLowerCase()] : v;
    case 'object':
    case 'array':
      if (t.startsWith('{') || t.startsWith('[')) {
        try {
          return JSON.parse(t);
        } catch {
          return v;
        }
      }
      // The CLI's list form: `--set hosts=a,b`.
      return type === 'array' ? (t === '' ? [] : v.split(',')) : v;
    default:
      return v;
  }
}

function typed(spec: Pick<ParamSpec, 'type' | 'minimum' | 'maximum' | 'pattern'>, items?: z.ZodTypeAny): z.ZodTypeAny {
  switch (spec.type) {
    case 'string': {
      let s = z.string({ error: 'expected a string' });
      if (spec.pattern) s = s.regex(new RegExp(spec.pattern), `must match /${spec.pattern}/`);
      return s;
    }
    case 'integer':
    case 'number': {
      let n = z.number({ error: 'expected a number' });
      if (spec.type === 'integer') n = n.int({ error: 'expected a whole number' });
      if (spec.minimum !== undefined) n = n.min(spec.minimum, `must be >= ${spec.minimum}`);
      if (spec.maximum !== undefined) n = n.max(spec.maximum, `must be <= ${spec.maximum}`);
      return n;
    }
    case 'boolean':
      return z.boolean({ error: 'expected true or false' });
    case 'array':
      return z.array(items ?? z.unknown(), { error: 'expected a list' });
    case 'object':
      return z.record(z.string(), z.unknown(), { error: 'expected a mapping' });
  }
}

/**
 * The schema one param's values must satisfy. With `coerce`, strings (from `--set k=v`) are
 * first turned into the declared type: numbers, booleans (true/false/yes/no/on/off/1/0), lists
 * ("a,b" or JSON) and objects (JSON).
 */
export function paramSchema(spec: ParamSpec, coerce: boolean): z.ZodTypeAny {
  const wrap = (type: ParamSpec['type'], s: z.ZodTypeAny) => (coerce ? z.preprocess((v) => coerceTo(type, v), s) : s);
  const items = spec.type === 'array' && spec.items ? wrap(spec.items.type, typed(spec.items)) : undefined;
  let s = wrap(spec.type, typed(spec, items));
  if (spec.enum) {
    const allowed = spec.enum;
    s = s.refine((v) => allowed.includes(v as never), { message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` });
  }
  return s;
}

export interface ParamError {
  param: string;
  message: string;
}

/**
 * Apply defaults and check every param. `coerce` turns strings from `--set k=v` into numbers,
 * booleans and lists; values from YAML/JSON files keep their types.
 */
export function resolveParams(
  runbook: Pick<Runbook, 'spec'>,
  provided: Record<string, unknown>,
  opts: { coerce?: Set<string> } = {},
): { values: Record<string, unknown>; errors: ParamError[] } {
  const specs = runbook.spec.params ?? {};
  const values: Record<string, unknown> = {};
  const errors: ParamError[] = [];
  for (const name of Object.keys(provided)) {
    if (!(name in specs)) {
      const known = Object.keys(specs);
      errors.push({ param: name, message: `unknown param "${name}"${known.length ? ` (known: ${known.join(', ')})` : ' (the runbook declares no params)'}` });
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const given = provided[name];
    if (given === undefined) {
      if (spec.default !== undefined) values[name] = spec.default;
      else if (spec.required === false) values[name] = null;
      else errors.push({ param: name, message: `param "${name}" is required (${spec.type}${spec.description ? `: ${spec.description}` : ''})` });
      continue;
    }
    const r = paramSchema(spec, opts.coerce?.has(name) ?? false).safeParse(given);
    if (r.success) values[name] = r.data;
    else errors.push({ param: name, message: `param "${name}": ${r.error.issues.map((i) => `${i.path.length ? `item ${i.path.join('.')}: ` : ''}${i.message}`).join('; ')} (got ${JSON.stringify(given)})` });
  }
  return { values, errors };
}

/** What secret param values are shown as (plan, status, Slack cards). */
export const SECRET_MASK = '***';

/** Names of the params declared `secret: true`. */
export function secretParamNames(specs: Record<string, Pick<ParamSpec, 'secret'>> | undefined): string[] {
  return Object.entries(specs ?? {})
    .filter(([, s]) => s?.secret === true)
    .map(([n]) => n);
}

/** Params for display: secret ones replaced by the mask (unset ones, null or "", stay as they are). */
export function maskParams(params: Record<string, unknown>, secret: readonly string[]): Record<string, unknown> {
  if (!secret.length) return params;
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, secret.includes(k) && v !== null && v !== undefined && v !== '' ? SECRET_MASK : v]));
}

/**
 * Text for display with every secret param's value replaced by the mask, wherever templates put
 * it. `params` may be several sets (current values and earlier ones: a message rendered before a
 * params change holds the old value). Values shorter than 4 characters are left alone: masking
 * "1" would garble everything.
 */
export function maskText(text: string, params: Record<string, unknown> | Record<string, unknown>[], secret: readonly string[]): string {
  let out = text;
  for (const set of Array.isArray(params) ? params : [params])
    for (const name of secret) {
      const v = set[name];
      if (v === null || v === undefined) continue;
      const forms = typeof v === 'string' ? [v, JSON.stringify(v).slice(1, -1)] : [JSON.stringify(v)];
      for (const f of forms) if (f.length >= 4) out = out.split(f).join(SECRET_MASK);
    }
  return out;
}

/** Every value params have had in a run: the current ones and those before each change. */
export function paramHistory(params: Record<string, unknown>, changes: readonly { changed: Record<string, { from: unknown }> }[] = []): Record<string, unknown>[] {
  return [params, ...changes.map((c) => Object.fromEntries(Object.entries(c.changed).map(([k, d]) => [k, d.from])))];
}

/**
 * The JSON Schema of a runbook's params (for forms and the API): each ParamSpec is already in
 * JSON Schema's terms; `secret` becomes writeOnly + format "password", `required` the list.
 */
export function paramsJsonSchema(specs: Record<string, ParamSpec> | undefined): {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required: string[];
  additionalProperties: false;
} {
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const [name, p] of Object.entries(specs ?? {})) {
    const s: Record<string, unknown> = { type: p.type };
    if (p.description) s.description = p.description;
    if (p.default !== undefined) s.default = p.default;
    if (p.enum) s.enum = p.enum;
    if (p.minimum !== undefined) s.minimum = p.minimum;
    if (p.maximum !== undefined) s.maximum = p.maximum;
    if (p.pattern) s.pattern = p.pattern;
    if (p.items) s.items = { type: p.items.type };
    if (p.secret) Object.assign(s, { writeOnly: true, format: 'password' });
    properties[name] = s;
    if (p.default === undefined && p.required !== false) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}
