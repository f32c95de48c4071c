/**
 * Expressions inside runbooks: `{{ CEL }}` placeholders in strings.
 *
 * CEL (Common Expression Language, as in Kubernetes admission policies) is side-effect free,
 * has no eval, and is deterministic, so the same code runs in the CLI, the validator and the
 * Temporal workflow sandbox. A string that is exactly one placeholder yields the typed value
 * (a list stays a list); otherwise placeholders are stringified into the text.
 */
import { checkCost, ExpressionError, type CelEngine, type Compiled, type Reference } from './cel-engine';

/**
 * Expressions run inside workflow tasks: one that never ends would wedge the run forever (the
 * task fails and is retried without end). Neither engine has an evaluation cost limit, so the cost
 * is bounded here, deterministically (same answer on replay): structural limits on the parsed
 * expression, at most MAX_COMPREHENSION_NESTING comprehensions (map/filter/all/exists…) inside
 * each other, and before each evaluation an estimate — (elements in the data it reads + list
 * literals) to the power of the nesting, times the expression's size — must stay under
 * MAX_EXPRESSION_COST. An expression over the limit is an ExpressionError: a clear step failure.
 */
export { EXPRESSION_LIMITS, MAX_COMPREHENSION_NESTING, MAX_EXPRESSION_COST, ExpressionError, type Reference } from './cel-engine';

/**
 * The CEL engines. A run keeps the engine it started with (its history replays on it):
 * `cel-js` (@marcbachmann/cel-js 8.0.0) for runs started before the `runwright-cel-bufbuild-v1`
 * patch, `bufbuild` (@bufbuild/cel 0.6.1) for every run since, the CLI and the validator.
 * test/cel-conformance.test.ts measures both on the CEL spec's conformance cases.
 */
export type CelEngineName = 'cel-js' | 'bufbuild';
export const DEFAULT_CEL_ENGINE: CelEngineName = 'bufbuild';
/** The workflow patch that moves new runs to @bufbuild/cel. */
export const CEL_ENGINE_PATCH = 'runwright-cel-bufbuild-v1';

// Loaded on first use: a CLI command that evaluates nothing (status, approve…) loads no engine,
// and one that does loads only the new one.
/* eslint-disable @typescript-eslint/no-require-imports */
const bufbuild = () => require('./cel-bufbuild') as typeof import('./cel-bufbuild');
const loaded: Partial<Record<CelEngineName, CelEngine>> = {};
const engineOf = (name: CelEngineName): CelEngine =>
  (loaded[name] ??= name === 'cel-js' ? (require('./cel-legacy') as typeof import('./cel-legacy')).legacyEngine : bufbuild().bufbuildEngine);
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * A scope names its engine under this key (a symbol: never a CEL variable, kept by `{...scope}`);
 * a scope without one uses DEFAULT_CEL_ENGINE.
 */
export const CEL_ENGINE: unique symbol = Symbol.for('runwright.celEngine');

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;
const WHOLE = /^\s*\{\{([\s\S]*?)\}\}\s*$/;

export interface Placeholder {
  expr: string;
  /** Offset of the expression text inside the template string. */
  offset: number;
}

export function placeholders(template: string): Placeholder[] {
  const out: Placeholder[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) out.push({ expr: m[1], offset: (m.index ?? 0) + 2 });
  return out;
}

export function isTemplate(value: unknown): value is string {
  return typeof value === 'string' && value.includes('{{');
}

/** Parse a CEL expression (and check its cost shape); throws ExpressionError with the offset of the problem. */
export function parseExpression(expr: string): void {
  engineOf(DEFAULT_CEL_ENGINE).compile(expr);
}

/**
 * Free variables used by an expression, with the first member accessed on each (params.X).
 * Read from CEL's documented AST (cel.expr.ParsedExpr), not from an engine's internals.
 */
export function references(expr: string): Reference[] {
  return bufbuild().celReferences(expr);
}

/**
 * What can be known before a run: an operator applied to types it has no overload for
 * (`"a" + 1`). Everything in scope is `dyn`. Throws ExpressionError at the offending operator.
 */
export function typeCheck(expr: string): void {
  bufbuild().celTypeCheck(expr);
}

export type Scope = Record<string, unknown> & { [CEL_ENGINE]?: CelEngineName };

const compiledCache: Record<CelEngineName, Map<string, Compiled>> = { 'cel-js': new Map(), bufbuild: new Map() };
const COMPILED_CACHE_MAX = 5000;

function compile(engine: CelEngineName, expr: string): Compiled {
  const cache = compiledCache[engine];
  let c = cache.get(expr);
  if (c) return c;
  c = engineOf(engine).compile(expr);
  if (cache.size >= COMPILED_CACHE_MAX) cache.clear();
  cache.set(expr, c);
  return c;
}

// Step records are never changed once set (the interpreter stores new objects), so their CEL form
// is converted once, not at every expression: a drill's probe timelines would otherwise be
// converted dozens of times per workflow task.
const converted: Record<CelEngineName, WeakMap<object, unknown>> = { 'cel-js': new WeakMap(), bufbuild: new WeakMap() };
function toCelCached(engine: CelEngineName, v: unknown): unknown {
  if (!v || typeof v !== 'object') return engineOf(engine).toCel(v);
  let c = converted[engine].get(v);
  if (c === undefined) {
    c = engineOf(engine).toCel(v);
    converted[engine].set(v, c);
  }
  return c;
}

/** Only the roots (and step ids) the expression reads are converted to CEL values. */
function celContext(engine: CelEngineName, c: Compiled, scope: Scope): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const [root, members] of c.roots) {
    if (!Object.hasOwn(scope, root)) continue;
    const v = scope[root];
    if (root === 'steps' && members && v && typeof v === 'object') {
      const steps: Record<string, unknown> = {};
      for (const m of members) if (Object.hasOwn(v, m)) steps[m] = toCelCached(engine, (v as Record<string, unknown>)[m]);
      ctx.steps = steps;
    } else if (root === 'steps' && v && typeof v === 'object') {
      ctx.steps = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCelCached(engine, x)]));
    } else ctx[root] = engineOf(engine).toCel(v);
  }
  return ctx;
}

/** Evaluate one expression (without `{{ }}`) with the scope's engine; the result is JSON-like. */
export function evaluateExpression(expr: string, scope: Scope): unknown {
  const engine = scope[CEL_ENGINE] ?? DEFAULT_CEL_ENGINE;
  try {
    const c = compile(engine, expr);
    const ctx = celContext(engine, c, scope);
    checkCost(expr, c.shape, ctx);
    return engineOf(engine).fromCel(c.run(ctx));
  } catch (e: any) {
    if (e instanceof ExpressionError && e.message.startsWith('expression too expensive')) throw new ExpressionError(`${e.message} in {{${expr}}}`, expr, e.offset);
    const offset = e instanceof ExpressionError ? e.offset : engineOf(engine).errorOffset(e, expr);
    throw new ExpressionError(`${String(e?.message ?? e).split('\n')[0]} in {{${expr}}}`, expr, offset);
  }
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Render one template string. A single whole placeholder keeps the value's type. */
export function renderString(template: string, scope: Scope): unknown {
  const whole = WHOLE.exec(template);
  if (whole && placeholders(template).length === 1) return evaluateExpression(whole[1], scope);
  return template.replace(PLACEHOLDER, (_m, expr: string) => stringify(evaluateExpression(expr, scope)));
}

/** Render every template string inside a JSON-like value. */
export function render<T = unknown>(value: T, scope: Scope): T {
  if (isTemplate(value)) return renderString(value, scope) as T;
  if (Array.isArray(value)) return value.map((v) => render(v, scope)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, scope);
    return out as T;
  }
  return value;
}

/** Evaluate a `when:` condition; CEL truthiness is strict, so only true runs the step. */
export function isTrue(when: string | boolean | undefined, scope: Scope): boolean {
  if (when === undefined) return true;
  if (typeof when === 'boolean') return when;
  const v = renderString(when, scope);
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ExpressionError(`when: expected a boolean, got ${JSON.stringify(v)}`, when);
}
