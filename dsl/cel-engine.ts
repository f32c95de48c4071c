/**
 * What dsl/expr.ts needs from a CEL engine, and what both engines share: the error type, the
 * shape of an expression that bounds its cost, and the cost checks. Imports no engine.
 */

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

export const EXPRESSION_LIMITS = { maxAstNodes: 2000, maxDepth: 100, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 };
export const MAX_COMPREHENSION_NESTING = 3;
export const MAX_EXPRESSION_COST = 20_000_000;

/** What the cost estimate needs from an expression: size, comprehension nesting, literal elements. */
export interface Shape {
  nodes: number;
  nesting: number;
  literals: number;
  at: number;
  /** Why a matches() pattern could backtrack without end (JS regexes do), with its offset. */
  regex?: { why: string; at: number };
}

/** A group with a quantifier inside, itself quantified: `(a+)+`, `(a|aa)*`, `(\w*)*` — exponential backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,?\d*\}|\|)(?:[^()\\]|\\.)*\)[+*{]/;

/** Why a matches() pattern is refused: `undefined` is a pattern that is not a string literal. */
export function regexProblem(pattern: string | undefined): string | undefined {
  if (pattern === undefined) return 'matches() needs a literal pattern in a runbook (a pattern from data could backtrack without end)';
  if (NESTED_QUANTIFIER.test(pattern) || /\\[1-9]/.test(pattern))
    return `matches() pattern ${JSON.stringify(pattern)} has a quantified group with a quantifier (or alternation) inside, or a backreference: it can backtrack without end`;
  return undefined;
}

export function checkShape(expr: string, sh: Shape): void {
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
export function checkCost(expr: string, sh: Shape, ctx: Record<string, unknown>): void {
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

/**
 * CEL tells int from double; JSON does not. Whole numbers become CEL ints (bigint). Bytes stay
 * bytes (workflow data comes from JSON and has none; the conformance cases do).
 */
/**
 * `asHistory`: values as they would read back from history (JSON): an undefined property is left
 * out, an undefined list item is null. @bufbuild/cel refuses undefined anywhere in its input;
 * cel-js took it, and runs on cel-js keep getting exactly what they got.
 */
export function jsonToCel(v: unknown, asHistory = false): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => (asHistory && x === undefined ? null : jsonToCel(x, asHistory)));
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!(asHistory && x === undefined)) o[k] = jsonToCel(x, asHistory);
    return o;
  }
  return v;
}

/** The scope roots an expression reads: `steps` → the step ids it names (null: the whole map), any other root → null. */
export function rootsOf(refs: Reference[]): Map<string, Set<string> | null> {
  const roots = new Map<string, Set<string> | null>();
  for (const r of refs) {
    if (r.root === 'steps' && r.member !== undefined) {
      const cur = roots.get('steps');
      if (cur !== null) roots.set('steps', (cur ?? new Set<string>()).add(r.member));
    } else roots.set(r.root, null);
  }
  return roots;
}

/** One engine's compiled expression. `run` returns the engine's value or throws. */
export interface Compiled {
  run: (ctx: Record<string, unknown>) => unknown;
  roots: Map<string, Set<string> | null>;
  shape: Shape;
}

export interface CelEngine {
  /** Parse (and check the shape of) an expression; throws ExpressionError. */
  compile(expr: string): Compiled;
  /** A JSON-like value as this engine's input (whole numbers are CEL ints). */
  toCel(v: unknown): unknown;
  /** This engine's result as a JSON-like value. */
  fromCel(v: unknown): unknown;
  /** Offset in the expression of a runtime error, when the engine tells it. */
  errorOffset(e: unknown, expr: string): number;
}
