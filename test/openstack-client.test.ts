/**
 * The OpenStack client and actions against the local stand-in (sim/openstack): configuration
 * exactly like openstacksdk, Keystone (password and application credentials, token reuse,
 * expiry, re-authentication on 401), catalog endpoint choice, errors and their Temporal
 * mapping, Octavia 409 retries, live-migration drain.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { configFiles, configSearchPath, loadCloud } from '../activities/openstack/config';
import { OpenStackClient, resetSessions, sessionFor } from '../activities/openstack/client';
import { act, json, makePool, rejection, startSim, testCtx, type SimEnv } from './helpers/openstack';

let env: SimEnv;
beforeAll(async () => {
  env = await startSim();
});
afterAll(async () => env?.close());
afterEach(() => {
  env.sim.clearFaults();
  env.sim.setTokenTtl(3600);
});

const auths = (cloud = 'cluster-a') => env.sim.calls({ cloud, service: 'identity', method: 'POST', route: '/v3/auth/tokens' });

describe('configuration like openstacksdk', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rw-oscfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (p: string, text: string) => {
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
  };

  test('search order: OS_CLIENT_CONFIG_FILE, ./, XDG config home, ~/.config/openstack, /etc/xdg/openstack, /etc/openstack', () => {
    const home = join(dir, 'home');
    const cwd = join(dir, 'cwd');
    const f = configFiles({ env: { OS_CLIENT_CONFIG_FILE: '/x/my.yaml' }, home, cwd });
    expect(f.clouds.slice(0, 4)).toEqual(['/x/my.yaml', join(cwd, 'clouds.yaml'), join(cwd, 'clouds.yml'), join(cwd, 'clouds.json')]);
    expect(configSearchPath({ env: {}, home, cwd })).toEqual([cwd, join(home, '.config/openstack'), join(home, '.config/openstack'), '/etc/xdg/openstack', '/etc/openstack']);
    expect(f.clouds).toHaveLength(1 + 5 * 3);
    expect(configFiles({ env: { XDG_CONFIG_HOME: '/xdg' }, home, cwd }).clouds[3]).toBe('/xdg/openstack/clouds.yaml');
    expect(f.secure[0]).toBe(join(cwd, 'secure.yaml'));
  });

  test('the first file found wins; secure.yaml is merged in; ./ beats ~/.config', () => {
    const home = join(dir, 'home');
    const cwd = join(dir, 'cwd');
    write(join(home, '.config/openstack/clouds.yaml'), 'clouds: { home: { auth: { auth_url: "http://home/v3" } } }\n');
    write(join(cwd, 'clouds.yml'), 'clouds:\n  a:\n    auth: { auth_url: "http://a/v3", username: u, project_name: p, domain_name: D }\n    regions: [R1, R2]\n');
    write(join(home, '.config/openstack/secure.yaml'), 'clouds: { a: { auth: { password: s3cret } } }\n');
    const c = loadCloud('a', undefined, { env: {}, home, cwd });
    expect(c.source).toBe(join(cwd, 'clouds.yml'));
    expect(c.auth).toMatchObject({ auth_url: 'http://a/v3', username: 'u', password: 's3cret', project_name: 'p', user_domain_name: 'D', project_domain_name: 'D' });
    expect(c.region).toBe('R1');
    expect(loadCloud('a', 'R2', { env: {}, home, cwd }).region).toBe('R2');
    expect(() => loadCloud('a', 'R3', { env: {}, home, cwd })).toThrow(/Region R3 is not a valid region name for cloud a\. Valid choices are R1,R2/);
    expect(() => loadCloud('home', undefined, { env: {}, home, cwd })).toThrow(/Cloud home was not found/);
    // The only cloud is used when none is named (secure.yaml would add its clouds: remove it).
    rmSync(join(home, '.config/openstack/secure.yaml'));
    write(join(cwd, 'clouds.yaml'), 'clouds: { only: { auth: { auth_url: "http://o" }, tenant_name: t, auth_type: v3applicationcredential } }\n');
    const only = loadCloud(undefined, undefined, { env: {}, home, cwd });
    expect(only.name).toBe('only');
    expect(only.auth.project_name).toBe('t');
    expect(only.authType).toBe('v3applicationcredential');
  });

  test('OS_* variables form the "envvars" cloud; OS_CLOUD selects; selectors alone do not', () => {
    const envv = { OS_AUTH_URL: 'http://k:5000/v3', OS_USERNAME: 'bob', OS_PASSWORD: 'pw', OS_PROJECT_NAME: 'p', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_ID: 'default', OS_REGION_NAME: 'RegionX', OS_INTERFACE: 'internal', OS_CACERT: '/ca.pem' };
    const c = loadCloud(undefined, undefined, { env: envv, home: dir, cwd: dir });
    expect(c.name).toBe('envvars');
    expect(c.source).toBe('environment');
    expect(c.auth).toMatchObject({ auth_url: 'http://k:5000/v3', username: 'bob', password: 'pw', project_name: 'p', user_domain_name: 'Default', project_domain_id: 'default' });
    expect(c.region).toBe('RegionX');
    expect(c.interface).toBe('internal');
    expect(c.cacert).toBe('/ca.pem');
    expect(() => loadCloud(undefined, undefined, { env: { OS_CLOUD: 'x', OS_REGION_NAME: 'r' }, home: dir, cwd: dir })).toThrow(/Cloud x was not found/);
    expect(() => loadCloud(undefined, undefined, { env: {}, home: dir, cwd: dir })).toThrow(/no OpenStack cloud configured/);
    write(join(dir, 'clouds.yaml'), 'clouds: { a: { auth: { auth_url: "http://a" }, verify: false }, b: { auth: { auth_url: "http://b" } } }\n');
    expect(loadCloud(undefined, undefined, { env: { OS_CLOUD: 'a' }, home: dir, cwd: dir }).verify).toBe(false);
    expect(() => loadCloud(undefined, undefined, { env: {}, home: dir, cwd: dir })).toThrow(/give one of a, b/);
  });
});

describe('Keystone', () => {
  test('password auth: one token for many parallel requests, reused until close to expiry', async () => {
    resetSessions();
    const before = auths();
    const c = new OpenStackClient('cluster-a');
    await Promise.all(Array.from({ length: 20 }, () => c.get('compute', '/flavors')));
    expect(auths() - before).toBe(1);
    // Another client for the same cloud shares the session.
    await new OpenStackClient('cluster-a').get('network', '/networks');
    expect(auths() - before).toBe(1);
  });

  test('expiry: a token is reused while fresh and replaced before expires_at', async () => {
    resetSessions();
    env.sim.setTokenTtl(2);
    const c = new OpenStackClient('cluster-b');
    const before = auths('cluster-b');
    await c.get('compute', '/flavors');
    const first = (await c.session.token()).id;
    await new Promise((r) => setTimeout(r, 1000));
    await c.get('compute', '/flavors');
    expect(auths('cluster-b') - before).toBe(1);
    // 10% of a 2 s lifetime is the safety margin: at 1.85 s the token counts as expiring.
    await new Promise((r) => setTimeout(r, 850));
    await c.get('compute', '/flavors');
    expect(auths('cluster-b') - before).toBe(2);
    expect((await c.session.token()).id).not.toBe(first);
  });

  test('401 from a service: authenticate again once and repeat the request', async () => {
    resetSessions();
    const c = new OpenStackClient('cluster-a');
    await c.get('compute', '/flavors');
    const t = await c.session.token();
    // Revoke the token behind the client's back (DELETE /v3/auth/tokens, as an operator would).
    const res = await fetch(`${env.sim.authUrl('cluster-a')}/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': t.id, 'x-subject-token': t.id } });
    expect(res.status).toBe(204);
    const before = auths();
    const flavors = await c.get('compute', '/flavors');
    expect(flavors.status).toBe(200);
    expect(auths() - before).toBe(1);
    expect((await c.session.token()).id).not.toBe(t.id);
  });

  test('401 again after re-authenticating is a non-retryable failure', async () => {
    resetSessions();
    env.sim.addFault({ cloud: 'cluster-a', service: 'compute', errorRate: 1, status: 401 });
    const e = await rejection(act('openstack.flavor.list', { cloud: 'cluster-a' }));
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect(e.type).toBe('OpenStackUnauthorized');
    expect(e.nonRetryable).toBe(true);
    expect(e.message).toMatch(/HTTP 401.*refused again after re-authenticating/);
  });

  test('wrong password: authentication failure names the cloud and is not retried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-osbad-'));
    try {
      writeFileSync(join(dir, 'clouds.yaml'), `clouds: { bad: { auth: { auth_url: "${env.sim.authUrl('cluster-a')}", username: admin, password: nope, project_name: admin, user_domain_name: Default, project_domain_name: Default } } }\n`);
      process.env.OS_CLIENT_CONFIG_FILE = join(dir, 'clouds.yaml');
      const e = await rejection(act('openstack.flavor.list', { cloud: 'bad' }));
      expect(e.type).toBe('OpenStackUnauthorized');
      expect(e.nonRetryable).toBe(true);
      expect(e.message).toMatch(/authentication to cloud "bad" failed .*HTTP 401: The request you have made requires authentication\. \(request req-/);
    } finally {
      process.env.OS_CLIENT_CONFIG_FILE = env.cloudsFile;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('application credential: created through Keystone, authenticates without a scope', async () => {
    resetSessions();
    const c = new OpenStackClient('cluster-c');
    const t = await c.session.token();
    const created = await fetch(`${env.sim.authUrl('cluster-c')}/users/${t.userId}/application_credentials`, {
      method: 'POST',
      headers: { 'x-auth-token': t.id, 'content-type': 'application/json' },
      body: JSON.stringify({ application_credential: { name: `runwright-${Date.now()}` } }),
    });
    expect(created.status).toBe(201);
    const ac = (await json(created)).application_credential;
    const dir = mkdtempSync(join(tmpdir(), 'rw-osac-'));
    try {
      writeFileSync(join(dir, 'clouds.yaml'), `clouds:\n  appcred:\n    auth_type: v3applicationcredential\n    auth: { auth_url: "${env.sim.authUrl('cluster-c')}", application_credential_id: "${ac.id}" }\n    region_name: RegionTwo\n`);
      writeFileSync(join(dir, 'secure.yaml'), `clouds: { appcred: { auth: { application_credential_secret: "${ac.secret}" } } }\n`);
      process.env.OS_CLIENT_CONFIG_FILE = join(dir, 'clouds.yaml');
      process.env.OS_CLIENT_SECURE_FILE = join(dir, 'secure.yaml');
      const cfg = loadCloud('appcred');
      expect(sessionFor(cfg).authBody()).toEqual({ auth: { identity: { methods: ['application_credential'], application_credential: { id: ac.id, secret: ac.secret } } } });
      const out = await act('openstack.flavor.list', { cloud: 'appcred' });
      expect(out.flavors.map((f: any) => f.name)).toContain('m1.tiny');
      const tok = await new OpenStackClient('appcred').session.token();
      expect(tok.methods).toEqual(['application_credential']);
      expect(tok.projectId).toBe(t.projectId);
      // Keystone refuses an application credential that asks for a scope: prove the stand-in does too.
      const scoped = await fetch(`${env.sim.authUrl('cluster-c')}/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: ac.id, secret: ac.secret } }, scope: { project: { id: t.projectId } } } }),
      });
      expect(scoped.status).toBe(401);
    } finally {
      process.env.OS_CLIENT_CONFIG_FILE = env.cloudsFile;
      delete process.env.OS_CLIENT_SECURE_FILE;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('catalog', () => {
  test('endpoint by type, region and interface; version path appended where the catalog omits it', async () => {
    const c = new OpenStackClient('cluster-c', { region: 'RegionTwo' });
    const base = `${env.sim.url}/cluster-c/RegionTwo`;
    expect(await c.endpoint('compute')).toBe(`${base}/compute/v2.1`);
    expect(await c.endpoint('network')).toBe(`${base}/network/v2.0`);
    expect(await c.endpoint('image')).toBe(`${base}/image/v2`);
    expect(await c.endpoint('load-balancer')).toBe(`${base}/load-balancer/v2`);
    // The default region is the cloud's first; the two regions are separate clouds of resources.
    expect(await new OpenStackClient('cluster-c').endpoint('compute')).toBe(`${env.sim.url}/cluster-c/RegionOne/compute/v2.1`);
    const dir = mkdtempSync(join(tmpdir(), 'rw-oscat-'));
    try {
      const u = env.sim.user('cluster-a');
      writeFileSync(
        join(dir, 'clouds.yaml'),
        `clouds:\n  internal:\n    auth: { auth_url: "${env.sim.authUrl('cluster-a')}", username: ${u.username}, password: "${u.password}", project_name: admin, user_domain_name: Default, project_domain_name: Default }\n    interface: internal\n    image_endpoint_override: "${env.sim.url}/cluster-a/RegionOne/image-admin"\n`,
      );
      process.env.OS_CLIENT_CONFIG_FILE = join(dir, 'clouds.yaml');
      const ic = new OpenStackClient('internal');
      expect(await ic.endpoint('compute')).toBe(`${env.sim.url}/cluster-a/RegionOne/compute-internal/v2.1`);
      expect(await ic.endpoint('image')).toBe(`${env.sim.url}/cluster-a/RegionOne/image-admin/v2`);
      const images = await act('openstack.image.list', { cloud: 'internal' });
      expect(images.images.length).toBe(3);
      expect(env.sim.calls({ cloud: 'cluster-a', service: 'image', route: '/v2/images' })).toBeGreaterThan(0);
      const e = await rejection(new OpenStackClient('internal', { region: 'Nowhere' }).endpoint('compute'));
      expect(e.message).toMatch(/no compute endpoint for region "Nowhere", interface "internal" \(catalog offers RegionOne\/public, RegionOne\/internal, RegionOne\/admin\)/);
    } finally {
      process.env.OS_CLIENT_CONFIG_FILE = env.cloudsFile;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('compute microversion header is sent and echoed', async () => {
    const c = new OpenStackClient('cluster-a');
    const r = await c.get('compute', '/os-services', { microversion: '2.53' });
    expect(r.headers['openstack-api-version']).toBe('compute 2.53');
    expect(typeof r.body.services[0].id).toBe('string');
    const old = await c.get('compute', '/os-services', { microversion: '2.1' });
    expect(typeof old.body.services[0].id).toBe('number');
    const e = await rejection(c.get('compute', '/flavors', { microversion: '2.200' }));
    expect(e.status).toBe(406);
    expect(e.message).toMatch(/Version 2\.200 is not supported by the API\. Minimum is 2\.1 and maximum is 2\.93/);
  });

  test('pagination follows next links (Nova servers_links, Neutron, Glance next)', async () => {
    const c = new OpenStackClient('cluster-a');
    const flavors = await c.list('compute', '/flavors/detail', 'flavors', { query: { limit: 2 } });
    expect(flavors.map((f: any) => f.name)).toEqual(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']);
    expect(env.sim.calls({ cloud: 'cluster-a', service: 'compute', route: '/flavors/detail' })).toBeGreaterThanOrEqual(3);
    const images = await c.list('image', '/images', 'images', { query: { limit: 1 } });
    expect(images).toHaveLength(3);
    const nets = await c.list('network', '/networks', 'networks', { query: { limit: 1 } });
    expect(nets.map((n: any) => n.name).sort()).toEqual(['private', 'public']);
  });
});

describe('errors', () => {
  test('404 carries the API message and request id; not retryable', async () => {
    const e = await rejection(act('openstack.server.migrations', { cloud: 'cluster-a', server: '00000000-0000-4000-8000-000000000000' }));
    expect(e.type).toBe('OpenStackNotFound');
    expect(e.nonRetryable).toBe(true);
    expect(e.message).toMatch(/compute GET \/cluster-a\/RegionOne\/compute\/v2\.1\/servers\/0{8}-.*\/migrations: HTTP 404: Instance 0{8}-0000-4000-8000-0{12} could not be found\. \(request req-[0-9a-f-]{36}\)/);
    expect(e.details[0]).toMatchObject({ status: 404, service: 'compute' });
  });

  test('Glance errors (JSON to a JSON client, like the real service); the message is extracted', async () => {
    const c = new OpenStackClient('cluster-a');
    const e = await rejection(c.get('image', '/images/00000000-0000-4000-8000-000000000000'));
    expect(e.message).toMatch(/HTTP 404: No image found with ID 00000000-0000-4000-8000-000000000000 \(request req-/);
  });

  test('5xx and 429 are retryable (429 honours Retry-After); connection failures too', async () => {
    env.sim.addFault({ cloud: 'cluster-a', service: 'compute', errorRate: 1, status: 503 });
    let e = await rejection(act('openstack.flavor.list', { cloud: 'cluster-a' }));
    expect([e.type, e.nonRetryable]).toEqual(['OpenStackServerError', false]);
    expect(e.message).toMatch(/HTTP 503: Unexpected API Error/);
    env.sim.clearFaults();
    env.sim.addFault({ cloud: 'cluster-a', service: 'network', errorRate: 1, status: 429, retryAfter: 7 });
    e = await rejection(act('openstack.network.create', { cloud: 'cluster-a', name: 'n1' }));
    expect([e.type, e.nonRetryable]).toEqual(['OpenStackRateLimited', false]);
    expect(e.nextRetryDelay).toBe('7s');
    env.sim.clearFaults();
    env.sim.addFault({ cloud: 'cluster-b', down: 'refuse' });
    resetSessions();
    e = await rejection(act('openstack.flavor.list', { cloud: 'cluster-b' }));
    expect([e.type, e.nonRetryable]).toEqual(['OpenStackConnectionError', false]);
    expect(e.message).toMatch(/connection closed before a response/);
    env.sim.clearFaults();
    env.sim.addFault({ cloud: 'cluster-a', service: 'load-balancer', down: 'unavailable' });
    e = await rejection(act('openstack.loadbalancer.wait', { cloud: 'cluster-a', loadbalancer: 'x' }));
    expect([e.type, e.nonRetryable]).toEqual(['OpenStackServerError', false]);
    expect(e.message).toMatch(/HTTP 503: No server is available to handle this request/);
  });

  test('quota exceeded is not retryable; "in use" 409 is, "already exists" 409 is not', async () => {
    const c = new OpenStackClient('cluster-a');
    const t = await c.session.token();
    await c.put('compute', `/os-quota-sets/${t.projectId}`, { quota_set: { instances: 1 } });
    try {
      const first = await act('openstack.server.create', { cloud: 'cluster-a', name: 'q1', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: [{ network: 'private' }] });
      const e = await rejection(act('openstack.server.create', { cloud: 'cluster-a', name: 'q2', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: [{ network: 'private' }] }));
      expect([e.type, e.nonRetryable]).toEqual(['OpenStackQuotaExceeded', true]);
      expect(e.message).toMatch(/HTTP 403: Quota exceeded for instances: Requested 1, but already used 1 of 1 instances/);
      const sg = await act('openstack.security-group.create', { cloud: 'cluster-a', name: 'busy', adopt: false });
      const port = await act('openstack.port.create', { cloud: 'cluster-a', network: 'private', securityGroups: [sg.id] });
      const inUse = await rejection(act('openstack.security-group.delete', { cloud: 'cluster-a', id: sg.id }));
      expect([inUse.type, inUse.nonRetryable]).toEqual(['OpenStackConflict', false]);
      expect(inUse.message).toMatch(/HTTP 409 SecurityGroupInUse: Security Group .* in use\./);
      await act('openstack.port.delete', { cloud: 'cluster-a', id: port.id });
      await act('openstack.security-group.delete', { cloud: 'cluster-a', id: sg.id });
      const { poolId } = await makePool('cluster-a', 'dup');
      const l2 = await rejection(act('openstack.listener.create', { cloud: 'cluster-a', loadbalancer: 'dup-lb', name: 'other', protocol: 'HTTP', protocolPort: 80 }));
      expect([l2.type, l2.nonRetryable]).toEqual(['OpenStackDuplicate', true]);
      expect(l2.message).toMatch(/Another Listener on this Load Balancer is already using protocol_port 80/);
      await act('openstack.server.delete', { cloud: 'cluster-a', id: first.id });
      await act('openstack.loadbalancer.delete', { cloud: 'cluster-a', id: (await c.get('load-balancer', `/lbaas/pools/${poolId}`)).body.pool.loadbalancers[0].id });
    } finally {
      await c.put('compute', `/os-quota-sets/${t.projectId}`, { quota_set: { instances: 10 } });
    }
  });

  test('a server that goes to ERROR fails the wait with its fault, not retryable', async () => {
    env.sim.addFault({ cloud: 'cluster-a', serverError: '^doomed$' });
    const s = await act('openstack.server.create', { cloud: 'cluster-a', name: 'doomed', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto' });
    const e = await rejection(act('openstack.server.wait', { cloud: 'cluster-a', id: s.id }));
    expect([e.type, e.nonRetryable]).toEqual(['OpenStackResourceError', true]);
    expect(e.message).toMatch(/server doomed \(.*\) went to ERROR: Build of instance .* aborted: .*\(code 500\)/);
    await act('openstack.server.delete', { cloud: 'cluster-a', id: s.id });
  });
});

describe('idempotent creates', () => {
  test('a retry after the answer was lost finds what the first attempt created (server, port, floating IP, load balancer)', async () => {
    const ctxFor = () => testCtx();
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['openstack.server.create', { cloud: 'cluster-b', name: 'lost-1', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: [{ network: 'private' }] }, '^/servers$', 'server'],
      ['openstack.port.create', { cloud: 'cluster-b', network: 'private', name: 'lost-port' }, '^/v2.0/ports$', 'port'],
      ['openstack.floating-ip.create', { cloud: 'cluster-b', network: 'public' }, '^/v2.0/floatingips$', 'floatingip'],
      ['openstack.loadbalancer.create', { cloud: 'cluster-b', name: 'lost-lb', vipSubnet: 'private-subnet', adopt: false }, '^/v2/lbaas/loadbalancers$', 'loadbalancer'],
    ];
    for (const [name, input, path, kind] of cases) {
      const created = () => env.sim.counters().created[`cluster-b/RegionOne ${kind}`] ?? 0;
      const before = created();
      env.sim.addFault({ cloud: 'cluster-b', method: 'POST', path, dropResponse: true, times: 1 });
      const ctx = ctxFor();
      const e = await rejection(act(name, input, ctx));
      expect([name, e.type, e.nonRetryable]).toEqual([name, 'OpenStackConnectionError', false]);
      expect(created()).toBe(before + 1);
      // Temporal retries the step: same idempotency key, attempt 2.
      const out = await act(name, input, { ...ctx, attempt: 2 });
      expect([name, out.created, out.changed]).toEqual([name, true, false]);
      expect(created()).toBe(before + 1);
      // The control: a fresh step (another key) creates a second one.
      const other = await act(name, { ...input, ...(input.name ? { name: `${input.name}-b` } : {}) });
      expect(other.id).not.toBe(out.id);
      expect(created()).toBe(before + 2);
      const del = name.replace(/\.create$/, name.includes('floating') ? '.release' : '.delete');
      for (const id of [out.id, other.id]) await act(del, { cloud: 'cluster-b', ...(name.includes('floating') ? { floatingIp: id } : { id }) });
    }
  });

  test('adopt: an existing security group is reused (created: false), its rules ensured once', async () => {
    const a = await act('openstack.security-group.create', { cloud: 'cluster-a', name: 'adopt-me', rules: [{ port: 443 }] });
    const b = await act('openstack.security-group.create', { cloud: 'cluster-a', name: 'adopt-me', rules: [{ port: 443 }, { port: 8443 }] });
    expect([a.created, b.created, b.id]).toEqual([true, false, a.id]);
    expect([a.rulesCreated, b.rulesCreated]).toEqual([1, 1]);
    expect(b.rules[0]).toBe(a.rules[0]);
    const skipped = await act('openstack.security-group.delete', { cloud: 'cluster-a', id: b.id, skip: !b.created });
    expect(skipped.skipped).toBe(true);
    await act('openstack.security-group.delete', { cloud: 'cluster-a', id: a.id });
  });
});

describe('Octavia', () => {
  test('409 while PENDING_UPDATE: parallel member changes wait for ACTIVE and retry', async () => {
    env.sim.setLatency({ lbUpdate: 400 });
    try {
      const { poolId } = await makePool('cluster-a', 'busy');
      const adds = ['10.0.9.1', '10.0.9.2', '10.0.9.3'].map((address) => act('openstack.member.create', { cloud: 'cluster-a', pool: poolId, address, protocolPort: 80 }));
      const outs = await Promise.all(adds);
      expect(outs.map((o) => o.created)).toEqual([true, true, true]);
      // Only one change can hold the load balancer at a time: the others saw 409 and retried.
      expect(outs.reduce((n, o) => n + o.conflicts, 0)).toBeGreaterThanOrEqual(2);
      const upd = await act('openstack.member.update', { cloud: 'cluster-a', pool: 'busy-pool', address: '10.0.9.1', protocolPort: 80, weight: 0 });
      expect([upd.previousWeight, upd.weight]).toEqual([1, 0]);
      const batch = await act('openstack.member.batch', { cloud: 'cluster-a', pool: 'busy-pool', members: [{ address: '10.0.9.2', protocolPort: 80, weight: 5 }, { address: '10.0.9.4', protocolPort: 80 }], remove: ['10.0.9.3:80'] });
      expect([batch.added, batch.updated, batch.removed]).toEqual([['10.0.9.4:80'], ['10.0.9.2:80'], ['10.0.9.3:80']]);
      const left = await new OpenStackClient('cluster-a').list('load-balancer', `/lbaas/pools/${poolId}/members`, 'members');
      expect(left.map((m: any) => `${m.address}:${m.weight}`).sort()).toEqual(['10.0.9.1:0', '10.0.9.2:5', '10.0.9.4:1']);
      // No servers behind these addresses: the health monitor marks them ERROR, and waiting for ONLINE times out.
      const e = await rejection(act('openstack.member.wait', { cloud: 'cluster-a', pool: poolId, operatingStatus: ['ONLINE'], timeout: 1500 }));
      expect([e.type, e.nonRetryable]).toEqual(['OpenStackWaitTimeout', true]);
      await act('openstack.loadbalancer.delete', { cloud: 'cluster-a', id: (await act('openstack.loadbalancer.wait', { cloud: 'cluster-a', loadbalancer: 'busy-lb' })).id });
    } finally {
      env.sim.setLatency({ lbUpdate: 150 });
    }
  });

  test('a raw mutation during PENDING_UPDATE gets 409 "immutable" from the stand-in', async () => {
    const { poolId } = await makePool('cluster-a', 'raw');
    const c = new OpenStackClient('cluster-a');
    await c.post('load-balancer', `/lbaas/pools/${poolId}/members`, { member: { address: '10.0.8.1', protocol_port: 80 } });
    const e = await rejection(c.post('load-balancer', `/lbaas/pools/${poolId}/members`, { member: { address: '10.0.8.2', protocol_port: 80 } }));
    expect(e.status).toBe(409);
    expect(e.message).toMatch(/Load Balancer .* is immutable and cannot be updated\./);
    await act('openstack.loadbalancer.delete', { cloud: 'cluster-a', id: (await act('openstack.loadbalancer.wait', { cloud: 'cluster-a', loadbalancer: 'raw-lb' })).id });
  });
});

describe('live migration', () => {
  const boot = async (cloud: string, name: string, host: string) => {
    const c = new OpenStackClient(cloud);
    const net = (await c.list('network', '/networks', 'networks', { query: { name: 'private' } }))[0];
    const r = await c.post('compute', '/servers', { server: { name, flavorRef: '1', imageRef: env.sim.world.clouds[cloud].regions.RegionOne.images[0].id, networks: [{ uuid: net.id }], host } }, { microversion: '2.74' });
    return r.body.server.id as string;
  };

  test('evacuate: drains every server off a disabled host, reporting progress', async () => {
    const cloud = 'cluster-b';
    const ids = await Promise.all(['drain-1', 'drain-2', 'drain-3'].map((n) => boot(cloud, n, 'compute-1')));
    await act('openstack.server.wait', { cloud, ids });
    const refused = await rejection(act('openstack.compute-host.evacuate', { cloud, host: 'compute-1' }));
    expect(refused.message).toMatch(/nova-compute on compute-1 is enabled: disable it first/);
    const dis = await act('openstack.compute-service.disable', { cloud, host: 'compute-1', reason: 'test drain' });
    expect([dis.status, dis.previousStatus, dis.disabledReason]).toEqual(['disabled', 'enabled', 'test drain']);
    const ctx = testCtx();
    const out = await act('openstack.compute-host.evacuate', { cloud, host: 'compute-1', maxParallel: 2 }, ctx);
    expect(out.migrated.map((m: any) => m.id)).toEqual(expect.arrayContaining(ids));
    expect(out.migrated.every((m: any) => m.from === 'compute-1' && m.to !== 'compute-1' && m.status === 'completed')).toBe(true);
    expect(out.remaining).toEqual([]);
    // Progress reached the heartbeats (migration status and memory bytes).
    expect(ctx.beats.some((b: any) => b && b.status === 'running' && b.memoryTotal > 0)).toBe(true);
    const list = await act('openstack.server.list', { cloud, host: 'compute-1', allTenants: true });
    expect(list.count).toBe(0);
    const hist = await act('openstack.server.migrations', { cloud, server: ids[0] });
    expect(hist.history[0]).toMatchObject({ type: 'live-migration', status: 'completed', source: 'compute-1' });
    await act('openstack.compute-service.enable', { cloud, host: 'compute-1' });
    for (const id of ids) await act('openstack.server.delete', { cloud, id });
  });

  test('evacuate fails, listing what is left, when no other host can take the servers', async () => {
    const cloud = 'cluster-c';
    const id = await boot(cloud, 'stuck-1', 'compute-2');
    await act('openstack.server.wait', { cloud, id });
    for (const h of ['compute-1', 'compute-2', 'compute-3']) await act('openstack.compute-service.disable', { cloud, host: h, reason: 'no room' });
    try {
      const e = await rejection(act('openstack.compute-host.evacuate', { cloud, host: 'compute-2' }));
      expect([e.type, e.nonRetryable]).toEqual(['OpenStackResourceError', true]);
      expect(e.message).toMatch(/compute-2 still has 1 server\(s\): stuck-1; failures: stuck-1: stayed on compute-2 \(migration \d+ failed\)/);
    } finally {
      for (const h of ['compute-1', 'compute-2', 'compute-3']) await act('openstack.compute-service.enable', { cloud, host: h });
    }
    const moved = await act('openstack.server.live-migrate', { cloud, server: id });
    expect(moved).toMatchObject({ from: 'compute-2', status: 'completed' });
    await act('openstack.server.delete', { cloud, id });
  });
});
