/**
 * Runbook params: one zod schema per runbook, built from its `spec.params`, so `--set`,
 * `--params FILE`, child-runbook `with:` and defaults are all checked and coerced the same way.
 */
import { z } from 'zod';
import type { ParamSpec, Runbook } from './schema';

function baseSchema(spec: Pick<ParamSpec, 'type'>, coerce: boolean): z.ZodTypeAny {
  switch (spec.type) {
    case 'string':
      return z.string();
    case 'integer':
      return coerce ? z.coerce.number().int() : z.number().int();
    case 'number':
      return coerce ? z.coerce.number() : z.number();
    case 'boolean':
      return coerce ? z.stringbool().or(z.boolean()) : z.boolean();
    case 'array':
      return z.array(z.unknown());
    case 'object':
      return z.record(z.string(), z.unknown());
  }
}

export function paramSchema(spec: ParamSpec, coerce: boolean): z.ZodTypeAny {
  let s: z.ZodTypeAny = baseSchema(spec, coerce);
  if (s instanceof z.ZodNumber || (coerce && (spec.type === 'integer' || spec.type === 'number'))) {
    let n = s as z.ZodNumber;
    if (spec.minimum !== undefined) n = n.min(spec.minimum, `must be >= ${spec.minimum}`);
    if (spec.maximum !== undefined) n = n.max(spec.maximum, `must be <= ${spec.maximum}`);
    s = n;
  }
  if (spec.type === 'string' && spec.pattern) s = (s as z.ZodString).regex(new RegExp(spec.pattern), `must match /${spec.pattern}/`);
  if (spec.type === 'array' && spec.items) {
    const item = baseSchema(spec.items, coerce);
    // `--set hosts=a,b` is the CLI's list form.
    s = coerce ? z.preprocess((v) => (typeof v === 'string' ? (v === '' ? [] : v.split(',')) : v), z.array(item)) : z.array(item);
  }
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
    else errors.push({ param: name, message: `param "${name}": ${r.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(given)})` });
  }
  return { values, errors };
}
