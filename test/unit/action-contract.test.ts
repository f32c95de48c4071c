/**
 * Action contract (dsl/contract.ts): action defaults and inverses compiled into the runbook at
 * load time. Pure: no Temporal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyActionContracts, type ContractInfo } from '../../dsl/contract';
import type { Runbook } from '../../dsl/schema';
import { buildRegistry } from '../../activities/registry';
import { loadRunbookFile } from '../../client/runbooks';
import { validateRunbookText } from '../../dsl/validate';
import { isDuration } from '../../dsl/duration';

const info: Record<string, ContractInfo> = {
  'x.create': {
    defaults: { timeout: '35m', heartbeatTimeout: '1m' },
    inverse: { action: 'x.delete', with: { cloud: '{{ input.cloud }}', region: '{{ input.region }}', id: '{{ outputs.id }}', force: true }, when: '{{ outputs.created && !outputs.adopted }}' },
  },
};
const rb = (steps: unknown[], defaults?: { heartbeatTimeout: string }): Runbook =>
  ({ apiVersion: 'runwright/v1', kind: 'Runbook', metadata: { name: 't' }, spec: { steps, ...(defaults ? { defaults } : {}) } }) as Runbook;
const compile = (r: Runbook) => applyActionContracts(r, (a) => info[a]);

describe('applyActionContracts', () => {
  test('a runbook whose actions declare nothing is returned as is (same object)', () => {
    const r = rb([{ id: 'a', action: 'core.log', with: { message: 'hi' } }, { id: 'p', parallel: [{ id: 'b', action: 'core.noop' }] }]);
    expect(compile(r)).toBe(r);
  });

  test("defaults fill what the step leaves unset; the step's and the runbook's own win", () => {
    const out = compile(rb([{ id: 'a', action: 'x.create', compensate: 'none' }, { id: 'b', action: 'x.create', timeout: '1m', heartbeatTimeout: '5s', compensate: 'none' }]));
    expect(out.spec.steps[0]).toMatchObject({ timeout: '35m', heartbeatTimeout: '1m' });
    expect(out.spec.steps[1]).toMatchObject({ timeout: '1m', heartbeatTimeout: '5s' });
    const withRunbookDefault = compile(rb([{ id: 'a', action: 'x.create', compensate: 'none' }], { heartbeatTimeout: '40s' }));
    expect((withRunbookDefault.spec.steps[0] as any).heartbeatTimeout).toBeUndefined();
  });

  test('the inverse becomes the compensate: input fields copied as written, outputs read from the step', () => {
    const out = compile(rb([{ id: 'net', action: 'x.create', with: { cloud: '{{ params.cloud }}', name: 'n' } }]));
    expect((out.spec.steps[0] as any).compensate).toEqual({
      action: 'x.delete',
      with: { cloud: '{{ params.cloud }}', id: '{{ steps.net.outputs.id }}', force: true },
      when: '{{ steps.net.outputs.created && !steps.net.outputs.adopted }}',
    });
  });

  test('a written compensate, or compensate: none, keeps the inverse out; nested steps are compiled too', () => {
    const own = { action: 'y.undo', with: { a: 1 } };
    const out = compile(
      rb([
        { id: 'a', action: 'x.create', compensate: own },
        { id: 'b', action: 'x.create', compensate: 'none' },
        { id: 'loop', foreach: [1, 2], steps: [{ id: 'c', action: 'x.create', with: { cloud: 'k' } }] },
      ]),
    );
    expect((out.spec.steps[0] as any).compensate).toBe(own);
    expect((out.spec.steps[1] as any).compensate).toBe('none');
    expect((out.spec.steps[2] as any).steps[0].compensate).toMatchObject({ action: 'x.delete', with: { cloud: 'k', id: '{{ steps.c.outputs.id }}' } });
  });
});

describe('the registry', () => {
  const registry = buildRegistry();

  test.each([...registry.values()].filter((a) => a.inverse).map((a) => [a.name, a] as const))('%s: its inverse is a registered action that takes the inverse input', (_n, a) => {
    const inv = registry.get(a.inverse!.action);
    expect(inv).toBeDefined();
    const sample: Record<string, unknown> = 'cloud' in a.inverse!.with ? { cloud: 'c' } : {};
    for (const [k, v] of Object.entries(a.inverse!.with)) if (k !== 'cloud') sample[k] = typeof v === 'string' ? 'x' : v;
    const r = inv!.input.safeParse(sample);
    const unknownKeys = r.success ? [] : r.error.issues.filter((i) => i.code === 'unrecognized_keys');
    expect(unknownKeys).toEqual([]);
  });

  test('action defaults are durations of the one grammar', () => {
    for (const a of registry.values()) for (const v of Object.values(a.defaults ?? {})) expect([a.name, isDuration(v)]).toEqual([a.name, true]);
  });

  test('shipped runbooks compile to what they say: no step gains a timeout or a compensation it did not have', () => {
    const dir = join(__dirname, '..', '..', 'runbooks');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      const { loaded } = loadRunbookFile(join(dir, f), registry);
      const raw = validateRunbookText(f, readFileSync(join(dir, f)), { actions: registry, findRunbook: (n) => ({ metadata: { name: n } }) as Runbook }).runbook;
      expect([f, loaded?.runbook]).toEqual([f, raw]);
    }
  });
});

describe('dry run', () => {
  test('every action that changes anything has a dry run', () => {
    const missing = [...buildRegistry().values()].filter((a) => !a.readOnly && !a.dryRun).map((a) => a.name);
    expect(missing).toEqual([]);
  });

  test('an action is readOnly or has a dry run, not both', () => {
    expect([...buildRegistry().values()].filter((a) => a.readOnly && a.dryRun).map((a) => a.name)).toEqual([]);
  });
});
