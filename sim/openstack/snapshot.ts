/**
 * A twin of a real cloud: the stand-in's state built from a snapshot of that cloud's APIs
 * (activities/openstack/snapshot.ts writes it; format "runwright-openstack-snapshot/1"). The
 * snapshot holds the APIs' own answers, read here the way any client reads them, so the stand-in
 * shares no code with the product (the sim layer imports nothing from it).
 *
 * Ids, names, addresses, states and capacities are kept, so a runbook that names real resources
 * finds them on the twin. Identities are not copied: the twin has its own admin user (new
 * password) with the admin role on every project of the snapshot. A compute service that was
 * down is down on the twin (a host fault), so the scheduler and migrations avoid it as Nova would.
 */
import type {
  CloudState,
  ComputeService,
  Flavor,
  FloatingIp,
  HealthMonitor,
  Image,
  Listener,
  LoadBalancer,
  Member,
  Network,
  Pool,
  Port,
  Project,
  RegionState,
  Router,
  SecurityGroup,
  Server,
  ServerGroup,
  SgRule,
  Subnet,
  World,
} from './model';
import { DEFAULT_LATENCIES, emptyRegion, newWorld, seedCloud, uuid, type Latencies } from './model';

const FORMAT = 'runwright-openstack-snapshot/1';

export class SnapshotError extends Error {
  name = 'SnapshotError';
}

const ms = (t: unknown, dflt: number): number => {
  if (typeof t === 'number') return t;
  if (typeof t !== 'string' || !t) return dflt;
  const v = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`);
  return Number.isFinite(v) ? v : dflt;
};
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const arr = <T = any>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** Check the snapshot's shape enough to read it; a clear error for anything else. */
export function checkSnapshot(snap: any, source = 'snapshot'): void {
  if (!snap || typeof snap !== 'object') throw new SnapshotError(`${source}: not a JSON object`);
  if (snap.format !== FORMAT) throw new SnapshotError(`${source}: format is ${JSON.stringify(snap.format)}, expected "${FORMAT}" (take one with \`runwright snapshot --cloud NAME\`)`);
  if (typeof snap.cloud !== 'string' || !snap.cloud) throw new SnapshotError(`${source}: no cloud name`);
  if (!snap.api || typeof snap.api !== 'object') throw new SnapshotError(`${source}: no "api" answers`);
}

export interface TwinOptions {
  /** Cloud name on the twin (default: the snapshot's, so runbooks name it unchanged). */
  cloud?: string;
  latency?: Partial<Latencies>;
}

/** The stand-in's world holding one cloud: the snapshot's region, as the APIs described it. */
export function worldFromSnapshot(snap: any, opts: TwinOptions = {}): World {
  checkSnapshot(snap);
  const now = Date.now();
  const name = opts.cloud ?? snap.cloud;
  const regionName = str(snap.region) || 'RegionOne';
  const world = newWorld([], { latency: { ...DEFAULT_LATENCIES, ...(opts.latency ?? {}) } });
  const cloud: CloudState = seedCloud({ name, regions: [] }, now);
  const api = snap.api;

  // Keystone: the snapshot's projects (ids kept), the seeded admin user with admin everywhere.
  const projects: Project[] = arr(api.projects).map((p) => ({ id: str(p.id), name: str(p.name), domain_id: 'default', description: str(p.description) }));
  const known = new Set(projects.map((p) => p.id));
  const projectOf = (x: any) => str(x?.project_id ?? x?.tenant_id);
  const mentioned = [snap.project?.id, ...arr(api.servers).map(projectOf), ...arr(api.networks).map(projectOf), ...arr(api.ports).map(projectOf), ...arr(api.loadbalancers).map(projectOf)];
  for (const id of mentioned) if (id && !known.has(id)) known.add(id) && projects.push({ id, name: `project-${id.slice(0, 8)}`, domain_id: 'default', description: 'seen in the snapshot only' });
  const home = projects.find((p) => p.id === snap.project?.id) ?? projects.find((p) => p.name === 'admin') ?? projects[0];
  if (home) {
    const seeded = cloud.projects;
    cloud.projects = projects;
    for (const p of seeded) if (!projects.some((q) => q.name === p.name)) cloud.projects.push(p);
    const admin = cloud.users.find((u) => u.name === 'admin')!;
    admin.default_project_id = home.id;
    const demo = cloud.users.find((u) => u.name === 'demo')!;
    if (!cloud.projects.some((p) => p.id === demo.default_project_id)) demo.default_project_id = home.id;
    const roleId = (n: string) => cloud.roles.find((r) => r.name === n)!.id;
    cloud.assignments = cloud.projects.flatMap((p) => ['admin', 'member', 'reader'].map((r) => ({ user_id: admin.id, project_id: p.id, role_id: roleId(r) })));
    cloud.assignments.push(...['member', 'reader'].map((r) => ({ user_id: demo.id, project_id: demo.default_project_id ?? home.id, role_id: roleId(r) })));
  }
  const rs = emptyRegion(regionName);
  cloud.regions[regionName] = rs;
  world.clouds[name] = cloud;

  rs.flavors = arr(api.flavors).map(
    (f): Flavor => ({
      id: str(f.id),
      name: str(f.name),
      vcpus: Number(f.vcpus) || 0,
      ram: Number(f.ram) || 0,
      disk: Number(f.disk) || 0,
      ephemeral: Number(f['OS-FLV-EXT-DATA:ephemeral']) || 0,
      swap: f.swap === '' || f.swap === 0 || f.swap == null ? '' : Number(f.swap),
      rxtx_factor: Number(f.rxtx_factor) || 1,
      is_public: f['os-flavor-access:is_public'] !== false,
      description: f.description ?? null,
      extra_specs: f.extra_specs && typeof f.extra_specs === 'object' ? f.extra_specs : {},
    }),
  );
  rs.images = arr(api.images).map(
    (i): Image => ({
      id: str(i.id),
      name: str(i.name),
      status: i.status === 'active' ? 'active' : 'queued',
      visibility: ['public', 'private', 'shared', 'community'].includes(i.visibility) ? i.visibility : 'public',
      disk_format: str(i.disk_format, 'qcow2'),
      container_format: str(i.container_format, 'bare'),
      min_disk: Number(i.min_disk) || 0,
      min_ram: Number(i.min_ram) || 0,
      size: Number(i.size) || 0,
      owner: str(i.owner),
      tags: arr(i.tags),
      created_at: ms(i.created_at, now),
      ...(i.os_distro ? { os_distro: str(i.os_distro) } : {}),
    }),
  );

  // Compute services and the hypervisors' capacity (joined on the service's host).
  const hyp = new Map(arr(api.hypervisors).map((h) => [str(h.service?.host ?? h.hypervisor_hostname), h]));
  for (const s of arr(api.services)) {
    const h = s.binary === 'nova-compute' ? hyp.get(str(s.host)) : undefined;
    const svc: ComputeService = {
      num: ++rs.seq.service,
      uuid: typeof s.id === 'string' ? s.id : uuid(),
      binary: str(s.binary),
      host: str(s.host),
      zone: str(s.zone, 'nova'),
      status: s.status === 'disabled' ? 'disabled' : 'enabled',
      disabled_reason: s.disabled_reason ?? null,
      forced_down: !!s.forced_down,
      updated_at: ms(s.updated_at, now),
    };
    if (s.binary === 'nova-compute') {
      Object.assign(svc, {
        vcpus: Number(h?.vcpus) || 64,
        memory_mb: Number(h?.memory_mb) || 262144,
        local_gb: Number(h?.local_gb) || 2000,
        hypervisor_num: ++rs.seq.hypervisor,
        hypervisor_uuid: typeof h?.id === 'string' ? h.id : uuid(),
        host_ip: str(h?.host_ip, `192.168.100.${10 + rs.seq.hypervisor}`),
      });
      // Down on the real cloud (not forced): down on the twin, as a host fault it can clear.
      if (s.state === 'down' && !s.forced_down) world.faults.push({ id: `snapshot-down-${svc.host}`, cloud: name, region: regionName, host: svc.host, down: 'unavailable', fired: 0 });
    }
    rs.services.push(svc);
  }

  const std = (x: any) => ({
    id: str(x.id),
    name: str(x.name),
    project_id: projectOf(x),
    description: str(x.description),
    tags: arr(x.tags),
    created_at: ms(x.created_at, now),
    updated_at: ms(x.updated_at, now),
    revision_number: Number(x.revision_number) || 1,
  });
  for (const n of arr(api.networks))
    rs.networks[n.id] = { ...std(n), admin_state_up: n.admin_state_up !== false, shared: !!n.shared, external: !!n['router:external'], mtu: Number(n.mtu) || 1500, status: n.status === 'DOWN' ? 'DOWN' : 'ACTIVE', subnets: arr(n.subnets) } satisfies Network;
  for (const s of arr(api.subnets)) {
    rs.subnets[s.id] = {
      ...std(s),
      network_id: str(s.network_id),
      cidr: str(s.cidr),
      ip_version: s.ip_version === 6 ? 6 : 4,
      gateway_ip: s.gateway_ip ?? null,
      allocation_pools: arr(s.allocation_pools),
      enable_dhcp: !!s.enable_dhcp,
      dns_nameservers: arr(s.dns_nameservers),
      nextHost: 0,
    } satisfies Subnet;
  }
  for (const p of arr(api.ports))
    rs.ports[p.id] = {
      ...std(p),
      network_id: str(p.network_id),
      admin_state_up: p.admin_state_up !== false,
      mac_address: str(p.mac_address),
      fixed_ips: arr(p.fixed_ips).map((f) => ({ subnet_id: str(f.subnet_id), ip_address: str(f.ip_address) })),
      device_id: str(p.device_id),
      device_owner: str(p.device_owner),
      status: ['ACTIVE', 'DOWN', 'BUILD'].includes(p.status) ? p.status : 'DOWN',
      security_groups: arr(p.security_groups),
      port_security_enabled: p.port_security_enabled !== false,
      binding_host_id: str(p['binding:host_id']),
    } satisfies Port;
  // New MAC addresses must not collide with copied ones (the stand-in counts up from fa:16:3e:00:00:00).
  rs.seq.mac = Math.max(0, ...Object.values(rs.ports).map((p) => (/^fa:16:3e:/i.test(p.mac_address) ? parseInt(p.mac_address.slice(9).replace(/:/g, ''), 16) : 0)));
  for (const f of arr(api.floatingips))
    rs.floatingips[f.id] = {
      ...std(f),
      floating_network_id: str(f.floating_network_id),
      floating_ip_address: str(f.floating_ip_address),
      fixed_ip_address: f.fixed_ip_address ?? null,
      port_id: f.port_id ?? null,
      router_id: f.router_id ?? null,
      status: f.status === 'ACTIVE' ? 'ACTIVE' : 'DOWN',
    } satisfies FloatingIp;
  for (const g of arr(api.securityGroups)) rs.securityGroups[g.id] = { ...std(g), stateful: g.stateful !== false } satisfies SecurityGroup;
  for (const r of arr(api.securityGroupRules))
    rs.sgRules[r.id] = {
      id: str(r.id),
      security_group_id: str(r.security_group_id),
      project_id: projectOf(r),
      direction: r.direction === 'egress' ? 'egress' : 'ingress',
      ethertype: r.ethertype === 'IPv6' ? 'IPv6' : 'IPv4',
      protocol: r.protocol ?? null,
      port_range_min: r.port_range_min ?? null,
      port_range_max: r.port_range_max ?? null,
      remote_ip_prefix: r.remote_ip_prefix ?? null,
      remote_group_id: r.remote_group_id ?? null,
      description: str(r.description),
      created_at: ms(r.created_at, now),
      updated_at: ms(r.updated_at, now),
      revision_number: Number(r.revision_number) || 0,
      tags: arr(r.tags),
    } satisfies SgRule;
  for (const r of arr(api.routers)) {
    const interfaces = Object.values(rs.ports)
      .filter((p) => p.device_id === r.id && p.device_owner.startsWith('network:router_interface'))
      .flatMap((p) => p.fixed_ips.map((f) => f.subnet_id));
    rs.routers[r.id] = { ...std(r), admin_state_up: r.admin_state_up !== false, status: 'ACTIVE', external_network_id: r.external_gateway_info?.network_id ?? null, interfaces } satisfies Router;
  }

  const groups = arr(api.serverGroups);
  for (const g of groups)
    rs.serverGroups[g.id] = { id: str(g.id), name: str(g.name), policy: g.policy ?? arr(g.policies)[0] ?? 'anti-affinity', members: arr(g.members), project_id: projectOf(g), user_id: str(g.user_id) } satisfies ServerGroup;
  for (const s of arr(api.servers)) {
    const ports = Object.values(rs.ports).filter((p) => p.device_id === s.id);
    const flavor = rs.flavors.find((f) => f.id === s.flavor?.id) ?? rs.flavors.find((f) => f.name === s.flavor?.original_name);
    rs.servers[s.id] = {
      id: str(s.id),
      name: str(s.name),
      project_id: projectOf(s),
      user_id: str(s.user_id),
      status: ['BUILD', 'ACTIVE', 'ERROR', 'MIGRATING', 'SHUTOFF'].includes(s.status) ? s.status : 'ACTIVE',
      task_state: s['OS-EXT-STS:task_state'] ?? null,
      vm_state: str(s['OS-EXT-STS:vm_state'], 'active'),
      power_state: Number(s['OS-EXT-STS:power_state'] ?? 1),
      host: s['OS-EXT-SRV-ATTR:host'] ?? null,
      flavor_id: flavor?.id ?? str(s.flavor?.id),
      image_id: typeof s.image === 'object' && s.image ? str(s.image.id) : '',
      key_name: s.key_name ?? null,
      metadata: s.metadata && typeof s.metadata === 'object' ? s.metadata : {},
      tags: arr(s.tags),
      security_groups: [...new Set(arr(s.security_groups).map((g: any) => str(g.name)))],
      ports: ports.map((p) => p.id),
      // Which ports Nova made for the server (and deletes with it) the API does not say; ports of
      // a compute owner are the usual case.
      ownedPorts: ports.filter((p) => p.device_owner.startsWith('compute:')).map((p) => p.id),
      availability_zone: str(s['OS-EXT-AZ:availability_zone'], 'nova'),
      user_data: null,
      description: s.description ?? null,
      ...(groups.find((g) => arr(g.members).includes(s.id)) ? { server_group: groups.find((g) => arr(g.members).includes(s.id)).id } : {}),
      created: ms(s.created, now),
      updated: ms(s.updated, now),
      launched_at: s['OS-SRV-USG:launched_at'] ? ms(s['OS-SRV-USG:launched_at'], now) : null,
      locked: !!s.locked,
      adminPass: '',
      instance_name: str(s['OS-EXT-SRV-ATTR:instance_name'], `instance-${str(s.id).slice(0, 8)}`),
      reservation_id: str(s['OS-EXT-SRV-ATTR:reservation_id'], `r-${str(s.id).slice(0, 8)}`),
    } satisfies Server;
  }

  const lbBase = (x: any) => ({
    id: str(x.id),
    name: str(x.name),
    description: str(x.description),
    project_id: projectOf(x),
    provisioning_status: (['ACTIVE', 'ERROR', 'PENDING_CREATE', 'PENDING_UPDATE', 'PENDING_DELETE'].includes(x.provisioning_status) ? x.provisioning_status : 'ACTIVE') as LoadBalancer['provisioning_status'],
    admin_state_up: x.admin_state_up !== false,
    tags: arr(x.tags),
    created_at: ms(x.created_at, now),
    updated_at: x.updated_at ? ms(x.updated_at, now) : null,
  });
  for (const l of arr(api.loadbalancers))
    rs.loadbalancers[l.id] = {
      ...lbBase(l),
      vip_address: str(l.vip_address),
      vip_port_id: str(l.vip_port_id),
      vip_subnet_id: str(l.vip_subnet_id),
      vip_network_id: str(l.vip_network_id),
      provider: str(l.provider, 'amphora'),
      flavor_id: l.flavor_id || null,
      availability_zone: l.availability_zone ?? null,
      ...(l.operating_status === 'ERROR' ? { failed: true } : {}),
    } satisfies LoadBalancer;
  for (const l of arr(api.listeners))
    rs.listeners[l.id] = {
      ...lbBase(l),
      loadbalancer_id: str(arr(l.loadbalancers)[0]?.id),
      protocol: str(l.protocol),
      protocol_port: Number(l.protocol_port),
      default_pool_id: l.default_pool_id ?? null,
      connection_limit: Number(l.connection_limit ?? -1),
      timeout_client_data: Number(l.timeout_client_data ?? 50000),
      timeout_member_connect: Number(l.timeout_member_connect ?? 5000),
      timeout_member_data: Number(l.timeout_member_data ?? 50000),
      timeout_tcp_inspect: Number(l.timeout_tcp_inspect ?? 0),
    } satisfies Listener;
  for (const p of arr(api.pools))
    rs.pools[p.id] = {
      ...lbBase(p),
      loadbalancer_id: str(arr(p.loadbalancers)[0]?.id),
      listener_id: arr(p.listeners)[0]?.id ?? null,
      protocol: str(p.protocol),
      lb_algorithm: str(p.lb_algorithm, 'ROUND_ROBIN'),
      session_persistence: p.session_persistence ?? null,
      healthmonitor_id: p.healthmonitor_id || null,
    } satisfies Pool;
  for (const [poolId, members] of Object.entries(api.members ?? {}))
    for (const m of arr(members))
      rs.members[m.id] = {
        ...lbBase(m),
        pool_id: poolId,
        address: str(m.address),
        protocol_port: Number(m.protocol_port),
        weight: Number(m.weight ?? 1),
        subnet_id: m.subnet_id ?? null,
        monitor_address: m.monitor_address ?? null,
        monitor_port: m.monitor_port ?? null,
        backup: !!m.backup,
        // Long enough ago that its health result is in.
        active_at: m.provisioning_status === 'ACTIVE' ? now - 3_600_000 : null,
      } satisfies Member;
  for (const h of arr(api.healthmonitors))
    rs.healthmonitors[h.id] = {
      ...lbBase(h),
      pool_id: str(arr(h.pools)[0]?.id),
      type: str(h.type),
      delay: Number(h.delay),
      timeout: Number(h.timeout),
      max_retries: Number(h.max_retries),
      max_retries_down: Number(h.max_retries_down ?? 3),
      http_method: h.http_method ?? null,
      url_path: h.url_path ?? null,
      expected_codes: h.expected_codes ?? null,
      http_version: h.http_version ?? null,
      domain_name: h.domain_name ?? null,
    } satisfies HealthMonitor;

  const pid = snap.project?.id;
  const numbers = (q: any): Record<string, number> => Object.fromEntries(Object.entries(q ?? {}).filter(([k, v]) => typeof v === 'number' && k !== 'id') as [string, number][]);
  if (pid && api.quotas?.compute) rs.quotas.compute[pid] = numbers(api.quotas.compute);
  if (pid && api.quotas?.network) rs.quotas.network[pid] = numbers(api.quotas.network);
  if (pid && api.quotas?.loadBalancer) rs.quotas.lb[pid] = numbers(api.quotas.loadBalancer);
  return world;
}
