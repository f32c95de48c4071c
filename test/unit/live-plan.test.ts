/**
 * The live plan's pure parts (dsl/live-plan.ts, lib/plan-file.ts): the walk with a stand-in for
 * the worker, "(known after apply)", foreach paths as the interpreter's, counting, the plan
 * file's hash (stable, tamper-evident) and masking of secret params.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '../../activities/registry';
import { countChanges, effectOf, livePlan, summaryLine, type StepAnswer, type StepAsk } from '../../dsl/live-plan';
import { validateRunbookText } from '../../dsl/validate';
import { makePlanFile, PlanFileError, readPlanFile } from '../../lib/plan-file';
import type { Runbook } from '../../dsl/schema';

const rb = (text: string): Runbook => {
  const { runbook, diagnostics } = validateRunbookText('t.yaml', text, { actions: buildRegistry() });
  if (!runbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return runbook;
};

const RB = rb(`
apiVersion: runwright/v1
kind: Runbook
metadata: { name: lp }
spec:
  params:
    token: { type: string, secret: true }
    hosts: { type: array, items: { type: string }, default: [a, b] }
  steps:
    - id: names
      action: openstack.server.prepare
      with: { cloud: c, count: 1, namePrefix: web, flavor: f, image: i, network: n }
    - id: net
      action: openstack.network.create
      with: { cloud: c, name: "{{ steps.names.outputs.names[0] }}" }
    - id: port
      action: openstack.port.create
      with: { cloud: c, network: "{{ steps.net.outputs.id }}", name: p }
    - id: each
      foreach: "{{ params.hosts }}"
      as: h
      steps:
        - id: say
          action: http.request
          with: { url: "https://{{ h }}/x?t={{ params.token }}", method: POST }
    - id: later
      when: "{{ steps.net.outputs.created }}"
      action: openstack.network.delete
      with: { cloud: c, id: "{{ steps.net.outputs.id }}" }
`);

function fakeWorker(asked: StepAsk[]) {
  return async (q: StepAsk): Promise<StepAnswer> => {
    asked.push(q);
    if (q.unknown) return { kind: 'not-run', summary: 'will do', effect: q.action.endsWith('delete') ? 'destroy' : 'create', dryRunnable: true };
    if (q.action === 'openstack.server.prepare') return { kind: 'read', summary: 'named', outputs: { names: ['web-7'] } };
    if (q.action === 'openstack.network.create') return { kind: 'dry-run', result: { changed: true, summary: 'create', diff: '+ network web-7', effect: 'create' }, hash: 'h-net' };
    return { kind: 'dry-run', result: { changed: true, summary: 'post', diff: 'POST x' }, hash: `h-${q.path}` };
  };
}

test('the walk: reads feed forward, creates make later inputs "(known after apply)", foreach paths are the interpreter\'s', async () => {
  const asked: StepAsk[] = [];
  const steps = await livePlan(RB, { token: 's3cr3t-value', hosts: ['a', 'b'] }, fakeWorker(asked));
  const by = Object.fromEntries(steps.map((s) => [s.path, s]));
  expect(steps.map((s) => `${s.path}:${s.status}`)).toEqual(['names:read', 'net:planned', 'port:known-after-apply', 'each:planned', 'each[0].say:planned', 'each[1].say:planned', 'later:known-after-apply']);
  expect(asked.find((q) => q.path === 'net')!.input).toEqual({ cloud: 'c', name: 'web-7' });
  expect(by.port.input).toMatchObject({ network: '(known after apply)' });
  expect(by.later.condition).toBe('only if {{ steps.net.outputs.created }}');
  expect(by['each[1].say'].hash).toBe('h-each[1].say');
  expect(countChanges(steps)).toEqual({ create: 2, change: 2, destroy: 1, afterApply: 2 });
  expect(summaryLine(countChanges(steps))).toBe('Plan: 2 to create, 2 to change, 1 to destroy (2 of them with values known after apply).');
});

test('effectOf: the dry run\'s own word, else its diff, else the action', () => {
  expect(effectOf('x.create', { changed: false, summary: '' })).toBe('none');
  expect(effectOf('x.thing', { changed: true, summary: '', diff: '+ a\n+ b' })).toBe('create');
  expect(effectOf('x.thing', { changed: true, summary: '', diff: '- a' })).toBe('destroy');
  expect(effectOf('x.delete', { changed: true, summary: '', diff: 'whatever' })).toBe('destroy');
  expect(effectOf('x.set', { changed: true, summary: '', effect: 'create' })).toBe('create');
});

test('plan file: same content same hash; a secret param never in it; an edit is a hash mismatch; junk is no plan', async () => {
  const params = { token: 's3cr3t-value', hosts: ['a', 'b'] };
  const steps = await livePlan(RB, params, fakeWorker([]));
  const a = makePlanFile(RB, {}, params, steps, new Date(0));
  const b = makePlanFile(RB, {}, params, steps, new Date(1e12));
  expect(a.hash).toBe(b.hash);
  expect(JSON.stringify(a)).not.toContain('s3cr3t-value');
  expect(a.params.token).toBe('***');
  expect(a.maskedParams).toEqual(['token']);
  // A reference is no secret: kept, and not asked for again.
  expect(makePlanFile(RB, {}, { ...params, token: 'secret:api-token' }, steps).maskedParams).toEqual([]);
  const dir = mkdtempSync(join(tmpdir(), 'rw-planfile-'));
  try {
    const f = join(dir, 'p.json');
    writeFileSync(f, JSON.stringify(a));
    expect(readPlanFile(f).hash).toBe(a.hash);
    writeFileSync(f, JSON.stringify({ ...a, steps: a.steps.map((s) => (s.path === 'net' ? { ...s, diff: '' } : s)) }));
    expect(() => readPlanFile(f)).toThrow(/was changed after it was made/);
    writeFileSync(f, '{"format":"other"}');
    expect(() => readPlanFile(f)).toThrow(PlanFileError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a child runbook given with the plan is walked in place with its rendered params; one not given, or with params known only after apply, is not planned', async () => {
  const child = rb(`
apiVersion: runwright/v1
kind: Runbook
metadata: { name: child }
spec:
  params:
    name: { type: string }
    size: { type: integer, default: 3 }
  steps:
    - id: make
      action: openstack.network.create
      with: { cloud: c, name: "{{ params.name + '-' + string(params.size) }}" }
`);
  const parent = rb(`
apiVersion: runwright/v1
kind: Runbook
metadata: { name: parent }
spec:
  steps:
    - id: names
      action: openstack.server.prepare
      with: { cloud: c, count: 1, namePrefix: web, flavor: f, image: i, network: n }
    - id: sub
      runbook: child
      with: { name: "{{ steps.names.outputs.names[0] }}" }
    - id: later
      runbook: child
      with: { name: "{{ steps.sub.outputs.make.id }}" }
    - id: other
      runbook: elsewhere
`);
  const asked: StepAsk[] = [];
  const steps = await livePlan(parent, {}, fakeWorker(asked), 200, { child });
  expect(steps.map((s) => `${s.path}:${s.status}`)).toEqual(['names:read', 'sub:gate', 'sub/make:planned', 'later:not-planned', 'other:not-planned']);
  // The child's param default applied, the parent's read fed its input.
  expect(asked.find((q) => q.path === 'sub/make')?.input).toEqual({ cloud: 'c', name: 'web-7-3' });
  expect(steps.find((s) => s.path === 'later')?.summary).toBe('runs child runbook child; its params are (known after apply)');
  expect(steps.find((s) => s.path === 'other')?.summary).toMatch(/not given with the plan/);
  expect(countChanges(steps)).toMatchObject({ create: 1 });
});
