/**
 * Runwright's own OpenStack client and actions, unchanged, against a real OpenStack (Zed, from
 * Debian) started by scripts/realstack: Keystone password and application-credential auth,
 * the catalog and compute microversions, servers (create with an idempotent retry, get, list,
 * delete), os-services disable/enable, draining a host by live migration, and Octavia load
 * balancers, listeners, pools and members (noop amphora drivers).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { OpenStackClient, resetSessions } from '../../activities/openstack/client';
import { act, rejection, testCtx } from '../helpers/openstack';
import { CLOUD, CLOUDS_FILE, COMPUTE_HOSTS, IMAGE, deleteLoadBalancers, deleteServers, runPrefix, useRealstack } from './helpers';

const P = runPrefix('conf');
let tmp: string;

beforeAll(() => {
  useRealstack();
  tmp = mkdtempSync(join(tmpdir(), 'rw-realstack-'));
});

afterAll(async () => {
  process.env.OS_CLIENT_CONFIG_FILE = CLOUDS_FILE;
  resetSessions();
  await deleteServers(P);
  await deleteLoadBalancers(P);
  for (const h of COMPUTE_HOSTS) await act('openstack.compute-service.enable', { cloud: CLOUD, host: h });
  rmSync(tmp, { recursive: true, force: true });
});

const nets = [{ network: 'private' }];

describe('keystone', () => {
  test('password auth: a project-scoped token with a catalog of every service', async () => {
    const c = new OpenStackClient(CLOUD);
    const t = await c.session.token();
    expect(t.methods).toEqual(['password']);
    expect(t.projectId).toMatch(/^[0-9a-f]{32}$/);
    expect(t.expiresAt - t.issuedAt).toBeGreaterThan(3500_000);
    expect(t.expiresAt - t.issuedAt).toBeLessThanOrEqual(3600_000);
    expect(new Set(t.catalog.map((e) => e.type))).toEqual(new Set(['identity', 'compute', 'placement', 'image', 'network', 'load-balancer']));
    expect(await c.endpoint('compute')).toBe('http://127.0.0.1:8774/v2.1');
    expect(await c.endpoint('network')).toBe('http://127.0.0.1:9696/v2.0');
    expect(await c.endpoint('image')).toBe('http://127.0.0.1:9292/v2');
    expect(await c.endpoint('load-balancer')).toBe('http://127.0.0.1:9876/v2');
  });

  test('a wrong password is refused with Keystone\'s 401 message', async () => {
    const raw = parse(readFileSync(CLOUDS_FILE, 'utf8'));
    raw.clouds.wrong = { ...raw.clouds.realstack, auth: { ...raw.clouds.realstack.auth, password: 'not-the-password' } };
    const f = join(tmp, 'wrong.yaml');
    writeFileSync(f, stringify(raw));
    process.env.OS_CLIENT_CONFIG_FILE = f;
    try {
      const e = await rejection(new OpenStackClient('wrong').session.token());
      expect(e.status).toBe(401);
      expect(e.message).toMatch(/authentication to cloud "wrong" failed .*HTTP 401.*The request you have made requires authentication/);
    } finally {
      process.env.OS_CLIENT_CONFIG_FILE = CLOUDS_FILE;
    }
  });

  test('application credential: created through the API, then used by an action', async () => {
    const c = new OpenStackClient(CLOUD);
    const t = await c.session.token();
    const res = await c.post('identity', `/users/${t.userId}/application_credentials`, { application_credential: { name: `${P}-appcred`, description: 'runwright conformance test' } });
    expect(res.status).toBe(201);
    const cred = res.body.application_credential;
    expect(cred.secret).toEqual(expect.any(String));
    expect(cred.project_id).toBe(t.projectId);
    try {
      const raw = parse(readFileSync(CLOUDS_FILE, 'utf8'));
      raw.clouds['realstack-appcred'] = {
        auth_type: 'v3applicationcredential',
        auth: { auth_url: raw.clouds.realstack.auth.auth_url, application_credential_id: cred.id, application_credential_secret: cred.secret },
        region_name: 'RegionOne',
      };
      const f = join(tmp, 'appcred.yaml');
      writeFileSync(f, stringify(raw));
      process.env.OS_CLIENT_CONFIG_FILE = f;
      resetSessions();
      const ac = new OpenStackClient('realstack-appcred');
      const at = await ac.session.token();
      expect(at.methods).toEqual(['application_credential']);
      expect(at.projectId).toBe(t.projectId);
      const flavors = await act('openstack.flavor.list', { cloud: 'realstack-appcred' });
      expect(JSON.stringify(flavors)).toContain('m1.tiny');
      // By name (with the user), too.
      raw.clouds['realstack-appcred'].auth = { auth_url: raw.clouds.realstack.auth.auth_url, application_credential_name: `${P}-appcred`, application_credential_secret: cred.secret, username: 'admin', user_domain_name: 'Default' };
      writeFileSync(f, stringify(raw));
      resetSessions();
      expect((await new OpenStackClient('realstack-appcred').session.token()).methods).toEqual(['application_credential']);
    } finally {
      process.env.OS_CLIENT_CONFIG_FILE = CLOUDS_FILE;
      resetSessions();
      await new OpenStackClient(CLOUD).delete('identity', `/users/${t.userId}/application_credentials/${cred.id}`);
    }
  });
});

describe('nova', () => {
  test('version discovery and microversions: Zed offers 2.1 to 2.93; the header is echoed', async () => {
    const c = new OpenStackClient(CLOUD);
    const root = await c.get('compute', '/');
    expect(root.body.version).toMatchObject({ id: 'v2.1', status: 'CURRENT', min_version: '2.1', version: '2.93' });
    const r = await c.get('compute', '/flavors', { microversion: '2.60' });
    expect(r.headers['openstack-api-version']).toBe('compute 2.60');
    expect(r.headers['x-openstack-nova-api-version']).toBe('2.60');
    const e = await rejection(c.get('compute', '/flavors', { microversion: '2.999' }));
    expect(e.status).toBe(406);
  });

  test('server create, get, list and delete; a retried create finds the first server instead of booting another', async () => {
    const ctx = testCtx();
    const first = await act('openstack.server.create', { cloud: CLOUD, name: `${P}-idem`, flavor: 'm1.tiny', image: IMAGE, networks: nets }, ctx);
    expect(first).toMatchObject({ status: 'BUILD', created: true, changed: true });
    // The same step retried (say the worker died before recording the answer): same idempotency key, attempt 2.
    const again = await act('openstack.server.create', { cloud: CLOUD, name: `${P}-idem`, flavor: 'm1.tiny', image: IMAGE, networks: nets, wait: true }, { ...ctx, attempt: 2 });
    expect(again.id).toBe(first.id);
    expect(again).toMatchObject({ status: 'ACTIVE', created: true, changed: false });
    expect(COMPUTE_HOSTS).toContain(again.host);
    expect(again.fixedIps[0]).toMatch(/^10\.0\.0\.\d+$/);
    const listed = await act('openstack.server.list', { cloud: CLOUD, name: `^${P}-idem$` });
    expect(JSON.stringify(listed)).toContain(first.id);
    const c = new OpenStackClient(CLOUD);
    expect((await c.list('compute', '/servers', 'servers', { query: { name: `^${P}-idem$` } })).length).toBe(1);
    const got = await act('openstack.server.get', { cloud: CLOUD, server: first.id });
    expect(got).toMatchObject({ id: first.id, name: `${P}-idem`, status: 'ACTIVE' });
    const del = await act('openstack.server.delete', { cloud: CLOUD, id: first.id, wait: true });
    expect(del.changed).toBe(true);
    expect(await c.find('compute', `/servers/${first.id}`)).toBeUndefined();
    // Deleting again is a no-op.
    expect((await act('openstack.server.delete', { cloud: CLOUD, id: first.id, wait: true })).changed).toBe(false);
  });

  test('os-services: disable with a reason (2.53 ids), list, enable', async () => {
    const d = await act('openstack.compute-service.disable', { cloud: CLOUD, host: 'compute-2', reason: `${P} maintenance` });
    expect(d).toMatchObject({ previousStatus: 'enabled', changed: true });
    const listed = await act('openstack.compute-service.list', { cloud: CLOUD, host: 'compute-2', binary: 'nova-compute' });
    expect(JSON.stringify(listed)).toContain(`${P} maintenance`);
    const c = new OpenStackClient(CLOUD);
    const svc = (await c.get('compute', '/os-services', { query: { host: 'compute-2', binary: 'nova-compute' } })).body.services[0];
    expect(svc).toMatchObject({ status: 'disabled', disabled_reason: `${P} maintenance`, state: 'up' });
    expect(svc.id).toMatch(/^[0-9a-f-]{36}$/);
    // Disabling again with the same reason changes nothing.
    expect((await act('openstack.compute-service.disable', { cloud: CLOUD, host: 'compute-2', reason: `${P} maintenance` })).changed).toBe(false);
    const e = await act('openstack.compute-service.enable', { cloud: CLOUD, host: 'compute-2' });
    expect(e.changed).toBe(true);
    expect((await c.get('compute', '/os-services', { query: { host: 'compute-2', binary: 'nova-compute' } })).body.services[0]).toMatchObject({ status: 'enabled', disabled_reason: null });
  });

  test('drain a host by live migration: every server ends up on the other compute', async () => {
    const boot = await act('openstack.server.create-batch', { cloud: CLOUD, names: [1, 2, 3].map((i) => `${P}-drain-${i}`), flavor: 'm1.tiny', image: IMAGE, networks: nets, availabilityZone: 'nova:compute-1', wait: true });
    expect(boot.servers.map((s: any) => s.host)).toEqual(['compute-1', 'compute-1', 'compute-1']);
    await act('openstack.compute-service.disable', { cloud: CLOUD, host: 'compute-1', reason: `${P} drain` });
    try {
      const ctx = testCtx();
      const r = await act('openstack.compute-host.evacuate', { cloud: CLOUD, host: 'compute-1', maxParallel: 2 }, ctx);
      expect(r.remaining).toEqual([]);
      expect(r.failed).toEqual([]);
      expect(r.migrated.map((m: any) => m.status)).toEqual(['completed', 'completed', 'completed']);
      const c = new OpenStackClient(CLOUD);
      for (const s of boot.servers) {
        const now = (await c.get('compute', `/servers/${s.id}`)).body.server;
        expect(now['OS-EXT-SRV-ATTR:host']).toBe('compute-2');
        expect(now.status).toBe('ACTIVE');
        const migs = await act('openstack.server.migrations', { cloud: CLOUD, server: s.id });
        expect(JSON.stringify(migs)).toContain('completed');
      }
      // Nothing left on compute-1: draining again has nothing to do.
      expect((await act('openstack.compute-host.evacuate', { cloud: CLOUD, host: 'compute-1' })).migrated).toEqual([]);
    } finally {
      await act('openstack.compute-service.enable', { cloud: CLOUD, host: 'compute-1' });
      await deleteServers(`${P}-drain-`);
    }
  });
});

describe('octavia', () => {
  test('load balancer, listener, pool, members (batch), to ACTIVE; then deleted', async () => {
    const lb = await act('openstack.loadbalancer.create', { cloud: CLOUD, name: `${P}-lb`, vipSubnet: 'private-subnet' });
    expect(lb).toMatchObject({ provisioningStatus: 'ACTIVE', created: true });
    // Adopted by name on a second call.
    expect((await act('openstack.loadbalancer.create', { cloud: CLOUD, name: `${P}-lb`, vipSubnet: 'private-subnet' })).id).toBe(lb.id);
    const l = await act('openstack.listener.create', { cloud: CLOUD, loadbalancer: lb.id, name: `${P}-http`, protocol: 'HTTP', protocolPort: 80 });
    const p = await act('openstack.pool.create', { cloud: CLOUD, listener: l.id, name: `${P}-pool`, protocol: 'HTTP' });
    const added = await act('openstack.member.batch', { cloud: CLOUD, pool: p.id, addresses: ['10.0.0.50', '10.0.0.51'], subnet: 'private-subnet', protocolPort: 8080, waitOnline: true });
    expect(added.added.length).toBe(2);
    const one = await act('openstack.member.create', { cloud: CLOUD, pool: p.id, address: '10.0.0.52', protocolPort: 8080, subnet: 'private-subnet' });
    expect(one.id).toMatch(/^[0-9a-f-]{36}$/);
    const upd = await act('openstack.member.update', { cloud: CLOUD, pool: p.id, id: one.id, weight: 0 });
    expect(upd.weight).toBe(0);
    const waited = await act('openstack.member.wait', { cloud: CLOUD, pool: p.id });
    expect(waited.members.length).toBe(3);
    const hm = await act('openstack.healthmonitor.create', { cloud: CLOUD, pool: p.id, delay: 5, timeoutSeconds: 3 });
    expect(hm.id).toMatch(/^[0-9a-f-]{36}$/);
    const c = new OpenStackClient(CLOUD);
    const tree = (await c.get('load-balancer', `/lbaas/loadbalancers/${lb.id}/status`)).body.statuses.loadbalancer;
    expect(tree.provisioning_status).toBe('ACTIVE');
    expect(tree.listeners[0].pools[0].members.length).toBe(3);
    await act('openstack.member.delete', { cloud: CLOUD, pool: p.id, id: one.id });
    await act('openstack.healthmonitor.delete', { cloud: CLOUD, id: hm.id });
    await act('openstack.pool.delete', { cloud: CLOUD, id: p.id });
    await act('openstack.listener.delete', { cloud: CLOUD, id: l.id });
    const d = await act('openstack.loadbalancer.delete', { cloud: CLOUD, id: lb.id, cascade: false });
    expect(d.changed).toBe(true);
    expect(await c.find('load-balancer', `/lbaas/loadbalancers/${lb.id}`).then((x: any) => x?.loadbalancer?.provisioning_status ?? 'gone')).toMatch(/gone|DELETED/);
  });
});
