/**
 * The CEL engine behind dsl/expr.ts: the type check the validator runs before a run, references
 * read from CEL's own AST, and the differences between the two engines a run can be on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '../../activities/registry';
import { CEL_ENGINE, evaluateExpression, references, renderString, typeCheck, type CelEngineName } from '../../dsl/expr';
import { validateRunbookText } from '../../dsl/validate';
import { runCli } from '../helpers/cli';

const on = (engine: CelEngineName, scope: Record<string, unknown> = {}) => ({ ...scope, [CEL_ENGINE]: engine });

test('the type check refuses operators applied to types they have no overload for', () => {
  expect(() => typeCheck('"a" + 1')).toThrow("found no matching overload for '_+_' applied to '(string, int)'");
  expect(() => typeCheck('1 + 2.0')).toThrow(/applied to '\(int, double\)'/);
  expect(() => typeCheck('!"x"')).toThrow(/'!_' applied to '\(string\)'/);
  expect(() => typeCheck('size(1)')).toThrow(/'size' applied to '\(int\)'/);
  expect(() => typeCheck('"v" + string(1) + (1 < 2 ? "a" : "b")')).not.toThrow();
  try {
    typeCheck('params.x + ("a" + 1)');
  } catch (e) {
    expect((e as { offset: number }).offset).toBe(15);
  }
  // What is in scope is dyn: only the run can tell.
  for (const ok of ['params.a + 1', 'params.a + "x"', 'steps.s.outputs.n * 2.0', 'item.size() > 0', '[1, "a"].size() == 2', 'params.l.map(x, x + 1)', '1 == 1.0', 'timestamp("2024-01-01T00:00:00Z") + duration("1h")'])
    expect(() => typeCheck(ok)).not.toThrow();
});

const doc = (expr: string) =>
  `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: t }\nspec:\n  params:\n    n: { type: integer }\n  steps:\n    - id: hi\n      action: core.log\n      with: { message: "${expr}" }\n`;

test('the validator reports a type error with its line and column', () => {
  const d = validateRunbookText('t.yaml', doc('{{ \\"a\\" + 1 }}'), { actions: buildRegistry() }).diagnostics;
  expect(d.map((x) => `${x.line}:${x.column}: ${x.message}`)).toEqual([`10:24: invalid expression {{ "a" + 1 }}: found no matching overload for '_+_' applied to '(string, int)'`]);
  expect(validateRunbookText('t.yaml', doc('{{ params.n + 1 }}'), { actions: buildRegistry() }).diagnostics).toEqual([]);
});

test('runwright validate: a type error exits 2 with file:line:column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-cel-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), doc('{{ \\"a\\" + 1 }}'));
    const r = await runCli(['validate', 'bad.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bad\.yaml:10:24: error: invalid expression \{\{ "a" \+ 1 \}\}: found no matching overload for '_\+_' applied to '\(string, int\)'/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('references come from CEL’s AST: members, indexes, macro variables bound', () => {
  expect(references('params.a + params["b"] + steps.s.outputs.x')).toEqual([
    { root: 'params', member: 'a', offset: 0 },
    { root: 'params', member: 'b', offset: 11 },
    { root: 'steps', member: 's', offset: 25 },
  ]);
  expect(references('params.l.map(x, x + item).filter(y, y > index)').map((r) => r.root)).toEqual(['params', 'item', 'index']);
  expect(references('has(params.z) && [1].all(v, v > 0)')).toEqual([{ root: 'params', member: 'z', offset: 4 }]);
});

test('what differs between the engines (a run keeps the engine it started with)', () => {
  // Numbers of different types compare by value on @bufbuild/cel; cel-js throws.
  expect(evaluateExpression('1.0 == 1', on('bufbuild'))).toBe(true);
  expect(() => evaluateExpression('1.0 == 1', on('cel-js'))).toThrow();
  expect(evaluateExpression('[1] == [1.0]', on('bufbuild'))).toBe(true);
  // Timestamps and durations come out as CEL's text for them.
  expect(evaluateExpression('timestamp("2024-01-02T03:04:05Z") + duration("1h")', on('bufbuild'))).toBe('2024-01-02T04:04:05Z');
  expect(evaluateExpression('duration("90m")', on('bufbuild'))).toBe('5400s');
  expect(evaluateExpression('type(1)', on('bufbuild'))).toBe('int');
  // The same for both: JSON whole numbers are ints, strings extension, maps from objects.
  for (const e of ['cel-js', 'bufbuild'] as const) {
    expect(evaluateExpression('params.n + 1', on(e, { params: { n: 2 } }))).toBe(3);
    expect(evaluateExpression("params.l.join(', ')", on(e, { params: { l: ['a', 'b'] } }))).toBe('a, b');
    expect(renderString('{{ {"a": params.n, "b": [1, 2.5]} }}', on(e, { params: { n: 1 } }))).toEqual({ a: 1, b: [1, 2.5] });
    expect(() => evaluateExpression('params.missing.x', on(e, { params: {} }))).toThrow(/in \{\{params\.missing\.x\}\}/);
  }
});

test('values in scope read as they would from history: undefined properties are left out, undefined list items are null', () => {
  // A step record built in the workflow carries `error: undefined` until it fails (the drill report passes whole records).
  const steps = { approval: { state: 'skipped', outputs: undefined, error: undefined, attempts: [1, undefined] } };
  expect(evaluateExpression('steps.approval', on('bufbuild', { steps }))).toEqual({ state: 'skipped', attempts: [1, null] });
  expect(evaluateExpression("has(steps.approval.error) ? 'failed' : steps.approval.state", on('bufbuild', { steps }))).toBe('skipped');
});
