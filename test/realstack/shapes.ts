/**
 * Response shapes of the OpenStack APIs Runwright uses: one scenario of raw calls run against
 * a cloud (the real one of scripts/realstack, or the stand-in), each answer reduced to its
 * status, a few headers and its body with ids, tokens and secrets scrubbed. The real answers
 * are kept as fixtures (test/fixtures/openstack-real/*.json, written by
 * `REALSTACK_CAPTURE=1 npm run test:realstack -- fixtures`), and test/openstack-fixtures.test.ts
 * checks that the stand-in answers the same calls with the same status codes, headers, keys
 * and value types.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { OpenStackClient, type ServiceType } from '../../activities/openstack/client';

export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'openstack-real');

/** Headers whose presence (and, for the version headers, value) is part of the contract. */
const HEADERS = ['content-type', 'openstack-api-version', 'x-openstack-nova-api-version', 'x-openstack-request-id', 'x-compute-request-id', 'x-subject-token', 'location'];
const VALUE_HEADERS = new Set(['openstack-api-version', 'x-openstack-nova-api-version']);

export interface Captured {
  call: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

// ---- scrubbing -----------------------------------------------------------------------------

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const HEX32 = /\b[0-9a-f]{32}\b/gi;
const SECRET_KEYS = new Set(['secret', 'password', 'adminPass', 'x-subject-token', 'token_id']);

function scrubString(s: string): string {
  return s.replace(UUID, '<uuid>').replace(HEX32, '<id>').replace(/req-<uuid>/g, 'req-<uuid>');
}

/** Ids, tokens and secrets out; everything else (types, keys, formats) kept. */
export function scrub(v: unknown, key = ''): unknown {
  if (typeof v === 'string') {
    if (SECRET_KEYS.has(key)) return '<secret>';
    if (key === 'id' && v.length > 60) return '<token>';
    return scrubString(v);
  }
  if (Array.isArray(v)) return v.map((x) => scrub(x, key));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, k)]));
  return v;
}

// ---- shapes --------------------------------------------------------------------------------

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Differences between the real answer and another: status, contract headers, and in the body
 * every key missing or extra and every value of another type (null matches anything: a
 * nullable field may be set or not depending on state). Arrays: element i of the other is
 * compared with the real element i, or the real first element when the real list is shorter.
 */
export function differences(real: Captured, other: Captured): string[] {
  const out: string[] = [];
  if (real.status !== other.status) out.push(`status: real ${real.status}, got ${other.status}`);
  for (const h of Object.keys(real.headers)) {
    if (!(h in other.headers)) out.push(`header ${h}: missing`);
    else if (VALUE_HEADERS.has(h) && real.headers[h] !== other.headers[h]) out.push(`header ${h}: real "${real.headers[h]}", got "${other.headers[h]}"`);
    else if (h === 'content-type' && real.headers[h].split(';')[0] !== other.headers[h].split(';')[0]) out.push(`header content-type: real "${real.headers[h]}", got "${other.headers[h]}"`);
  }
  for (const h of Object.keys(other.headers)) if (!(h in real.headers)) out.push(`header ${h}: not sent by the real service`);
  const walk = (a: unknown, b: unknown, path: string) => {
    if (a === null || b === null) return;
    if (kind(a) !== kind(b)) {
      out.push(`${path || 'body'}: real ${kind(a)}, got ${kind(b)}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length) for (let i = 0; i < b.length; i++) walk(a[i < a.length ? i : 0], b[i], `${path}[${i}]`);
      return;
    }
    if (a && typeof a === 'object') {
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      for (const k of Object.keys(ao)) {
        if (!(k in bo)) out.push(`${path}.${k}: missing`);
        else walk(ao[k], bo[k], `${path}.${k}`);
      }
      for (const k of Object.keys(bo)) if (!(k in ao)) out.push(`${path}.${k}: not in the real answer`);
    }
  };
  walk(real.body, other.body, '');
  return out;
}

// ---- the scenario --------------------------------------------------------------------------

async function raw(c: OpenStackClient, service: ServiceType | 'identity-noauth', method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Captured> {
  let url: string;
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (service === 'identity-noauth') url = `${c.session.identityUrl()}${path}`;
  else {
    const t = await c.session.token();
    url = `${c.session.endpoint(t, service, c.region)}${path}`;
    headers['x-auth-token'] = t.id;
    if (service === 'compute' && !headers['openstack-api-version']) headers['openstack-api-version'] = 'compute 2.60';
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(url, { method: method as any, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  const h: Record<string, string> = {};
  for (const name of HEADERS) {
    const v = res.headers[name];
    if (v !== undefined) h[name] = VALUE_HEADERS.has(name) || name === 'content-type' ? String(v) : '<present>';
  }
  let parsed: unknown = null;
  if (text && String(res.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(text);
  else if (text) parsed = '<text>';
  return { call: `${service === 'identity-noauth' ? 'identity' : service} ${method} ${scrubString(path)}`, status: res.statusCode, headers: h, body: scrub(parsed) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const MISSING = '00000000-0000-4000-8000-000000000000';

/**
 * The calls, in an order that works on a fresh cloud: everything created is deleted again.
 * `auth` is the password auth body for the cloud (its clouds.yaml entry).
 */
export async function runScenario(cloud: string, prefix: string): Promise<Record<string, Captured>> {
  const c = new OpenStackClient(cloud);
  const out: Record<string, Captured> = {};
  const body = c.session.authBody();
  out['keystone-token-password'] = await raw(c, 'identity-noauth', 'POST', '/auth/tokens', body);
  const wrong = JSON.parse(JSON.stringify(body));
  wrong.auth.identity.password.user.password = 'wrong-password';
  out['keystone-token-wrong-password'] = await raw(c, 'identity-noauth', 'POST', '/auth/tokens', wrong);

  out['nova-version'] = await raw(c, 'compute', 'GET', '/');
  out['nova-flavors-detail'] = await raw(c, 'compute', 'GET', '/flavors/detail');
  out['nova-unsupported-microversion'] = await raw(c, 'compute', 'GET', '/flavors', undefined, { 'openstack-api-version': 'compute 2.999' });
  out['nova-os-services'] = await raw(c, 'compute', 'GET', '/os-services?binary=nova-compute');
  const services = (await c.get('compute', '/os-services', { query: { binary: 'nova-compute' } })).body.services;
  const [svcA, svcB] = services;
  out['nova-server-not-found'] = await raw(c, 'compute', 'GET', `/servers/${MISSING}`);

  const flavor = (await c.list('compute', '/flavors', 'flavors')).find((f: any) => f.name === 'm1.tiny');
  const image = (await c.list('image', '/images', 'images')).find((i: any) => i.name === 'cirros-0.6.2-x86_64-disk');
  const net = (await c.list('network', '/networks', 'networks', { query: { name: 'private' } }))[0];
  out['glance-images'] = await raw(c, 'image', 'GET', '/images?limit=1');
  out['glance-image'] = await raw(c, 'image', 'GET', `/images/${image.id}`);
  out['glance-image-not-found'] = await raw(c, 'image', 'GET', `/images/${MISSING}`);
  out['neutron-networks'] = await raw(c, 'network', 'GET', `/networks?id=${net.id}`);
  out['neutron-subnets'] = await raw(c, 'network', 'GET', `/subnets?network_id=${net.id}`);
  out['neutron-network-not-found'] = await raw(c, 'network', 'GET', `/networks/${MISSING}`);

  // Servers: create (on the first compute), show, list, live-migrate, delete.
  const create = await raw(c, 'compute', 'POST', '/servers', {
    server: { name: `${prefix}-shape`, flavorRef: flavor.id, imageRef: image.id, networks: [{ uuid: net.id }], availability_zone: `nova:${svcA.host}`, metadata: { purpose: 'shape' } },
  });
  out['nova-server-create'] = create;
  const id = (await c.list('compute', '/servers', 'servers', { query: { name: `^${prefix}-shape$` } }))[0]?.id;
  if (!id) throw new Error(`${cloud}: server create answered ${create.status}: ${JSON.stringify(create.body)}`);
  try {
    await until('server ACTIVE', async () => ((await c.get('compute', `/servers/${id}`)).body.server.status === 'ACTIVE' ? true : undefined));
    out['nova-server-show'] = await raw(c, 'compute', 'GET', `/servers/${id}`);
    out['nova-servers-detail'] = await raw(c, 'compute', 'GET', `/servers/detail?name=^${prefix}-shape$`);
    out['nova-servers'] = await raw(c, 'compute', 'GET', `/servers?name=^${prefix}-shape$`);
    out['neutron-ports-of-server'] = await raw(c, 'network', 'GET', `/ports?device_id=${id}`);
    out['nova-live-migrate'] = await raw(c, 'compute', 'POST', `/servers/${id}/action`, { 'os-migrateLive': { host: svcB.host, block_migration: 'auto' } });
    await until('live migration done', async () => {
      const s = (await c.get('compute', `/servers/${id}`)).body.server;
      return s['OS-EXT-SRV-ATTR:host'] === svcB.host && s.status === 'ACTIVE' && !s['OS-EXT-STS:task_state'] ? true : undefined;
    });
    // The server is ACTIVE on its new host a moment before Nova marks the migration record
    // completed (until then it still carries `links`): record the settled answer.
    await until('migration record completed', async () => {
      const ms = (await c.get('compute', `/os-migrations?instance_uuid=${id}`)).body.migrations as { status: string }[];
      return ms.length > 0 && ms.every((m) => m.status === 'completed') ? true : undefined;
    });
    out['nova-server-migrations'] = await raw(c, 'compute', 'GET', `/servers/${id}/migrations`);
    out['nova-os-migrations'] = await raw(c, 'compute', 'GET', `/os-migrations?instance_uuid=${id}`);
  } finally {
    out['nova-server-delete'] = await raw(c, 'compute', 'DELETE', `/servers/${id}`);
    await until('server gone', async () => ((await c.find('compute', `/servers/${id}`)) ? undefined : true));
  }

  // os-services disable / enable (2.53).
  out['nova-service-disable'] = await raw(c, 'compute', 'PUT', `/os-services/${svcB.id}`, { status: 'disabled', disabled_reason: `${prefix} shapes` });
  out['nova-service-enable'] = await raw(c, 'compute', 'PUT', `/os-services/${svcB.id}`, { status: 'enabled' });

  // Neutron: a security group and a rule, a duplicate rule.
  out['neutron-security-group-create'] = await raw(c, 'network', 'POST', '/security-groups', { security_group: { name: `${prefix}-sg`, description: 'shapes' } });
  const sg = (await c.list('network', '/security-groups', 'security_groups', { query: { name: `${prefix}-sg` } }))[0];
  try {
    const rule = { security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 80 } };
    out['neutron-security-group-rule-create'] = await raw(c, 'network', 'POST', '/security-group-rules', rule);
    out['neutron-security-group-rule-duplicate'] = await raw(c, 'network', 'POST', '/security-group-rules', rule);
  } finally {
    out['neutron-security-group-delete'] = await raw(c, 'network', 'DELETE', `/security-groups/${sg.id}`);
  }

  // Octavia: load balancer, listener, pool, member, status tree, 409 while pending, delete.
  const subnet = (await c.list('network', '/subnets', 'subnets', { query: { name: 'private-subnet' } }))[0];
  out['octavia-loadbalancer-create'] = await raw(c, 'load-balancer', 'POST', '/lbaas/loadbalancers', { loadbalancer: { name: `${prefix}-lb`, vip_subnet_id: subnet.id } });
  const lb = (await c.list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers', { query: { name: `${prefix}-lb` } }))[0];
  const active = (what: string) => until(what, async () => ((await c.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer.provisioning_status === 'ACTIVE' ? true : undefined));
  try {
    out['octavia-listener-while-pending'] = await raw(c, 'load-balancer', 'POST', '/lbaas/listeners', { listener: { loadbalancer_id: lb.id, protocol: 'HTTP', protocol_port: 81 } });
    await active('load balancer ACTIVE');
    if (out['octavia-listener-while-pending'].status < 300) await active('listener created');
    out['octavia-loadbalancer-show'] = await raw(c, 'load-balancer', 'GET', `/lbaas/loadbalancers/${lb.id}`);
    out['octavia-listener-create'] = await raw(c, 'load-balancer', 'POST', '/lbaas/listeners', { listener: { name: `${prefix}-l`, loadbalancer_id: lb.id, protocol: 'HTTP', protocol_port: 80 } });
    await active('listener ACTIVE');
    const listener = (await c.list('load-balancer', '/lbaas/listeners', 'listeners', { query: { name: `${prefix}-l` } }))[0];
    out['octavia-pool-create'] = await raw(c, 'load-balancer', 'POST', '/lbaas/pools', { pool: { name: `${prefix}-p`, listener_id: listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } });
    await active('pool ACTIVE');
    const pool = (await c.list('load-balancer', '/lbaas/pools', 'pools', { query: { name: `${prefix}-p` } }))[0];
    out['octavia-member-create'] = await raw(c, 'load-balancer', 'POST', `/lbaas/pools/${pool.id}/members`, { member: { address: '10.0.0.77', protocol_port: 8080, subnet_id: subnet.id } });
    await active('member ACTIVE');
    out['octavia-members'] = await raw(c, 'load-balancer', 'GET', `/lbaas/pools/${pool.id}/members`);
    out['octavia-member-batch'] = await raw(c, 'load-balancer', 'PUT', `/lbaas/pools/${pool.id}/members`, { members: [{ address: '10.0.0.78', protocol_port: 8080, subnet_id: subnet.id }] });
    await active('batch done');
    out['octavia-status-tree'] = await raw(c, 'load-balancer', 'GET', `/lbaas/loadbalancers/${lb.id}/status`);
    out['octavia-loadbalancer-not-found'] = await raw(c, 'load-balancer', 'GET', `/lbaas/loadbalancers/${MISSING}`);
  } finally {
    out['octavia-loadbalancer-delete-cascade'] = await raw(c, 'load-balancer', 'DELETE', `/lbaas/loadbalancers/${lb.id}?cascade=true`);
    await until('load balancer gone', async () => {
      const l = await c.find('load-balancer', `/lbaas/loadbalancers/${lb.id}`);
      return !l || l.loadbalancer?.provisioning_status === 'DELETED' ? true : undefined;
    });
  }
  return out;
}

export function writeFixtures(captured: Record<string, Captured>): void {
  for (const [name, v] of Object.entries(captured)) writeFileSync(join(FIXTURE_DIR, `${name}.json`), `${JSON.stringify(v, null, 1)}\n`);
}

export function readFixtures(): Record<string, Captured> {
  return Object.fromEntries(
    readdirSync(FIXTURE_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as Captured]),
  );
}

/** Every difference of every call, as "name: difference" lines (empty when all agree). */
export function compareAll(real: Record<string, Captured>, other: Record<string, Captured>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(real).sort()) {
    if (!(name in other)) out.push(`${name}: not called`);
    else for (const d of differences(real[name], other[name])) out.push(`${name}: ${d}`);
  }
  return out;
}
