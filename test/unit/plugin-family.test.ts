/**
 * The four extension families (actions, host modules, fault kinds, traffic backends) are one
 * Plugin contract (activities/plugin.ts): every member has a name, a description, a zod input
 * and a dry-run (check mode) path. This walks every registered member of every family.
 */
import { z } from 'zod';
import { buildRegistry } from '../../activities/registry';
import { HOST_MODULES } from '../../activities/host/modules';
import { FAULT_KINDS } from '../../activities/fault/spec';
import { TRAFFIC_BACKENDS } from '../../activities/traffic/shift';
import type { Plugin, PluginFamily } from '../../activities/plugin';
import { defineModule, type ModuleContext } from '../../activities/host/module';

const families: [PluginFamily, readonly Plugin<z.ZodTypeAny, any, any>[]][] = [
  ['action', [...buildRegistry().values()]],
  ['host module', [...HOST_MODULES.values()]],
  ['fault kind', Object.values(FAULT_KINDS)],
  ['traffic backend', Object.values(TRAFFIC_BACKENDS)],
];

describe.each(families)('%s plugins', (family, members) => {
  test('the family has members', () => {
    expect(members.length).toBeGreaterThan(0);
  });

  test.each(members.map((m) => [m.name, m] as const))('%s: name, description, zod input, run', (_name, m) => {
    expect(typeof m.name).toBe('string');
    expect(m.name).toMatch(/^[a-z][a-z0-9._-]*$/);
    expect(typeof m.description).toBe('string');
    expect(m.description.length).toBeGreaterThan(0);
    expect(m.input).toBeInstanceOf(z.ZodType);
    expect(typeof m.run).toBe('function');
  });

  test('names are unique', () => {
    const names = members.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test('every member has a dry-run path', () => {
    const missing = members.filter((m) => typeof m.dryRun !== 'function' && !(family === 'action' && (m as { readOnly?: boolean }).readOnly)).map((m) => m.name);
    expect(missing).toEqual([]);
  });
});

test('a fault kind is named by its kind and reads its own schema', () => {
  for (const [kind, k] of Object.entries(FAULT_KINDS)) {
    expect(k.name).toBe(kind);
    expect(k.kind).toBe(kind);
    expect(k.input).toBe(k.schema);
    expect(typeof k.restore).toBe('function');
  }
});

test('a host module reads its args as its input', () => {
  for (const [name, m] of HOST_MODULES) {
    expect(m.name).toBe(name);
    expect(m.input).toBe(m.args);
  }
});

test('a traffic backend is named by its kind', () => {
  for (const [kind, b] of Object.entries(TRAFFIC_BACKENDS)) expect(b.name).toBe(kind);
});

test("a host module's dry run is its run in check mode, and leaves the caller's context alone", async () => {
  const seen: { check: boolean; diff: boolean }[] = [];
  const m = defineModule({ name: 'spy', description: 'records the mode', args: z.strictObject({}), run: async (_a, c) => (seen.push({ check: c.check, diff: c.diff }), { changed: true, msg: 'line added' }) });
  const ctx = { host: 'h', check: false, diff: false } as unknown as ModuleContext;
  await expect(m.dryRun({}, ctx)).resolves.toEqual({ changed: true, effect: 'change', summary: 'line added' });
  expect(seen).toEqual([{ check: true, diff: true }]);
  expect(ctx.check).toBe(false);
});
