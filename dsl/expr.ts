/**
 * Expressions inside runbooks: `{{ CEL }}` placeholders in strings.
 *
 * CEL (Common Expression Language, as in Kubernetes admission policies) is side-effect free,
 * has no eval, and is deterministic, so the same code runs in the CLI, the validator and the
 * Temporal workflow sandbox. A string that is exactly one placeholder yields the typed value
 * (a list stays a list); otherwise placeholders are stringified into the text.
 */
import { Environment } from '@marcbachmann/cel-js';

// Runbooks build mixed maps such as {'name': c, 'port': 80}: allow heterogeneous literals
// (cel-go's default too); variables not declared are `dyn`, as everything in scope is.
/**
 * Expressions run inside workflow tasks: one that never ends would wedge the run forever (the
 * task fails and is retried without end). cel-js has no evaluation cost limit, so the cost is
 * bounded here, deterministically (same answer on replay): the parser's structural limits, at
 * most MAX_COMPREHENSION_NESTING comprehensions (map/filter/all/exists…) inside each other, and
 * before each evaluation an estimate — (elements in the data it reads + list literals) to the
 * power of the nesting, times the expression's size — must stay under MAX_EXPRESSION_COST.
 * An expression over the limit is an ExpressionError: a clear step failure.
 */
export const EXPRESSION_LIMITS = { maxAstNodes: 2000, maxDepth: 100, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 };
export const MAX_COMPREHENSION_NESTING = 3;
export const MAX_EXPRESSION_COST = 20_000_000;
const COMPREHENSIONS = new Set(['map', 'filter', 'all', 'exists', 'exists_one', 'existsOne', 'sortBy', 'transformList', 'transformMap']);

const cel = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, limits: EXPRESSION_LIMITS });
const celParse = (expr: string) => cel.parse(expr);

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

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly expr: string,
    readonly offset = 0,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** A free reference in an expression: `params.x`, `steps.y`, or a bare loop variable. */
export interface Reference {
  root: string;
  member?: string;
  offset: number;
}

type Node = { op: string; args: any; start: number };

/** Parse a CEL expression; throws ExpressionError with the offset of the problem. */
export function parseExpression(expr: string): Node {
  let ast: Node;
  try {
    ast = celParse(expr).ast as unknown as Node;
  } catch (e: any) {
    const first = String(e?.message ?? e).split('\n')[0];
    throw new ExpressionError(first, expr, e?.range?.start ?? 0);
  }
  checkShape(expr, shapeOf(ast));
  return ast;
}

/** What the cost estimate needs from an expression: size, comprehension nesting, literal elements. */
interface Shape {
  nodes: number;
  nesting: number;
  literals: number;
  at: number;
  /** Why a matches() pattern could backtrack without end (JS regexes do), with its offset. */
  regex?: { why: string; at: number };
}

/** A group with a quantifier inside, itself quantified: `(a+)+`, `(a|aa)*`, `(\w*)*` — exponential backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,?\d*\}|\|)(?:[^()\\]|\\.)*\)[+*{]/;

function regexProblem(pattern: Node | undefined): string | undefined {
  if (!pattern || pattern.op !== 'value' || typeof pattern.args !== 'string')
    return 'matches() needs a literal pattern in a runbook (a pattern from data could backtrack without end)';
  if (NESTED_QUANTIFIER.test(pattern.args) || /\\[1-9]/.test(pattern.args))
    return `matches() pattern ${JSON.stringify(pattern.args)} has a quantified group with a quantifier (or alternation) inside, or a backreference: it can backtrack without end`;
  return undefined;
}

function shapeOf(ast: Node): Shape {
  const sh: Shape = { nodes: 0, nesting: 0, literals: 0, at: 0 };
  const walk = (n: unknown, depth: number): void => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x, depth);
      return;
    }
    if (!n || typeof n !== 'object' || !('op' in n)) return;
    const node = n as Node;
    sh.nodes++;
    if (node.op === 'list') sh.literals += Array.isArray(node.args) ? node.args.length : 0;
    if (node.op === 'map' && Array.isArray(node.args)) sh.literals += node.args.length;
    if (!sh.regex && (node.op === 'rcall' || node.op === 'call') && node.args?.[0] === 'matches') {
      const args = (node.op === 'rcall' ? node.args[2] : node.args[1]) as Node[];
      const why = regexProblem(args?.[args.length - 1]);
      if (why) sh.regex = { why, at: node.start };
    }
    if (node.op === 'rcall' && COMPREHENSIONS.has(node.args?.[0])) {
      const [, target, args] = node.args as [string, Node, Node[]];
      if (depth + 1 > sh.nesting) {
        sh.nesting = depth + 1;
        sh.at = node.start;
      }
      walk(target, depth);
      walk(args, depth + 1);
      return;
    }
    if (node.op === 'value') return;
    walk(node.args, depth);
  };
  walk(ast, 0);
  return sh;
}

function checkShape(expr: string, sh: Shape): void {
  if (sh.regex) throw new ExpressionError(`expression too expensive: ${sh.regex.why}`, expr, sh.regex.at);
  if (sh.nesting > MAX_COMPREHENSION_NESTING)
    throw new ExpressionError(`expression too expensive: comprehensions (map/filter/all/exists) nested ${sh.nesting} deep; at most ${MAX_COMPREHENSION_NESTING}`, expr, sh.at);
}

/** Elements (list items, map entries) in a value, counting stops past `stop`. */
function elements(v: unknown, stop: number, acc = { n: 0 }): number {
  if (acc.n > stop || !v || typeof v !== 'object') return acc.n;
  if (Array.isArray(v)) {
    acc.n += v.length;
    for (const x of v) if (x && typeof x === 'object') elements(x, stop, acc);
  } else if (v instanceof Map) {
    acc.n += v.size;
    for (const x of v.values()) elements(x, stop, acc);
  } else {
    const vals = Object.values(v);
    acc.n += vals.length;
    for (const x of vals) if (x && typeof x === 'object') elements(x, stop, acc);
  }
  return acc.n;
}

/** Refuse, before running it, an evaluation whose estimated cost is over the limit. */
function checkCost(expr: string, sh: Shape, ctx: Record<string, unknown>): void {
  if (sh.nesting === 0) return; // no loops: linear in the expression's size
  const budget = MAX_EXPRESSION_COST / sh.nodes;
  const perLevel = Math.pow(budget, 1 / sh.nesting);
  const n = elements(ctx, perLevel) + sh.literals;
  const cost = Math.pow(n, sh.nesting) * sh.nodes;
  if (cost > MAX_EXPRESSION_COST)
    throw new ExpressionError(
      `expression too expensive: comprehensions nested ${sh.nesting} deep over ${n > perLevel ? `more than ${Math.floor(perLevel)}` : n} elements (estimated cost ${cost > 1e15 ? '>1e15' : Math.round(cost)}, limit ${MAX_EXPRESSION_COST})`,
      expr,
      sh.at,
    );
}

/** Free variables used by an expression, with the first member accessed on each (params.X). */
export function references(expr: string): Reference[] {
  return referencesIn(parseExpression(expr));
}

function referencesIn(ast: Node): Reference[] {
  const refs: Reference[] = [];
  const walk = (n: Node, bound: Set<string>): void => {
    if (!n || typeof n !== 'object' || !('op' in n)) return;
    switch (n.op) {
      case 'id':
        if (!bound.has(n.args)) refs.push({ root: n.args, offset: n.start });
        return;
      case '.':
      case '.?': {
        const [target, field] = n.args as [Node, string];
        if (target.op === 'id' && !bound.has(target.args)) refs.push({ root: target.args, member: field, offset: target.start });
        else walk(target, bound);
        return;
      }
      case '[]': {
        // params["x"] names a member just like params.x.
        const [target, index] = n.args as [Node, Node];
        if (target.op === 'id' && !bound.has(target.args) && index.op === 'value' && typeof index.args === 'string')
          refs.push({ root: target.args, member: index.args, offset: target.start });
        else walk(target, bound);
        walk(index, bound);
        return;
      }
      case 'rcall': {
        // Macros such as list.map(x, expr) bind x inside expr.
        const [fn, target, args] = n.args as [string, Node, Node[]];
        walk(target, bound);
        if (['map', 'filter', 'all', 'exists', 'exists_one'].includes(fn) && args.length >= 2 && args[0].op === 'id') {
          const inner = new Set(bound).add(args[0].args);
          for (const a of args.slice(1)) walk(a, inner);
        } else for (const a of args) walk(a, bound);
        return;
      }
      case 'call': {
        const [fn, args] = n.args as [string, Node[]];
        // has(a.b) tests presence; its argument is still a reference.
        void fn;
        for (const a of args) walk(a, bound);
        return;
      }
      case 'value':
        return;
      case 'map':
        for (const [k, v] of n.args as [Node, Node][]) {
          walk(k, bound);
          walk(v, bound);
        }
        return;
      default:
        if (Array.isArray(n.args)) for (const a of n.args) walk(a, bound);
        else walk(n.args, bound);
    }
  };
  walk(ast, new Set());
  return refs;
}

/** CEL tells int from double; JSON does not. Whole numbers become CEL ints (bigint). */
function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toCel(x);
    return o;
  }
  return v;
}

function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), fromCel(x)]));
  if (Array.isArray(v)) return v.map(fromCel);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = fromCel(x);
    return o;
  }
  return v;
}

export type Scope = Record<string, unknown>;

/**
 * A compiled expression and the parts of the scope it reads: `steps` → the step ids it names
 * (null: the whole map, for dynamic access), any other root → null (the whole value).
 */
interface Compiled {
  run: (ctx: Record<string, unknown>) => unknown;
  roots: Map<string, Set<string> | null>;
  shape: Shape;
}
const compiledCache = new Map<string, Compiled>();
const COMPILED_CACHE_MAX = 5000;

function compile(expr: string): Compiled {
  let c = compiledCache.get(expr);
  if (c) return c;
  // One parse serves both: the scope roots it reads, and the evaluator.
  const run = celParse(expr);
  const shape = shapeOf(run.ast as unknown as Node);
  checkShape(expr, shape);
  const roots = new Map<string, Set<string> | null>();
  for (const r of referencesIn(run.ast as unknown as Node)) {
    if (r.root === 'steps' && r.member !== undefined) {
      const cur = roots.get('steps');
      if (cur !== null) roots.set('steps', (cur ?? new Set<string>()).add(r.member));
    } else roots.set(r.root, null);
  }
  c = { run: run as unknown as Compiled['run'], roots, shape };
  if (compiledCache.size >= COMPILED_CACHE_MAX) compiledCache.clear();
  compiledCache.set(expr, c);
  return c;
}

// Step records are never changed once set (the interpreter stores new objects), so their CEL form
// is converted once, not at every expression: a drill's probe timelines would otherwise be
// converted dozens of times per workflow task.
const converted = new WeakMap<object, unknown>();
function toCelCached(v: unknown): unknown {
  if (!v || typeof v !== 'object') return toCel(v);
  let c = converted.get(v);
  if (c === undefined) {
    c = toCel(v);
    converted.set(v, c);
  }
  return c;
}

/** Only the roots (and step ids) the expression reads are converted to CEL values. */
function celContext(c: Compiled, scope: Scope): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const [root, members] of c.roots) {
    if (!Object.hasOwn(scope, root)) continue;
    const v = scope[root];
    if (root === 'steps' && members && v && typeof v === 'object') {
      const steps: Record<string, unknown> = {};
      for (const m of members) if (Object.hasOwn(v, m)) steps[m] = toCelCached((v as Record<string, unknown>)[m]);
      ctx.steps = steps;
    } else if (root === 'steps' && v && typeof v === 'object') {
      ctx.steps = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCelCached(x)]));
    } else ctx[root] = toCel(v);
  }
  return ctx;
}

export function evaluateExpression(expr: string, scope: Scope): unknown {
  try {
    const c = compile(expr);
    const ctx = celContext(c, scope);
    checkCost(expr, c.shape, ctx);
    return fromCel(c.run(ctx));
  } catch (e: any) {
    if (e instanceof ExpressionError && e.message.startsWith('expression too expensive')) throw new ExpressionError(`${e.message} in {{${expr}}}`, expr, e.offset);
    throw new ExpressionError(`${String(e?.message ?? e).split('\n')[0]} in {{${expr}}}`, expr, e?.range?.start ?? 0);
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
