/**
 * Unit tests of the runbook language: CEL expressions, params, plan rendering, the JSON Schema
 * for editors, and that every shipped runbook validates clean.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildRegistry } from '../../activities/registry';
import { ExpressionError, evaluateExpression, isTrue, placeholders, references, render, renderString } from '../../dsl/expr';
import { resolveParams } from '../../dsl/params';
import { formatPlan, planRunbook } from '../../dsl/plan';
import { runbookJsonSchema, STEP_KINDS, type Runbook } from '../../dsl/schema';
import { validateRunbookText } from '../../dsl/validate';

const ROOT = join(__dirname, '../..');
const registry = buildRegistry();

function valid(yaml: string): Runbook {
  const r = validateRunbookText('test.yaml', yaml, { actions: registry });
  expect(r.diagnostics).toEqual([]);
  return r.runbook!;
}

describe('expressions', () => {
  const scope = {
    params: { n: 3, ratio: 1.5, hosts: ['a', 'b', 'c'], nums: [1, 2, 3], flag: true, cfg: { region: 'eu', port: 8080 } },
    steps: { probe: { outputs: { status: 200, body: 'ok' } } },
    run: { id: 'r-1' },
  };

  test('a whole placeholder keeps the value type', () => {
    expect(renderString('{{ params.hosts }}', scope)).toEqual(['a', 'b', 'c']);
    expect(renderString('{{ params.flag }}', scope)).toBe(true);
    expect(renderString('{{ params.cfg }}', scope)).toEqual({ region: 'eu', port: 8080 });
    expect(renderString('{{ steps.probe.outputs.status == 200 }}', scope)).toBe(true);
    const n = renderString('{{ params.n + 1 }}', scope);
    expect(n).toBe(4);
    expect(typeof n).toBe('number'); // CEL ints come back as numbers, not bigints
    expect(renderString('{{ null }}', scope)).toBeNull();
  });

  test('several placeholders, or text around one, interpolate into a string', () => {
    expect(renderString('{{ params.n }} hosts: {{ params.hosts }}', scope)).toBe('3 hosts: ["a","b","c"]');
    expect(renderString('port={{ params.cfg.port }} tls={{ params.flag }} none={{ null }}.', scope)).toBe('port=8080 tls=true none=.');
    expect(renderString('run {{ run.id }}', scope)).toBe('run r-1');
    expect(renderString('no placeholders', scope)).toBe('no placeholders');
  });

  test('whole numbers are CEL ints, others doubles; CEL does not mix them silently', () => {
    expect(renderString('{{ 7 / 2 }}', scope)).toBe(3); // int division
    expect(renderString('{{ 7.0 / 2.0 }}', scope)).toBe(3.5);
    expect(renderString('{{ params.ratio * 2.0 }}', scope)).toBe(3);
    expect(renderString('{{ double(params.n) * params.ratio }}', scope)).toBe(4.5);
    expect(renderString('{{ params.cfg.port / 1000 }}', scope)).toBe(8);
    expect(renderString('{{ size(params.hosts) }}', scope)).toBe(3);
    expect(() => renderString('{{ params.n * params.ratio }}', scope)).toThrow(ExpressionError);
  });

  test('map, filter and exists bind their variable', () => {
    expect(renderString('{{ params.nums.map(x, x * 2) }}', scope)).toEqual([2, 4, 6]);
    expect(renderString('{{ params.hosts.filter(h, h != "b") }}', scope)).toEqual(['a', 'c']);
    expect(renderString('{{ params.nums.exists(x, x == params.n) }}', scope)).toBe(true);
    expect(renderString('{{ params.nums.all(x, x > 1) }}', scope)).toBe(false);
  });

  test('references() lists free names with the member used, not macro variables', () => {
    expect(references('params.hosts.filter(h, h != params.skip)')).toEqual([
      { root: 'params', member: 'hosts', offset: 0 },
      { root: 'params', member: 'skip', offset: 28 },
    ]);
    expect(references('[1, 2].map(x, x + y)').map((r) => r.root)).toEqual(['y']);
    expect(references('steps.probe.outputs.status == 200 && item.ok')).toEqual([
      { root: 'steps', member: 'probe', offset: 0 },
      { root: 'item', member: 'ok', offset: 37 },
    ]);
    expect(references('params["region"] + run.id')).toEqual([
      { root: 'params', member: 'region', offset: 0 },
      { root: 'run', member: 'id', offset: 19 },
    ]);
    expect(references('has(params.x) ? size(index) : 0').map((r) => `${r.root}.${r.member ?? ''}`)).toEqual(['params.x', 'index.']);
    expect(references('{"k": v, "n": 1}').map((r) => r.root)).toEqual(['v']);
    expect(references('1 + 2')).toEqual([]);
  });

  test('syntax errors throw ExpressionError with the offset of the problem', () => {
    expect(() => references(' 1 + ')).toThrow(ExpressionError);
    try {
      references(' 1 2 ');
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ExpressionError);
      expect((e as ExpressionError).offset).toBe(3);
      expect((e as ExpressionError).expr).toBe(' 1 2 ');
    }
  });

  test('evaluation errors name the expression', () => {
    expect(() => evaluateExpression('params.missing.x', scope)).toThrow(/in \{\{params\.missing\.x\}\}/);
  });

  test('placeholders() finds each expression with its offset', () => {
    expect(placeholders('a {{ x }} b {{y}}')).toEqual([
      { expr: ' x ', offset: 4 },
      { expr: 'y', offset: 14 },
    ]);
  });

  test('render() walks nested values; isTrue() accepts only booleans', () => {
    expect(render({ a: ['{{ params.n }}', 'x{{ params.n }}'], b: { c: '{{ params.flag }}' }, d: 5 }, scope)).toEqual({ a: [3, 'x3'], b: { c: true }, d: 5 });
    expect(isTrue(undefined, scope)).toBe(true);
    expect(isTrue(false, scope)).toBe(false);
    expect(isTrue('{{ params.n > 2 }}', scope)).toBe(true);
    expect(isTrue('{{ params.n > 5 }}', scope)).toBe(false);
    expect(() => isTrue('{{ params.n }}', scope)).toThrow(/expected a boolean/);
  });
});

describe('params', () => {
  const rb = {
    spec: {
      params: {
        env: { type: 'string', enum: ['dev', 'prod'], default: 'dev' },
        replicas: { type: 'integer', minimum: 1, maximum: 10, default: 2 },
        ratio: { type: 'number', required: false },
        dryRun: { type: 'boolean', default: false },
        hosts: { type: 'array', items: { type: 'string' } },
        ports: { type: 'array', items: { type: 'integer' }, required: false },
        tags: { type: 'array', required: false },
        extra: { type: 'object', required: false },
      },
    },
  } as unknown as Runbook;
  const errorsOf = (p: Record<string, unknown>, coerce: string[] = []) => resolveParams(rb, p, { coerce: new Set(coerce) }).errors.map((e) => e.message);

  test('defaults apply; optional params without a default are null', () => {
    const r = resolveParams(rb, { hosts: ['h1'] });
    expect(r.errors).toEqual([]);
    expect(r.values).toEqual({ env: 'dev', replicas: 2, ratio: null, dryRun: false, hosts: ['h1'], ports: null, tags: null, extra: null });
  });

  test('a required param without a value is an error that says its type', () => {
    expect(errorsOf({})).toEqual(['param "hosts" is required (array)']);
  });

  test('enum, minimum and maximum are enforced', () => {
    expect(errorsOf({ hosts: [], env: 'qa' })).toEqual(['param "env": must be one of "dev", "prod" (got "qa")']);
    expect(errorsOf({ hosts: [], replicas: 0 })).toEqual(['param "replicas": must be >= 1 (got 0)']);
    expect(errorsOf({ hosts: [], replicas: 11 })).toEqual(['param "replicas": must be <= 10 (got 11)']);
    expect(errorsOf({ hosts: [], replicas: 2.5 })).toEqual(['param "replicas": expected a whole number (got 2.5)']);
  });

  test('unknown params are reported with the known ones', () => {
    expect(errorsOf({ hosts: [], replica: 3 })).toEqual(['unknown param "replica" (known: env, replicas, ratio, dryRun, hosts, ports, tags, extra)']);
  });

  test('--set values are coerced by the declared type', () => {
    const all = ['replicas', 'ratio', 'dryRun', 'hosts', 'ports', 'tags', 'extra'];
    const r = resolveParams(rb, { replicas: '3', ratio: '0.5', dryRun: 'true', hosts: 'a,b', ports: '80,443', tags: '["x"]', extra: '{"k":1}' }, { coerce: new Set(all) });
    expect(r.errors).toEqual([]);
    expect(r.values).toMatchObject({ replicas: 3, ratio: 0.5, dryRun: true, hosts: ['a', 'b'], ports: [80, 443], tags: ['x'], extra: { k: 1 } });
    expect(resolveParams(rb, { hosts: 'a', dryRun: 'no', tags: 'p,q' }, { coerce: new Set(all) }).values).toMatchObject({ hosts: ['a'], dryRun: false, tags: ['p', 'q'] });
    expect(resolveParams(rb, { hosts: '' }, { coerce: new Set(['hosts']) }).values.hosts).toEqual([]);
  });

  test('--set values that do not fit are errors, not zeros', () => {
    expect(errorsOf({ hosts: 'a', replicas: '' }, ['hosts', 'replicas'])).toEqual(['param "replicas": expected a number (got "")']);
    expect(errorsOf({ hosts: 'a', replicas: 'three' }, ['hosts', 'replicas'])).toEqual(['param "replicas": expected a number (got "three")']);
    expect(errorsOf({ hosts: 'a', dryRun: 'maybe' }, ['hosts', 'dryRun'])).toEqual(['param "dryRun": expected true or false (got "maybe")']);
    expect(errorsOf({ hosts: 'a', ports: '80,http' }, ['hosts', 'ports'])).toEqual(['param "ports": item 1: expected a number (got "80,http")']);
  });

  test('without coercion (params files, child runbooks) strings stay strings', () => {
    expect(errorsOf({ hosts: ['a'], replicas: '3' })).toEqual(['param "replicas": expected a number (got "3")']);
    expect(errorsOf({ hosts: 'a,b' })).toEqual(['param "hosts": expected a list (got "a,b")']);
  });
});

describe('plan', () => {
  const rb = () =>
    valid(`
apiVersion: runwright/v1
kind: Runbook
metadata: { name: plan-test, description: a plan }
spec:
  params:
    env: { type: string, default: dev }
    hosts: { type: array, default: [h1, h2, h3, h4, h5, h6, h7] }
  steps:
    - id: hello
      action: core.log
      with: { message: "deploying to {{ params.env }}" }
    - id: probe
      action: http.request
      with: { url: "https://{{ params.env }}.example.com/health" }
    - id: report
      action: core.log
      with: { message: "status {{ steps.probe.outputs.status }}" }
    - id: prod-only
      when: "{{ params.env == 'prod' }}"
      sleep: 5s
    - id: if-healthy
      when: "{{ steps.probe.outputs.status == 200 }}"
      sleep: 1s
    - id: each
      foreach: "{{ params.hosts }}"
      as: host
      batch: 3
      steps:
        - id: restart
          action: core.log
          with: { message: "restart {{ host }} ({{ index }})" }
    - id: later
      foreach: "{{ steps.probe.outputs.json.items }}"
      steps:
        - id: show
          action: core.log
          with: { message: "{{ item }}" }
`);

  test('renders known values, keeps run-time values as ⟨expr⟩', () => {
    const plan = planRunbook(rb(), { env: 'dev', hosts: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'] }, registry);
    const by = Object.fromEntries(plan.map((e) => [e.path, e]));
    expect(by.hello.detail).toBe('core.log: log "deploying to dev"');
    expect(by.probe.detail).toBe('http.request: GET https://dev.example.com/health');
    expect(by.report.detail).toBe('core.log {"message":"status ⟨steps.probe.outputs.status⟩"}');
  });

  test('when: false is marked skipped, unknown is conditional, true has no note', () => {
    const dev = planRunbook(rb(), { env: 'dev', hosts: [] }, registry);
    const prod = planRunbook(rb(), { env: 'prod', hosts: [] }, registry);
    expect(dev.find((e) => e.path === 'prod-only')?.condition).toBe('skipped (condition is false)');
    expect(prod.find((e) => e.path === 'prod-only')?.condition).toBeUndefined();
    expect(dev.find((e) => e.path === 'if-healthy')?.condition).toBe("only if {{ steps.probe.outputs.status == 200 }}");
    expect(dev.find((e) => e.path === 'hello')?.condition).toBeUndefined();
  });

  test('foreach expands known items (up to maxItems) and batches', () => {
    const plan = planRunbook(rb(), { env: 'dev', hosts: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'] }, registry, 5);
    expect(plan.find((e) => e.path === 'each')?.detail).toBe('7 items in 3 batch(es) of 3, max 0% failures');
    const inner = plan.filter((e) => e.path.startsWith('each['));
    expect(inner.map((e) => e.path)).toEqual(['each[0].restart', 'each[1].restart', 'each[2].restart', 'each[3].restart', 'each[4].restart', 'each[…]']);
    expect(inner[1].detail).toBe('core.log: log "restart h2 (1)"');
    expect(inner[5]).toMatchObject({ kind: 'more', title: '… 2 more items', depth: 1 });
  });

  test('foreach over run-time items shows one symbolic iteration', () => {
    const plan = planRunbook(rb(), { env: 'dev', hosts: [] }, registry);
    expect(plan.find((e) => e.path === 'later')?.detail).toBe('items from {{ steps.probe.outputs.json.items }} (known at run time)');
    // Input with unknown parts is shown raw (the action's own plan() needs real values).
    expect(plan.find((e) => e.path === 'later[i].show')?.detail).toBe('core.log {"message":"⟨item⟩"}');
  });

  test('formatPlan numbers top-level steps and indents the rest', () => {
    const r = rb();
    const text = formatPlan(r, planRunbook(r, { env: 'prod', hosts: ['h1'] }, registry));
    const lines = text.split('\n');
    expect(lines[0]).toBe('Plan for plan-test — a plan:');
    expect(lines[1]).toBe('  1. hello [action] core.log: log "deploying to prod"');
    expect(lines).toContain('    - each[0].restart [action] core.log: log "restart h1 (0)"');
    expect(lines).toContain('  5. if-healthy [sleep] wait 1s  (only if {{ steps.probe.outputs.status == 200 }})');
  });
});

describe('validator details', () => {
  const head = 'apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: t }\nspec:\n';
  /** Diagnostics as "line:col: message" for a spec body starting on line 5. */
  const diags = (body: string) => validateRunbookText('t.yaml', head + body, { actions: registry }).diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);

  test('a parallel branch cannot use a sibling branch; steps after the parallel can', () => {
    expect(diags(`  steps:
    - id: p
      parallel:
        - id: a
          action: core.noop
        - id: b
          action: core.log
          with: { message: "{{ steps.a.outputs }}" }
    - id: c
      action: core.log
      with: { message: "{{ steps.a.outputs }} {{ steps.b.outputs }}" }
`)).toEqual(['12:28: step "a" (line 8) runs in another branch of parallel step "p" at the same time; branches cannot use each other\'s outputs']);
  });

  test('steps inside a foreach are not visible after it; the foreach id is', () => {
    expect(diags(`  steps:
    - id: each
      foreach: [1, 2]
      steps:
        - id: inner
          action: core.noop
          with: { value: "{{ item + index }}" }
    - id: after
      action: core.log
      with: { message: "{{ steps.inner.outputs }} {{ size(steps.each.outputs) }}" }
`)).toEqual(['14:24: step "inner" (line 9) runs once per item inside foreach step "each"; use steps.each.outputs (one entry per item) instead']);
  });

  test('a step cannot use its own outputs, except in its compensation', () => {
    expect(diags(`  steps:
    - id: a
      action: core.noop
      when: "{{ steps.a.outputs.value == 1 }}"
      compensate: { action: core.log, with: { message: "undo {{ steps.a.outputs.value }}" } }
`)).toEqual(['8:13: step "a" is referenced in {{ steps.a.outputs.value == 1 }} from within itself; its outputs exist only after it finishes']);
  });

  test('params["x"] is checked like params.x; empty and unclosed placeholders are reported', () => {
    expect(diags(`  params:
    region: { type: string, default: eu }
  steps:
    - id: a
      action: core.log
      with: { message: "{{ params['regoin'] }} {{ }} {{ params.region" }
`)).toEqual([
      '10:24: unclosed "{{" in "{{ params[\'regoin\'] }} {{ }} {{ params.region": expected a closing "}}"',
      '10:24: unknown param "regoin" in {{ params[\'regoin\'] }} (did you mean "region"?) (declared: region)',
      '10:24: empty {{ }} in "{{ params[\'regoin\'] }} {{ }} {{ params.region": expected an expression inside',
    ]);
  });

  test('when: must be a boolean or an expression', () => {
    expect(diags(`  steps:
    - { id: a, sleep: 1s, when: yes }
    - { id: b, sleep: 1s, when: 1 }
    - { id: c, sleep: 1s, when: "true" }
    - { id: d, sleep: 1s, when: false }
`)).toEqual([
      '6:33: spec.steps[0].when: expected true, false or a {{ expression }}, got "yes"',
      '7:33: spec.steps[1].when: expected true, false or a {{ expression }}, got 1',
    ]);
  });

  test('param declarations must make sense', () => {
    expect(diags(`  params:
    a: { type: string, pattern: "([a-z]" }
    b: { type: integer, minimum: 5, maximum: 1 }
    c: { type: string, enum: [x, 1] }
    d: { type: array, items: { type: integer }, default: [1, two] }
    e: { type: boolean, default: ~ }
    bad-name: { type: string }
  steps:
    - { id: s, sleep: 1s }
`)).toEqual([
      expect.stringMatching(/^6:33: param "a": pattern is not a valid regular expression \(/),
      '7:34: param "b": minimum 5 is greater than maximum 1',
      '8:34: param "c": enum value 1 is not a string',
      '9:58: param "d": default must be a list of integer values (type: array), got a list whose item 1 is "two"',
      '11:5: spec.params: invalid name "bad-name": param names must be identifiers',
    ]);
  });

  test('missing and empty values point at their key', () => {
    expect(diags(`  steps:
    - id: a
      sleep:
    - id: b
      action: core.log
      with:
        level: warn
`)).toEqual([
      '7:7: spec.steps[0].sleep: expected a duration such as "500ms", "30s", "5m", "4h" or "1h30m", got nothing',
      '10:7: core.log: missing required input "message" (expected a string)',
    ]);
    expect(validateRunbookText('t.yaml', 'apiVersion: runwright/v1\nkind: Runbook\nmetadata:\n  description: x\nspec:\n  steps: []\n', { actions: registry }).diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([
      '3:1: missing required field "name" (expected a string)',
      '6:10: spec.steps: a runbook needs at least one step, got 0 item(s)',
    ]);
  });

  test('a foreach with a wrong value type is judged as a foreach, not as a group', () => {
    expect(diags(`  steps:
    - id: f
      foreach: 5
      batch: soon
      steps:
        - { id: s, sleep: 1s }
`)).toEqual([
      '7:16: spec.steps[0].foreach: expected a string or a list, got 5',
      '8:14: spec.steps[0].batch: expected a number or a {{ expression }}, got "soon"',
    ]);
  });

  test('a step that is not a mapping, and a with: that is not a mapping, are reported once', () => {
    expect(diags(`  steps:
    - just text
    - id: b
      action: core.log
      with: hello
`)).toEqual([
      '6:7: spec.steps[0]: expected a step (a mapping with id and one of action, parallel, foreach, approval, sleep, runbook, steps), got "just text"',
      '9:13: spec.steps[1].with: expected a mapping, got "hello"',
    ]);
  });

  test('plan renders templates inside a literal foreach list', () => {
    const rb = valid(`${head}  params: { env: { type: string, default: dev } }
  steps:
    - id: each
      foreach: ["{{ params.env }}-a", b]
      steps:
        - { id: s, action: core.log, with: { message: "{{ item }}" } }
`);
    const plan = planRunbook(rb, { env: 'dev' }, registry);
    expect(plan.find((e) => e.path === 'each[0].s')?.detail).toBe('core.log: log "dev-a"');
  });
});

/**
 * A small JSON Schema (2020-12) checker for the keywords the generated schema uses; it throws on
 * any other keyword, so a schema change cannot make it pass by being ignored.
 */
function jsonSchemaErrors(schema: any, value: unknown, root: any = schema, at = '$'): string[] {
  if (schema === true || (schema && Object.keys(schema).length === 0)) return [];
  const known = new Set(['$ref', '$defs', '$id', '$schema', 'title', 'description', 'anyOf', 'type', 'const', 'enum', 'pattern', 'minLength', 'minimum', 'maximum', 'minItems', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items']);
  for (const k of Object.keys(schema)) if (!known.has(k)) throw new Error(`JSON Schema keyword ${k} at ${at} is not supported by this checker`);
  if (schema.$ref) {
    const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    if (!m || !root.$defs?.[m[1]]) return [`${at}: unresolvable $ref ${schema.$ref}`];
    return jsonSchemaErrors(root.$defs[m[1]], value, root, at);
  }
  const errs: string[] = [];
  if (schema.anyOf && !schema.anyOf.some((s: unknown) => jsonSchemaErrors(s, value, root, at).length === 0)) errs.push(`${at}: matches no anyOf branch`);
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (schema.type) {
    const types: string[] = [].concat(schema.type);
    const t = typeOf(value);
    const ok = types.some((x) => x === t || (x === 'integer' && Number.isInteger(value)));
    if (!ok) return [...errs, `${at}: expected ${types.join('|')}, got ${t}`];
  }
  if ('const' in schema && value !== schema.const) errs.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) errs.push(`${at}: not in enum`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${at}: does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errs.push(`${at}: too short`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${at}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${at}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${at}: too few items`);
    if (schema.items) value.forEach((v, i) => errs.push(...jsonSchemaErrors(schema.items, v, root, `${at}[${i}]`)));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errs.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.propertyNames) errs.push(...jsonSchemaErrors(schema.propertyNames, k, root, `${at}{${k}}`));
      if (schema.properties?.[k]) errs.push(...jsonSchemaErrors(schema.properties[k], v, root, `${at}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${at}: unknown property ${k}`);
      else if (schema.additionalProperties) errs.push(...jsonSchemaErrors(schema.additionalProperties, v, root, `${at}.${k}`));
    }
  }
  return errs;
}

describe('JSON Schema for editors', () => {
  const schema = runbookJsonSchema() as any;
  const demo = () => parse(readFileSync(join(ROOT, 'runbooks/demo.yaml'), 'utf8'));

  test('is draft 2020-12 with $defs for the recursive step type', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\//);
    expect(Object.keys(schema.$defs ?? {}).length).toBeGreaterThan(0);
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.apiVersion.const).toBe('runwright/v1');
    expect(schema.properties.kind.const).toBe('Runbook');
    expect(schema.properties.spec.required).toEqual(['steps']);
    expect(schema.properties.spec.properties.steps.items.$ref).toMatch(/^#\/\$defs\//);
  });

  test('every step kind appears as the required key of exactly one step branch', () => {
    const ref = schema.properties.spec.properties.steps.items.$ref.replace('#/$defs/', '');
    const branches: any[] = schema.$defs[ref].anyOf;
    expect(branches).toHaveLength(STEP_KINDS.length);
    // A branch is known by the kind keys it requires (foreach also requires its nested steps).
    const signature = (b: any) => (b.required as string[]).filter((k) => (STEP_KINDS as readonly string[]).includes(k)).sort().join('+');
    for (const b of branches) expect(b.required).toContain('id');
    expect(branches.map(signature).sort()).toEqual(STEP_KINDS.map((k) => (k === 'foreach' ? 'foreach+steps' : k)).sort());
  });

  test('accepts the shipped demo runbook and rejects broken copies of it', () => {
    expect(jsonSchemaErrors(schema, demo())).toEqual([]);
    const extra = { ...demo(), extra: 1 };
    expect(jsonSchemaErrors(schema, extra)).toContain('$: unknown property extra');
    const { spec: _spec, ...noSpec } = demo();
    expect(jsonSchemaErrors(schema, noSpec)).toContain('$: missing spec');
    const wrongVersion = { ...demo(), apiVersion: 'runwright/v2' };
    expect(jsonSchemaErrors(schema, wrongVersion)).toContain('$.apiVersion: expected "runwright/v1"');
    const noKind = demo();
    noKind.spec.steps[0] = { id: 'x', name: 'no kind' };
    expect(jsonSchemaErrors(schema, noKind)).toContain('$.spec.steps[0]: matches no anyOf branch');
    const badRetry = demo();
    badRetry.spec.steps[1].steps[0].retry.maximumAttempts = 0;
    expect(jsonSchemaErrors(schema, badRetry)).toContain('$.spec.steps[1]: matches no anyOf branch');
  });
});

describe('shipped runbooks', () => {
  const dir = join(ROOT, 'runbooks');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();

  test('there are some', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files)('runbooks/%s validates clean', (f) => {
    const byName = new Map<string, Runbook>();
    for (const g of files) {
      const doc = parse(readFileSync(join(dir, g), 'utf8'));
      if (doc?.metadata?.name) byName.set(doc.metadata.name, doc);
    }
    const r = validateRunbookText(`runbooks/${f}`, readFileSync(join(dir, f)), { actions: registry, findRunbook: (n) => byName.get(n) });
    expect(r.diagnostics).toEqual([]);
    expect(r.runbook?.apiVersion).toBe('runwright/v1');
  });
});

test('compensate takes timeout, heartbeatTimeout and when (checked like a step\'s, seeing its own outputs); spec.defaults.heartbeatTimeout is a duration', () => {
  const head = 'apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: t }\nspec:\n';
  const diags = (body: string) => validateRunbookText('t.yaml', head + body, { actions: registry }).diagnostics.map((d) => d.message);
  const ok = valid(`${head}  defaults: { heartbeatTimeout: 30s }
  steps:
    - id: a
      action: core.noop
      compensate: { action: core.log, with: { message: undo }, timeout: 1m, heartbeatTimeout: 5s, when: "{{ steps.a.state == 'succeeded' }}" }
`);
  expect(ok.spec.defaults).toEqual({ heartbeatTimeout: '30s' });
  expect(diags(`  steps:
    - id: a
      action: core.noop
      compensate: { action: core.log, with: { message: undo }, when: "{{ steps.later.outputs.x }}" }
    - id: later
      action: core.noop
`).join('\n')).toMatch(/later/);
  expect(diags('  defaults: { heartbeatTimeout: soon }\n  steps:\n    - id: a\n      action: core.noop\n').join('\n')).toMatch(/duration/);
  expect(diags('  steps:\n    - id: a\n      action: core.noop\n      compensate: { action: core.log, with: { message: x }, heartbeatTimeout: 5 }\n')).not.toEqual([]);
});
