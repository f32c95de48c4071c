/**
 * The compute phase of runbooks/openstack-upgrade.yaml, through Temporal (dev server + worker),
 * against the real OpenStack of scripts/realstack: for each compute in rolling batches, disable
 * its nova-compute service, drain it by live migration, "upgrade" it, check it reports up, and
 * enable it again. The disable, drain, verify and enable steps are the runbook file's own,
 * unchanged; the upgrade step (Ansible over SSH on a real deployment) restarts that host's
 * nova-compute process here. A second run fails on the second compute: the run stops and the
 * compensation enables the computes it disabled.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { defineAction, type ActionDefinition } from '../../activities/define';
import { OpenStackClient } from '../../activities/openstack/client';
import { statusQuery } from '../../workflows/definitions';
import { inputFor, runbookFrom, startRun } from '../helpers/temporal';
import { act, expectRollingComputeUpgrade } from '../helpers/openstack';
import { CLOUD, COMPUTE_HOSTS, IMAGE, ROOT, STATE_DIR, deleteServers, runPrefix, startWorker, useRealstack, type RealstackWorker } from './helpers';

const P = runPrefix('upg');
const restarted: string[] = [];
const failOn = new Set<string>();

const extra: ActionDefinition[] = [
  defineAction({
    name: 'realstack.computes',
    description: 'The compute hosts of the real stack (stands for the inventory lookup).',
    input: z.strictObject({}),
    run: async () => ({ hosts: COMPUTE_HOSTS }),
  }),
  defineAction({
    name: 'realstack.restart-compute',
    description: "Restart a host's nova-compute process (stands for the package upgrade and restart over SSH).",
    input: z.strictObject({ host: z.string() }),
    run: async ({ host }) => {
      if (failOn.has(host)) throw new Error(`upgrade of ${host} failed (injected)`);
      const name = `nova-compute-${host.replace(/^compute-/, '')}`;
      const pid = () => readFileSync(join(STATE_DIR, 'run', `${name}.pid`), 'utf8').split(' ')[0];
      const before = pid();
      await promisify(execFile)(join(ROOT, 'scripts', 'realstack'), ['restart', name], { env: { ...process.env, RUNWRIGHT_REALSTACK_DIR: STATE_DIR }, timeout: 240_000 });
      restarted.push(host);
      return { host, before, after: pid(), changed: true };
    },
  }),
];

/** The runbook's compute phase, taken from the file: only the inventory and the SSH upgrade step are replaced. */
function computePhase(): string {
  const doc = parse(readFileSync(join(ROOT, 'runbooks', 'openstack-upgrade.yaml'), 'utf8'));
  const phase = doc.spec.steps.find((s: any) => s.id === 'compute-upgrade');
  if (!phase) throw new Error('runbooks/openstack-upgrade.yaml has no compute-upgrade step');
  const inner = phase.steps.map((s: any) => s.id);
  // silence/maintenance and their ends quiet the monitoring around the work; with the default
  // params (no Alertmanager or Zabbix URL) they are skipped.
  expect(inner).toEqual(['disable', 'silence', 'maintenance', 'drain', 'upgrade', 'verify', 'enable', 'end-maintenance', 'unsilence']);
  phase.steps = phase.steps.map((s: any) => (s.id === 'upgrade' ? { id: 'upgrade', name: s.name, action: 'realstack.restart-compute', with: { host: '{{ host }}' }, timeout: '5m', retry: { maximumAttempts: 1 } } : s));
  doc.metadata.name = 'openstack-upgrade-computes';
  doc.spec.steps = [{ id: 'computes', action: 'realstack.computes', with: {} }, phase];
  return stringify(doc);
}

let w: RealstackWorker;
const c = () => new OpenStackClient(CLOUD);
const services = async () => (await c().get('compute', '/os-services', { query: { binary: 'nova-compute' } })).body.services.map((s: any) => `${s.host}:${s.status}:${s.state}`).sort();

beforeAll(async () => {
  useRealstack();
  w = await startWorker('realstack-upgrade', extra);
});

afterAll(async () => {
  await w?.stop();
  await deleteServers(P);
  for (const h of COMPUTE_HOSTS) await act('openstack.compute-service.enable', { cloud: CLOUD, host: h });
});

const params = { cloud: CLOUD, inventory: '', release: '2023.1', computeBatch: 1, maxParallelMigrations: 2 };

test('computes one at a time: disabled, drained by live migration, restarted, verified up, enabled', async () => {
  const rb = runbookFrom(computePhase(), extra);
  // Servers on both computes, so each drain has work to do.
  const a = await act('openstack.server.create-batch', { cloud: CLOUD, names: [`${P}-a1`, `${P}-a2`], flavor: 'm1.tiny', image: IMAGE, networks: [{ network: 'private' }], availabilityZone: 'nova:compute-1', wait: true });
  const b = await act('openstack.server.create', { cloud: CLOUD, name: `${P}-b1`, flavor: 'm1.tiny', image: IMAGE, networks: [{ network: 'private' }], availabilityZone: 'nova:compute-2', wait: true });
  const ids = [...a.servers.map((s: any) => s.id), b.id];

  const h = await startRun(w.env, w.queue, inputFor(rb, params, { startedBy: 'realstack-test' }));
  await h.result();
  expect(restarted).toEqual(['compute-1', 'compute-2']);

  const st = await h.query(statusQuery);
  expectRollingComputeUpgrade(st, 2);
  for (let i = 0; i < 2; i++) {
    const p = (s: string) => `compute-upgrade[${i}].${s}`;
    const upgraded = st.steps.find((s) => s.path === p('upgrade'))!.outputs as any;
    expect(upgraded.after).not.toBe(upgraded.before);
  }
  // compute-1's two servers went to compute-2; then compute-2's three (its own and those two) went to compute-1.
  const drained = (i: number) => (st.steps.find((s) => s.path === `compute-upgrade[${i}].drain`)!.outputs as any).migrated.map((m: any) => m.id).sort();
  // (Servers someone else left on the stack move too.)
  expect(drained(0)).toEqual(expect.arrayContaining(a.servers.map((s: any) => s.id)));
  expect(drained(0)).not.toContain(b.id);
  expect(drained(1)).toEqual(expect.arrayContaining(ids));
  const completed = (await c().get('compute', '/os-migrations')).body.migrations.filter((m: any) => ids.includes(m.instance_uuid) && m.status === 'completed' && m.migration_type === 'live-migration');
  expect(completed.length).toBe(5);
  for (const id of ids) {
    const s = (await c().get('compute', `/servers/${id}`)).body.server;
    expect([s.status, s['OS-EXT-SRV-ATTR:host']]).toEqual(['ACTIVE', 'compute-1']);
  }
  expect(await services()).toEqual(['compute-1:enabled:up', 'compute-2:enabled:up']);
}, 600_000);

test('a compute that fails to upgrade stops the run; the computes it disabled are enabled again', async () => {
  const rb = runbookFrom(computePhase(), extra);
  restarted.length = 0;
  failOn.add('compute-2');
  try {
    const h = await startRun(w.env, w.queue, inputFor(rb, { ...params, release: '2023.2' }, { startedBy: 'realstack-test' }));
    const err = await h.result().then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String(err.cause?.message)).toMatch(/compute-upgrade: 1 of 2 items failed \(max 0%\), stopped after batch 2 of 2: .*compute-2/);
    expect(restarted).toEqual(['compute-1']);
    const st = await h.query(statusQuery);
    expect(st.compensations.filter((x) => x.action === 'openstack.compute-service.enable').map((x) => `${x.path}:${x.state}`)).toEqual(['compute-upgrade[1].disable:done', 'compute-upgrade[0].disable:done']);
    expect(await services()).toEqual(['compute-1:enabled:up', 'compute-2:enabled:up']);
  } finally {
    failOn.clear();
  }
}, 600_000);
