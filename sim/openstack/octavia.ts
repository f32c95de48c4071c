/**
 * Octavia (load-balancer API v2, under /v2 and /v2.0): load balancers, listeners, pools,
 * members (incl. batch update with additive_only), health monitors, status tree, stats,
 * providers, quotas. Every change to a child puts the load balancer in PENDING_UPDATE for
 * `lbUpdate` ms; any mutation meanwhile answers 409 "immutable", as Octavia does.
 */
import { ApiError, Router, badRequest, conflict, isoNaive, withMarker, type Ctx, type Reply } from './http';
import { DEFAULT_LB_QUOTA, uuid, validIpv4, type HealthMonitor, type LbBase, type Listener, type LoadBalancer, type Member, type Pool } from './model';
import type { Env } from './env';
import { addPending, ipInCidr, isPending, lbOperatingStatus, memberOperatingStatus, newPort, poolOperatingStatus } from './world';

const notFound = (kind: string, id: string) => new ApiError(404, `${kind} ${id} not found.`);

const baseView = (o: LbBase) => ({
  id: o.id,
  name: o.name,
  description: o.description,
  project_id: o.project_id,
  tenant_id: o.project_id,
  provisioning_status: o.provisioning_status,
  admin_state_up: o.admin_state_up,
  created_at: isoNaive(o.created_at),
  updated_at: o.updated_at === null ? null : isoNaive(o.updated_at),
  tags: o.tags,
});

const hd = (env: Env) => env.world.config.latency.healthCheck;

function lbView(env: Env, lb: LoadBalancer) {
  const rs = env.region;
  return {
    ...baseView(lb),
    operating_status: lbOperatingStatus(env.world, env.cloud.name, rs, lb, env.now, hd(env)),
    vip_address: lb.vip_address,
    vip_port_id: lb.vip_port_id,
    vip_subnet_id: lb.vip_subnet_id,
    vip_network_id: lb.vip_network_id,
    vip_qos_policy_id: null,
    additional_vips: [],
    provider: lb.provider,
    flavor_id: lb.flavor_id,
    availability_zone: lb.availability_zone,
    listeners: Object.values(rs.listeners).filter((l) => l.loadbalancer_id === lb.id).map((l) => ({ id: l.id })),
    pools: Object.values(rs.pools).filter((p) => p.loadbalancer_id === lb.id).map((p) => ({ id: p.id })),
  };
}

function listenerStatus(env: Env, l: Listener): string {
  if (!l.admin_state_up || l.provisioning_status === 'PENDING_CREATE') return 'OFFLINE';
  if (l.provisioning_status === 'ERROR') return 'ERROR';
  return 'ONLINE';
}

function listenerView(env: Env, l: Listener) {
  return {
    ...baseView(l),
    operating_status: listenerStatus(env, l),
    protocol: l.protocol,
    protocol_port: l.protocol_port,
    connection_limit: l.connection_limit,
    default_tls_container_ref: null,
    sni_container_refs: [],
    default_pool_id: l.default_pool_id,
    l7policies: [],
    insert_headers: {},
    loadbalancers: [{ id: l.loadbalancer_id }],
    timeout_client_data: l.timeout_client_data,
    timeout_member_connect: l.timeout_member_connect,
    timeout_member_data: l.timeout_member_data,
    timeout_tcp_inspect: l.timeout_tcp_inspect,
    client_ca_tls_container_ref: null,
    client_authentication: 'NONE',
    client_crl_container_ref: null,
    allowed_cidrs: null,
    tls_ciphers: null,
    tls_versions: null,
    alpn_protocols: null,
  };
}

function poolView(env: Env, p: Pool) {
  return {
    ...baseView(p),
    operating_status: poolOperatingStatus(env.world, env.cloud.name, env.region, p.id, env.now, hd(env)),
    protocol: p.protocol,
    lb_algorithm: p.lb_algorithm,
    session_persistence: p.session_persistence,
    loadbalancers: [{ id: p.loadbalancer_id }],
    listeners: Object.values(env.region.listeners).filter((l) => l.default_pool_id === p.id).map((l) => ({ id: l.id })),
    members: Object.values(env.region.members).filter((m) => m.pool_id === p.id).map((m) => ({ id: m.id })),
    // wsme leaves unset attributes out: no healthmonitor_id key until the pool has one.
    ...(p.healthmonitor_id ? { healthmonitor_id: p.healthmonitor_id } : {}),
    tls_enabled: false,
    tls_container_ref: null,
    ca_tls_container_ref: null,
    crl_container_ref: null,
    tls_ciphers: null,
    tls_versions: null,
    alpn_protocols: null,
  };
}

function memberView(env: Env, m: Member) {
  // Members have no description in Octavia's API.
  const { description: _none, ...base } = baseView(m);
  return {
    ...base,
    operating_status: memberOperatingStatus(env.world, env.cloud.name, env.region, m, env.now, hd(env)),
    address: m.address,
    protocol_port: m.protocol_port,
    weight: m.weight,
    backup: m.backup,
    subnet_id: m.subnet_id,
    monitor_address: m.monitor_address,
    monitor_port: m.monitor_port,
  };
}

function hmView(env: Env, h: HealthMonitor) {
  return {
    ...baseView(h),
    operating_status: h.admin_state_up ? (h.provisioning_status === 'ACTIVE' ? 'ONLINE' : 'OFFLINE') : 'OFFLINE',
    type: h.type,
    delay: h.delay,
    timeout: h.timeout,
    max_retries: h.max_retries,
    max_retries_down: h.max_retries_down,
    http_method: h.http_method,
    url_path: h.url_path,
    expected_codes: h.expected_codes,
    http_version: h.http_version,
    domain_name: h.domain_name,
    pools: [{ id: h.pool_id }],
  };
}

// ---- list with filters/paging/sort ---------------------------------------------------------

function listReply(ctx: Ctx, key: string, path: string, views: Record<string, any>[]): Reply {
  const q = ctx.query;
  let items = views;
  for (const k of new Set(q.keys())) {
    if (['fields', 'limit', 'marker', 'page_reverse', 'sort', 'sort_key', 'sort_dir', 'tags', 'tags-any', 'not-tags', 'not-tags-any'].includes(k)) continue;
    const values = q.getAll(k);
    items = items.filter((v) => values.some((want) => String(v[k] === null ? '' : typeof v[k] === 'boolean' ? (v[k] ? 'True' : 'False') : v[k]).toLowerCase() === want.toLowerCase()));
  }
  const tags = (s: string | null) => (s ? s.split(',') : null);
  const all = tags(q.get('tags'));
  if (all) items = items.filter((v) => all.every((t) => v.tags.includes(t)));
  const any = tags(q.get('tags-any'));
  if (any) items = items.filter((v) => any.some((t) => v.tags.includes(t)));
  const not = tags(q.get('not-tags'));
  if (not) items = items.filter((v) => !not.every((t) => v.tags.includes(t)));
  const notAny = tags(q.get('not-tags-any'));
  if (notAny) items = items.filter((v) => !notAny.some((t) => v.tags.includes(t)));
  const [sk, sd] = (q.get('sort') ?? `${q.get('sort_key') ?? 'created_at'}:${q.get('sort_dir') ?? 'asc'}`).split(':');
  const dir = sd === 'desc' ? -1 : 1;
  items = [...items].sort((a, b) => (String(a[sk]) < String(b[sk]) ? -dir : String(a[sk]) > String(b[sk]) ? dir : a.id < b.id ? -1 : 1));
  const limit = Number(q.get('limit') ?? 1000) || 1000;
  let start = 0;
  const marker = q.get('marker');
  if (marker) {
    const i = items.findIndex((x) => x.id === marker);
    if (i < 0) throw new ApiError(404, `Marker ${marker} could not be found.`);
    start = i + 1;
  }
  const slice = items.slice(start, start + Math.min(limit, 1000));
  const fields = q.getAll('fields');
  const out = fields.length ? slice.map((v) => Object.fromEntries(fields.filter((f) => f in v).map((f) => [f, v[f]]))) : slice;
  const body: Record<string, unknown> = { [key]: out, [`${key}_links`]: [] };
  if (start + limit < items.length && slice.length) body[`${key}_links`] = [{ href: withMarker(ctx.base, path, q, slice[slice.length - 1].id, limit), rel: 'next' }];
  return { status: 200, body };
}

// ---- validation and locking ----------------------------------------------------------------

function bodyOf(ctx: Ctx, key: string, allowed: string[], required: string[] = []): Record<string, any> {
  const b = ctx.body?.[key];
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest(`Invalid input for field/attribute ${key}. Value: '${JSON.stringify(ctx.body)}'. Mandatory field missing.`);
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw badRequest(`Invalid input for field/attribute ${k}. Value: '${JSON.stringify(b[k])}'. unexpected attribute`);
  for (const r of required) if (b[r] === undefined || b[r] === null) throw badRequest(`Invalid input for field/attribute ${r}. Value: 'None'. Mandatory field missing.`);
  if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.some((t: unknown) => typeof t !== 'string' || (t as string).length > 255))) throw badRequest(`Invalid input for field/attribute tags. Value: '${JSON.stringify(b.tags)}'. Value should be a list of strings`);
  return b;
}

function getLb(env: Env, id: string): LoadBalancer {
  const lb = env.region.loadbalancers[id];
  if (!lb || (!env.admin && lb.project_id !== env.token.project_id)) throw notFound('Load Balancer', id);
  return lb;
}
function get<T extends LbBase>(env: Env, coll: Record<string, T>, kind: string, id: string): T {
  const o = coll[id];
  if (!o || (!env.admin && o.project_id !== env.token.project_id)) throw notFound(kind, id);
  return o;
}

/** Octavia refuses any change while the load balancer (and so its children) is PENDING_*. */
function lockFor(env: Env, lb: LoadBalancer): void {
  if (isPending(lb.provisioning_status)) throw conflict(`Load Balancer ${lb.id} is immutable and cannot be updated.`);
  if (lb.provisioning_status === 'DELETED') throw notFound('Load Balancer', lb.id);
}

function beginUpdate(env: Env, lb: LoadBalancer): void {
  lb.provisioning_status = 'PENDING_UPDATE';
  lb.updated_at = env.now;
  addPending(env.region, { at: env.now + env.world.config.latency.lbUpdate, kind: 'lb.settle', id: lb.id });
  env.dirty();
}

function quotaCheck(env: Env, project: string, res: string, used: number): void {
  const q = { ...DEFAULT_LB_QUOTA, ...(env.region.quotas.lb[project] ?? {}) };
  if (q[res] >= 0 && used + 1 > q[res]) throw new ApiError(403, `Quota has been met for resources: ${res.replace(/_/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase())}`);
}

function base(env: Env, b: Record<string, any>, status: LbBase['provisioning_status'] = 'PENDING_CREATE'): LbBase {
  const project = b.project_id ?? env.token.project_id!;
  if (project !== env.token.project_id && !env.admin) throw new ApiError(403, 'Policy does not allow this request to be performed.');
  return { id: uuid(), name: b.name ?? '', description: b.description ?? '', project_id: project, provisioning_status: status, admin_state_up: b.admin_state_up ?? true, tags: b.tags ?? [], created_at: env.now, updated_at: null };
}

const PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'UDP', 'TERMINATED_HTTPS', 'SCTP', 'PROMETHEUS'];
const POOL_PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'UDP', 'PROXY', 'PROXYV2', 'SCTP'];
const ALGORITHMS = ['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP', 'SOURCE_IP_PORT'];
const HM_TYPES = ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT', 'SCTP'];

function checkMember(env: Env, b: Record<string, any>): void {
  if (typeof b.address !== 'string' || !validIpv4(b.address)) throw badRequest(`Invalid input for field/attribute address. Value: '${b.address}'. Value should be IPv4 or IPv6 format`);
  if (!Number.isInteger(b.protocol_port) || b.protocol_port < 1 || b.protocol_port > 65535) throw badRequest(`Invalid input for field/attribute protocol_port. Value: '${b.protocol_port}'. Value should be lower or equal to 65535`);
  if (b.weight !== undefined && (!Number.isInteger(b.weight) || b.weight < 0 || b.weight > 256)) throw badRequest(`Invalid input for field/attribute weight. Value: '${b.weight}'. Value should be lower or equal to 256`);
  if (b.subnet_id) {
    const s = env.region.subnets[b.subnet_id];
    if (!s) throw badRequest(`Subnet ${b.subnet_id} not found.`);
    if (!ipInCidr(b.address, s.cidr)) throw badRequest(`Member address ${b.address} is not in subnet ${b.subnet_id}.`);
  }
}

function newMember(env: Env, pool: Pool, b: Record<string, any>): Member {
  return {
    ...base(env, { ...b, project_id: pool.project_id }),
    pool_id: pool.id,
    address: b.address,
    protocol_port: b.protocol_port,
    weight: b.weight ?? 1,
    subnet_id: b.subnet_id ?? null,
    monitor_address: b.monitor_address ?? null,
    monitor_port: b.monitor_port ?? null,
    backup: !!b.backup,
    active_at: null,
  };
}

const MEMBER_FIELDS = ['name', 'address', 'protocol_port', 'weight', 'subnet_id', 'admin_state_up', 'backup', 'monitor_address', 'monitor_port', 'tags', 'project_id'];

function statusTree(env: Env, lb: LoadBalancer) {
  const rs = env.region;
  return {
    loadbalancer: {
      id: lb.id,
      name: lb.name,
      operating_status: lbOperatingStatus(env.world, env.cloud.name, rs, lb, env.now, hd(env)),
      provisioning_status: lb.provisioning_status,
      listeners: Object.values(rs.listeners)
        .filter((l) => l.loadbalancer_id === lb.id)
        .map((l) => ({
          id: l.id,
          name: l.name,
          operating_status: listenerStatus(env, l),
          provisioning_status: l.provisioning_status,
          pools: Object.values(rs.pools)
            .filter((p) => p.id === l.default_pool_id)
            .map((p) => ({
              id: p.id,
              name: p.name,
              operating_status: poolOperatingStatus(env.world, env.cloud.name, rs, p.id, env.now, hd(env)),
              provisioning_status: p.provisioning_status,
              ...(p.healthmonitor_id && rs.healthmonitors[p.healthmonitor_id]
                ? { health_monitor: { id: p.healthmonitor_id, name: rs.healthmonitors[p.healthmonitor_id].name, type: rs.healthmonitors[p.healthmonitor_id].type, operating_status: 'ONLINE', provisioning_status: rs.healthmonitors[p.healthmonitor_id].provisioning_status } }
                : {}),
              members: Object.values(rs.members)
                .filter((m) => m.pool_id === p.id)
                .map((m) => ({ id: m.id, name: m.name, operating_status: memberOperatingStatus(env.world, env.cloud.name, rs, m, env.now, hd(env)), provisioning_status: m.provisioning_status, address: m.address, protocol_port: m.protocol_port })),
            })),
        })),
    },
  };
}

export function octaviaRouter(): Router<Env> {
  const r = new Router<Env>();
  for (const v of ['/v2', '/v2.0']) {
    const P = `${v}/lbaas`;
    r.on('GET', v, () => ({ status: 200, body: { version: { id: 'v2.0', status: 'CURRENT' } } }));
    r.on('GET', `${P}/providers`, () => ({
      status: 200,
      body: { providers: [{ name: 'amphora', description: 'The Octavia Amphora driver.' }, { name: 'octavia', description: 'Deprecated alias of the Octavia Amphora driver.' }] },
    }));
    r.on('GET', `${P}/flavors`, () => ({ status: 200, body: { flavors: [], flavors_links: [] } }));
    r.on('GET', `${P}/availabilityzones`, () => ({ status: 200, body: { availability_zones: [], availability_zones_links: [] } }));
    r.on('GET', `${P}/quotas/:project`, (ctx, env) => ({ status: 200, body: { quota: { ...DEFAULT_LB_QUOTA, ...(env.region.quotas.lb[ctx.params.project] ?? {}) } } }));
    r.on('PUT', `${P}/quotas/:project`, (ctx, env) => {
      if (!env.admin) throw new ApiError(403, 'Policy does not allow this request to be performed.');
      const b = ctx.body?.quota ?? {};
      const cur = (env.region.quotas.lb[ctx.params.project] ??= {});
      for (const [k, val] of Object.entries(b)) {
        if (!(k in DEFAULT_LB_QUOTA)) throw badRequest(`Invalid input for field/attribute ${k}. unexpected attribute`);
        cur[k] = Number(val);
      }
      env.dirty();
      return { status: 202, body: { quota: { ...DEFAULT_LB_QUOTA, ...cur } } };
    });

    // load balancers
    r.on('GET', `${P}/loadbalancers`, (ctx, env) => listReply(ctx, 'loadbalancers', '/v2/lbaas/loadbalancers', Object.values(env.region.loadbalancers).filter((x) => env.admin || x.project_id === env.token.project_id).map((x) => lbView(env, x))));
    r.on('GET', `${P}/loadbalancers/:id`, (ctx, env) => ({ status: 200, body: { loadbalancer: lbView(env, getLb(env, ctx.params.id)) } }));
    r.on('GET', `${P}/loadbalancers/:id/status`, (ctx, env) => ({ status: 200, body: { statuses: statusTree(env, getLb(env, ctx.params.id)) } }));
    r.on('GET', `${P}/loadbalancers/:id/stats`, (ctx, env) => {
      getLb(env, ctx.params.id);
      return { status: 200, body: { stats: { active_connections: 0, bytes_in: 0, bytes_out: 0, request_errors: 0, total_connections: 0 } } };
    });
    r.on('POST', `${P}/loadbalancers`, (ctx, env) => {
      const b = bodyOf(ctx, 'loadbalancer', ['name', 'description', 'admin_state_up', 'vip_subnet_id', 'vip_network_id', 'vip_port_id', 'vip_address', 'vip_qos_policy_id', 'provider', 'flavor_id', 'availability_zone', 'tags', 'project_id', 'tenant_id', 'listeners', 'pools']);
      if (!b.vip_subnet_id && !b.vip_network_id && !b.vip_port_id) throw badRequest('Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.');
      if (b.listeners?.length || b.pools?.length) throw badRequest('Validation failure: the stand-in does not create load balancer graphs in one call; create listeners and pools separately.');
      if (b.provider && !['amphora', 'octavia'].includes(b.provider)) throw badRequest(`Provider '${b.provider}' is not enabled.`);
      if (b.flavor_id) throw badRequest(`Validation failure: Invalid flavor_id.`);
      const rs = env.region;
      let subnet = b.vip_subnet_id ? rs.subnets[b.vip_subnet_id] : undefined;
      if (b.vip_subnet_id && !subnet) throw badRequest(`Subnet ${b.vip_subnet_id} not found.`);
      let networkId = subnet?.network_id ?? b.vip_network_id;
      if (b.vip_port_id) {
        const port = rs.ports[b.vip_port_id];
        if (!port) throw badRequest(`Port ${b.vip_port_id} not found.`);
        networkId = port.network_id;
        subnet = rs.subnets[port.fixed_ips[0]?.subnet_id];
      }
      const net = rs.networks[networkId];
      if (!net) throw badRequest(`Network ${networkId} not found.`);
      subnet ??= rs.subnets[net.subnets[0]];
      if (!subnet) throw badRequest(`Network ${net.id} has no subnets.`);
      const lbBase = base(env, b);
      quotaCheck(env, lbBase.project_id, 'load_balancer', Object.values(rs.loadbalancers).filter((x) => x.project_id === lbBase.project_id).length);
      const port = b.vip_port_id
        ? rs.ports[b.vip_port_id]
        : newPort(rs, { network_id: net.id, project_id: lbBase.project_id, name: `octavia-lb-${lbBase.id}`, device_owner: 'Octavia', device_id: `lb-${lbBase.id}`, security_groups: [] }, env.now, [{ subnet_id: subnet.id, ip_address: b.vip_address }]);
      const lb: LoadBalancer = {
        ...lbBase,
        vip_address: port.fixed_ips[0].ip_address,
        vip_port_id: port.id,
        vip_subnet_id: subnet.id,
        vip_network_id: net.id,
        provider: b.provider ?? 'amphora',
        flavor_id: null,
        availability_zone: b.availability_zone ?? null,
      };
      rs.loadbalancers[lb.id] = lb;
      addPending(rs, { at: env.now + env.world.config.latency.lbCreate, kind: 'lb.settle', id: lb.id });
      env.created('loadbalancer');
      env.dirty();
      return { status: 201, body: { loadbalancer: lbView(env, lb) } };
    });
    r.on('PUT', `${P}/loadbalancers/:id`, (ctx, env) => {
      const lb = getLb(env, ctx.params.id);
      const b = bodyOf(ctx, 'loadbalancer', ['name', 'description', 'admin_state_up', 'vip_qos_policy_id', 'tags']);
      lockFor(env, lb);
      for (const k of ['name', 'description', 'admin_state_up', 'tags'] as const) if (b[k] !== undefined) (lb as any)[k] = b[k];
      beginUpdate(env, lb);
      return { status: 200, body: { loadbalancer: lbView(env, lb) } };
    });
    r.on('PUT', `${P}/loadbalancers/:id/failover`, (ctx, env) => {
      const lb = getLb(env, ctx.params.id);
      lockFor(env, lb);
      beginUpdate(env, lb);
      return { status: 202 };
    });
    r.on('DELETE', `${P}/loadbalancers/:id`, (ctx, env) => {
      const lb = getLb(env, ctx.params.id);
      lockFor(env, lb);
      const cascade = ['true', 'True', '1'].includes(ctx.query.get('cascade') ?? '');
      const hasChildren = Object.values(env.region.listeners).some((l) => l.loadbalancer_id === lb.id) || Object.values(env.region.pools).some((p) => p.loadbalancer_id === lb.id);
      if (hasChildren && !cascade) throw badRequest(`Cannot delete Load Balancer ${lb.id} - it has children`);
      lb.provisioning_status = 'PENDING_DELETE';
      lb.updated_at = env.now;
      addPending(env.region, { at: env.now + env.world.config.latency.lbDelete, kind: 'lb.delete', id: lb.id });
      env.dirty();
      return { status: 204 };
    });

    // listeners
    r.on('GET', `${P}/listeners`, (ctx, env) => listReply(ctx, 'listeners', '/v2/lbaas/listeners', Object.values(env.region.listeners).filter((x) => env.admin || x.project_id === env.token.project_id).map((x) => listenerView(env, x))));
    r.on('GET', `${P}/listeners/:id`, (ctx, env) => ({ status: 200, body: { listener: listenerView(env, get(env, env.region.listeners, 'Listener', ctx.params.id)) } }));
    r.on('POST', `${P}/listeners`, (ctx, env) => {
      const b = bodyOf(
        ctx,
        'listener',
        ['name', 'description', 'admin_state_up', 'loadbalancer_id', 'protocol', 'protocol_port', 'default_pool_id', 'connection_limit', 'tags', 'project_id', 'tenant_id', 'timeout_client_data', 'timeout_member_connect', 'timeout_member_data', 'timeout_tcp_inspect', 'insert_headers', 'allowed_cidrs', 'default_tls_container_ref', 'sni_container_refs'],
        ['loadbalancer_id', 'protocol', 'protocol_port'],
      );
      const lb = getLb(env, b.loadbalancer_id);
      if (!PROTOCOLS.includes(b.protocol)) throw badRequest(`Invalid input for field/attribute protocol. Value: '${b.protocol}'. Value should be one of: ${PROTOCOLS.join(', ')}`);
      if (!Number.isInteger(b.protocol_port) || b.protocol_port < 1 || b.protocol_port > 65535) throw badRequest(`Invalid input for field/attribute protocol_port. Value: '${b.protocol_port}'. Value should be lower or equal to 65535`);
      lockFor(env, lb);
      const udp = (p: string) => (p === 'UDP' ? 'udp' : p === 'SCTP' ? 'sctp' : 'tcp');
      if (Object.values(env.region.listeners).some((l) => l.loadbalancer_id === lb.id && l.protocol_port === b.protocol_port && udp(l.protocol) === udp(b.protocol)))
        throw conflict(`Another Listener on this Load Balancer is already using protocol_port ${b.protocol_port}`);
      if (b.default_pool_id) get(env, env.region.pools, 'Pool', b.default_pool_id);
      const l: Listener = {
        ...base(env, { ...b, project_id: lb.project_id }),
        loadbalancer_id: lb.id,
        protocol: b.protocol,
        protocol_port: b.protocol_port,
        default_pool_id: b.default_pool_id ?? null,
        connection_limit: b.connection_limit ?? -1,
        timeout_client_data: b.timeout_client_data ?? 50000,
        timeout_member_connect: b.timeout_member_connect ?? 5000,
        timeout_member_data: b.timeout_member_data ?? 50000,
        timeout_tcp_inspect: b.timeout_tcp_inspect ?? 0,
      };
      env.region.listeners[l.id] = l;
      beginUpdate(env, lb);
      env.created('listener');
      return { status: 201, body: { listener: listenerView(env, l) } };
    });
    r.on('PUT', `${P}/listeners/:id`, (ctx, env) => {
      const l = get(env, env.region.listeners, 'Listener', ctx.params.id);
      const b = bodyOf(ctx, 'listener', ['name', 'description', 'admin_state_up', 'default_pool_id', 'connection_limit', 'tags', 'timeout_client_data', 'timeout_member_connect', 'timeout_member_data', 'timeout_tcp_inspect', 'insert_headers', 'allowed_cidrs']);
      const lb = getLb(env, l.loadbalancer_id);
      lockFor(env, lb);
      if (b.default_pool_id) get(env, env.region.pools, 'Pool', b.default_pool_id);
      for (const [k, val] of Object.entries(b)) if (k in l) (l as any)[k] = val;
      l.provisioning_status = 'PENDING_UPDATE';
      l.updated_at = env.now;
      beginUpdate(env, lb);
      return { status: 200, body: { listener: listenerView(env, l) } };
    });
    r.on('DELETE', `${P}/listeners/:id`, (ctx, env) => {
      const l = get(env, env.region.listeners, 'Listener', ctx.params.id);
      const lb = getLb(env, l.loadbalancer_id);
      lockFor(env, lb);
      l.provisioning_status = 'PENDING_DELETE';
      for (const p of Object.values(env.region.pools)) if (p.listener_id === l.id) p.listener_id = null;
      beginUpdate(env, lb);
      return { status: 204 };
    });

    // pools
    r.on('GET', `${P}/pools`, (ctx, env) => listReply(ctx, 'pools', '/v2/lbaas/pools', Object.values(env.region.pools).filter((x) => env.admin || x.project_id === env.token.project_id).map((x) => poolView(env, x))));
    r.on('GET', `${P}/pools/:id`, (ctx, env) => ({ status: 200, body: { pool: poolView(env, get(env, env.region.pools, 'Pool', ctx.params.id)) } }));
    r.on('POST', `${P}/pools`, (ctx, env) => {
      const b = bodyOf(ctx, 'pool', ['name', 'description', 'admin_state_up', 'listener_id', 'loadbalancer_id', 'protocol', 'lb_algorithm', 'session_persistence', 'tags', 'project_id', 'tenant_id', 'tls_enabled', 'healthmonitor'], ['protocol', 'lb_algorithm']);
      if (!b.listener_id && !b.loadbalancer_id) throw badRequest('Validation failure: A pool must have a listener_id or a loadbalancer_id.');
      if (!POOL_PROTOCOLS.includes(b.protocol)) throw badRequest(`Invalid input for field/attribute protocol. Value: '${b.protocol}'. Value should be one of: ${POOL_PROTOCOLS.join(', ')}`);
      if (!ALGORITHMS.includes(b.lb_algorithm)) throw badRequest(`Invalid input for field/attribute lb_algorithm. Value: '${b.lb_algorithm}'. Value should be one of: ${ALGORITHMS.join(', ')}`);
      let listener: Listener | undefined;
      let lbId = b.loadbalancer_id;
      if (b.listener_id) {
        listener = get(env, env.region.listeners, 'Listener', b.listener_id);
        if (lbId && lbId !== listener.loadbalancer_id) throw badRequest('Validation failure: Listener and Load Balancer do not match.');
        lbId = listener.loadbalancer_id;
        if (listener.default_pool_id) throw conflict(`Listener ${listener.id} is already using a default pool.`);
      }
      const lb = getLb(env, lbId);
      lockFor(env, lb);
      const p: Pool = {
        ...base(env, { ...b, project_id: lb.project_id }),
        loadbalancer_id: lb.id,
        listener_id: listener?.id ?? null,
        protocol: b.protocol,
        lb_algorithm: b.lb_algorithm,
        session_persistence: b.session_persistence ?? null,
        healthmonitor_id: null,
      };
      env.region.pools[p.id] = p;
      if (listener) listener.default_pool_id = p.id;
      beginUpdate(env, lb);
      env.created('pool');
      return { status: 201, body: { pool: poolView(env, p) } };
    });
    r.on('PUT', `${P}/pools/:id`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.id);
      const b = bodyOf(ctx, 'pool', ['name', 'description', 'admin_state_up', 'lb_algorithm', 'session_persistence', 'tags', 'tls_enabled']);
      const lb = getLb(env, p.loadbalancer_id);
      lockFor(env, lb);
      if (b.lb_algorithm && !ALGORITHMS.includes(b.lb_algorithm)) throw badRequest(`Invalid input for field/attribute lb_algorithm. Value: '${b.lb_algorithm}'.`);
      for (const [k, val] of Object.entries(b)) if (k in p) (p as any)[k] = val;
      p.provisioning_status = 'PENDING_UPDATE';
      p.updated_at = env.now;
      beginUpdate(env, lb);
      return { status: 200, body: { pool: poolView(env, p) } };
    });
    r.on('DELETE', `${P}/pools/:id`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.id);
      const lb = getLb(env, p.loadbalancer_id);
      lockFor(env, lb);
      p.provisioning_status = 'PENDING_DELETE';
      beginUpdate(env, lb);
      return { status: 204 };
    });

    // members
    r.on('GET', `${P}/pools/:pool/members`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.pool);
      return listReply(ctx, 'members', `/v2/lbaas/pools/${p.id}/members`, Object.values(env.region.members).filter((m) => m.pool_id === p.id).map((m) => memberView(env, m)));
    });
    r.on('GET', `${P}/pools/:pool/members/:id`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.pool);
      const m = env.region.members[ctx.params.id];
      if (!m || m.pool_id !== p.id) throw notFound('Member', ctx.params.id);
      return { status: 200, body: { member: memberView(env, m) } };
    });
    r.on('POST', `${P}/pools/:pool/members`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.pool);
      const b = bodyOf(ctx, 'member', MEMBER_FIELDS, ['address', 'protocol_port']);
      checkMember(env, b);
      const lb = getLb(env, p.loadbalancer_id);
      lockFor(env, lb);
      if (Object.values(env.region.members).some((m) => m.pool_id === p.id && m.address === b.address && m.protocol_port === b.protocol_port))
        throw conflict(`Another member on this pool is already using ip address ${b.address} on protocol_port ${b.protocol_port}`);
      quotaCheck(env, p.project_id, 'member', Object.values(env.region.members).filter((m) => m.project_id === p.project_id).length);
      const m = newMember(env, p, b);
      env.region.members[m.id] = m;
      beginUpdate(env, lb);
      env.created('member');
      return { status: 201, body: { member: memberView(env, m) } };
    });
    r.on('PUT', `${P}/pools/:pool/members`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.pool);
      const list = ctx.body?.members;
      if (!Array.isArray(list)) throw badRequest("Invalid input for field/attribute members. Value: 'None'. Mandatory field missing.");
      const additive = ['true', 'True', '1'].includes(ctx.query.get('additive_only') ?? '');
      const lb = getLb(env, p.loadbalancer_id);
      for (const b of list) {
        for (const k of Object.keys(b)) if (!MEMBER_FIELDS.includes(k)) throw badRequest(`Invalid input for field/attribute ${k}. unexpected attribute`);
        if (b.address === undefined || b.protocol_port === undefined) throw badRequest('Invalid input for field/attribute address. Value: None. Mandatory field missing.');
        checkMember(env, b);
      }
      const keys = list.map((b: any) => `${b.address}:${b.protocol_port}`);
      if (new Set(keys).size !== keys.length) throw badRequest('Validation failure: duplicate address/protocol_port in the batch.');
      lockFor(env, lb);
      const existing = Object.values(env.region.members).filter((m) => m.pool_id === p.id);
      let created = 0;
      for (const b of list) {
        const m = existing.find((x) => x.address === b.address && x.protocol_port === b.protocol_port);
        if (m) {
          for (const k of ['name', 'weight', 'admin_state_up', 'backup', 'monitor_address', 'monitor_port', 'tags'] as const) if (b[k] !== undefined) (m as any)[k] = b[k];
          m.provisioning_status = 'PENDING_UPDATE';
          m.updated_at = env.now;
        } else {
          const n = newMember(env, p, b);
          env.region.members[n.id] = n;
          created++;
        }
      }
      if (!additive) for (const m of existing) if (!keys.includes(`${m.address}:${m.protocol_port}`)) m.provisioning_status = 'PENDING_DELETE';
      beginUpdate(env, lb);
      if (created) env.created('member', created);
      return { status: 202 };
    });
    r.on('PUT', `${P}/pools/:pool/members/:id`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.pool);
      const m = env.region.members[ctx.params.id];
      if (!m || m.pool_id !== p.id) throw notFound('Member', ctx.params.id);
      const b = bodyOf(ctx, 'member', ['name', 'weight', 'admin_state_up', 'backup', 'monitor_address', 'monitor_port', 'tags']);
      if (b.weight !== undefined && (!Number.isInteger(b.weight) || b.weight < 0 || b.weight > 256)) throw badRequest(`Invalid input for field/attribute weight. Value: '${b.weight}'. Value should be lower or equal to 256`);
      const lb = getLb(env, p.loadbalancer_id);
      lockFor(env, lb);
      for (const [k, val] of Object.entries(b)) (m as any)[k] = val;
      m.provisioning_status = 'PENDING_UPDATE';
      m.updated_at = env.now;
      beginUpdate(env, lb);
      return { status: 200, body: { member: memberView(env, m) } };
    });
    r.on('DELETE', `${P}/pools/:pool/members/:id`, (ctx, env) => {
      const p = get(env, env.region.pools, 'Pool', ctx.params.pool);
      const m = env.region.members[ctx.params.id];
      if (!m || m.pool_id !== p.id) throw notFound('Member', ctx.params.id);
      const lb = getLb(env, p.loadbalancer_id);
      lockFor(env, lb);
      m.provisioning_status = 'PENDING_DELETE';
      beginUpdate(env, lb);
      return { status: 204 };
    });

    // health monitors
    r.on('GET', `${P}/healthmonitors`, (ctx, env) => listReply(ctx, 'healthmonitors', '/v2/lbaas/healthmonitors', Object.values(env.region.healthmonitors).filter((x) => env.admin || x.project_id === env.token.project_id).map((x) => hmView(env, x))));
    r.on('GET', `${P}/healthmonitors/:id`, (ctx, env) => ({ status: 200, body: { healthmonitor: hmView(env, get(env, env.region.healthmonitors, 'Health Monitor', ctx.params.id)) } }));
    r.on('POST', `${P}/healthmonitors`, (ctx, env) => {
      const b = bodyOf(
        ctx,
        'healthmonitor',
        ['name', 'admin_state_up', 'pool_id', 'type', 'delay', 'timeout', 'max_retries', 'max_retries_down', 'http_method', 'url_path', 'expected_codes', 'http_version', 'domain_name', 'tags', 'project_id', 'tenant_id'],
        ['pool_id', 'type', 'delay', 'timeout', 'max_retries'],
      );
      if (!HM_TYPES.includes(b.type)) throw badRequest(`Invalid input for field/attribute type. Value: '${b.type}'. Value should be one of: ${HM_TYPES.join(', ')}`);
      if (b.timeout > b.delay) throw badRequest('Validation failure: The timeout must be less than or equal to the delay.');
      if (b.max_retries < 1 || b.max_retries > 10) throw badRequest(`Invalid input for field/attribute max_retries. Value: '${b.max_retries}'. Value should be lower or equal to 10`);
      const p = get(env, env.region.pools, 'Pool', b.pool_id);
      if (p.healthmonitor_id) throw conflict(`Pool ${p.id} is already using Health Monitor`);
      const lb = getLb(env, p.loadbalancer_id);
      lockFor(env, lb);
      const http = b.type === 'HTTP' || b.type === 'HTTPS';
      const h: HealthMonitor = {
        ...base(env, { ...b, project_id: p.project_id }),
        pool_id: p.id,
        type: b.type,
        delay: b.delay,
        timeout: b.timeout,
        max_retries: b.max_retries,
        max_retries_down: b.max_retries_down ?? 3,
        http_method: http ? b.http_method ?? 'GET' : null,
        url_path: http ? b.url_path ?? '/' : null,
        expected_codes: http ? b.expected_codes ?? '200' : null,
        http_version: http ? b.http_version ?? 1.0 : null,
        domain_name: b.domain_name ?? null,
      };
      env.region.healthmonitors[h.id] = h;
      p.healthmonitor_id = h.id;
      beginUpdate(env, lb);
      env.created('healthmonitor');
      return { status: 201, body: { healthmonitor: hmView(env, h) } };
    });
    r.on('PUT', `${P}/healthmonitors/:id`, (ctx, env) => {
      const h = get(env, env.region.healthmonitors, 'Health Monitor', ctx.params.id);
      const b = bodyOf(ctx, 'healthmonitor', ['name', 'admin_state_up', 'delay', 'timeout', 'max_retries', 'max_retries_down', 'http_method', 'url_path', 'expected_codes', 'http_version', 'domain_name', 'tags']);
      const lb = getLb(env, env.region.pools[h.pool_id].loadbalancer_id);
      lockFor(env, lb);
      for (const [k, val] of Object.entries(b)) (h as any)[k] = val;
      h.provisioning_status = 'PENDING_UPDATE';
      beginUpdate(env, lb);
      return { status: 200, body: { healthmonitor: hmView(env, h) } };
    });
    r.on('DELETE', `${P}/healthmonitors/:id`, (ctx, env) => {
      const h = get(env, env.region.healthmonitors, 'Health Monitor', ctx.params.id);
      const lb = getLb(env, env.region.pools[h.pool_id].loadbalancer_id);
      lockFor(env, lb);
      h.provisioning_status = 'PENDING_DELETE';
      beginUpdate(env, lb);
      return { status: 204 };
    });
  }
  return r;
}

export function octaviaVersions(root: string) {
  const v = ['2.0', '2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '2.13', '2.14', '2.15', '2.16', '2.17', '2.18', '2.19', '2.20', '2.21', '2.22', '2.23', '2.24', '2.25'];
  return {
    versions: v.map((id, i) => ({ id: `v${id}`, status: i === v.length - 1 ? 'CURRENT' : 'SUPPORTED', updated: '2022-09-01T00:00:00Z', links: [{ href: `${root}/v2`, rel: 'self' }] })),
  };
}

