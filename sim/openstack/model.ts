/**
 * The stand-in's state: plain JSON (persisted as is), one Keystone per cloud, and per region the
 * compute, network, image and load-balancer resources. Timed state transitions (BUILD → ACTIVE,
 * PENDING_* → ACTIVE, migrations) are stored as due times in `pending` and applied lazily
 * (`advance`), so they survive a restart of the stand-in.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export interface Latencies {
  /** Added to every API response (ms). */
  request: number;
  /** Server BUILD → ACTIVE (or ERROR). */
  serverBuild: number;
  /** Server deletion until it is gone (404). */
  serverDelete: number;
  /** Live migration from start to completion. */
  liveMigration: number;
  /** Load balancer PENDING_CREATE → ACTIVE. */
  lbCreate: number;
  /** PENDING_UPDATE → ACTIVE after a listener/pool/member/health monitor change. */
  lbUpdate: number;
  /** PENDING_DELETE → gone. */
  lbDelete: number;
  /** After a member becomes ACTIVE, until its first health check result (with a health monitor). */
  healthCheck: number;
}

/**
 * Close to a real Zed control plane with no hypervisor work (scripts/realstack; measured by
 * test/realstack/provision-timing.test.ts, figures in docs/realstack.md): server build 1.5-2.3 s,
 * delete 0.5-0.7 s, live migration 2.2-3.7 s; provision-vm for one server 2.3-4.4 s there and
 * 2.6 s here. A load balancer is ACTIVE in 0.6-1.2 s with Octavia's noop drivers, but a real
 * amphora boots for a minute or more: 2 s stays a compromise for the demo.
 */
export const DEFAULT_LATENCIES: Latencies = {
  request: 0,
  serverBuild: 2000,
  serverDelete: 500,
  liveMigration: 2500,
  lbCreate: 2000,
  lbUpdate: 400,
  lbDelete: 400,
  healthCheck: 300,
};

export interface SimConfig {
  latency: Latencies;
  tokenTtlSeconds: number;
}

export interface Domain {
  id: string;
  name: string;
}
export interface Project {
  id: string;
  name: string;
  domain_id: string;
  description: string;
}
export interface User {
  id: string;
  name: string;
  domain_id: string;
  password: string;
  default_project_id?: string;
}
export interface Role {
  id: string;
  name: string;
}
export interface Assignment {
  user_id: string;
  project_id: string;
  role_id: string;
}
export interface AppCred {
  id: string;
  name: string;
  user_id: string;
  project_id: string;
  secret_hash: string;
  description: string | null;
  expires_at: string | null;
  unrestricted: boolean;
  roles: Role[];
}

export interface TokenRec {
  user_id: string;
  project_id?: string;
  methods: string[];
  issued_at: number;
  expires_at: number;
  audit_id: string;
  app_cred_id?: string;
  cloud: string;
  revoked?: boolean;
}

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  ephemeral: number;
  swap: number | '';
  rxtx_factor: number;
  is_public: boolean;
  description: string | null;
  extra_specs: Record<string, string>;
}

export interface Image {
  id: string;
  name: string;
  status: 'active' | 'queued';
  visibility: 'public' | 'private' | 'shared' | 'community';
  disk_format: string;
  container_format: string;
  min_disk: number;
  min_ram: number;
  size: number;
  owner: string;
  tags: string[];
  created_at: number;
  os_distro?: string;
}

export interface Keypair {
  name: string;
  user_id: string;
  public_key: string;
  fingerprint: string;
  type: 'ssh' | 'x509';
  created_at: number;
  id: number;
}

export interface ComputeService {
  /** Integer id (< 2.53) and uuid (2.53+). */
  num: number;
  uuid: string;
  binary: string;
  host: string;
  zone: string;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  forced_down: boolean;
  updated_at: number;
  /** Software version the "host" runs (the upgrade runbook changes it over SSH; here for show). */
  version?: string;
  /** Hypervisor capacity (compute services only). */
  vcpus?: number;
  memory_mb?: number;
  local_gb?: number;
  hypervisor_num?: number;
  hypervisor_uuid?: string;
  host_ip?: string;
}

export interface Fault {
  code: number;
  message: string;
  created: number;
  details?: string;
}

export interface Server {
  id: string;
  name: string;
  project_id: string;
  user_id: string;
  status: 'BUILD' | 'ACTIVE' | 'ERROR' | 'MIGRATING' | 'DELETED' | 'SHUTOFF';
  task_state: string | null;
  vm_state: string;
  power_state: number;
  host: string | null;
  flavor_id: string;
  image_id: string;
  key_name: string | null;
  metadata: Record<string, string>;
  tags: string[];
  security_groups: string[];
  /** Port ids attached, in order; `ownedPorts` were created by Nova for this server. */
  ports: string[];
  ownedPorts: string[];
  availability_zone: string;
  user_data: string | null;
  description: string | null;
  server_group?: string;
  created: number;
  updated: number;
  launched_at: number | null;
  fault?: Fault;
  locked: boolean;
  adminPass: string;
  instance_name: string;
  reservation_id: string;
}

export interface Migration {
  id: number;
  uuid: string;
  instance_uuid: string;
  migration_type: 'live-migration' | 'migration' | 'evacuation';
  status: 'queued' | 'preparing' | 'running' | 'completed' | 'error' | 'failed' | 'cancelled';
  source_compute: string;
  dest_compute: string | null;
  source_node: string;
  dest_node: string | null;
  dest_host: string | null;
  created_at: number;
  updated_at: number;
  project_id: string;
  user_id: string;
  memory_total_bytes: number;
  memory_processed_bytes: number;
  memory_remaining_bytes: number;
  disk_total_bytes: number;
  disk_processed_bytes: number;
  disk_remaining_bytes: number;
  started_at: number;
  done_at?: number;
}

export interface ServerGroup {
  id: string;
  name: string;
  policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';
  members: string[];
  project_id: string;
  user_id: string;
}

/** Neutron standard attributes shared by every resource. */
export interface Std {
  id: string;
  name: string;
  project_id: string;
  description: string;
  tags: string[];
  created_at: number;
  updated_at: number;
  revision_number: number;
}

export interface Network extends Std {
  admin_state_up: boolean;
  shared: boolean;
  external: boolean;
  mtu: number;
  status: 'ACTIVE' | 'DOWN';
  subnets: string[];
}
export interface Subnet extends Std {
  network_id: string;
  cidr: string;
  ip_version: 4 | 6;
  gateway_ip: string | null;
  allocation_pools: { start: string; end: string }[];
  enable_dhcp: boolean;
  dns_nameservers: string[];
  /** Next host offset to hand out (simple, monotonic). */
  nextHost: number;
}
export interface Port extends Std {
  network_id: string;
  admin_state_up: boolean;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  device_id: string;
  device_owner: string;
  status: 'ACTIVE' | 'DOWN' | 'BUILD';
  security_groups: string[];
  port_security_enabled: boolean;
  binding_host_id: string;
}
export interface FloatingIp extends Std {
  floating_network_id: string;
  floating_ip_address: string;
  fixed_ip_address: string | null;
  port_id: string | null;
  router_id: string | null;
  status: 'ACTIVE' | 'DOWN';
}
export interface SecurityGroup extends Std {
  stateful: boolean;
}
export interface SgRule {
  id: string;
  security_group_id: string;
  project_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
  created_at: number;
  updated_at: number;
  revision_number: number;
  tags: string[];
}
export interface Router extends Std {
  admin_state_up: boolean;
  status: 'ACTIVE';
  external_network_id: string | null;
  interfaces: string[]; // subnet ids
}

export type ProvStatus = 'ACTIVE' | 'DELETED' | 'ERROR' | 'PENDING_CREATE' | 'PENDING_UPDATE' | 'PENDING_DELETE';

export interface LbBase {
  id: string;
  name: string;
  description: string;
  project_id: string;
  provisioning_status: ProvStatus;
  admin_state_up: boolean;
  tags: string[];
  created_at: number;
  updated_at: number | null;
}
export interface LoadBalancer extends LbBase {
  vip_address: string;
  vip_port_id: string;
  vip_subnet_id: string;
  vip_network_id: string;
  provider: string;
  flavor_id: string | null;
  availability_zone: string | null;
  /** Operating status is derived; ERROR when the create was failed by fault injection. */
  failed?: boolean;
}
export interface Listener extends LbBase {
  loadbalancer_id: string;
  protocol: string;
  protocol_port: number;
  default_pool_id: string | null;
  connection_limit: number;
  timeout_client_data: number;
  timeout_member_connect: number;
  timeout_member_data: number;
  timeout_tcp_inspect: number;
}
export interface Pool extends LbBase {
  loadbalancer_id: string;
  listener_id: string | null;
  protocol: string;
  lb_algorithm: string;
  session_persistence: unknown;
  healthmonitor_id: string | null;
}
export interface Member extends LbBase {
  pool_id: string;
  address: string;
  protocol_port: number;
  weight: number;
  subnet_id: string | null;
  monitor_address: string | null;
  monitor_port: number | null;
  backup: boolean;
  /** When the member became ACTIVE (health results come `healthCheck` ms later). */
  active_at: number | null;
}
export interface HealthMonitor extends LbBase {
  pool_id: string;
  type: string;
  delay: number;
  timeout: number;
  max_retries: number;
  max_retries_down: number;
  http_method: string | null;
  url_path: string | null;
  expected_codes: string | null;
  http_version: number | null;
  domain_name: string | null;
}

export interface Pending {
  at: number;
  kind: 'server.build' | 'server.delete' | 'migration.run' | 'migration.done' | 'lb.settle' | 'lb.delete';
  id: string;
  /** lb.settle: children whose PENDING_DELETE completes now. */
  extra?: Record<string, unknown>;
}

export interface Quotas {
  compute: Record<string, Record<string, number>>;
  network: Record<string, Record<string, number>>;
  lb: Record<string, Record<string, number>>;
}

export const DEFAULT_COMPUTE_QUOTA: Record<string, number> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
  server_groups: 10,
  server_group_members: 10,
};
export const DEFAULT_NETWORK_QUOTA: Record<string, number> = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
};
/** Octavia's defaults are unlimited (-1). */
export const DEFAULT_LB_QUOTA: Record<string, number> = {
  load_balancer: -1,
  listener: -1,
  pool: -1,
  member: -1,
  health_monitor: -1,
  l7policy: -1,
  l7rule: -1,
};

export interface RegionState {
  name: string;
  flavors: Flavor[];
  images: Image[];
  keypairs: Keypair[];
  services: ComputeService[];
  servers: Record<string, Server>;
  migrations: Migration[];
  serverGroups: Record<string, ServerGroup>;
  networks: Record<string, Network>;
  subnets: Record<string, Subnet>;
  ports: Record<string, Port>;
  floatingips: Record<string, FloatingIp>;
  securityGroups: Record<string, SecurityGroup>;
  sgRules: Record<string, SgRule>;
  routers: Record<string, Router>;
  loadbalancers: Record<string, LoadBalancer>;
  listeners: Record<string, Listener>;
  pools: Record<string, Pool>;
  members: Record<string, Member>;
  healthmonitors: Record<string, HealthMonitor>;
  quotas: Quotas;
  pending: Pending[];
  seq: { migration: number; service: number; keypair: number; hypervisor: number; mac: number };
}

export interface CloudState {
  name: string;
  domains: Domain[];
  projects: Project[];
  users: User[];
  roles: Role[];
  assignments: Assignment[];
  appCreds: AppCred[];
  regions: Record<string, RegionState>;
}

export interface FaultSpec {
  id: string;
  cloud?: string;
  region?: string;
  service?: string;
  /** Compute host: its nova-compute is down (state "down"), no scheduling, no migration from it. */
  host?: string;
  /** Whole cloud/service unreachable: `refuse` closes connections, `unavailable` answers 503 like a load balancer with no backend. */
  down?: 'refuse' | 'unavailable';
  /** Extra latency (ms) before answering. */
  latencyMs?: number;
  /** Answer with this status (500, 503, 429...) at this rate (0..1), before doing anything. */
  errorRate?: number;
  status?: number;
  retryAfter?: number;
  /** Only requests with this method / whose path (after the service prefix) matches this regex. */
  method?: string;
  path?: string;
  /** Process the request, then drop the connection without answering (a crash between request and response). */
  dropResponse?: boolean;
  /** New servers whose name matches this regex go to ERROR instead of ACTIVE. */
  serverError?: string;
  /** How many times the fault fires (default unlimited). */
  times?: number;
  fired: number;
}

export interface World {
  version: 1;
  clouds: Record<string, CloudState>;
  tokens: Record<string, TokenRec>;
  config: SimConfig;
  faults: FaultSpec[];
}

export interface CloudSpec {
  name: string;
  regions: string[];
  computeHosts?: number;
}

export const DEFAULT_CLOUDS: CloudSpec[] = [
  { name: 'cluster-a', regions: ['RegionOne'] },
  { name: 'cluster-b', regions: ['RegionOne'] },
  { name: 'cluster-c', regions: ['RegionOne', 'RegionTwo'] },
];

export const uuid = () => randomUUID();
export const hexId = () => randomUUID().replace(/-/g, '');
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const secret = (n = 18) => randomBytes(n).toString('base64url');

/** Stable ids derived from names, so a re-seeded stand-in has the same flavors and images. */
function stableUuid(seed: string): string {
  const h = sha256(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const FLAVORS: [string, number, number, number][] = [
  ['m1.tiny', 1, 512, 1],
  ['m1.small', 1, 2048, 20],
  ['m1.medium', 2, 4096, 40],
  ['m1.large', 4, 8192, 80],
  ['m1.xlarge', 8, 16384, 160],
];

export const IMAGES: [string, string, number][] = [
  ['cirros-0.6.2-x86_64-disk', 'cirros', 21430272],
  ['debian-12-genericcloud-amd64', 'debian', 421003264],
  ['ubuntu-22.04-server-cloudimg-amd64', 'ubuntu', 680132608],
];

export function seedCloud(spec: CloudSpec, now = Date.now()): CloudState {
  const domain: Domain = { id: 'default', name: 'Default' };
  const projects: Project[] = ['admin', 'demo', 'service'].map((n) => ({ id: hexId(), name: n, domain_id: 'default', description: `${n} project` }));
  const [adminP, demoP] = projects;
  const roles: Role[] = ['admin', 'member', 'reader'].map((n) => ({ id: hexId(), name: n }));
  const users: User[] = [
    { id: hexId(), name: 'admin', domain_id: 'default', password: secret(), default_project_id: adminP.id },
    { id: hexId(), name: 'demo', domain_id: 'default', password: secret(), default_project_id: demoP.id },
  ];
  const [adminU, demoU] = users;
  const role = (n: string) => roles.find((r) => r.name === n)!.id;
  const assignments: Assignment[] = [
    { user_id: adminU.id, project_id: adminP.id, role_id: role('admin') },
    { user_id: adminU.id, project_id: adminP.id, role_id: role('member') },
    { user_id: adminU.id, project_id: adminP.id, role_id: role('reader') },
    { user_id: adminU.id, project_id: demoP.id, role_id: role('admin') },
    { user_id: demoU.id, project_id: demoP.id, role_id: role('member') },
    { user_id: demoU.id, project_id: demoP.id, role_id: role('reader') },
  ];
  const regions: Record<string, RegionState> = {};
  for (const r of spec.regions) regions[r] = seedRegion(spec, r, projects, now);
  return { name: spec.name, domains: [domain], projects, users, roles, assignments, appCreds: [], regions };
}

/** A region with nothing in it (seedRegion fills it; a twin copies a snapshot into it). */
export function emptyRegion(name: string): RegionState {
  return {
    name,
    flavors: [],
    images: [],
    keypairs: [],
    services: [],
    servers: {},
    migrations: [],
    serverGroups: {},
    networks: {},
    subnets: {},
    ports: {},
    floatingips: {},
    securityGroups: {},
    sgRules: {},
    routers: {},
    loadbalancers: {},
    listeners: {},
    pools: {},
    members: {},
    healthmonitors: {},
    quotas: { compute: {}, network: {}, lb: {} },
    pending: [],
    seq: { migration: 0, service: 0, keypair: 0, hypervisor: 0, mac: 0 },
  };
}

export function seedRegion(spec: CloudSpec, region: string, projects: Project[], now: number): RegionState {
  const [adminP] = projects;
  const rs: RegionState = {
    ...emptyRegion(region),
    flavors: FLAVORS.map(([name, vcpus, ram, disk], i) => ({
      id: String(i + 1),
      name,
      vcpus,
      ram,
      disk,
      ephemeral: 0,
      swap: '',
      rxtx_factor: 1,
      is_public: true,
      description: null,
      extra_specs: {},
    })),
    images: IMAGES.map(([name, distro, size]) => ({
      id: stableUuid(`${spec.name}/${region}/image/${name}`),
      name,
      status: 'active',
      visibility: 'public',
      disk_format: 'qcow2',
      container_format: 'bare',
      min_disk: 0,
      min_ram: 0,
      size,
      owner: adminP.id,
      tags: [],
      created_at: now,
      os_distro: distro,
    })),
  };
  const svc = (binary: string, host: string, extra: Partial<ComputeService> = {}): ComputeService => ({
    num: ++rs.seq.service,
    uuid: uuid(),
    binary,
    host,
    zone: binary === 'nova-compute' ? 'nova' : 'internal',
    status: 'enabled',
    disabled_reason: null,
    forced_down: false,
    updated_at: now,
    version: '26.2.0',
    ...extra,
  });
  for (const b of ['nova-conductor', 'nova-scheduler']) rs.services.push(svc(b, 'controller-1'));
  const computes = spec.computeHosts ?? 3;
  for (let i = 1; i <= computes; i++) {
    rs.services.push(
      svc('nova-compute', `compute-${i}`, {
        vcpus: 64,
        memory_mb: 262144,
        local_gb: 2000,
        hypervisor_num: ++rs.seq.hypervisor,
        hypervisor_uuid: uuid(),
        host_ip: `192.168.100.${10 + i}`,
      }),
    );
  }
  // Networking ready to use: an external "public" network, a tenant "private" network with a
  // subnet, a router between them, and each project's "default" security group.
  const std = (name: string, project: string): Std => ({ id: uuid(), name, project_id: project, description: '', tags: [], created_at: now, updated_at: now, revision_number: 1 });
  const pub: Network = { ...std('public', adminP.id), admin_state_up: true, shared: false, external: true, mtu: 1500, status: 'ACTIVE', subnets: [] };
  const pubSub: Subnet = {
    ...std('public-subnet', adminP.id),
    network_id: pub.id,
    cidr: '172.24.4.0/24',
    ip_version: 4,
    gateway_ip: '172.24.4.1',
    allocation_pools: [{ start: '172.24.4.2', end: '172.24.4.254' }],
    enable_dhcp: false,
    dns_nameservers: [],
    nextHost: 10,
  };
  pub.subnets.push(pubSub.id);
  const priv: Network = { ...std('private', adminP.id), admin_state_up: true, shared: true, external: false, mtu: 1450, status: 'ACTIVE', subnets: [] };
  const privSub: Subnet = {
    ...std('private-subnet', adminP.id),
    network_id: priv.id,
    cidr: '10.0.0.0/16',
    ip_version: 4,
    gateway_ip: '10.0.0.1',
    allocation_pools: [{ start: '10.0.0.2', end: '10.0.255.254' }],
    enable_dhcp: true,
    dns_nameservers: ['10.0.0.2'],
    nextHost: 10,
  };
  priv.subnets.push(privSub.id);
  const router: Router = { ...std('router1', adminP.id), admin_state_up: true, status: 'ACTIVE', external_network_id: pub.id, interfaces: [privSub.id] };
  rs.networks[pub.id] = pub;
  rs.networks[priv.id] = priv;
  rs.subnets[pubSub.id] = pubSub;
  rs.subnets[privSub.id] = privSub;
  rs.routers[router.id] = router;
  for (const p of projects) ensureDefaultSecurityGroup(rs, p.id, now);
  return rs;
}

/** Neutron creates a project's "default" security group on first use; ours exist from the start. */
export function ensureDefaultSecurityGroup(rs: RegionState, projectId: string, now = Date.now()): SecurityGroup {
  const found = Object.values(rs.securityGroups).find((g) => g.project_id === projectId && g.name === 'default');
  if (found) return found;
  const sg: SecurityGroup = {
    id: uuid(),
    name: 'default',
    project_id: projectId,
    description: 'Default security group',
    tags: [],
    created_at: now,
    updated_at: now,
    revision_number: 1,
    stateful: true,
  };
  rs.securityGroups[sg.id] = sg;
  for (const [direction, ethertype, remote] of [
    ['ingress', 'IPv4', sg.id],
    ['ingress', 'IPv6', sg.id],
    ['egress', 'IPv4', null],
    ['egress', 'IPv6', null],
  ] as const) {
    const r = newRule(sg, { direction, ethertype, remote_group_id: remote }, now);
    rs.sgRules[r.id] = r;
  }
  return sg;
}

export function newRule(sg: SecurityGroup, r: Partial<SgRule>, now = Date.now()): SgRule {
  return {
    id: uuid(),
    security_group_id: sg.id,
    project_id: sg.project_id,
    direction: r.direction ?? 'ingress',
    ethertype: r.ethertype ?? 'IPv4',
    protocol: r.protocol ?? null,
    port_range_min: r.port_range_min ?? null,
    port_range_max: r.port_range_max ?? null,
    remote_ip_prefix: r.remote_ip_prefix ?? null,
    remote_group_id: r.remote_group_id ?? null,
    description: r.description ?? '',
    created_at: now,
    updated_at: now,
    revision_number: 0,
    tags: [],
  };
}

export function newWorld(clouds: CloudSpec[] = DEFAULT_CLOUDS, config?: Partial<SimConfig>): World {
  const now = Date.now();
  return {
    version: 1,
    clouds: Object.fromEntries(clouds.map((c) => [c.name, seedCloud(c, now)])),
    tokens: {},
    config: { latency: { ...DEFAULT_LATENCIES, ...(config?.latency ?? {}) }, tokenTtlSeconds: config?.tokenTtlSeconds ?? 3600 },
    faults: [],
  };
}

// ---- IP helpers --------------------------------------------------------------------------

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipToInt(base) - (ipToInt(base) % size);
  const v = ipToInt(ip);
  return v >= start && v < start + size;
}
export function validIpv4(ip: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip) && ip.split('.').every((o) => Number(o) <= 255);
}
export function validCidr(c: string): boolean {
  const m = /^(.+)\/(\d{1,2})$/.exec(c);
  return !!m && validIpv4(m[1]) && Number(m[2]) <= 32;
}

export function macAddress(rs: RegionState): string {
  const n = ++rs.seq.mac;
  const b = [0xfa, 0x16, 0x3e, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
