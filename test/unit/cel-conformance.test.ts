/**
 * The CEL spec's own conformance cases (shipped by @bufbuild/cel-spec), run through dsl/expr.ts's
 * public API on both engines. The pass counts are pinned: a change of engine, of version or of
 * dsl/expr.ts that makes CEL behave differently shows here, better or worse.
 *
 * Selected: the core suites (no `*_ext` extension, no protobuf messages, enums, wrappers,
 * optionals or containers), cases whose expression names no protobuf type, whose bindings and
 * expected value are plain CEL values (or a timestamp/duration result), and that expect a value
 * or an evaluation error. Values are compared as dsl/expr.ts returns them: JSON-like, so int,
 * uint and double are all numbers, bytes a Uint8Array, a type its name, a timestamp RFC 3339
 * text and a duration "<seconds>s".
 */
import { fromBinary } from '@bufbuild/protobuf';
import { DurationSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import type { Value } from '@bufbuild/cel-spec/cel/expr/value_pb.js';
import { getConformanceSuite, type IncrementalTest, type IncrementalTestSuite } from '@bufbuild/cel-spec/testdata/tests.js';
import { durationText, timestampText } from '../../dsl/cel-bufbuild';
import { CEL_ENGINE, evaluateExpression, type CelEngineName } from '../../dsl/expr';

const EXCLUDED_SUITES = /_ext$|^(proto2|proto3|enums|wrappers|dynamic|optionals|namespace|unknowns)$/;
const PROTO_NAMES = /google\.protobuf|TestAllTypes|cel\.expr|NestedTestAllTypes|GlobalEnum|\.conformance\./;

interface Case {
  suite: string;
  name: string;
  expr: string;
  bindings: Record<string, unknown>;
  expect: { value: unknown } | { error: true };
}

class Unsupported extends Error {}

/** A conformance value as dsl/expr.ts would return it; Unsupported for protobuf messages and enums. */
function jsValue(v: Value | undefined, asBinding = false): unknown {
  const k = v?.kind;
  switch (k?.case) {
    case 'nullValue':
      return null;
    case 'boolValue':
    case 'stringValue':
    case 'bytesValue':
      return k.value;
    case 'int64Value':
      return asBinding ? k.value : Number(k.value);
    case 'uint64Value':
      if (asBinding) throw new Unsupported('uint binding');
      return Number(k.value);
    case 'doubleValue':
      if (asBinding && Number.isInteger(k.value)) throw new Unsupported('whole double binding');
      return k.value;
    case 'listValue':
      return k.value.values.map((x) => jsValue(x, asBinding));
    case 'mapValue':
      return Object.fromEntries(
        k.value.entries.map((e) => {
          const key = jsValue(e.key);
          if (asBinding && typeof key !== 'string') throw new Unsupported('non-string map key binding');
          return [String(key), jsValue(e.value, asBinding)];
        }),
      );
    case 'typeValue':
      if (asBinding) throw new Unsupported('type binding');
      return k.value;
    case 'objectValue': {
      if (asBinding) throw new Unsupported('message binding');
      if (k.value.typeUrl.endsWith('/google.protobuf.Timestamp')) {
        const t = fromBinary(TimestampSchema, k.value.value);
        return timestampText(t.seconds, t.nanos);
      }
      if (k.value.typeUrl.endsWith('/google.protobuf.Duration')) {
        const d = fromBinary(DurationSchema, k.value.value);
        return durationText(d.seconds, d.nanos);
      }
      throw new Unsupported(k.value.typeUrl);
    }
    default:
      throw new Unsupported(String(k?.case));
  }
}

function toCase(suite: string, t: IncrementalTest): Case | undefined {
  const o = t.original;
  if (o.checkOnly || o.container || PROTO_NAMES.test(o.expr)) return undefined;
  if (o.typeEnv.some((d) => d.declKind.case !== 'ident' || d.declKind.value.type?.typeKind.case === 'messageType')) return undefined;
  try {
    const bindings: Record<string, unknown> = {};
    for (const [name, ev] of Object.entries(o.bindings)) {
      if (ev.kind.case !== 'value') return undefined;
      bindings[name] = jsValue(ev.kind.value, true);
    }
    const m = o.resultMatcher;
    if (m.case === 'value') return { suite, name: t.name, expr: o.expr, bindings, expect: { value: jsValue(m.value) } };
    if (m.case === 'evalError') return { suite, name: t.name, expr: o.expr, bindings, expect: { error: true } };
    return undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

function selectCases(): Case[] {
  const out: Case[] = [];
  const visit = (s: IncrementalTestSuite, top: string) => {
    for (const t of s.tests) {
      const c = toCase(top, t);
      if (c) out.push(c);
    }
    for (const sub of s.suites) visit(sub, top);
  };
  for (const s of getConformanceSuite().suites) if (!EXCLUDED_SUITES.test(s.name)) visit(s, s.name);
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && Object.getPrototypeOf(a) === Object.prototype && Object.getPrototypeOf(b) === Object.prototype) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

function passes(engine: CelEngineName, c: Case): boolean {
  let got: unknown;
  try {
    got = evaluateExpression(c.expr, { ...c.bindings, [CEL_ENGINE]: engine });
  } catch {
    return 'error' in c.expect;
  }
  return 'value' in c.expect && same(got, c.expect.value);
}

function measure(engine: CelEngineName) {
  const failed: Record<string, string[]> = {};
  let passed = 0;
  for (const c of cases) {
    if (passes(engine, c)) passed++;
    else (failed[c.suite] ??= []).push(c.name);
  }
  if (process.env.CEL_CONFORMANCE_REPORT) console.log(engine, passed, Object.fromEntries(Object.entries(failed).map(([s, n]) => [s, `${n.length}: ${n.join(', ')}`])));
  return { passed, failedBySuite: Object.fromEntries(Object.entries(failed).map(([s, n]) => [s, n.length])) };
}

const cases = selectCases();

test('the selected core conformance cases', () => {
  expect(cases.length).toBe(1120);
});

// CEL_CONFORMANCE_REPORT=1 prints the failing cases' names.
test('@bufbuild/cel 0.6.1 (new runs, CLI, validator)', () => {
  const r = measure('bufbuild');
  expect(r.passed).toBe(1070);
  // Two-variable macros (all/exists/transformList… with two variables) are not in 0.6.1.
  expect(r.failedBySuite).toEqual({ fields: 11, macros2: 38, string: 1 });
});

// cel-js reads time zones through the runtime's Intl (ICU): on Node 24, four more timestamp cases
// with a zone pass (getDayOfMonth/getFullYear/getSeconds) than on Node 20. So an expression of a
// legacy run can evaluate differently on workers of different Node majors: upgrade Node only once
// runs started before runwright-cel-bufbuild-v1 have ended (README, Running in production).
const newerIcu = Number(process.versions.node.split('.')[0]) >= 24;

test('@marcbachmann/cel-js 8.0.0 (runs started before runwright-cel-bufbuild-v1)', () => {
  const r = measure('cel-js');
  expect(r.passed).toBe(newerIcu ? 916 : 912);
  expect(r.failedBySuite).toEqual({ basic: 8, comparisons: 25, conversions: 42, fields: 19, integer_math: 12, lists: 5, logic: 5, macros: 2, macros2: 38, parse: 26, string: 1, timestamps: newerIcu ? 21 : 25 });
});
