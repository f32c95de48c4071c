/**
 * The expression engine for new runs, the CLI and the validator: @bufbuild/cel (cel-es).
 *
 * Everything here reads the parsed expression as `cel.expr.ParsedExpr`, CEL's own documented
 * protobuf AST (cel-spec syntax.proto) that @bufbuild/cel's public `parse()` returns: references,
 * the cost shape and the type check do not depend on the engine's internals.
 */
import { celEnv, isCelError, isCelList, isCelMap, isCelType, isCelUint, parse, plan } from '@bufbuild/cel';
import type { Expr, ParsedExpr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { strings } from '@bufbuild/cel/ext';
import { isReflectMessage } from '@bufbuild/protobuf/reflect';
import { EXPRESSION_LIMITS, ExpressionError, checkShape, jsonToCel, regexProblem, rootsOf, type CelEngine, type Compiled, type Reference, type Shape } from './cel-engine';

// The strings extension (join, split, lowerAscii, replace, …), as Kubernetes has it.
const env = celEnv({ funcs: strings });

/** The position (offset in the expression) of a node, from the source info. */
const at = (p: ParsedExpr, e: Expr | undefined): number => (e ? (p.sourceInfo?.positions[String(e.id)] ?? 0) : 0);

/** Parse; throws ExpressionError at the offset of the problem. */
export function parseCel(expr: string): ParsedExpr & { expr: Expr } {
  let p: ParsedExpr & { expr: Expr };
  try {
    p = parse(expr);
  } catch (e: any) {
    const msg = String(e?.rawMessage ?? e?.message ?? e).split('\n')[0];
    // The parser lists every token it could take ("expecting '!', '(', '-', …"): name the gist.
    const many = /^found (.*) but expecting (?:[^,]*,){4,}.*$/.exec(msg);
    throw new ExpressionError(many ? `syntax error: found ${many[1]} but expecting an expression` : `syntax error: ${msg}`, expr, e?.location?.start?.offset ?? 0);
  }
  return p;
}

/** The children of a node, with the comprehension depth each is at (loop bodies are one deeper). */
function children(e: Expr): [Expr | undefined, number][] {
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      return [[k.value.operand, 0]];
    case 'callExpr':
      return [[k.value.target, 0], ...k.value.args.map((a): [Expr, number] => [a, 0])];
    case 'listExpr':
      return k.value.elements.map((a): [Expr, number] => [a, 0]);
    case 'structExpr':
      return k.value.entries.flatMap((en): [Expr | undefined, number][] => [[en.keyKind.case === 'mapKey' ? en.keyKind.value : undefined, 0], [en.value, 0]]);
    case 'comprehensionExpr': {
      const c = k.value;
      return [[c.iterRange, 0], [c.accuInit, 0], [c.loopCondition, 1], [c.loopStep, 1], [c.result, 0]];
    }
    default:
      return [];
  }
}

function shapeOf(p: ParsedExpr & { expr: Expr }, expr: string): Shape {
  const sh: Shape = { nodes: 0, nesting: 0, literals: 0, at: 0 };
  const L = EXPRESSION_LIMITS;
  const walk = (e: Expr | undefined, nesting: number, depth: number): void => {
    if (!e) return;
    if (++sh.nodes > L.maxAstNodes) throw new ExpressionError(`expression too large: more than ${L.maxAstNodes} nodes`, expr, at(p, e));
    if (depth > L.maxDepth) throw new ExpressionError(`expression nested too deep: more than ${L.maxDepth} levels`, expr, at(p, e));
    const k = e.exprKind;
    if (k.case === 'listExpr') {
      if (k.value.elements.length > L.maxListElements) throw new ExpressionError(`list literal with more than ${L.maxListElements} elements`, expr, at(p, e));
      sh.literals += k.value.elements.length;
    }
    if (k.case === 'structExpr') {
      if (k.value.entries.length > L.maxMapEntries) throw new ExpressionError(`map literal with more than ${L.maxMapEntries} entries`, expr, at(p, e));
      sh.literals += k.value.entries.length;
    }
    if (k.case === 'callExpr') {
      if (k.value.args.length > L.maxCallArguments) throw new ExpressionError(`call with more than ${L.maxCallArguments} arguments`, expr, at(p, e));
      if (!sh.regex && k.value.function === 'matches') {
        const last = k.value.args[k.value.args.length - 1]?.exprKind;
        const lit = last?.case === 'constExpr' && last.value.constantKind.case === 'stringValue' ? last.value.constantKind.value : undefined;
        const why = regexProblem(lit);
        if (why) sh.regex = { why, at: at(p, e) };
      }
    }
    if (k.case === 'comprehensionExpr' && nesting + 1 > sh.nesting) {
      sh.nesting = nesting + 1;
      sh.at = at(p, e);
    }
    for (const [c, inLoop] of children(e)) walk(c, nesting + inLoop, depth + 1);
  };
  walk(p.expr, 0, 0);
  return sh;
}

function referencesIn(p: ParsedExpr & { expr: Expr }): Reference[] {
  const refs: Reference[] = [];
  const ident = (e: Expr | undefined, bound: Set<string>): string | undefined =>
    e?.exprKind.case === 'identExpr' && !bound.has(e.exprKind.value.name) ? e.exprKind.value.name : undefined;
  const walk = (e: Expr | undefined, bound: Set<string>): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'identExpr':
        if (!bound.has(k.value.name)) refs.push({ root: k.value.name, offset: at(p, e) });
        return;
      case 'selectExpr': {
        const root = ident(k.value.operand, bound);
        if (root !== undefined) refs.push({ root, member: k.value.field, offset: at(p, k.value.operand) });
        else walk(k.value.operand, bound);
        return;
      }
      case 'callExpr': {
        // params["x"] names a member just like params.x.
        const [target, index] = k.value.args;
        const root = k.value.function === '_[_]' ? ident(target, bound) : undefined;
        if (root !== undefined && index?.exprKind.case === 'constExpr' && index.exprKind.value.constantKind.case === 'stringValue') {
          refs.push({ root, member: index.exprKind.value.constantKind.value, offset: at(p, target) });
          return;
        }
        break;
      }
      case 'comprehensionExpr': {
        // Macros such as list.map(x, expr) bind x (and the accumulator) inside the loop.
        const c = k.value;
        walk(c.iterRange, bound);
        walk(c.accuInit, bound);
        const inner = new Set(bound).add(c.iterVar).add(c.accuVar);
        if (c.iterVar2) inner.add(c.iterVar2);
        walk(c.loopCondition, inner);
        walk(c.loopStep, inner);
        walk(c.result, new Set(bound).add(c.accuVar));
        return;
      }
    }
    for (const [c] of children(e)) walk(c, bound);
  };
  walk(p.expr, new Set());
  return refs;
}

/** Free variables used by an expression, with the first member accessed on each (params.X). */
export function celReferences(expr: string): Reference[] {
  const p = parseCel(expr);
  checkShape(expr, shapeOf(p, expr));
  return referencesIn(p);
}

// ---- Type check -------------------------------------------------------------------------------
// @bufbuild/cel 0.6.1 does not export its checker, so the validator checks here what can be known
// before a run: everything in scope is `dyn`, literals and what is computed from them have types,
// and an operator applied to types it has no overload for (`"a" + 1`) is an error — the same one
// the evaluator would raise at run time.

type T = 'int' | 'uint' | 'double' | 'string' | 'bool' | 'bytes' | 'null_type' | 'list' | 'map' | 'timestamp' | 'duration' | 'type' | 'dyn';
type Overload = [T[], T];

const NUM: T[] = ['int', 'uint', 'double'];
const same = (ts: T[], r?: T): Overload[] => ts.map((t) => [[t, t], r ?? t]);
const ORDERED: T[] = ['int', 'uint', 'double', 'string', 'bytes', 'bool', 'timestamp', 'duration'];
const numCross: Overload[] = NUM.flatMap((a) => NUM.map((b): Overload => [[a, b], 'bool']));
const OPS: Record<string, Overload[]> = {
  '_+_': [...same(['int', 'uint', 'double', 'string', 'bytes', 'list', 'duration']), [['timestamp', 'duration'], 'timestamp'], [['duration', 'timestamp'], 'timestamp']],
  '_-_': [...same(['int', 'uint', 'double', 'duration']), [['timestamp', 'timestamp'], 'duration'], [['timestamp', 'duration'], 'timestamp']],
  '_*_': same(NUM),
  '_/_': same(NUM),
  '_%_': same(['int', 'uint']),
  '-_': [[['int'], 'int'], [['double'], 'double']],
  '!_': [[['bool'], 'bool']],
  '_<_': [...same(ORDERED, 'bool'), ...numCross],
  '_<=_': [...same(ORDERED, 'bool'), ...numCross],
  '_>_': [...same(ORDERED, 'bool'), ...numCross],
  '_>=_': [...same(ORDERED, 'bool'), ...numCross],
  size: [[['string'], 'int'], [['bytes'], 'int'], [['list'], 'int'], [['map'], 'int']],
  contains: [[['string', 'string'], 'bool']],
  startsWith: [[['string', 'string'], 'bool']],
  endsWith: [[['string', 'string'], 'bool']],
  matches: [[['string', 'string'], 'bool']],
};
/** Conversions: any argument (checked at run time), a known result. */
const CONVERSIONS: Record<string, T> = { int: 'int', uint: 'uint', double: 'double', string: 'string', bool: 'bool', bytes: 'bytes', timestamp: 'timestamp', duration: 'duration', type: 'type', dyn: 'dyn' };
const CONST_TYPE: Record<string, T> = { nullValue: 'null_type', boolValue: 'bool', int64Value: 'int', uint64Value: 'uint', doubleValue: 'double', stringValue: 'string', bytesValue: 'bytes', durationValue: 'duration', timestampValue: 'timestamp' };
const fits = (arg: T, want: T) => arg === 'dyn' || arg === want;

/** Throws ExpressionError at the first call with no overload for its argument types. */
export function celTypeCheck(expr: string): void {
  const p = parseCel(expr);
  const check = (e: Expr | undefined): T => {
    if (!e) return 'dyn';
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr':
        return CONST_TYPE[k.value.constantKind.case ?? ''] ?? 'dyn';
      case 'selectExpr':
        check(k.value.operand);
        return k.value.testOnly ? 'bool' : 'dyn';
      case 'listExpr':
        k.value.elements.forEach(check);
        return 'list';
      case 'structExpr':
        for (const en of k.value.entries) {
          if (en.keyKind.case === 'mapKey') check(en.keyKind.value);
          check(en.value);
        }
        return k.value.messageName ? 'dyn' : 'map';
      case 'comprehensionExpr':
        for (const [c] of children(e)) check(c);
        return 'dyn';
      case 'callExpr': {
        const fn = k.value.function;
        const args = [...(k.value.target ? [k.value.target] : []), ...k.value.args].map(check);
        if (fn === '_&&_' || fn === '_||_') return 'bool';
        if (fn === '_==_' || fn === '_!=_' || fn === '_in_' || fn === '@not_strictly_false') return 'bool';
        if (fn === '_?_:_') return args[1] === args[2] ? args[1] : 'dyn';
        if (!k.value.target && fn in CONVERSIONS && args.length === 1) return CONVERSIONS[fn];
        const overloads = OPS[fn]?.filter(([ps]) => ps.length === args.length);
        if (!overloads?.length) return 'dyn';
        const ok = overloads.filter(([ps]) => ps.every((t, i) => fits(args[i], t)));
        if (!ok.length) {
          const name = fn.replace(/^@/, '');
          throw new ExpressionError(`found no matching overload for '${name}' applied to '(${args.join(', ')})'`, expr, at(p, e));
        }
        return ok.every(([, r]) => r === ok[0][1]) ? ok[0][1] : 'dyn';
      }
      default:
        return 'dyn';
    }
  };
  check(p.expr);
}

// ---- Values -----------------------------------------------------------------------------------

/** RFC 3339, as CEL's string(timestamp) writes it (UTC, fractional seconds only when not zero). */
export function timestampText(seconds: bigint, nanos: number): string {
  const iso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${iso}${nanos ? `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}` : ''}Z`;
}

/** CEL's string(duration): seconds with a fraction when not whole, e.g. "3600s", "1.5s". */
export function durationText(seconds: bigint, nanos: number): string {
  if (!nanos) return `${seconds}s`;
  const neg = seconds < 0n || nanos < 0;
  const s = seconds < 0n ? -seconds : seconds;
  return `${neg ? '-' : ''}${s}.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}s`;
}

function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (isCelUint(v)) return Number(v.value);
  if (isCelList(v)) return [...v].map(fromCel);
  if (isCelMap(v)) return Object.fromEntries([...v].map(([k, x]) => [String(isCelUint(k) ? k.value : k), fromCel(x)]));
  if (isCelType(v)) return v.name;
  if (isReflectMessage(v)) {
    const m = v.message as { $typeName: string; seconds?: bigint; nanos?: number };
    if (m.$typeName === 'google.protobuf.Timestamp') return timestampText(m.seconds ?? 0n, m.nanos ?? 0);
    if (m.$typeName === 'google.protobuf.Duration') return durationText(m.seconds ?? 0n, m.nanos ?? 0);
  }
  if (Array.isArray(v)) return v.map(fromCel);
  if (Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromCel(x)]));
  return v;
}

/** The offset of a runtime error: the engine names the node that failed. */
const errorAt = new WeakMap<Error, number>();

export const bufbuildEngine: CelEngine = {
  compile(expr: string): Compiled {
    const p = parseCel(expr);
    const shape = shapeOf(p, expr);
    checkShape(expr, shape);
    const evaluate = plan(env, p);
    const run = (ctx: Record<string, unknown>) => {
      const r = evaluate(ctx as Parameters<typeof evaluate>[0]);
      if (isCelError(r)) {
        if (r.exprId !== undefined) errorAt.set(r, p.sourceInfo?.positions[String(r.exprId)] ?? 0);
        throw r;
      }
      return r;
    };
    return { run, roots: rootsOf(referencesIn(p)), shape };
  },
  toCel: (v: unknown) => jsonToCel(v, true),
  fromCel,
  errorOffset: (e: unknown) => (e instanceof Error ? (errorAt.get(e) ?? 0) : 0),
};
