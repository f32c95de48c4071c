/**
 * Rehearsal proven against the real OpenStack of scripts/realstack: snapshot it, rehearse
 * provision-vm and openstack-upgrade's compute phase on its twin (`runwright rehearse
 * --from-cloud realstack`, the CLI in a child process), check that the real cloud saw reads only,
 * then run the same runbooks for real (`runwright run`) and compare what changed on the real cloud
 * with what changed on the twin: the same resources created, changed and deleted, by name. Last,
 * `runwright plan` and `runwright apply` on the real cloud, with drift made between them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { OpenStackClient } from '../../activities/openstack/client';
import { takeSnapshot } from '../../activities/openstack/snapshot';
import { changeLine, compareChanges, diffSnapshots, type StateChange } from '../../lib/twin-state';
import { runCli } from '../helpers/cli';
import { serverAddress } from '../helpers/temporal';
import { statusQuery, type RunStatus } from '../../workflows/definitions';
import type { PlanFile } from '../../lib/plan-file';
import { act } from '../helpers/openstack';
import { CLOUD, CLOUDS_FILE, IMAGE, ROOT, deleteLoadBalancers, deleteServers, runPrefix, startWorker, useRealstack } from './helpers';

const P = runPrefix('reh');
let dir: string;

beforeAll(() => {
  useRealstack();
  dir = mkdtempSync(join(tmpdir(), 'rw-realstack-rehearse-'));
});

afterAll(async () => {
  await deleteServers(P);
  await deleteLoadBalancers(P);
  for (const h of ['compute-1', 'compute-2']) await act('openstack.compute-service.enable', { cloud: CLOUD, host: h });
  for (const g of await new OpenStackClient(CLOUD).list('network', '/security-groups', 'security_groups')) if (String(g.name).startsWith(P)) await act('openstack.security-group.delete', { cloud: CLOUD, id: g.id });
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 600_000);

const cli = (args: string[]) => runCli(args, { cwd: dir, env: { OS_CLIENT_CONFIG_FILE: CLOUDS_FILE, OS_CLOUD: '', RUNWRIGHT_HOME: join(dir, '.runwright') }, timeoutMs: 900_000 });
const mine = (cs: StateChange[]) => cs.filter((c) => c.key.includes(P) || c.kind === 'compute service');
const lines = (cs: StateChange[]) => mine(cs).filter((c) => c.kind !== 'port' && c.kind !== 'security group rule').map((c) => changeLine(c, true)).sort();

test('provision-vm: the twin creates what the real cloud then creates, and the rehearsal wrote nothing real', async () => {
  const lb = await act('openstack.loadbalancer.create', { cloud: CLOUD, name: `${P}-lb`, vipSubnet: 'private-subnet', wait: true });
  const l = await act('openstack.listener.create', { cloud: CLOUD, loadbalancer: lb.id, name: `${P}-http`, protocol: 'HTTP', protocolPort: 80 });
  await act('openstack.pool.create', { cloud: CLOUD, listener: l.id, name: `${P}-pool`, protocol: 'HTTP' });
  const args = ['--set', `cloud=${CLOUD}`, '--set', `pool=${P}-pool`, '--set', 'count=2', '--set', `namePrefix=${P}`, '--set', `securityGroup=${P}-sg`, '--set', `image=${IMAGE}`];

  const before = await takeSnapshot(CLOUD);
  const r = await cli(['rehearse', join(ROOT, 'runbooks', 'provision-vm.yaml'), '--from-cloud', CLOUD, ...args, '--json']);
  expect({ code: r.code, stderr: r.code ? r.stderr.slice(-3000) : '' }).toEqual({ code: 0, stderr: '' });
  const report = JSON.parse(r.stdout);
  expect(report.run.state).toBe('succeeded');
  expect(report.comparison.notInPlan).toEqual([]);
  // The rehearsal changed nothing on the real cloud.
  expect(lines(diffSnapshots(before, await takeSnapshot(CLOUD)))).toEqual([]);

  const run = await cli(['run', join(ROOT, 'runbooks', 'provision-vm.yaml'), ...args]);
  expect({ code: run.code, out: run.code ? `${run.stdout}\n${run.stderr}`.slice(-3000) : '' }).toEqual({ code: 0, out: '' });
  const real = diffSnapshots(before, await takeSnapshot(CLOUD));
  const twin = report.twin.changes as StateChange[];
  expect(lines(twin)).toEqual(expect.arrayContaining([`created server ${P}-1`, `created server ${P}-2`, `created security group ${P}-sg`]));
  const cmp = compareChanges(mine(twin), mine(real));
  expect(cmp.differences).toEqual([]);
  expect(cmp.same.length).toBeGreaterThanOrEqual(5);
}, 900_000);

test('openstack-upgrade compute phase: the twin drains and re-enables the computes as the real run then does', async () => {
  await deleteServers(P);
  const a = await act('openstack.server.create-batch', { cloud: CLOUD, names: [`${P}-a1`, `${P}-a2`], flavor: 'm1.tiny', image: IMAGE, networks: [{ network: 'private' }], availabilityZone: 'nova:compute-1', wait: true });
  const b = await act('openstack.server.create', { cloud: CLOUD, name: `${P}-b1`, flavor: 'm1.tiny', image: IMAGE, networks: [{ network: 'private' }], availabilityZone: 'nova:compute-2', wait: true });
  expect(a.servers).toHaveLength(2);
  expect(b.id).toEqual(expect.any(String));
  // The runbook's compute phase, as test/realstack/upgrade.test.ts takes it from the file.
  const doc = parse(readFileSync(join(ROOT, 'runbooks', 'openstack-upgrade.yaml'), 'utf8'));
  const phase = doc.spec.steps.find((s: any) => s.id === 'compute-upgrade');
  phase.steps = phase.steps.map((s: any) => (s.id === 'upgrade' ? { id: 'upgrade', action: 'realstack.restart-compute', with: { host: '{{ host }}' }, timeout: '5m', retry: { maximumAttempts: 1 } } : s));
  doc.metadata.name = 'openstack-upgrade-computes';
  doc.spec.steps = [{ id: 'computes', action: 'realstack.computes', with: {} }, phase];
  const file = join(dir, 'upgrade-computes.yaml');
  writeFileSync(file, stringify(doc));
  const actions = ['--actions', join(__dirname, 'rehearse-actions.ts')];
  const args = ['--set', `cloud=${CLOUD}`, '--set', 'inventory=', '--set', 'release=2023.1'];

  const before = await takeSnapshot(CLOUD);
  const r = await cli(['rehearse', file, '--from-cloud', CLOUD, ...args, ...actions, '--json']);
  expect({ code: r.code, stderr: r.code ? r.stderr.slice(-3000) : '' }).toEqual({ code: 0, stderr: '' });
  const report = JSON.parse(r.stdout);
  expect(report.run.steps.filter((s: any) => s.action === 'realstack.restart-compute').map((s: any) => `${s.path}:${s.mode}:${s.state}`)).toEqual(['compute-upgrade[0].upgrade:dry-run:succeeded', 'compute-upgrade[1].upgrade:dry-run:succeeded']);
  expect(lines(diffSnapshots(before, await takeSnapshot(CLOUD)))).toEqual([]);

  const run = await cli(['run', file, ...args, ...actions]);
  expect({ code: run.code, out: run.code ? `${run.stdout}\n${run.stderr}`.slice(-3000) : '' }).toEqual({ code: 0, out: '' });
  const real = diffSnapshots(before, await takeSnapshot(CLOUD));
  // Where each server ended up (placement included: with two computes a drain has one target).
  const twinLines = lines(report.twin.changes);
  expect(twinLines).toEqual([`changed server ${P}-b1 (host: "compute-2" → "compute-1")`]);
  expect(lines(real)).toEqual(twinLines);
}, 900_000);

test('plan and apply on the real cloud: a security group created by hand after the plan is drift; approved on the live plan\'s hash, the run finishes', async () => {
  const w = await startWorker('realstack-plan');
  try {
    const env = { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: w.queue, RUNWRIGHT_HOME: join(dir, '.runwright-plan'), OS_CLIENT_CONFIG_FILE: CLOUDS_FILE, OS_CLOUD: '', RUNWRIGHT_CODEC: 'off' };
    const f = join(dir, 'plan.json');
    const sg = `${P}-dsg`;
    const lb = await act('openstack.loadbalancer.create', { cloud: CLOUD, name: `${P}-dlb`, vipSubnet: 'private-subnet', wait: true });
    const l = await act('openstack.listener.create', { cloud: CLOUD, loadbalancer: lb.id, name: `${P}-dhttp`, protocol: 'HTTP', protocolPort: 80 });
    await act('openstack.pool.create', { cloud: CLOUD, listener: l.id, name: `${P}-dpool`, protocol: 'HTTP' });
    const planned = await runCli(['plan', join(ROOT, 'runbooks', 'provision-vm.yaml'), '--set', `cloud=${CLOUD}`, '--set', `pool=${P}-dpool`, '--set', 'count=1', '--set', `namePrefix=${P}-d`, '--set', `securityGroup=${sg}`, '--set', `image=${IMAGE}`, '--out', f], { env, timeoutMs: 300_000 });
    expect({ code: planned.code, stderr: planned.stderr }).toEqual({ code: 0, stderr: '' });
    expect(planned.stdout).toContain(`+ security group ${sg}`);
    const plan = JSON.parse(readFileSync(f, 'utf8')) as PlanFile;

    // Someone makes the security group (without its rule) on the real cloud before the apply.
    await new OpenStackClient(CLOUD).post('network', '/security-groups', { security_group: { name: sg } });

    const id = `${P}-apply`;
    const started = await runCli(['apply', f, '--detach', '--id', id], { env });
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    const h = w.env.client.workflow.getHandle(id);
    let st = (await h.query(statusQuery)) as RunStatus;
    for (let i = 0; i < 400 && !st.pendingApprovals[0]?.planHash; i++) {
      await new Promise((r) => setTimeout(r, 250));
      st = (await h.query(statusQuery)) as RunStatus;
    }
    expect(st.pendingApprovals.map((p) => p.step)).toEqual(['drift:secgroup']);
    const drift = st.plan!.drift[0];
    expect(drift.planned.diff).toBe(`+ security group ${sg}\n+ rule ingress tcp/80`);
    expect(drift.live.diff).toBe('+ rule ingress tcp/80');
    const old = await runCli(['approve', id, '--plan-hash', plan.hash, '--as', 'reviewer'], { env });
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/changed since you reviewed it/);
    const ok = await runCli(['approve', id, '--plan-hash', drift.planHash, '--as', 'reviewer'], { env });
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    await h.result();
    const servers = await new OpenStackClient(CLOUD).list('compute', '/servers', 'servers', { query: { name: `^${P}-d-` } });
    expect(servers.map((x: any) => x.name)).toEqual([`${P}-d-1`]);
  } finally {
    await w.stop();
  }
}, 600_000);
