/**
 * The shipped OpenStack runbooks end to end through the interpreter, on a real Temporal dev
 * server and worker, against the local OpenStack stand-in: provision-vm (including the
 * one-instance-in-under-10-s target with the stand-in's default latencies, a lost response
 * retried without a duplicate, and compensation after a server goes to ERROR), decommission-vm
 * and demo-cloud. Histories are recorded for the replay test with RECORD_HISTORIES=1.
 */
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { buildRegistry } from '../activities/registry';
import { OpenStackClient } from '../activities/openstack/client';
import { loadRunbookFile } from '../client/runbooks';
import { resolveParams } from '../dsl/params';
import { DEFAULT_LATENCIES } from '../sim/openstack/model';
import { statusQuery, type RunInput, type RunResult } from '../workflows/definitions';
import { maybeRecordHistory, startRun, startSuiteWorker, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { TEST_LATENCY, act, makePool, startSim, type SimEnv } from './helpers/openstack';

const ROOT = join(__dirname, '..');
let env: TestEnv;
let queue: string;
let suite: SuiteWorker | undefined;
let os: SimEnv;

beforeAll(async () => {
  os = await startSim();
  ({ env, queue } = suite = await startSuiteWorker('openstack'));
});

afterAll(async () => {
  await suite?.stop();
  await os?.close();
});

afterEach(() => {
  os.sim.clearFaults();
  os.sim.setLatency(TEST_LATENCY);
});

function input(name: string, params: Record<string, unknown>): RunInput {
  const { loaded, diagnostics } = loadRunbookFile(join(ROOT, 'runbooks', `${name}.yaml`), buildRegistry());
  if (!loaded) throw new Error(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  const { values, errors } = resolveParams(loaded.runbook, params);
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return { runbook: loaded.runbook, params: values, children: loaded.children, startedBy: 'openstack-test' };
}

async function runToEnd(name: string, params: Record<string, unknown>, record = false) {
  const h = await startRun(env, queue, input(name, params));
  const res = (await h.result()) as RunResult;
  if (record) await maybeRecordHistory(env, h.workflowId, name);
  return { h, res, outputs: res.outputs as Record<string, any> };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    let c: any = e;
    while (c.cause) c = c.cause;
    return String(c.message);
  }
  throw new Error('expected the run to fail');
}

const client = (cloud = 'cluster-a') => new OpenStackClient(cloud);
const servers = async (cloud: string, prefix: string) => (await client(cloud).list('compute', '/servers/detail', 'servers', { query: { name: `^${prefix}-` } })).map((s: any) => ({ name: s.name, status: s.status, id: s.id }));
const members = async (cloud: string, pool: string) => client(cloud).list('load-balancer', `/lbaas/pools/${pool}/members`, 'members');

test('provision-vm: servers with ports, security group and floating IPs join the pool; decommission-vm takes them out', async () => {
  const { poolId } = await makePool('cluster-a', 'prov');
  const { outputs } = await runToEnd('provision-vm', { cloud: 'cluster-a', pool: 'prov-pool', count: 2, namePrefix: 'prov', securityGroup: 'prov-sg', allowPorts: [80, 443], floatingIp: true }, true);
  expect(outputs.prepare.names).toEqual(['prov-1', 'prov-2']);
  expect(outputs.members.members.map((m: any) => `${m.name}:${m.operatingStatus}`)).toEqual(['prov-1:ONLINE', 'prov-2:ONLINE']);
  expect((await servers('cluster-a', 'prov')).map((s) => `${s.name}:${s.status}`).sort()).toEqual(['prov-1:ACTIVE', 'prov-2:ACTIVE']);
  const ips = outputs.servers.servers.map((s: any) => s.fixedIps[0]);
  expect((await members('cluster-a', poolId)).map((x: any) => x.address).sort()).toEqual([...ips].sort());
  expect(outputs.fips.every((f: any) => /^172\.24\.4\./.test(f.fip.address))).toBe(true);
  expect(outputs.secgroup.created).toBe(true);
  // Each server's port (created by Nova) is in the security group, which has the two rules.
  const serverPorts = await client().list('network', '/ports', 'ports', { query: { device_id: outputs.servers.ids[0] } });
  expect(serverPorts[0].security_groups).toEqual([outputs.secgroup.id]);
  const sg = (await client().get('network', `/security-groups/${outputs.secgroup.id}`)).body.security_group;
  expect(sg.security_group_rules.filter((r: any) => r.direction === 'ingress').map((r: any) => r.port_range_min).sort()).toEqual([443, 80]);

  // A second run adds one more, numbered after the existing ones; the security group is reused.
  const again = await runToEnd('provision-vm', { cloud: 'cluster-a', pool: poolId, count: 1, namePrefix: 'prov', securityGroup: 'prov-sg' });
  expect(again.outputs.prepare.names).toEqual(['prov-3']);
  expect(again.outputs.secgroup.created).toBe(false);
  expect(await members('cluster-a', poolId)).toHaveLength(3);

  const fips = async () => (await client().list('network', '/floatingips', 'floatingips')).length;
  const fipsBefore = await fips();
  const d = await runToEnd('decommission-vm', { cloud: 'cluster-a', servers: ['prov-1', 'prov-2'], pool: 'prov-pool' }, true);
  expect(d.outputs.drain.updated.sort()).toEqual(ips.map((ip: string) => `${ip}:80`).sort());
  expect(d.outputs.remove.removed.sort()).toEqual(ips.map((ip: string) => `${ip}:80`).sort());
  expect((await servers('cluster-a', 'prov')).map((s) => s.name)).toEqual(['prov-3']);
  expect((await members('cluster-a', poolId)).map((x: any) => x.address)).toEqual([again.outputs.servers.servers[0].fixedIps[0]]);
  expect(await client().list('network', '/ports', 'ports', { query: { device_id: outputs.servers.ids[0] } })).toEqual([]);
  expect(fipsBefore - (await fips())).toBe(2);
}, 120_000);

test('provision-vm: one instance ACTIVE and in the pool in under 10 s with the stand-in\'s default latencies', async () => {
  await makePool('cluster-c', 'fast');
  os.sim.setLatency(DEFAULT_LATENCIES);
  const t0 = Date.now();
  const { outputs } = await runToEnd('provision-vm', { cloud: 'cluster-c', pool: 'fast-pool', count: 1, namePrefix: 'fast' });
  const took = Date.now() - t0;
  expect(outputs.members.members[0].operatingStatus).toBe('ONLINE');
  // The floor is the stand-in's own latency: BUILD, one pool update, the first health check.
  expect(took).toBeGreaterThanOrEqual(DEFAULT_LATENCIES.serverBuild + DEFAULT_LATENCIES.lbUpdate + DEFAULT_LATENCIES.healthCheck);
  expect(took).toBeLessThan(10_000);
}, 60_000);

test('provision-vm: a create whose answer is lost is retried by Temporal without a duplicate', async () => {
  await makePool('cluster-b', 'crash');
  const posts = () => os.sim.calls({ cloud: 'cluster-b', service: 'compute', method: 'POST', route: '/servers' });
  const made = () => os.sim.counters().created['cluster-b/RegionOne server'] ?? 0;
  const [p0, m0] = [posts(), made()];
  // The stand-in boots one of the servers, then drops the connection instead of answering 202.
  os.sim.addFault({ cloud: 'cluster-b', method: 'POST', path: '^/servers$', dropResponse: true, times: 1 });
  const { h, outputs } = await runToEnd('provision-vm', { cloud: 'cluster-b', pool: 'crash-pool', count: 3, namePrefix: 'crash' });
  // Attempt 2 found the three servers by the step's tag and booted none: three POSTs, three servers.
  expect(posts() - p0).toBe(3);
  expect(made() - m0).toBe(3);
  expect((await servers('cluster-b', 'crash')).map((s) => s.name).sort()).toEqual(['crash-1', 'crash-2', 'crash-3']);
  expect(outputs.servers.booted).toBe(0);
  const st = await h.query(statusQuery);
  expect(st.steps.find((s) => s.path === 'servers')?.attempts).toBe(2);
}, 60_000);

test('provision-vm: when a server goes to ERROR, everything the run created is removed, newest first', async () => {
  const { poolId } = await makePool('cluster-b', 'comp');
  const novaPorts = async () => (await client('cluster-b').list('network', '/ports', 'ports', { query: { device_owner: 'compute:nova' } })).length;
  const portsBefore = await novaPorts();
  os.sim.addFault({ cloud: 'cluster-b', serverError: '^comp-2$' });
  const h = await startRun(env, queue, input('provision-vm', { cloud: 'cluster-b', pool: poolId, count: 3, namePrefix: 'comp', securityGroup: 'comp-sg', floatingIp: true }));
  expect(await failure(h.result())).toMatch(/server comp-2 \(.*\) went to ERROR: Build of instance .* aborted/);
  const st = await h.query(statusQuery);
  // The batch deleted its servers (and so the ports Nova made for them) before failing; the
  // compensation removed the security group the run had created.
  expect(st.compensations.map((c) => `${c.path}:${c.state}`)).toEqual(['secgroup:done']);
  expect(await servers('cluster-b', 'comp')).toEqual([]);
  expect(await novaPorts()).toBe(portsBefore);
  expect(await members('cluster-b', poolId)).toEqual([]);
  expect((await client('cluster-b').list('network', '/security-groups', 'security_groups', { query: { name: 'comp-sg' } })).length).toBe(0);
}, 60_000);

test('demo-cloud: a load balancer with servers behind it (child runbook); running it again changes nothing', async () => {
  const { outputs } = await runToEnd('demo-cloud', { cloud: 'cluster-c', count: 2 }, true);
  expect(outputs.online.operatingStatus).toBe('ONLINE');
  expect(outputs.vms.members.members).toHaveLength(2);
  expect(outputs.done.message).toMatch(/^demo-lb at 10\.0\.\d+\.\d+ is ONLINE with 2 server\(s\): demo-web-\d 10\.0\.\d+\.\d+ ONLINE, demo-web-\d 10\.0\.\d+\.\d+ ONLINE$/);
  // Again: everything is reused, no server added. With a higher count, only the missing one.
  const again = await runToEnd('demo-cloud', { cloud: 'cluster-c', count: 2 });
  expect(again.outputs.lb).toMatchObject({ id: outputs.lb.id, created: false });
  expect(again.outputs.vms).toBeNull();
  const more = await runToEnd('demo-cloud', { cloud: 'cluster-c', count: 3 });
  expect(more.outputs.vms.prepare.names).toEqual(['demo-web-3']);
  expect(await members('cluster-c', outputs.pool.id)).toHaveLength(3);
  // Tidy up what the demo made (other tests in this file share the stand-in).
  for (const s of await servers('cluster-c', 'demo-web')) await act('openstack.server.delete', { cloud: 'cluster-c', id: s.id, deletePorts: true });
  await act('openstack.loadbalancer.delete', { cloud: 'cluster-c', id: outputs.lb.id });
}, 120_000);
