/**
 * runbooks/openstack-upgrade.yaml against the OpenStack stand-in plus real SSH test hosts
 * (scripts/testhosts): one controller and three computes whose host names are the stand-in's
 * Nova compute hosts. The OpenStack command-line tools on the hosts are shims that log every
 * call, so the test checks the documented order across hosts; packages are real apt upgrades
 * of the harness's dummy package; live migrations and compute service states are the
 * stand-in's. A second run fails on one compute: the run stops and re-enables what it disabled.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { buildRegistry } from '../activities/registry';
import { OpenStackClient } from '../activities/openstack/client';
import { loadRunbookFile } from '../client/runbooks';
import { resolveParams } from '../dsl/params';
import { decideUpdate, statusQuery, type RunInput, type RunStatus } from '../workflows/definitions';
import { connectTestEnv, maybeRecordHistory, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { act, expectRollingComputeUpgrade, startSim, type SimEnv } from './helpers/openstack';
import { prepareUpgradeHosts, upgradeInventory } from './helpers/upgrade-hosts';

const ROOT = join(__dirname, '..');
const HOST_SET = 41;
const NAMES = ['ctl-1', 'compute-1', 'compute-2', 'compute-3'];
let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let queue: string;
let os: SimEnv;
let th: TestHosts;
let inventory: string;

beforeAll(async () => {
  os = await startSim();
  th = startTestHosts(HOST_SET, NAMES.length);
  inventory = upgradeInventory(th, NAMES);
  prepareUpgradeHosts(th, NAMES);
  env = await connectTestEnv();
  queue = uniqueQueue('osupgrade');
  worker = await startTestWorker(env, queue);
  running = worker.run();
}, 600_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
  await os?.close();
  th?.down();
});

function input(params: Record<string, unknown>): RunInput {
  const { loaded, diagnostics } = loadRunbookFile(join(ROOT, 'runbooks', 'openstack-upgrade.yaml'), buildRegistry());
  if (!loaded) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const { values, errors } = resolveParams(loaded.runbook, params);
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return { runbook: loaded.runbook, params: values, startedBy: 'upgrade-starter' };
}

const PKG = ['rw-hello'];
const params = {
  cloud: 'cluster-a',
  inventory: '',
  release: '2023.1',
  computeBatch: 1,
  knownHosts: '',
  keystonePackages: PKG,
  glancePackages: PKG,
  placementPackages: PKG,
  novaPackages: PKG,
  neutronPackages: PKG,
  octaviaPackages: PKG,
  computePackages: PKG,
};

interface LogLine {
  host: string;
  at: bigint;
  cmd: string;
}
function logs(): LogLine[] {
  const out: LogLine[] = [];
  th.hosts.forEach((h) => {
    for (const line of th.sh(h.name, 'cat /var/log/rw-upgrade.log').split('\n').filter(Boolean)) {
      const [host, at, ...cmd] = line.split(' ');
      out.push({ host, at: BigInt(at), cmd: cmd.join(' ') });
    }
  });
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

async function approveWhenAsked(h: Awaited<ReturnType<typeof startRun>>): Promise<RunStatus> {
  const end = Date.now() + 120_000;
  for (;;) {
    const st = await h.query(statusQuery);
    if (st.pendingApprovals.length) {
      await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'change-manager', reason: 'maintenance window', step: st.pendingApprovals[0].step }] });
      return st;
    }
    if (st.state === 'failed' || Date.now() > end) throw new Error(`no approval requested (state ${st.state}: ${st.error ?? ''})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const services = async () => (await new OpenStackClient('cluster-a').get('compute', '/os-services', { query: { binary: 'nova-compute' } })).body.services.map((s: any) => `${s.host}:${s.status}`).sort();

test('the documented order, with computes drained and upgraded one batch at a time', async () => {
  // Servers on every compute, so each drain has work to do.
  const boot = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => act('openstack.server.create', { cloud: 'cluster-a', name: `tenant-${i}`, flavor: 'm1.small', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto' })));
  await act('openstack.server.wait', { cloud: 'cluster-a', ids: boot.map((s) => s.id) });
  const c = new OpenStackClient('cluster-a');
  const hostsBefore = new Set((await c.list('compute', '/servers/detail', 'servers', { query: { all_tenants: 1 } })).map((s: any) => s['OS-EXT-SRV-ATTR:host']));
  expect(hostsBefore.size).toBe(3);

  const h = await startRun(env, queue, input({ ...params, inventory, knownHosts: th.knownHosts }));
  const atGate = await approveWhenAsked(h);
  // Nothing changed before the approval: preflight and backup only.
  expect(atGate.pendingApprovals[0].message).toMatch(/Upgrade cluster-a to 2023\.1: 1 controller\(s\) \(ctl-1\), then 3 compute\(s\) in\s+batches of 1\. Preflight passed/);
  expect(logs().map((l) => l.cmd.split(' ')[0])).toEqual(['nova-status', 'placement-status', 'octavia-status', 'systemctl', 'mysqldump']);
  await h.result();
  await maybeRecordHistory(env, h.workflowId, 'openstack-upgrade');

  const seq = logs().map((l) => `${l.host} ${l.cmd}`);
  const at = (s: string) => {
    const i = seq.findIndex((x) => x === s || x.startsWith(`${s} `));
    if (i < 0) throw new Error(`never ran: ${s}\n${seq.join('\n')}`);
    return i;
  };
  const order = [
    'ctl-1 nova-status upgrade check',
    'ctl-1 mysqldump --all-databases',
    'ctl-1 keystone-manage db_sync --expand',
    'ctl-1 glance-manage db sync',
    'ctl-1 placement-manage db sync',
    'ctl-1 nova-manage api_db sync',
    'ctl-1 nova-manage db sync',
    'ctl-1 systemctl restart nova-conductor',
    'ctl-1 systemctl restart nova-scheduler nova-novncproxy',
    'ctl-1 systemctl restart nova-api',
    'ctl-1 neutron-db-manage upgrade heads',
    'ctl-1 octavia-db-manage upgrade head',
    'compute-1 systemctl restart nova-compute',
    'compute-2 systemctl restart nova-compute',
    'compute-3 systemctl restart nova-compute',
    'ctl-1 nova-manage db online_data_migrations',
    'ctl-1 keystone-manage db_sync --contract',
  ].map(at);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  // Online data migrations ran until they reported nothing left (exit 1 twice, then 0).
  expect(seq.filter((s) => s === 'ctl-1 nova-manage db online_data_migrations')).toHaveLength(3);
  // Real package upgrades on every host; compute RPC pinned to auto on the controller.
  for (const hst of th.hosts) expect(th.sh(hst.name, "dpkg-query -W -f='${Version}' rw-hello")).toBe('1.1');
  expect(th.sh(th.hosts[0].name, 'cat /etc/nova/nova.conf')).toMatch(/\[upgrade_levels\]\ncompute = auto/);
  expect(th.sh(th.hosts[0].name, 'ls /var/backups/openstack')).toBe(`pre-upgrade-${h.workflowId}.sql\n`);

  // Each compute: disabled, drained by live migration, upgraded, verified, enabled, before the next one starts.
  const st = await h.query(statusQuery);
  expectRollingComputeUpgrade(st, 3);
  const migrations = (await c.get('compute', '/os-migrations')).body.migrations;
  expect(new Set(migrations.filter((m: any) => m.status === 'completed').map((m: any) => m.source_compute))).toEqual(new Set(['compute-1', 'compute-2', 'compute-3']));
  expect(await services()).toEqual(['compute-1:enabled', 'compute-2:enabled', 'compute-3:enabled']);
  const after = await c.list('compute', '/servers/detail', 'servers', { query: { all_tenants: 1 } });
  expect(after.filter((s: any) => s.name.startsWith('tenant-')).map((s: any) => s.status)).toEqual(Array(6).fill('ACTIVE'));
}, 300_000);

test('a compute that fails to upgrade stops the run; computes it disabled are enabled again', async () => {
  for (const hst of th.hosts) th.sh(hst.name, ': > /var/log/rw-upgrade.log; rm -f /var/lib/rw-odm');
  th.sh(th.hosts[2].name, 'touch /etc/rw-fail/systemctl'); // compute-2
  // An operator had disabled compute-1 for another reason: the run upgrades it but leaves it disabled.
  await act('openstack.compute-service.disable', { cloud: 'cluster-a', host: 'compute-1', reason: 'disk replacement' });
  try {
    const h = await startRun(env, queue, input({ ...params, inventory, knownHosts: th.knownHosts, release: '2023.2' }));
    await approveWhenAsked(h);
    let msg = '';
    try {
      await h.result();
    } catch (e) {
      expect(e).toBeInstanceOf(WorkflowFailedError);
      msg = String((e as WorkflowFailedError).cause?.message);
    }
    expect(msg).toMatch(/compute-upgrade: 1 of 3 items failed \(max 0%\), stopped after batch 2 of 3: .*compute-2/);
    const seq = logs().map((l) => `${l.host} ${l.cmd}`);
    expect(seq).toContain('compute-1 systemctl restart nova-compute');
    expect(seq).toContain('compute-2 systemctl restart nova-compute');
    // Batch 3 never started; nothing after the computes ran.
    expect(seq.filter((s) => s.startsWith('compute-3 '))).toEqual([]);
    expect(seq.filter((s) => s.includes('online_data_migrations') || s.includes('--contract'))).toEqual([]);
    const st = await h.query(statusQuery);
    // compute-1 was disabled before the run: its compensation's `when` is false, so it is skipped (no call at all).
    expect(st.compensations.filter((x) => x.action === 'openstack.compute-service.enable').map((x) => `${x.path}:${x.state}`)).toEqual(['compute-upgrade[1].disable:done', 'compute-upgrade[0].disable:skipped']);
    expect(await services()).toEqual(['compute-1:disabled', 'compute-2:enabled', 'compute-3:enabled']);
    const c1 = (await new OpenStackClient('cluster-a').get('compute', '/os-services', { query: { host: 'compute-1', binary: 'nova-compute' } })).body.services[0];
    expect(c1.disabled_reason).toBe('disk replacement');
  } finally {
    th.sh(th.hosts[2].name, 'rm -f /etc/rw-fail/systemctl');
    await act('openstack.compute-service.enable', { cloud: 'cluster-a', host: 'compute-1' });
  }
}, 300_000);
