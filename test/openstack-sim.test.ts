/**
 * The OpenStack stand-in itself: state survives a restart (state file), its admin endpoint
 * (faults, latency, counters, clouds.yaml), timed state transitions, quotas, several clouds that
 * do not share anything, and API details clients rely on (version documents, microversions,
 * headers, status codes).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { OpenStackClient, resetSessions } from '../activities/openstack/client';
import { startOpenStackSim } from '../sim/openstack/server';
import { act, json, rejection, startSim, type SimEnv } from './helpers/openstack';

let os: SimEnv;
beforeAll(async () => {
  os = await startSim();
});
afterAll(async () => os?.close());
afterEach(() => os.sim.clearFaults());

const admin = (path: string, init?: RequestInit) => fetch(`${os.sim.url}/_sim${path}`, init);

test('state persists across a restart on the same file: servers, tokens, transitions still due', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-ospersist-'));
  const stateFile = join(dir, 'state.json');
  try {
    let sim = await startOpenStackSim({ stateFile, latency: { serverBuild: 1500 } });
    const file = join(dir, 'clouds.yaml');
    sim.writeCloudsYaml(file);
    process.env.OS_CLIENT_CONFIG_FILE = file;
    resetSessions();
    const s = await act('openstack.server.create', { cloud: 'cluster-a', name: 'persist', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto' });
    const token = (await new OpenStackClient('cluster-a').session.token()).id;
    const port = sim.port;
    await sim.close();
    // Same port, so the catalog (and clouds.yaml) stays valid; the BUILD finishes after the restart.
    sim = await startOpenStackSim({ stateFile, port });
    try {
      const res = await fetch(`${sim.url}/cluster-a/RegionOne/compute/v2.1/servers/${s.id}`, { headers: { 'x-auth-token': token } });
      expect(res.status).toBe(200);
      expect((await json(res)).server.status).toBe('BUILD');
      const done = await act('openstack.server.wait', { cloud: 'cluster-a', id: s.id });
      expect(done.servers[0].status).toBe('ACTIVE');
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).clouds['cluster-a'].regions.RegionOne.servers[s.id].name).toBe('persist');
    } finally {
      await sim.close();
    }
  } finally {
    process.env.OS_CLIENT_CONFIG_FILE = os.cloudsFile;
    resetSessions();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admin endpoint: faults, latency, counters, clouds.yaml', async () => {
  const f = await admin('/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cloud: 'cluster-b', service: 'network', errorRate: 1, status: 500, times: 2 }) });
  expect(f.status).toBe(201);
  const c = new OpenStackClient('cluster-b');
  for (let i = 0; i < 2; i++) expect((await rejection(c.get('network', '/networks'))).status).toBe(500);
  expect((await c.get('network', '/networks')).status).toBe(200);
  expect((await json(await admin('/faults'))).faults[0].fired).toBe(2);
  expect((await admin('/faults', { method: 'DELETE' })).status).toBe(204);
  // Extra latency on one service only.
  await admin('/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cloud: 'cluster-b', service: 'image', latencyMs: 400 }) });
  let t = Date.now();
  await c.get('image', '/images');
  expect(Date.now() - t).toBeGreaterThanOrEqual(400);
  t = Date.now();
  await c.get('compute', '/flavors');
  expect(Date.now() - t).toBeLessThan(300);
  const counters = await json(await admin('/counters'));
  expect(counters.calls['cluster-b RegionOne network GET /v2.0/networks']).toBeGreaterThanOrEqual(3);
  expect((await admin('/counters', { method: 'DELETE' })).status).toBe(204);
  expect(os.sim.counters().total).toBe(0);
  const cfg = await json(await admin('/config', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latency: { serverBuild: 123 } }) }));
  expect(cfg.latency.serverBuild).toBe(123);
  os.sim.setLatency({ serverBuild: 300 });
  const yaml = parse(await (await admin('/clouds.yaml')).text());
  expect(Object.keys(yaml.clouds)).toEqual(['cluster-a', 'cluster-b', 'cluster-c']);
  expect(yaml.clouds['cluster-c'].regions).toEqual(['RegionOne', 'RegionTwo']);
  expect(yaml.clouds['cluster-a'].auth).toMatchObject({ auth_url: os.sim.authUrl('cluster-a'), username: 'admin', project_name: 'admin' });
  expect((await admin('/nope')).status).toBe(404);
});

test('a whole cloud down refuses connections; a compute host down is not scheduled to and shows host_status DOWN', async () => {
  os.sim.addFault({ cloud: 'cluster-c', down: 'refuse' });
  const e = await rejection(fetch(`${os.sim.authUrl('cluster-c')}/auth/tokens`, { method: 'POST', body: '{}' }));
  expect(String(e.cause?.code ?? e.message)).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed|fetch failed/);
  os.sim.clearFaults();
  os.sim.addFault({ cloud: 'cluster-c', region: 'RegionOne', host: 'compute-2', down: 'refuse' });
  const svc = await act('openstack.compute-service.list', { cloud: 'cluster-c', binary: 'nova-compute' });
  expect(svc.down).toEqual(['nova-compute@compute-2']);
  expect((await rejection(act('openstack.compute-service.list', { cloud: 'cluster-c', requireUp: true }))).message).toMatch(/service\(s\) down: nova-compute@compute-2/);
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push((await act('openstack.server.create', { cloud: 'cluster-c', name: `spread-${i}`, flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto' })).id);
  const up = await act('openstack.server.wait', { cloud: 'cluster-c', ids });
  expect(new Set(up.servers.map((s: any) => s.host))).toEqual(new Set(['compute-1', 'compute-3']));
  for (const id of ids) await act('openstack.server.delete', { cloud: 'cluster-c', id });
});

test('transitions take the configured time: BUILD → ACTIVE, PENDING_CREATE → ACTIVE', async () => {
  os.sim.setLatency({ serverBuild: 600, lbCreate: 600 });
  try {
    const t0 = Date.now();
    const s = await act('openstack.server.create', { cloud: 'cluster-b', name: 'timed', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto', wait: true });
    expect(s.status).toBe('ACTIVE');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    const c = new OpenStackClient('cluster-b');
    const lb = (await c.post('load-balancer', '/lbaas/loadbalancers', { loadbalancer: { name: 'timed-lb', vip_subnet_id: (await c.list('network', '/subnets', 'subnets', { query: { name: 'private-subnet' } }))[0].id } })).body.loadbalancer;
    expect([lb.provisioning_status, lb.operating_status]).toEqual(['PENDING_CREATE', 'OFFLINE']);
    const waited = await act('openstack.loadbalancer.wait', { cloud: 'cluster-b', loadbalancer: lb.id, operatingStatus: ['ONLINE'] });
    expect(waited.provisioningStatus).toBe('ACTIVE');
    await act('openstack.loadbalancer.delete', { cloud: 'cluster-b', id: lb.id });
    await act('openstack.server.delete', { cloud: 'cluster-b', id: s.id });
  } finally {
    os.sim.setLatency({ serverBuild: 300, lbCreate: 300 });
  }
});

test('clouds and regions are separate; quotas are enforced per project', async () => {
  const a = await act('openstack.network.create', { cloud: 'cluster-a', name: 'only-in-a' });
  const b = await new OpenStackClient('cluster-b').list('network', '/networks', 'networks', { query: { name: 'only-in-a' } });
  const c2 = await new OpenStackClient('cluster-c', { region: 'RegionTwo' }).list('network', '/networks', 'networks', { query: { name: 'only-in-a' } });
  expect([b.length, c2.length]).toEqual([0, 0]);
  // Keystone tokens are per cloud.
  const tokA = (await new OpenStackClient('cluster-a').session.token()).id;
  const res = await fetch(`${os.sim.url}/cluster-b/RegionOne/compute/v2.1/flavors`, { headers: { 'x-auth-token': tokA } });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${os.sim.url}/cluster-b/identity"`);
  const c = new OpenStackClient('cluster-a');
  const t = await c.session.token();
  await c.put('network', `/quotas/${t.projectId}`, { quota: { security_group: 2 } });
  try {
    await act('openstack.security-group.create', { cloud: 'cluster-a', name: 'q-1' });
    const e = await rejection(act('openstack.security-group.create', { cloud: 'cluster-a', name: 'q-2' }));
    expect([e.type, e.nonRetryable]).toEqual(['OpenStackQuotaExceeded', true]);
    expect(e.message).toMatch(/HTTP 409 OverQuota: Quota exceeded for resources: \['security_group'\]\./);
  } finally {
    await c.put('network', `/quotas/${t.projectId}`, { quota: { security_group: 10 } });
  }
  await act('openstack.network.delete', { cloud: 'cluster-a', id: a.id });
});

test('API details: version documents, microversion headers, Location, 204s, request ids', async () => {
  const root = await fetch(`${os.sim.url}/cluster-a/identity`);
  expect(root.status).toBe(300);
  expect((await json(root)).versions.values[0].id).toBe('v3.14');
  const nova = await json(await fetch(`${os.sim.url}/cluster-a/RegionOne/compute/`));
  expect(nova.versions.find((v: any) => v.id === 'v2.1')).toMatchObject({ status: 'CURRENT', version: '2.93', min_version: '2.1' });
  const c = new OpenStackClient('cluster-a');
  const t = await c.session.token();
  const h = { 'x-auth-token': t.id, 'content-type': 'application/json' };
  const base = `${os.sim.url}/cluster-a/RegionOne/compute/v2.1`;
  const old = await fetch(`${base}/servers`, { method: 'POST', headers: h, body: JSON.stringify({ server: { name: 'x', flavorRef: '1', imageRef: os.sim.world.clouds['cluster-a'].regions.RegionOne.images[0].id } }) });
  expect(old.status).toBe(202);
  expect(old.headers.get('openstack-api-version')).toBe('compute 2.1');
  expect(old.headers.get('location')).toMatch(new RegExp(`^${base}/servers/[0-9a-f-]{36}$`));
  expect(old.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
  const id = (await json(old)).server.id;
  const noNets = await fetch(`${base}/servers`, { method: 'POST', headers: { ...h, 'openstack-api-version': 'compute 2.37' }, body: JSON.stringify({ server: { name: 'y', flavorRef: '1', imageRef: 'x' } }) });
  expect(noNets.status).toBe(400);
  expect((await json(noNets)).badRequest.message).toMatch(/'networks' is a required property/);
  const v247 = await json(await fetch(`${base}/servers/${id}`, { headers: { ...h, 'openstack-api-version': 'compute 2.47' } }));
  expect(v247.server.flavor).toMatchObject({ original_name: 'm1.tiny', vcpus: 1, ram: 512 });
  const v21 = await json(await fetch(`${base}/servers/${id}`, { headers: h }));
  expect(v21.server.flavor).toMatchObject({ id: '1' });
  const del = await fetch(`${base}/servers/${id}`, { method: 'DELETE', headers: h });
  expect([del.status, await del.text()]).toEqual([204, '']);
  const nf = await fetch(`${os.sim.url}/cluster-a/RegionOne/network/v2.0/ports/nope`, { headers: h });
  expect([nf.status, (await json(nf)).NeutronError.type]).toEqual([404, 'PortNotFound']);
  const bad = await fetch(`${os.sim.url}/cluster-a/RegionOne/network/v2.0/networks`, { method: 'POST', headers: h, body: JSON.stringify({ network: { name: 'n', colour: 'red' } }) });
  expect([bad.status, (await json(bad)).NeutronError.message]).toEqual([400, "Unrecognized attribute(s) 'colour'"]);
  const lbNf = await fetch(`${os.sim.url}/cluster-a/RegionOne/load-balancer/v2/lbaas/loadbalancers/nope`, { headers: h });
  expect([lbNf.status, (await json(lbNf)).faultcode]).toEqual([404, 'Client']);
});
