/**
 * The first expression engine, @marcbachmann/cel-js 8.0.0: kept, unchanged in what it answers,
 * for runs started before `runwright-cel-bufbuild-v1` (their histories must replay on it). It
 * walks cel-js's own AST to find references and the cost shape, as it always did: changing how
 * these are found could change what an old run's expression does on replay. New runs, the CLI
 * and the validator use dsl/cel-bufbuild.ts; delete this file once no such run is open.
 */
import { Environment } from '@marcbachmann/cel-js';
import { EXPRESSION_LIMITS, ExpressionError, checkShape, jsonToCel, regexProblem, rootsOf, type CelEngine, type Compiled, type Reference, type Shape } from './cel-engine';

const COMPREHENSIONS = new Set(['map', 'filter', 'all', 'exists', 'exists_one', 'existsOne', 'sortBy', 'transformList', 'transformMap']);

// Runbooks build mixed maps such as {'name': c, 'port': 80}: allow heterogeneous literals
// (cel-go's default too); variables not declared are `dyn`, as everything in scope is.
const cel = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, limits: EXPRESSION_LIMITS });

type Node = { op: string; args: any; start: number };

function literalPattern(pattern: Node | undefined): string | undefined {
  return pattern && pattern.op === 'value' && typeof pattern.args === 'string' ? pattern.args : undefined;
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
      const why = regexProblem(literalPattern(args?.[args.length - 1]));
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
        const [target, index] = n.args as [Node, Node];
        if (target.op === 'id' && !bound.has(target.args) && index.op === 'value' && typeof index.args === 'string')
          refs.push({ root: target.args, member: index.args, offset: target.start });
        else walk(target, bound);
        walk(index, bound);
        return;
      }
      case 'rcall': {
        const [fn, target, args] = n.args as [string, Node, Node[]];
        walk(target, bound);
        if (['map', 'filter', 'all', 'exists', 'exists_one'].includes(fn) && args.length >= 2 && args[0].op === 'id') {
          const inner = new Set(bound).add(args[0].args);
          for (const a of args.slice(1)) walk(a, inner);
        } else for (const a of args) walk(a, bound);
        return;
      }
      case 'call':
        for (const a of (n.args as [string, Node[]])[1]) walk(a, bound);
        return;
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

function parse(expr: string) {
  try {
    return cel.parse(expr);
  } catch (e: any) {
    throw new ExpressionError(String(e?.message ?? e).split('\n')[0], expr, e?.range?.start ?? 0);
  }
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

export const legacyEngine: CelEngine = {
  compile(expr: string): Compiled {
    // One parse serves both: the scope roots it reads, and the evaluator.
    const run = parse(expr);
    const ast = run.ast as unknown as Node;
    const shape = shapeOf(ast);
    checkShape(expr, shape);
    return { run: run as unknown as Compiled['run'], roots: rootsOf(referencesIn(ast)), shape };
  },
  toCel: (v: unknown) => jsonToCel(v),
  fromCel,
  errorOffset: (e: any) => e?.range?.start ?? 0,
};
