/**
 * Neutron (networking API v2.0): networks, subnets, ports, floating IPs, security groups and
 * rules, routers (read), quotas, extensions and standard-attribute tags; list filters on any
 * attribute, `fields`, tags filters and limit/marker paging with `<collection>_links`.
 */
import { ApiError, Router, badRequest, conflict, isoZ, withMarker, type Ctx, type Reply } from './http';
import {
  DEFAULT_NETWORK_QUOTA,
  ensureDefaultSecurityGroup,
  newRule,
  uuid,
  validCidr,
  validIpv4,
  intToIp,
  ipToInt,
  type FloatingIp,
  type Network,
  type Port,
  type RegionState,
  type Router as NRouter,
  type SecurityGroup,
  type SgRule,
  type Std,
  type Subnet,
} from './model';
import type { Env } from './env';
import { allocateIp, ipInCidr, newPort } from './world';

const notFound = (type: string, msg: string) => new ApiError(404, msg, type);

function stdView(o: Std) {
  return {
    id: o.id,
    name: o.name,
    tenant_id: o.project_id,
    project_id: o.project_id,
    description: o.description,
    tags: o.tags,
    created_at: isoZ(o.created_at),
    updated_at: isoZ(o.updated_at),
    revision_number: o.revision_number,
  };
}

function networkView(env: Env, n: Network) {
  const v: Record<string, unknown> = {
    ...stdView(n),
    admin_state_up: n.admin_state_up,
    mtu: n.mtu,
    status: n.status,
    subnets: n.subnets,
    shared: n.shared,
    availability_zone_hints: [],
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    'router:external': n.external,
    port_security_enabled: true,
    qos_policy_id: null,
    dns_domain: '',
    l2_adjacency: true,
    // auto-allocated-topology adds is_default to external networks only.
    ...(n.external ? { is_default: false } : {}),
  };
  if (env.admin) Object.assign(v, { 'provider:network_type': n.external ? 'flat' : 'geneve', 'provider:physical_network': n.external ? 'public' : null, 'provider:segmentation_id': n.external ? null : 100 + n.mtu % 7 });
  return v;
}

function subnetView(s: Subnet) {
  return {
    ...stdView(s),
    network_id: s.network_id,
    ip_version: s.ip_version,
    subnetpool_id: null,
    enable_dhcp: s.enable_dhcp,
    ipv6_ra_mode: null,
    ipv6_address_mode: null,
    gateway_ip: s.gateway_ip,
    cidr: s.cidr,
    allocation_pools: s.allocation_pools,
    host_routes: [],
    dns_nameservers: s.dns_nameservers,
    service_types: [],
    segment_id: null,
    dns_publish_fixed_ip: false,
  };
}

function portView(env: Env, p: Port) {
  const v: Record<string, unknown> = {
    ...stdView(p),
    network_id: p.network_id,
    admin_state_up: p.admin_state_up,
    mac_address: p.mac_address,
    fixed_ips: p.fixed_ips,
    device_id: p.device_id,
    device_owner: p.device_owner,
    status: p.status,
    security_groups: p.security_groups,
    port_security_enabled: p.port_security_enabled,
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    'binding:vnic_type': 'normal',
    qos_policy_id: null,
    qos_network_policy_id: null,
    ip_allocation: 'immediate',
    propagate_uplink_status: false,
    dns_name: '',
    dns_domain: '',
    resource_request: null,
    dns_assignment: p.fixed_ips.map((ip) => ({ ip_address: ip.ip_address, hostname: `host-${ip.ip_address.replace(/\./g, '-')}`, fqdn: `host-${ip.ip_address.replace(/\./g, '-')}.openstacklocal.` })),
  };
  if (env.admin) Object.assign(v, { 'binding:host_id': p.binding_host_id, 'binding:profile': {}, 'binding:vif_type': p.binding_host_id ? 'ovs' : 'unbound', 'binding:vif_details': p.binding_host_id ? { port_filter: true, ovs_hybrid_plug: false, bound_drivers: { '0': 'openvswitch' } } : {} });
  return v;
}

function fipView(env: Env, f: FloatingIp) {
  const port = f.port_id ? env.region.ports[f.port_id] : undefined;
  return {
    ...stdView(f),
    floating_network_id: f.floating_network_id,
    floating_ip_address: f.floating_ip_address,
    fixed_ip_address: f.fixed_ip_address,
    port_id: f.port_id,
    router_id: f.router_id,
    status: f.status,
    qos_policy_id: null,
    dns_domain: '',
    dns_name: '',
    port_forwardings: [],
    port_details: port
      ? { name: port.name, network_id: port.network_id, mac_address: port.mac_address, admin_state_up: port.admin_state_up, status: port.status, device_id: port.device_id, device_owner: port.device_owner }
      : null,
  };
}

function ruleView(r: SgRule) {
  return {
    id: r.id,
    tenant_id: r.project_id,
    project_id: r.project_id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: null,
    normalized_cidr: r.remote_ip_prefix,
    description: r.description,
    created_at: isoZ(r.created_at),
    updated_at: isoZ(r.updated_at),
    revision_number: r.revision_number,
  };
}

function sgView(env: Env, g: SecurityGroup) {
  return {
    ...stdView(g),
    stateful: g.stateful,
    shared: false,
    // Rules inside a group carry their tags and standard_attr_id, rules on their own neither (seen on a real Zed Neutron).
    security_group_rules: Object.values(env.region.sgRules)
      .filter((r) => r.security_group_id === g.id)
      .map((r) => ({ ...ruleView(r), tags: r.tags, standard_attr_id: parseInt(r.id.slice(0, 7), 16) })),
  };
}

function routerView(env: Env, r: NRouter) {
  const pubNet = r.external_network_id ? env.region.networks[r.external_network_id] : undefined;
  return {
    ...stdView(r),
    admin_state_up: r.admin_state_up,
    status: r.status,
    external_gateway_info: pubNet
      ? { network_id: pubNet.id, enable_snat: true, external_fixed_ips: [{ subnet_id: pubNet.subnets[0], ip_address: intToIp(ipToInt(env.region.subnets[pubNet.subnets[0]].cidr.split('/')[0]) + 2) }] }
      : null,
    routes: [],
    availability_zone_hints: [],
    availability_zones: ['nova'],
    distributed: false,
    ha: false,
    flavor_id: null,
  };
}

// ---- generic list --------------------------------------------------------------------------

const RESERVED = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

function asStr(v: unknown): string[] {
  if (v === null || v === undefined) return [''];
  if (typeof v === 'boolean') return [v ? 'True' : 'False', v ? 'true' : 'false', v ? '1' : '0'];
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'object' ? [JSON.stringify(x)] : asStr(x)));
  return [String(v)];
}

function listReply(ctx: Ctx, collection: string, views: Record<string, any>[], extraFilters: Record<string, (v: Record<string, any>, values: string[]) => boolean> = {}): Reply {
  const q = ctx.query;
  let items = views;
  const keys = new Set([...q.keys()]);
  for (const k of keys) {
    if (RESERVED.has(k)) continue;
    const values = q.getAll(k);
    if (extraFilters[k]) {
      items = items.filter((v) => extraFilters[k](v, values));
      continue;
    }
    if (items.length && !(k in items[0]) && !['tenant_id', 'project_id'].includes(k)) {
      if (views.length && !(k in views[0])) throw badRequest(`[${k}] is invalid attribute for filtering`, 'HTTPBadRequest');
    }
    items = items.filter((v) => values.some((want) => asStr(v[k]).includes(want)));
  }
  const tagSet = (s: string | null) => (s ? s.split(',') : null);
  const all = tagSet(q.get('tags'));
  if (all) items = items.filter((v) => all.every((t) => v.tags?.includes(t)));
  const any = tagSet(q.get('tags-any'));
  if (any) items = items.filter((v) => any.some((t) => v.tags?.includes(t)));
  const not = tagSet(q.get('not-tags'));
  if (not) items = items.filter((v) => !not.every((t) => v.tags?.includes(t)));
  const notAny = tagSet(q.get('not-tags-any'));
  if (notAny) items = items.filter((v) => !notAny.some((t) => v.tags?.includes(t)));
  const sortKey = q.get('sort_key') ?? 'id';
  const dir = q.get('sort_dir') === 'desc' ? -1 : 1;
  items = [...items].sort((a, b) => (String(a[sortKey]) < String(b[sortKey]) ? -dir : String(a[sortKey]) > String(b[sortKey]) ? dir : a.id < b.id ? -1 : 1));
  const limitRaw = q.get('limit');
  let next: string | undefined;
  if (limitRaw !== null || q.get('marker')) {
    const limit = Number(limitRaw ?? 0) || items.length;
    let start = 0;
    const marker = q.get('marker');
    if (marker) {
      const i = items.findIndex((x) => x.id === marker);
      if (i < 0) throw notFound('HTTPNotFound', `Marker ${marker} could not be found.`);
      start = i + 1;
    }
    const slice = items.slice(start, start + limit);
    if (start + limit < items.length && slice.length) next = withMarker(ctx.base, `/${collection}`, q, slice[slice.length - 1].id, limit);
    items = slice;
  }
  const fields = q.getAll('fields');
  if (fields.length) items = items.map((v) => Object.fromEntries(fields.filter((f) => f in v).map((f) => [f, v[f]])));
  const body: Record<string, unknown> = { [collection.replace(/-/g, '_')]: items };
  if (next) body[`${collection.replace(/-/g, '_')}_links`] = [{ rel: 'next', href: next }];
  return { status: 200, body };
}

function pickFields(ctx: Ctx, v: Record<string, any>): Record<string, any> {
  const fields = ctx.query.getAll('fields');
  return fields.length ? Object.fromEntries(fields.filter((f) => f in v).map((f) => [f, v[f]])) : v;
}

// ---- validation helpers -------------------------------------------------------------------

function bodyOf(ctx: Ctx, key: string, allowed: string[], required: string[] = []): Record<string, any> {
  const b = ctx.body?.[key];
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest(`Resource body required`, 'HTTPBadRequest');
  const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`, 'HTTPBadRequest');
  for (const r of required) if (b[r] === undefined) throw badRequest(`Failed to parse request. Required attribute '${r}' not specified`, 'HTTPBadRequest');
  if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 255)) throw badRequest(`Invalid input for description. Reason: '${String(b.description).slice(0, 20)}' exceeds maximum length of 255.`, 'HTTPBadRequest');
  if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length > 255)) throw badRequest(`Invalid input for name. Reason: '${String(b.name).slice(0, 20)}' exceeds maximum length of 255.`, 'HTTPBadRequest');
  if (b.tags !== undefined) checkTags(b.tags);
  return b;
}

function checkTags(tags: unknown): void {
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || !t || t.length > 60 || t.includes(','))) throw badRequest("Invalid input for operation: Invalid tags body: tags must be strings of at most 60 characters without ','.", 'InvalidInput');
}

function projectFor(env: Env, b: Record<string, any>): string {
  const p = b.project_id ?? b.tenant_id;
  if (p && p !== env.token.project_id && !env.admin) throw new ApiError(403, "(rule:create_network and rule:create_network:tenant_id) is disallowed by policy", 'PolicyNotAuthorized');
  return p ?? env.token.project_id!;
}

function quotaCheck(env: Env, project: string, resource: string, count: number): void {
  const q = { ...DEFAULT_NETWORK_QUOTA, ...(env.region.quotas.network[project] ?? {}) };
  const limit = q[resource];
  if (limit >= 0 && count + 1 > limit) throw conflict(`Quota exceeded for resources: ['${resource}'].`, 'OverQuota');
}

function std(env: Env, b: Record<string, any>, project: string): Std {
  return { id: uuid(), name: b.name ?? '', project_id: project, description: b.description ?? '', tags: b.tags ?? [], created_at: env.now, updated_at: env.now, revision_number: 1 };
}

const touch = (env: Env, o: { updated_at: number; revision_number: number }) => {
  o.updated_at = env.now;
  o.revision_number++;
};

function visibleNet(env: Env, n: Network | undefined): n is Network {
  return !!n && (env.admin || n.project_id === env.token.project_id || n.shared || n.external);
}
function owned<T extends { project_id: string }>(env: Env, o: T | undefined): o is T {
  return !!o && (env.admin || o.project_id === env.token.project_id);
}

function getNetwork(env: Env, id: string): Network {
  const n = env.region.networks[id];
  if (!visibleNet(env, n)) throw notFound('NetworkNotFound', `Network ${id} could not be found.`);
  return n;
}
function getSubnet(env: Env, id: string): Subnet {
  const s = env.region.subnets[id];
  if (!s || !(env.admin || s.project_id === env.token.project_id || visibleNet(env, env.region.networks[s.network_id]))) throw notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
  return s;
}
function getPort(env: Env, id: string): Port {
  const p = env.region.ports[id];
  if (!owned(env, p)) throw notFound('PortNotFound', `Port ${id} could not be found.`);
  return p;
}
function getSg(env: Env, id: string): SecurityGroup {
  const g = env.region.securityGroups[id];
  if (!owned(env, g)) throw notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
  return g;
}
function getFip(env: Env, id: string): FloatingIp {
  const f = env.region.floatingips[id];
  if (!owned(env, f)) throw notFound('FloatingIPNotFound', `Floating IP ${id} could not be found`);
  return f;
}

function resolveSgs(env: Env, ids: unknown, project: string): string[] {
  if (ids === undefined) return [ensureDefaultSecurityGroup(env.region, project, env.now).id];
  if (!Array.isArray(ids)) throw badRequest(`Invalid input for security_groups. Reason: '${ids}' is not a list.`, 'HTTPBadRequest');
  return ids.map((id) => {
    const g = env.region.securityGroups[String(id)];
    if (!g || (g.project_id !== project && !env.admin)) throw notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
    return g.id;
  });
}

/** Which router reaches `subnet` from `extNet` (for floating IPs). */
function routerBetween(rs: RegionState, subnetId: string, extNet: string): NRouter | undefined {
  return Object.values(rs.routers).find((r) => r.external_network_id === extNet && r.interfaces.includes(subnetId));
}

function associate(env: Env, f: FloatingIp, portId: string | null, fixedIp?: string): void {
  if (portId === null) {
    Object.assign(f, { port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' });
    return;
  }
  const port = getPort(env, portId);
  const ip = fixedIp ? port.fixed_ips.find((x) => x.ip_address === fixedIp) : port.fixed_ips[0];
  if (!ip) throw badRequest(`Invalid input for operation: Port ${port.id} does not have fixed ip ${fixedIp}.`, 'InvalidInput');
  const router = routerBetween(env.region, ip.subnet_id, f.floating_network_id);
  if (!router)
    throw notFound('ExternalGatewayForFloatingIPNotFound', `External network ${f.floating_network_id} is not reachable from subnet ${ip.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`);
  const other = Object.values(env.region.floatingips).find((x) => x.id !== f.id && x.port_id === port.id && x.fixed_ip_address === ip.ip_address && x.floating_network_id === f.floating_network_id);
  if (other)
    throw conflict(`Cannot associate floating IP ${f.floating_ip_address} (${f.id}) with port ${port.id} using fixed IP ${ip.ip_address}, as that fixed IP already has a floating IP on external network ${f.floating_network_id}.`, 'FloatingIPPortAlreadyAssociated');
  Object.assign(f, { port_id: port.id, fixed_ip_address: ip.ip_address, router_id: router.id, status: 'ACTIVE' });
}

const EXTENSIONS = [
  ['address-scope', 'Address scope'],
  ['agent', 'agent'],
  ['allowed-address-pairs', 'Allowed Address Pairs'],
  ['binding', 'Port Binding'],
  ['default-subnetpools', 'Default Subnetpools'],
  ['external-net', 'Neutron external network'],
  ['extra_dhcp_opt', 'Neutron Extra DHCP options'],
  ['extraroute', 'Neutron Extra Route'],
  ['fip-port-details', 'Floating IP Port Details Extension'],
  ['filter-validation', 'Filter parameters validation'],
  ['net-mtu', 'Network MTU'],
  ['network-ip-availability', 'Network IP Availability'],
  ['pagination', 'Pagination support'],
  ['port-security', 'Port Security'],
  ['project-id', 'project_id field enabled'],
  ['quotas', 'Quota management support'],
  ['quota_details', 'Quota details management support'],
  ['router', 'Neutron L3 Router'],
  ['security-group', 'security-group'],
  ['sorting', 'Sorting support'],
  ['standard-attr-description', 'standard-attr-description'],
  ['standard-attr-revisions', 'Resource revision numbers'],
  ['standard-attr-tag', 'Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip'],
  ['standard-attr-timestamp', 'Resource timestamps'],
  ['stateful-security-group', 'Stateful security group'],
  ['subnet_allocation', 'Subnet Allocation'],
].map(([alias, name]) => ({ alias, name, description: name, updated: '2013-01-01T10:00:00-00:00', links: [] }));

export function neutronRouter(): Router<Env> {
  const r = new Router<Env>();
  r.on('GET', '/v2.0', (ctx) => ({
    status: 200,
    body: {
      resources: ['network', 'subnet', 'port', 'floatingip', 'security_group', 'security_group_rule', 'router', 'quota'].map((n) => {
        const collection = n === 'security_group' ? 'security-groups' : n === 'security_group_rule' ? 'security-group-rules' : n === 'quota' ? 'quotas' : `${n}s`;
        return { name: n, collection, links: [{ href: `${ctx.base}/v2.0/${collection}`, rel: 'self' }] };
      }),
    },
  }));
  r.on('GET', '/v2.0/extensions', () => ({ status: 200, body: { extensions: EXTENSIONS } }));
  r.on('GET', '/v2.0/extensions/:alias', (ctx) => {
    const e = EXTENSIONS.find((x) => x.alias === ctx.params.alias);
    if (!e) throw notFound('HTTPNotFound', `Extension with alias ${ctx.params.alias} does not exist`);
    return { status: 200, body: { extension: e } };
  });

  // networks
  r.on('GET', '/v2.0/networks', (ctx, env) => listReply(ctx, 'networks', Object.values(env.region.networks).filter((n) => visibleNet(env, n)).map((n) => networkView(env, n))));
  r.on('GET', '/v2.0/networks/:id', (ctx, env) => ({ status: 200, body: { network: pickFields(ctx, networkView(env, getNetwork(env, ctx.params.id))) } }));
  r.on('POST', '/v2.0/networks', (ctx, env) => {
    const b = bodyOf(ctx, 'network', ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'mtu', 'tags', 'project_id', 'tenant_id', 'port_security_enabled', 'availability_zone_hints', 'provider:network_type', 'provider:physical_network', 'provider:segmentation_id', 'qos_policy_id', 'dns_domain', 'is_default']);
    const project = projectFor(env, b);
    if ((b.shared || b['router:external']) && !env.admin) throw new ApiError(403, '(rule:create_network and rule:create_network:shared) is disallowed by policy', 'PolicyNotAuthorized');
    quotaCheck(env, project, 'network', Object.values(env.region.networks).filter((n) => n.project_id === project).length);
    const n: Network = { ...std(env, b, project), admin_state_up: b.admin_state_up ?? true, shared: !!b.shared, external: !!b['router:external'], mtu: b.mtu ?? 1450, status: 'ACTIVE', subnets: [] };
    env.region.networks[n.id] = n;
    env.created('network');
    env.dirty();
    return { status: 201, body: { network: networkView(env, n) } };
  });
  r.on('PUT', '/v2.0/networks/:id', (ctx, env) => {
    const n = getNetwork(env, ctx.params.id);
    if (!owned(env, n)) throw notFound('NetworkNotFound', `Network ${ctx.params.id} could not be found.`);
    const b = bodyOf(ctx, 'network', ['name', 'description', 'admin_state_up', 'shared', 'mtu', 'port_security_enabled', 'qos_policy_id', 'dns_domain']);
    if (b.name !== undefined) n.name = b.name;
    if (b.description !== undefined) n.description = b.description;
    if (b.admin_state_up !== undefined) n.admin_state_up = !!b.admin_state_up;
    if (b.mtu !== undefined) n.mtu = b.mtu;
    touch(env, n);
    env.dirty();
    return { status: 200, body: { network: networkView(env, n) } };
  });
  r.on('DELETE', '/v2.0/networks/:id', (ctx, env) => {
    const n = getNetwork(env, ctx.params.id);
    if (!owned(env, n)) throw notFound('NetworkNotFound', `Network ${ctx.params.id} could not be found.`);
    const inUse = Object.values(env.region.ports).some((p) => p.network_id === n.id && p.device_owner !== 'network:dhcp');
    if (inUse) throw conflict(`Unable to complete operation on network ${n.id}. There are one or more ports still in use on the network.`, 'NetworkInUse');
    for (const s of n.subnets) delete env.region.subnets[s];
    for (const rt of Object.values(env.region.routers)) rt.interfaces = rt.interfaces.filter((s) => !n.subnets.includes(s));
    delete env.region.networks[n.id];
    env.dirty();
    return { status: 204 };
  });

  // subnets
  r.on('GET', '/v2.0/subnets', (ctx, env) =>
    listReply(ctx, 'subnets', Object.values(env.region.subnets).filter((s) => env.admin || s.project_id === env.token.project_id || visibleNet(env, env.region.networks[s.network_id])).map(subnetView)),
  );
  r.on('GET', '/v2.0/subnets/:id', (ctx, env) => ({ status: 200, body: { subnet: pickFields(ctx, subnetView(getSubnet(env, ctx.params.id))) } }));
  r.on('POST', '/v2.0/subnets', (ctx, env) => {
    const b = bodyOf(
      ctx,
      'subnet',
      ['name', 'description', 'network_id', 'cidr', 'ip_version', 'gateway_ip', 'allocation_pools', 'enable_dhcp', 'dns_nameservers', 'host_routes', 'tags', 'project_id', 'tenant_id', 'subnetpool_id', 'prefixlen', 'ipv6_ra_mode', 'ipv6_address_mode', 'service_types', 'segment_id', 'dns_publish_fixed_ip'],
      ['network_id', 'ip_version'],
    );
    const net = getNetwork(env, b.network_id);
    const project = projectFor(env, b);
    if (net.project_id !== project && !env.admin && !net.shared) throw notFound('NetworkNotFound', `Network ${b.network_id} could not be found.`);
    if (Number(b.ip_version) !== 4) throw badRequest('Invalid input for operation: the stand-in supports IPv4 subnets only.', 'InvalidInput');
    if (!b.cidr || !validCidr(b.cidr)) throw badRequest(`Invalid input for cidr. Reason: '${b.cidr}' is not a valid IP subnet.`, 'HTTPBadRequest');
    const [base, bits] = b.cidr.split('/');
    const size = 2 ** (32 - Number(bits));
    const start = ipToInt(base) - (ipToInt(base) % size);
    const cidr = `${intToIp(start)}/${bits}`;
    for (const other of net.subnets.map((id) => env.region.subnets[id]))
      if (other && (ipInCidr(intToIp(start), other.cidr) || ipInCidr(other.cidr.split('/')[0], cidr)))
        throw badRequest(`Invalid input for operation: Requested subnet with cidr: ${cidr} for network: ${net.id} overlaps with another subnet.`, 'InvalidInput');
    quotaCheck(env, project, 'subnet', Object.values(env.region.subnets).filter((s) => s.project_id === project).length);
    const gateway = b.gateway_ip === null ? null : b.gateway_ip ?? intToIp(start + 1);
    if (gateway !== null && (!validIpv4(gateway) || !ipInCidr(gateway, cidr))) throw badRequest(`Invalid input for operation: Gateway is not valid on subnet.`, 'InvalidInput');
    const pools = Array.isArray(b.allocation_pools) && b.allocation_pools.length ? b.allocation_pools : [{ start: intToIp(start + 2), end: intToIp(start + size - 2) }];
    for (const p of pools) if (!validIpv4(p.start) || !validIpv4(p.end) || !ipInCidr(p.start, cidr) || !ipInCidr(p.end, cidr)) throw badRequest(`The allocation pool ${p.start}-${p.end} spans beyond the subnet cidr ${cidr}.`, 'OutOfBoundsAllocationPool');
    const s: Subnet = {
      ...std(env, b, project),
      network_id: net.id,
      cidr,
      ip_version: 4,
      gateway_ip: gateway,
      allocation_pools: pools.map((p: any) => ({ start: p.start, end: p.end })),
      enable_dhcp: b.enable_dhcp ?? true,
      dns_nameservers: b.dns_nameservers ?? [],
      nextHost: 0,
    };
    env.region.subnets[s.id] = s;
    net.subnets.push(s.id);
    env.created('subnet');
    env.dirty();
    return { status: 201, body: { subnet: subnetView(s) } };
  });
  r.on('PUT', '/v2.0/subnets/:id', (ctx, env) => {
    const s = getSubnet(env, ctx.params.id);
    const b = bodyOf(ctx, 'subnet', ['name', 'description', 'gateway_ip', 'enable_dhcp', 'dns_nameservers', 'allocation_pools', 'host_routes']);
    if (b.name !== undefined) s.name = b.name;
    if (b.description !== undefined) s.description = b.description;
    if (b.enable_dhcp !== undefined) s.enable_dhcp = !!b.enable_dhcp;
    if (b.dns_nameservers !== undefined) s.dns_nameservers = b.dns_nameservers;
    touch(env, s);
    env.dirty();
    return { status: 200, body: { subnet: subnetView(s) } };
  });
  r.on('DELETE', '/v2.0/subnets/:id', (ctx, env) => {
    const s = getSubnet(env, ctx.params.id);
    if (!owned(env, s)) throw notFound('SubnetNotFound', `Subnet ${ctx.params.id} could not be found.`);
    if (Object.values(env.region.ports).some((p) => p.fixed_ips.some((ip) => ip.subnet_id === s.id)))
      throw conflict(`Unable to complete operation on subnet ${s.id}: One or more ports have an IP allocation from this subnet.`, 'SubnetInUse');
    const net = env.region.networks[s.network_id];
    if (net) net.subnets = net.subnets.filter((x) => x !== s.id);
    for (const rt of Object.values(env.region.routers)) rt.interfaces = rt.interfaces.filter((x) => x !== s.id);
    delete env.region.subnets[s.id];
    env.dirty();
    return { status: 204 };
  });

  // ports
  r.on('GET', '/v2.0/ports', (ctx, env) =>
    listReply(ctx, 'ports', Object.values(env.region.ports).filter((p) => owned(env, p)).map((p) => portView(env, p)), {
      fixed_ips: (v, values) =>
        values.every((want) => {
          const [k, val] = want.split('=');
          return (v.fixed_ips as Port['fixed_ips']).some((ip) => (k === 'ip_address' ? ip.ip_address === val : k === 'subnet_id' ? ip.subnet_id === val : k === 'ip_address_substr' ? ip.ip_address.includes(val) : false));
        }),
    }),
  );
  r.on('GET', '/v2.0/ports/:id', (ctx, env) => ({ status: 200, body: { port: pickFields(ctx, portView(env, getPort(env, ctx.params.id))) } }));
  r.on('POST', '/v2.0/ports', (ctx, env) => {
    const b = bodyOf(
      ctx,
      'port',
      ['name', 'description', 'network_id', 'fixed_ips', 'security_groups', 'admin_state_up', 'device_id', 'device_owner', 'tags', 'project_id', 'tenant_id', 'mac_address', 'port_security_enabled', 'allowed_address_pairs', 'binding:vnic_type', 'binding:host_id', 'binding:profile', 'dns_name', 'qos_policy_id', 'propagate_uplink_status', 'extra_dhcp_opts'],
      ['network_id'],
    );
    const net = getNetwork(env, b.network_id);
    const project = projectFor(env, b);
    if (net.external && !env.admin) throw new ApiError(403, '(rule:create_port and rule:create_port:device_owner) is disallowed by policy', 'PolicyNotAuthorized');
    quotaCheck(env, project, 'port', Object.values(env.region.ports).filter((p) => p.project_id === project).length);
    const psec = b.port_security_enabled ?? true;
    const sgs = psec ? resolveSgs(env, b.security_groups, project) : [];
    if (!psec && Array.isArray(b.security_groups) && b.security_groups.length) throw conflict('Port has security group associated. Cannot disable port security or ip address until security group is removed', 'PortSecurityPortHasSecurityGroup');
    const p = newPort(
      env.region,
      {
        network_id: net.id,
        project_id: project,
        name: b.name ?? '',
        description: b.description ?? '',
        tags: b.tags ?? [],
        admin_state_up: b.admin_state_up ?? true,
        device_id: b.device_id ?? '',
        device_owner: b.device_owner ?? '',
        security_groups: sgs,
        port_security_enabled: psec,
      },
      env.now,
      Array.isArray(b.fixed_ips) ? b.fixed_ips : undefined,
    );
    env.created('port');
    env.dirty();
    return { status: 201, body: { port: portView(env, p) } };
  });
  r.on('PUT', '/v2.0/ports/:id', (ctx, env) => {
    const p = getPort(env, ctx.params.id);
    const b = bodyOf(ctx, 'port', ['name', 'description', 'security_groups', 'admin_state_up', 'device_id', 'device_owner', 'port_security_enabled', 'allowed_address_pairs', 'binding:host_id', 'binding:profile', 'dns_name', 'qos_policy_id', 'fixed_ips']);
    if (b.name !== undefined) p.name = b.name;
    if (b.description !== undefined) p.description = b.description;
    if (b.admin_state_up !== undefined) p.admin_state_up = !!b.admin_state_up;
    if (b.security_groups !== undefined) p.security_groups = resolveSgs(env, b.security_groups, p.project_id);
    if (b.device_id !== undefined) p.device_id = b.device_id;
    if (b.device_owner !== undefined) p.device_owner = b.device_owner;
    if (b.port_security_enabled !== undefined) p.port_security_enabled = !!b.port_security_enabled;
    touch(env, p);
    env.dirty();
    return { status: 200, body: { port: portView(env, p) } };
  });
  r.on('DELETE', '/v2.0/ports/:id', (ctx, env) => {
    const p = getPort(env, ctx.params.id);
    if (p.device_owner.startsWith('network:') && !env.admin) throw conflict(`Port ${p.id} cannot be deleted directly via the port API: has device owner ${p.device_owner}.`, 'ServicePortInUse');
    for (const f of Object.values(env.region.floatingips)) if (f.port_id === p.id) associate(env, f, null);
    const s = p.device_id ? env.region.servers[p.device_id] : undefined;
    if (s) {
      s.ports = s.ports.filter((x) => x !== p.id);
      s.ownedPorts = s.ownedPorts.filter((x) => x !== p.id);
    }
    delete env.region.ports[p.id];
    env.dirty();
    return { status: 204 };
  });

  // floating IPs
  r.on('GET', '/v2.0/floatingips', (ctx, env) => listReply(ctx, 'floatingips', Object.values(env.region.floatingips).filter((f) => owned(env, f)).map((f) => fipView(env, f))));
  r.on('GET', '/v2.0/floatingips/:id', (ctx, env) => ({ status: 200, body: { floatingip: pickFields(ctx, fipView(env, getFip(env, ctx.params.id))) } }));
  r.on('POST', '/v2.0/floatingips', (ctx, env) => {
    const b = bodyOf(ctx, 'floatingip', ['floating_network_id', 'port_id', 'fixed_ip_address', 'floating_ip_address', 'subnet_id', 'description', 'tags', 'project_id', 'tenant_id', 'dns_name', 'dns_domain', 'qos_policy_id'], ['floating_network_id']);
    const net = env.region.networks[b.floating_network_id];
    if (!net) throw notFound('NetworkNotFound', `Network ${b.floating_network_id} could not be found.`);
    if (!net.external) throw badRequest(`Bad floatingip request: Network ${net.id} is not a valid external network.`, 'BadRequest');
    const project = projectFor(env, b);
    quotaCheck(env, project, 'floatingip', Object.values(env.region.floatingips).filter((f) => f.project_id === project).length);
    const subnet = env.region.subnets[b.subnet_id ?? net.subnets[0]];
    if (!subnet || subnet.network_id !== net.id) throw badRequest(`Invalid input for operation: subnet ${b.subnet_id} is not on network ${net.id}.`, 'InvalidInput');
    if (b.floating_ip_address && !env.admin) throw new ApiError(403, '(rule:create_floatingip and rule:create_floatingip:floating_ip_address) is disallowed by policy', 'PolicyNotAuthorized');
    const addr = allocateIp(env.region, subnet, b.floating_ip_address);
    // The address is held by a floating IP port (device_owner network:floatingip), as in Neutron.
    const fipId = uuid();
    const holder: Port = {
      id: uuid(),
      name: '',
      description: '',
      tags: [],
      created_at: env.now,
      updated_at: env.now,
      revision_number: 1,
      project_id: '',
      network_id: net.id,
      admin_state_up: true,
      mac_address: 'fa:16:3e:00:00:00',
      fixed_ips: [{ subnet_id: subnet.id, ip_address: addr }],
      device_id: fipId,
      device_owner: 'network:floatingip',
      status: 'N/A' as Port['status'],
      security_groups: [],
      port_security_enabled: false,
      binding_host_id: '',
    };
    env.region.ports[holder.id] = holder;
    const f: FloatingIp = { ...std(env, { ...b, name: '' }, project), id: fipId, floating_network_id: net.id, floating_ip_address: addr, fixed_ip_address: null, port_id: null, router_id: null, status: 'DOWN' };
    try {
      if (b.port_id) associate(env, f, b.port_id, b.fixed_ip_address);
    } catch (e) {
      delete env.region.ports[holder.id];
      throw e;
    }
    env.region.floatingips[f.id] = f;
    env.created('floatingip');
    env.dirty();
    return { status: 201, body: { floatingip: fipView(env, f) } };
  });
  r.on('PUT', '/v2.0/floatingips/:id', (ctx, env) => {
    const f = getFip(env, ctx.params.id);
    const b = bodyOf(ctx, 'floatingip', ['port_id', 'fixed_ip_address', 'description', 'qos_policy_id']);
    if (b.description !== undefined) f.description = b.description;
    if ('port_id' in b) associate(env, f, b.port_id, b.fixed_ip_address);
    touch(env, f);
    env.dirty();
    return { status: 200, body: { floatingip: fipView(env, f) } };
  });
  r.on('DELETE', '/v2.0/floatingips/:id', (ctx, env) => {
    const f = getFip(env, ctx.params.id);
    for (const p of Object.values(env.region.ports)) if (p.device_owner === 'network:floatingip' && p.device_id === f.id) delete env.region.ports[p.id];
    delete env.region.floatingips[f.id];
    env.dirty();
    return { status: 204 };
  });

  // security groups
  r.on('GET', '/v2.0/security-groups', (ctx, env) => {
    if (env.token.project_id) ensureDefaultSecurityGroup(env.region, env.token.project_id, env.now);
    return listReply(ctx, 'security-groups', Object.values(env.region.securityGroups).filter((g) => owned(env, g)).map((g) => sgView(env, g)));
  });
  r.on('GET', '/v2.0/security-groups/:id', (ctx, env) => ({ status: 200, body: { security_group: pickFields(ctx, sgView(env, getSg(env, ctx.params.id))) } }));
  r.on('POST', '/v2.0/security-groups', (ctx, env) => {
    const b = bodyOf(ctx, 'security_group', ['name', 'description', 'tags', 'project_id', 'tenant_id', 'stateful'], ['name']);
    const project = projectFor(env, b);
    if (b.name === 'default' && Object.values(env.region.securityGroups).some((g) => g.project_id === project && g.name === 'default')) throw conflict('Default security group already exists.', 'SecurityGroupDefaultAlreadyExists');
    quotaCheck(env, project, 'security_group', Object.values(env.region.securityGroups).filter((g) => g.project_id === project).length);
    const g: SecurityGroup = { ...std(env, b, project), stateful: b.stateful ?? true };
    env.region.securityGroups[g.id] = g;
    for (const ethertype of ['IPv4', 'IPv6'] as const) {
      const rule = newRule(g, { direction: 'egress', ethertype }, env.now);
      env.region.sgRules[rule.id] = rule;
    }
    env.created('security_group');
    env.dirty();
    return { status: 201, body: { security_group: sgView(env, g) } };
  });
  r.on('PUT', '/v2.0/security-groups/:id', (ctx, env) => {
    const g = getSg(env, ctx.params.id);
    const b = bodyOf(ctx, 'security_group', ['name', 'description', 'stateful']);
    if (b.name !== undefined) g.name = b.name;
    if (b.description !== undefined) g.description = b.description;
    touch(env, g);
    env.dirty();
    return { status: 200, body: { security_group: sgView(env, g) } };
  });
  r.on('DELETE', '/v2.0/security-groups/:id', (ctx, env) => {
    const g = getSg(env, ctx.params.id);
    if (g.name === 'default' && !env.admin) throw conflict('Insufficient rights for removing default security group.', 'SecurityGroupCannotRemoveDefault');
    if (Object.values(env.region.ports).some((p) => p.security_groups.includes(g.id))) throw conflict(`Security Group ${g.id} in use.`, 'SecurityGroupInUse');
    for (const rule of Object.values(env.region.sgRules)) if (rule.security_group_id === g.id || rule.remote_group_id === g.id) delete env.region.sgRules[rule.id];
    delete env.region.securityGroups[g.id];
    env.dirty();
    return { status: 204 };
  });

  // security group rules
  r.on('GET', '/v2.0/security-group-rules', (ctx, env) => listReply(ctx, 'security-group-rules', Object.values(env.region.sgRules).filter((x) => owned(env, x)).map(ruleView)));
  r.on('GET', '/v2.0/security-group-rules/:id', (ctx, env) => {
    const x = env.region.sgRules[ctx.params.id];
    if (!owned(env, x)) throw notFound('SecurityGroupRuleNotFound', `Security group rule ${ctx.params.id} does not exist`);
    return { status: 200, body: { security_group_rule: pickFields(ctx, ruleView(x)) } };
  });
  r.on('POST', '/v2.0/security-group-rules', (ctx, env) => {
    const b = bodyOf(
      ctx,
      'security_group_rule',
      ['security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max', 'remote_ip_prefix', 'remote_group_id', 'remote_address_group_id', 'description', 'project_id', 'tenant_id'],
      ['security_group_id', 'direction'],
    );
    const g = getSg(env, b.security_group_id);
    if (!['ingress', 'egress'].includes(b.direction)) throw badRequest(`Invalid input for direction. Reason: ${b.direction} is not in valid_values.`, 'HTTPBadRequest');
    const ethertype = b.ethertype ?? 'IPv4';
    if (!['IPv4', 'IPv6'].includes(ethertype)) throw badRequest(`Invalid input for ethertype. Reason: ${ethertype} is not in valid_values.`, 'HTTPBadRequest');
    let protocol: string | null = b.protocol ?? null;
    const PROTOS: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp' };
    if (protocol !== null) {
      protocol = PROTOS[String(protocol)] ?? String(protocol).toLowerCase();
      if (!/^(tcp|udp|icmp|ipv6-icmp|any|\d{1,3})$/.test(protocol)) throw badRequest(`Security group rule protocol ${b.protocol} not supported. Only protocol values [None, 'ah', 'dccp', 'egp', 'esp', 'gre', 'icmp', 'icmpv6', 'igmp', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp'] and integer representations [0 to 255] are supported.`, 'SecurityGroupRuleInvalidProtocol');
      if (protocol === 'any') protocol = null;
    }
    const min = b.port_range_min ?? null;
    const max = b.port_range_max ?? null;
    if ((min !== null || max !== null) && (protocol === 'tcp' || protocol === 'udp')) {
      if (min === null || max === null || min < 1 || max > 65535 || min > max) throw badRequest('For TCP/UDP protocols, port_range_min must be <= port_range_max', 'SecurityGroupInvalidPortRange');
    } else if ((min !== null || max !== null) && protocol === null) throw badRequest('Must also specify protocol if port range is given.', 'SecurityGroupProtocolRequiredWithPorts');
    if (b.remote_ip_prefix && b.remote_group_id) throw badRequest('Only remote_ip_prefix or remote_group_id may be provided.', 'SecurityGroupRemoteGroupAndRemoteIpPrefix');
    if (b.remote_ip_prefix && !validCidr(b.remote_ip_prefix) && !validIpv4(b.remote_ip_prefix)) throw badRequest(`Invalid input for remote_ip_prefix. Reason: '${b.remote_ip_prefix}' is not a valid IP subnet.`, 'HTTPBadRequest');
    if (b.remote_group_id) getSg(env, b.remote_group_id);
    const prefix = b.remote_ip_prefix ? (b.remote_ip_prefix.includes('/') ? b.remote_ip_prefix : `${b.remote_ip_prefix}/32`) : null;
    const dup = Object.values(env.region.sgRules).find(
      (x) =>
        x.security_group_id === g.id &&
        x.direction === b.direction &&
        x.ethertype === ethertype &&
        x.protocol === protocol &&
        x.port_range_min === min &&
        x.port_range_max === max &&
        (x.remote_ip_prefix ?? null) === prefix &&
        (x.remote_group_id ?? null) === (b.remote_group_id ?? null),
    );
    if (dup) throw conflict(`Security group rule already exists. Rule id is ${dup.id}.`, 'SecurityGroupRuleExists');
    quotaCheck(env, g.project_id, 'security_group_rule', Object.values(env.region.sgRules).filter((x) => x.project_id === g.project_id).length);
    const rule = newRule(g, { direction: b.direction, ethertype, protocol, port_range_min: min, port_range_max: max, remote_ip_prefix: prefix, remote_group_id: b.remote_group_id ?? null, description: b.description ?? '' }, env.now);
    env.region.sgRules[rule.id] = rule;
    env.created('security_group_rule');
    env.dirty();
    return { status: 201, body: { security_group_rule: ruleView(rule) } };
  });
  r.on('DELETE', '/v2.0/security-group-rules/:id', (ctx, env) => {
    const x = env.region.sgRules[ctx.params.id];
    if (!owned(env, x)) throw notFound('SecurityGroupRuleNotFound', `Security group rule ${ctx.params.id} does not exist`);
    delete env.region.sgRules[x.id];
    env.dirty();
    return { status: 204 };
  });

  // routers (read)
  r.on('GET', '/v2.0/routers', (ctx, env) => listReply(ctx, 'routers', Object.values(env.region.routers).filter((x) => owned(env, x)).map((x) => routerView(env, x))));
  r.on('GET', '/v2.0/routers/:id', (ctx, env) => {
    const x = env.region.routers[ctx.params.id];
    if (!owned(env, x)) throw notFound('RouterNotFound', `Router ${ctx.params.id} could not be found`);
    return { status: 200, body: { router: pickFields(ctx, routerView(env, x)) } };
  });

  // quotas
  const quotaOf = (env: Env, project: string) => ({ ...DEFAULT_NETWORK_QUOTA, ...(env.region.quotas.network[project] ?? {}) });
  r.on('GET', '/v2.0/quotas/:project', (ctx, env) => ({ status: 200, body: { quota: quotaOf(env, ctx.params.project) } }));
  r.on('GET', '/v2.0/quotas/:project/details', (ctx, env) => {
    const q = quotaOf(env, ctx.params.project);
    const p = ctx.params.project;
    const used: Record<string, number> = {
      network: Object.values(env.region.networks).filter((x) => x.project_id === p).length,
      subnet: Object.values(env.region.subnets).filter((x) => x.project_id === p).length,
      port: Object.values(env.region.ports).filter((x) => x.project_id === p).length,
      router: Object.values(env.region.routers).filter((x) => x.project_id === p).length,
      floatingip: Object.values(env.region.floatingips).filter((x) => x.project_id === p).length,
      security_group: Object.values(env.region.securityGroups).filter((x) => x.project_id === p).length,
      security_group_rule: Object.values(env.region.sgRules).filter((x) => x.project_id === p).length,
    };
    return { status: 200, body: { quota: Object.fromEntries(Object.entries(q).map(([k, v]) => [k, { limit: v, used: used[k] ?? 0, reserved: 0 }])) } };
  });
  r.on('PUT', '/v2.0/quotas/:project', (ctx, env) => {
    if (!env.admin) throw new ApiError(403, '(rule:update_quota) is disallowed by policy', 'PolicyNotAuthorized');
    const b = ctx.body?.quota;
    if (!b || typeof b !== 'object') throw badRequest('Resource body required', 'HTTPBadRequest');
    const cur = (env.region.quotas.network[ctx.params.project] ??= {});
    for (const [k, v] of Object.entries(b)) {
      if (!(k in DEFAULT_NETWORK_QUOTA)) throw badRequest(`Unrecognized attribute(s) '${k}'`, 'HTTPBadRequest');
      cur[k] = Number(v);
    }
    env.dirty();
    return { status: 200, body: { quota: quotaOf(env, ctx.params.project) } };
  });

  // standard-attribute tags
  const COLLECTIONS: Record<string, keyof RegionState> = {
    networks: 'networks',
    subnets: 'subnets',
    ports: 'ports',
    floatingips: 'floatingips',
    'security-groups': 'securityGroups',
    security_groups: 'securityGroups',
    routers: 'routers',
  };
  const tagged = (ctx: Ctx, env: Env): Std => {
    const key = COLLECTIONS[ctx.params.collection];
    if (!key) throw notFound('HTTPNotFound', 'The resource could not be found.');
    const o = (env.region[key] as unknown as Record<string, Std>)[ctx.params.id];
    if (!o || !(env.admin || o.project_id === env.token.project_id || (key === 'networks' && visibleNet(env, o as Network)))) throw notFound('HTTPNotFound', `${ctx.params.collection} ${ctx.params.id} could not be found.`);
    return o;
  };
  r.on('GET', '/v2.0/:collection/:id/tags', (ctx, env) => ({ status: 200, body: { tags: tagged(ctx, env).tags } }));
  r.on('PUT', '/v2.0/:collection/:id/tags', (ctx, env) => {
    const o = tagged(ctx, env);
    const tags = ctx.body?.tags;
    checkTags(tags);
    if (tags.length > 50) throw badRequest('Invalid input for operation: tags exceed 50.', 'InvalidInput');
    o.tags = [...new Set<string>(tags)];
    touch(env, o);
    env.dirty();
    return { status: 200, body: { tags: o.tags } };
  });
  r.on('PUT', '/v2.0/:collection/:id/tags/:tag', (ctx, env) => {
    const o = tagged(ctx, env);
    checkTags([ctx.params.tag]);
    if (!o.tags.includes(ctx.params.tag)) o.tags.push(ctx.params.tag);
    touch(env, o);
    env.dirty();
    return { status: 201 };
  });
  r.on('GET', '/v2.0/:collection/:id/tags/:tag', (ctx, env) => {
    const o = tagged(ctx, env);
    if (!o.tags.includes(ctx.params.tag)) throw notFound('TagNotFound', `Tag ${ctx.params.tag} could not be found.`);
    return { status: 204 };
  });
  r.on('DELETE', '/v2.0/:collection/:id/tags/:tag', (ctx, env) => {
    const o = tagged(ctx, env);
    if (!o.tags.includes(ctx.params.tag)) throw notFound('TagNotFound', `Tag ${ctx.params.tag} could not be found.`);
    o.tags = o.tags.filter((t) => t !== ctx.params.tag);
    touch(env, o);
    env.dirty();
    return { status: 204 };
  });
  r.on('DELETE', '/v2.0/:collection/:id/tags', (ctx, env) => {
    const o = tagged(ctx, env);
    o.tags = [];
    touch(env, o);
    env.dirty();
    return { status: 204 };
  });
  return r;
}

export function neutronVersions(root: string) {
  return { versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${root}/v2.0/`, rel: 'self' }] }] };
}
