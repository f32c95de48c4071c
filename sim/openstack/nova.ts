/**
 * Nova (compute API v2.1, microversions 2.1–2.93 as in Zed): servers (create, list with filters,
 * show, update, delete, actions incl. os-migrateLive), migrations, flavors, keypairs, os-services,
 * os-hypervisors, limits, quota sets, availability zones and server groups.
 */
import { createHash } from 'node:crypto';
import { ApiError, Router, badRequest, conflict, forbidden, isoZ, notFound, page, withMarker, type Ctx, type Reply } from './http';
import { DEFAULT_COMPUTE_QUOTA, secret, uuid, type ComputeService, type Flavor, type Keypair, type Migration, type Server } from './model';
import type { Env } from './env';
import { activeFaults, addPending, hostDown, hostUsage, newPort, pickHost } from './world';

export const NOVA_MIN = 1;
export const NOVA_MAX = 93;

/** Parse the microversion headers; 406 outside 2.1–2.93, like Nova. */
export function microversion(ctx: Ctx): number {
  const h = ctx.headers['openstack-api-version'];
  let raw: string | undefined;
  if (typeof h === 'string') {
    for (const part of h.split(',')) {
      const [svc, v] = part.trim().split(/\s+/);
      if (svc?.toLowerCase() === 'compute' && v) raw = v;
    }
  }
  if (raw === undefined && typeof ctx.headers['x-openstack-nova-api-version'] === 'string') raw = ctx.headers['x-openstack-nova-api-version'] as string;
  if (raw === undefined) return NOVA_MIN;
  if (raw === 'latest') return NOVA_MAX;
  const m = /^(\d+)\.(\d+)$/.exec(raw.trim());
  if (!m) throw new ApiError(400, `API Version String ${raw} is of invalid format. Must be of format MajorNum.MinorNum.`);
  // The refusal still echoes the version asked for (seen on a real Nova).
  if (m[1] !== '2' || Number(m[2]) < NOVA_MIN || Number(m[2]) > NOVA_MAX)
    throw new ApiError(406, `Version ${raw} is not supported by the API. Minimum is 2.${NOVA_MIN} and maximum is 2.${NOVA_MAX}.`, undefined, { 'content-type': 'application/json; charset=UTF-8', 'openstack-api-version': `compute ${raw}`, 'x-openstack-nova-api-version': raw, vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version' });
  return Number(m[2]);
}

const fmtUsec = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000'));
const fmtNaiveZ = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000');

function requireAdmin(env: Env, rule: string): void {
  if (!env.admin) throw forbidden(`Policy doesn't allow ${rule} to be performed.`);
}

function versionRoot(ctx: Ctx): string {
  return ctx.base.replace(/\/v2(\.1)?$/, '');
}

function link(ctx: Ctx, kind: string, id: string) {
  return [
    { rel: 'self', href: `${ctx.base}/${kind}/${id}` },
    { rel: 'bookmark', href: `${versionRoot(ctx)}/${kind}/${id}` },
  ];
}

// ---- views ---------------------------------------------------------------------------------

function flavorView(ctx: Ctx, f: Flavor, mv: number, detail: boolean) {
  const v: Record<string, unknown> = { id: f.id, name: f.name, links: link(ctx, 'flavors', f.id) };
  if (mv >= 55) v.description = f.description;
  if (!detail) return v;
  Object.assign(v, {
    ram: f.ram,
    disk: f.disk,
    swap: f.swap,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': false,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': f.is_public,
    rxtx_factor: f.rxtx_factor,
  });
  if (mv >= 61) v.extra_specs = f.extra_specs;
  return v;
}

function hostId(projectId: string, host: string | null): string {
  if (!host) return '';
  return createHash('sha224').update(projectId + host).digest('hex');
}

function hostStatus(env: Env, s: Server): string {
  if (!s.host) return '';
  const svc = env.region.services.find((x) => x.binary === 'nova-compute' && x.host === s.host);
  if (!svc) return 'UNKNOWN';
  if (svc.forced_down || hostDown(env.world, env.cloud.name, env.region.name, s.host)) return 'DOWN';
  if (svc.status === 'disabled') return 'MAINTENANCE';
  return 'UP';
}

function addresses(env: Env, s: Server) {
  const out: Record<string, unknown[]> = {};
  for (const pid of s.ports) {
    const p = env.region.ports[pid];
    if (!p) continue;
    const net = env.region.networks[p.network_id];
    const list = (out[net?.name ?? p.network_id] ??= []);
    for (const ip of p.fixed_ips) {
      list.push({ version: 4, addr: ip.ip_address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': p.mac_address });
      for (const f of Object.values(env.region.floatingips))
        if (f.port_id === p.id && f.fixed_ip_address === ip.ip_address) list.push({ version: 4, addr: f.floating_ip_address, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': p.mac_address });
    }
  }
  return out;
}

export function serverView(env: Env, ctx: Ctx, s: Server, mv: number, detail: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = { id: s.id, name: s.name, links: link(ctx, 'servers', s.id) };
  if (!detail) return base;
  const f = env.region.flavors.find((x) => x.id === s.flavor_id);
  const flavor =
    mv >= 47
      ? { vcpus: f?.vcpus, ram: f?.ram, disk: f?.disk, ephemeral: f?.ephemeral, swap: f?.swap === '' ? 0 : f?.swap, original_name: f?.name, extra_specs: f?.extra_specs ?? {} }
      : { id: s.flavor_id, links: [{ rel: 'bookmark', href: `${versionRoot(ctx)}/flavors/${s.flavor_id}` }] };
  const v: Record<string, unknown> = {
    id: s.id,
    name: s.name,
    status: s.status,
    tenant_id: s.project_id,
    user_id: s.user_id,
    metadata: s.metadata,
    hostId: hostId(s.project_id, s.host),
    image: s.image_id ? { id: s.image_id, links: [{ rel: 'bookmark', href: `${versionRoot(ctx)}/images/${s.image_id}` }] } : '',
    flavor,
    created: isoZ(s.created),
    updated: isoZ(s.updated),
    addresses: addresses(env, s),
    accessIPv4: '',
    accessIPv6: '',
    links: base.links,
    'OS-DCF:diskConfig': 'MANUAL',
    progress: s.status === 'BUILD' ? 0 : 100,
    'OS-EXT-AZ:availability_zone': s.host ? s.availability_zone : '',
    config_drive: '',
    key_name: s.key_name,
    'OS-SRV-USG:launched_at': fmtUsec(s.launched_at),
    'OS-SRV-USG:terminated_at': null,
    'OS-EXT-STS:task_state': s.task_state,
    'OS-EXT-STS:vm_state': s.vm_state,
    'OS-EXT-STS:power_state': s.power_state,
    'os-extended-volumes:volumes_attached': [],
  };
  if (s.security_groups.length && s.status !== 'BUILD') v.security_groups = s.security_groups.map((name) => ({ name }));
  if (env.admin) {
    Object.assign(v, {
      'OS-EXT-SRV-ATTR:host': s.host,
      'OS-EXT-SRV-ATTR:instance_name': s.instance_name,
      'OS-EXT-SRV-ATTR:hypervisor_hostname': s.host ? `${s.host}` : null,
    });
    if (mv >= 3)
      Object.assign(v, {
        'OS-EXT-SRV-ATTR:reservation_id': s.reservation_id,
        'OS-EXT-SRV-ATTR:launch_index': 0,
        'OS-EXT-SRV-ATTR:hostname': s.name.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
        'OS-EXT-SRV-ATTR:kernel_id': '',
        'OS-EXT-SRV-ATTR:ramdisk_id': '',
        'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
        'OS-EXT-SRV-ATTR:user_data': s.user_data,
      });
    if (mv >= 16) v.host_status = hostStatus(env, s);
  }
  if (mv >= 9) v.locked = s.locked;
  if (mv >= 19) v.description = s.description;
  if (mv >= 26) v.tags = s.tags;
  if (mv >= 63) v.trusted_image_certificates = null;
  if (mv >= 71) v.server_groups = s.server_group ? [s.server_group] : [];
  if (mv >= 73) v.locked_reason = null;
  if (s.fault && (s.status === 'ERROR' || s.status === 'DELETED')) {
    v.fault = { code: s.fault.code, created: isoZ(s.fault.created), message: s.fault.message, ...(env.admin && s.fault.details ? { details: s.fault.details } : {}) };
  }
  return v;
}

function migrationProgress(env: Env, m: Migration) {
  if (m.status !== 'running') return m;
  const lat = Math.max(1, env.world.config.latency.liveMigration);
  const frac = Math.min(1, Math.max(0, (env.now - m.started_at) / lat));
  const processed = Math.floor(m.memory_total_bytes * frac);
  m.memory_processed_bytes = processed;
  m.memory_remaining_bytes = m.memory_total_bytes - processed;
  return m;
}

/** What both migration views show (GET /servers/{id}/migrations and GET /os-migrations), by microversion. */
function migrationView(env: Env, m: Migration, mv: number, own: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  migrationProgress(env, m);
  const v: Record<string, unknown> = {
    created_at: fmtNaiveZ(m.created_at),
    dest_compute: m.dest_compute,
    dest_host: m.dest_host,
    dest_node: m.dest_node,
    id: m.id,
    ...own,
    source_compute: m.source_compute,
    source_node: m.source_node,
    status: m.status,
    updated_at: fmtNaiveZ(m.updated_at),
    ...extra,
  };
  if (mv >= 59) v.uuid = m.uuid;
  if (mv >= 80) Object.assign(v, { user_id: m.user_id, project_id: m.project_id });
  return v;
}

function serverMigrationView(env: Env, ctx: Ctx, m: Migration, mv: number) {
  migrationProgress(env, m);
  const own: Record<string, unknown> = { server_uuid: m.instance_uuid };
  for (const k of ['disk', 'memory'] as const)
    for (const f of ['processed', 'remaining', 'total'] as const) own[`${k}_${f}_bytes`] = m[`${k}_${f}_bytes`];
  return migrationView(env, m, mv, own);
}

function osMigrationView(env: Env, ctx: Ctx, m: Migration, mv: number) {
  const own = { instance_uuid: m.instance_uuid, new_instance_type_id: 1, old_instance_type_id: 1 };
  if (mv < 23) return migrationView(env, m, mv, own);
  const live = ['queued', 'preparing', 'running'].includes(m.status);
  return migrationView(env, m, mv, own, { migration_type: m.migration_type, ...(live ? { links: link(ctx, `servers/${m.instance_uuid}/migrations`, String(m.id)) } : {}) });
}

function serviceState(env: Env, s: ComputeService): 'up' | 'down' {
  return s.forced_down || hostDown(env.world, env.cloud.name, env.region.name, s.host) ? 'down' : 'up';
}

function serviceView(env: Env, s: ComputeService, mv: number) {
  const v: Record<string, unknown> = {
    id: mv >= 53 ? s.uuid : s.num,
    binary: s.binary,
    disabled_reason: s.disabled_reason,
    host: s.host,
    state: serviceState(env, s),
    status: s.status,
    updated_at: fmtUsec(s.updated_at),
    zone: s.zone,
  };
  if (mv >= 11) v.forced_down = s.forced_down;
  return v;
}

function hypervisorView(env: Env, s: ComputeService, mv: number, detail: boolean, withServers: boolean) {
  const v: Record<string, unknown> = {
    id: mv >= 53 ? s.hypervisor_uuid : s.hypervisor_num,
    hypervisor_hostname: s.host,
    state: serviceState(env, s),
    status: s.status,
  };
  const servers = Object.values(env.region.servers).filter((x) => x.host === s.host);
  if (withServers && mv >= 53 && servers.length) v.servers = servers.map((x) => ({ name: x.instance_name, uuid: x.id }));
  if (!detail) return v;
  Object.assign(v, {
    host_ip: s.host_ip,
    hypervisor_type: 'fake',
    hypervisor_version: 1000,
    service: { host: s.host, id: mv >= 53 ? s.uuid : s.num, disabled_reason: s.disabled_reason },
  });
  if (mv < 88) {
    const u = hostUsage(env.region, s.host);
    Object.assign(v, {
      vcpus: s.vcpus,
      memory_mb: s.memory_mb,
      local_gb: s.local_gb,
      vcpus_used: u.vcpus,
      memory_mb_used: u.ram + 512,
      local_gb_used: u.disk,
      free_ram_mb: (s.memory_mb ?? 0) - u.ram - 512,
      free_disk_gb: (s.local_gb ?? 0) - u.disk,
      current_workload: 0,
      running_vms: u.count,
      disk_available_least: (s.local_gb ?? 0) - u.disk,
      cpu_info: mv >= 28 ? { arch: 'x86_64', model: 'Nehalem', vendor: 'Intel', features: ['pge', 'clflush'], topology: { cores: 1, threads: 1, sockets: 4 } } : '?',
    });
  } else v.uptime = ' 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14';
  return v;
}

function keypairView(k: Keypair, mv: number, full: boolean) {
  const v: Record<string, unknown> = { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint };
  if (mv >= 2) v.type = k.type;
  if (full) Object.assign(v, { user_id: k.user_id, created_at: fmtUsec(k.created_at), deleted: false, deleted_at: null, updated_at: null, id: k.id });
  return v;
}

// ---- helpers ---------------------------------------------------------------------------------

function quota(env: Env, project: string): Record<string, number> {
  return { ...DEFAULT_COMPUTE_QUOTA, ...(env.region.quotas.compute[project] ?? {}) };
}

function usage(env: Env, project: string) {
  let instances = 0;
  let cores = 0;
  let ram = 0;
  for (const s of Object.values(env.region.servers)) {
    if (s.project_id !== project) continue;
    const f = env.region.flavors.find((x) => x.id === s.flavor_id);
    instances++;
    cores += f?.vcpus ?? 0;
    ram += f?.ram ?? 0;
  }
  return { instances, cores, ram, key_pairs: env.region.keypairs.filter((k) => k.user_id === env.token.user_id).length, server_groups: Object.values(env.region.serverGroups).filter((g) => g.project_id === project).length };
}

function findServer(env: Env, id: string, anyProject = env.admin): Server {
  const s = env.region.servers[id];
  if (!s || (!anyProject && s.project_id !== env.token.project_id)) throw notFound(`Instance ${id} could not be found.`);
  return s;
}

function fingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1] ?? '';
  const h = createHash('md5').update(Buffer.from(blob, 'base64')).digest('hex');
  return h.match(/../g)!.join(':');
}

function fakePublicKey(): string {
  return `ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from(secret(256), 'base64url')]).toString('base64')} Generated-by-Nova`;
}

const SERVER_KEYS: [string, number, number?][] = [
  ['name', 1],
  ['imageRef', 1],
  ['flavorRef', 1],
  ['adminPass', 1],
  ['metadata', 1],
  ['networks', 1],
  ['accessIPv4', 1],
  ['accessIPv6', 1],
  ['OS-DCF:diskConfig', 1],
  ['availability_zone', 1],
  ['block_device_mapping', 1],
  ['block_device_mapping_v2', 1],
  ['config_drive', 1],
  ['key_name', 1],
  ['user_data', 1],
  ['security_groups', 1],
  ['min_count', 1],
  ['max_count', 1],
  ['return_reservation_id', 1],
  ['personality', 1, 56],
  ['description', 19],
  ['tags', 52],
  ['trusted_image_certificates', 63],
  ['host', 74],
  ['hypervisor_hostname', 74],
  ['hostname', 90],
];

function invalid(field: string, value: unknown, msg: string): ApiError {
  return badRequest(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value)}. ${msg}`);
}

function createServers(env: Env, ctx: Ctx, mv: number): Reply {
  const body = ctx.body;
  if (!body || typeof body !== 'object' || !body.server || typeof body.server !== 'object') throw invalid('server', body?.server ?? null, "'server' is a required property");
  const req = body.server;
  for (const k of Object.keys(req)) {
    const spec = SERVER_KEYS.find(([n]) => n === k);
    if (!spec || mv < spec[1] || (spec[2] !== undefined && mv > spec[2])) throw badRequest(`Invalid input for field/attribute server. Value: ${JSON.stringify(req)}. Additional properties are not allowed ('${k}' was unexpected)`);
  }
  for (const k of ['name', 'flavorRef']) if (req[k] === undefined) throw invalid('server', req, `'${k}' is a required property`);
  if (mv >= 37 && req.networks === undefined) throw invalid('server', req, "'networks' is a required property");
  if (typeof req.name !== 'string' || !req.name.trim() || req.name.length > 255) throw invalid('name', req.name, "'name' must be a non-empty string of at most 255 characters");
  const project = env.token.project_id!;
  const flavorRef = String(req.flavorRef).split('/').pop()!;
  const flavor = env.region.flavors.find((f) => f.id === flavorRef);
  if (!flavor) throw badRequest(`Flavor ${flavorRef} could not be found.`);
  const bdm = Array.isArray(req.block_device_mapping_v2) ? req.block_device_mapping_v2 : [];
  const bootVolume = bdm.some((b: any) => b.boot_index === 0 || b.boot_index === '0');
  let imageId = '';
  if (req.imageRef !== undefined && req.imageRef !== '') {
    imageId = String(req.imageRef).split('/').pop()!;
    const image = env.region.images.find((i) => i.id === imageId);
    if (!image) throw badRequest(`Image ${imageId} could not be found.`);
    if (image.status !== 'active') throw badRequest(`Image ${imageId} is not active.`);
  } else if (!bootVolume) throw badRequest('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.');
  if (req.key_name !== undefined && req.key_name !== null && !env.region.keypairs.some((k) => k.name === req.key_name && k.user_id === env.token.user_id)) throw badRequest('Invalid key_name provided.');
  if (req.availability_zone !== undefined && req.availability_zone !== null && !['nova', ''].includes(String(req.availability_zone).split(':')[0]))
    throw badRequest(`The requested availability zone is not available`);
  if (req.user_data !== undefined && req.user_data !== null) {
    if (typeof req.user_data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(req.user_data.replace(/\s/g, ''))) throw badRequest('User data needs to be valid base 64.');
    if (req.user_data.length > 65535) throw invalid('user_data', '…', 'is too long');
  }
  if (req.metadata !== undefined) {
    if (typeof req.metadata !== 'object' || Array.isArray(req.metadata)) throw invalid('metadata', req.metadata, 'is not of type object');
    for (const [k, v] of Object.entries(req.metadata)) if (typeof v !== 'string' || k.length > 255 || (v as string).length > 255) throw invalid(`metadata/${k}`, v, 'must be a string of at most 255 characters');
    if (Object.keys(req.metadata).length > quota(env, project).metadata_items) throw forbidden(`Quota exceeded for metadata_items: Requested ${Object.keys(req.metadata).length}, but already used 0 of ${quota(env, project).metadata_items} metadata_items`);
  }
  if (req.tags !== undefined && (!Array.isArray(req.tags) || req.tags.length > 50 || req.tags.some((t: unknown) => typeof t !== 'string' || !t || (t as string).length > 60 || /[,/]/.test(t as string))))
    throw invalid('tags', req.tags, 'tags must be a list of at most 50 strings of 1-60 characters without "," or "/"');
  // Networks: "auto", "none", or a list of {uuid | port [, fixed_ip]}.
  type NetReq = { uuid?: string; port?: string; fixed_ip?: string };
  let nets: NetReq[] = [];
  if (req.networks === 'none') nets = [];
  else if (req.networks === 'auto' || req.networks === undefined) {
    const visible = Object.values(env.region.networks).filter((n) => !n.external && (n.shared || n.project_id === project));
    if (req.networks === 'auto' && visible.length !== 1) throw badRequest('Unable to automatically allocate a network for project ' + project);
    if (visible.length === 1) nets = [{ uuid: visible[0].id }];
    else if (visible.length > 1) throw conflict('Multiple possible networks found, use a Network ID to be more specific.');
  } else if (Array.isArray(req.networks)) {
    if (mv >= 37 && req.networks.length === 0) throw invalid('networks', req.networks, '[] is too short');
    for (const n of req.networks) {
      if (!n || typeof n !== 'object') throw invalid('networks', req.networks, 'items must be objects');
      if (!n.uuid && !n.port) throw badRequest('Bad networks format: network uuid is not in proper format (None)');
      nets.push(n);
    }
  } else throw invalid('networks', req.networks, "is not one of ['none', 'auto'] and not a list");
  for (const n of nets) {
    if (n.port) {
      const p = env.region.ports[n.port];
      if (!p || (!env.admin && p.project_id !== project)) throw notFound(`Port id ${n.port} could not be found.`);
      if (p.device_id) throw conflict(`Port ${n.port} is still in use.`);
    } else if (n.uuid) {
      const net = env.region.networks[n.uuid];
      if (!net || (!net.shared && net.project_id !== project && !env.admin)) throw badRequest(`Network ${n.uuid} could not be found.`);
      if (!net.subnets.length) throw badRequest(`Network ${n.uuid} requires a subnet in order to boot instances on.`);
    }
  }
  // Security groups apply to the ports Nova creates.
  const sgNames: string[] = [];
  const sgIds: string[] = [];
  for (const g of Array.isArray(req.security_groups) ? req.security_groups : [{ name: 'default' }]) {
    const ref = g?.name;
    const sg = Object.values(env.region.securityGroups).find((x) => (x.id === ref || x.name === ref) && (x.project_id === project || env.admin));
    if (!sg) throw badRequest(`Unable to find security_group with name or id '${ref}'`);
    sgNames.push(sg.name);
    sgIds.push(sg.id);
  }
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
  let group: string | undefined;
  if (hints.group) {
    if (!env.region.serverGroups[hints.group]) throw badRequest(`Invalid server group ${hints.group}`);
    group = hints.group;
  }
  const minCount = Number(req.min_count ?? 1);
  const maxCount = Number(req.max_count ?? minCount);
  if (!Number.isInteger(minCount) || minCount < 1 || !Number.isInteger(maxCount) || maxCount < minCount) throw badRequest('min_count must be <= max_count');
  const q = quota(env, project);
  const used = usage(env, project);
  const over = (res: string, want: number, have: number, lim: number) => {
    if (lim >= 0 && have + want > lim) throw forbidden(`Quota exceeded for ${res}: Requested ${want}, but already used ${have} of ${lim} ${res}`);
  };
  const count = maxCount;
  over('instances', count, used.instances, q.instances);
  over('cores', count * flavor.vcpus, used.cores, q.cores);
  over('ram', count * flavor.ram, used.ram, q.ram);
  if (req.host && !env.admin) throw forbidden(`Policy doesn't allow compute:servers:create:requested_destination to be performed.`);
  const lat = env.world.config.latency;
  const reservation = `r-${secret(6).toLowerCase()}`;
  const created: Server[] = [];
  for (let i = 1; i <= count; i++) {
    const id = uuid();
    const name = count > 1 ? `${req.name}-${i}` : req.name;
    const sg = group ? env.region.serverGroups[group] : undefined;
    const host = pickHost(env.world, env.cloud.name, env.region, flavor.id, {
      only: req.host,
      antiAffinityWith: sg && (sg.policy === 'anti-affinity') ? sg.members : [],
      affinityWith: sg && sg.policy === 'affinity' ? sg.members : [],
    });
    const s: Server = {
      id,
      name,
      project_id: project,
      user_id: env.token.user_id,
      status: 'BUILD',
      task_state: 'scheduling',
      vm_state: 'building',
      power_state: 0,
      host,
      flavor_id: flavor.id,
      image_id: imageId,
      key_name: req.key_name ?? null,
      metadata: { ...(req.metadata ?? {}) },
      tags: [...(req.tags ?? [])],
      security_groups: sgNames,
      ports: [],
      ownedPorts: [],
      availability_zone: 'nova',
      user_data: req.user_data ?? null,
      description: req.description ?? null,
      server_group: group,
      created: env.now,
      updated: env.now,
      launched_at: null,
      locked: false,
      adminPass: req.adminPass ?? secret(9),
      instance_name: `instance-${(Object.keys(env.region.servers).length + env.region.seq.migration + 1).toString(16).padStart(8, '0')}`,
      reservation_id: reservation,
    };
    for (const n of nets) {
      if (n.port) {
        const p = env.region.ports[n.port];
        Object.assign(p, { device_id: id, device_owner: 'compute:nova', updated_at: env.now });
        s.ports.push(p.id);
      } else {
        const p = newPort(env.region, { network_id: n.uuid!, project_id: project, device_id: id, device_owner: 'compute:nova', security_groups: sgIds }, env.now, n.fixed_ip ? [{ ip_address: n.fixed_ip }] : undefined);
        s.ports.push(p.id);
        s.ownedPorts.push(p.id);
        env.created('port');
      }
    }
    if (sg) sg.members.push(id);
    env.region.servers[id] = s;
    env.created('server');
    let error: string | undefined;
    const injected = activeFaults(env.world, env.cloud.name, env.region.name, (f) => !!f.serverError && new RegExp(f.serverError).test(name));
    if (injected.length) {
      injected[0].fired++;
      error = `Build of instance ${id} aborted: Failed to allocate the network(s), not rescheduling. (injected fault)`;
    } else if (!host) error = 'No valid host was found. There are not enough hosts available.';
    s.task_state = 'spawning';
    addPending(env.region, { at: env.now + lat.serverBuild, kind: 'server.build', id, extra: error ? { error } : undefined });
    created.push(s);
  }
  env.dirty();
  const first = created[0];
  if (req.return_reservation_id) return { status: 202, body: { reservation_id: reservation } };
  const out: Record<string, unknown> = { id: first.id, links: link(ctx, 'servers', first.id), 'OS-DCF:diskConfig': 'MANUAL', security_groups: sgNames.map((name) => ({ name })) };
  out.adminPass = first.adminPass;
  return { status: 202, headers: { location: `${ctx.base}/servers/${first.id}` }, body: { server: out } };
}

function listServers(env: Env, ctx: Ctx, mv: number, detail: boolean): Reply {
  const q = ctx.query;
  let list = Object.values(env.region.servers);
  const allTenants = env.admin && ['1', 'true', 'True', ''].includes(q.get('all_tenants') ?? 'x');
  const projectFilter = env.admin ? q.get('project_id') ?? q.get('tenant_id') : null;
  if (projectFilter) list = list.filter((s) => s.project_id === projectFilter);
  else if (!allTenants) list = list.filter((s) => s.project_id === env.token.project_id);
  const name = q.get('name');
  if (name !== null) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(name);
    } catch {
      re = undefined;
    }
    list = list.filter((s) => (re ? re.test(s.name) : s.name.includes(name)));
  }
  const status = q.get('status');
  if (status !== null) {
    const st = status.toUpperCase();
    list = list.filter((s) => s.status === st);
  }
  // Admin-only filters are silently ignored for everyone else, as in Nova.
  if (env.admin) {
    const host = q.get('host');
    if (host !== null) list = list.filter((s) => s.host === host);
    const node = q.get('node');
    if (node !== null) list = list.filter((s) => s.host === node);
  }
  const flavor = q.get('flavor');
  if (flavor !== null) list = list.filter((s) => s.flavor_id === flavor);
  const image = q.get('image');
  if (image !== null) list = list.filter((s) => s.image_id === image);
  const ip = q.get('ip');
  if (ip !== null) list = list.filter((s) => s.ports.some((pid) => env.region.ports[pid]?.fixed_ips.some((x) => x.ip_address.includes(ip))));
  const keyName = q.get('key_name');
  if (keyName !== null) list = list.filter((s) => s.key_name === keyName);
  if (mv >= 26) {
    const all = q.get('tags');
    if (all) list = list.filter((s) => all.split(',').every((t) => s.tags.includes(t)));
    const any = q.get('tags-any');
    if (any) list = list.filter((s) => any.split(',').some((t) => s.tags.includes(t)));
    const not = q.get('not-tags');
    if (not) list = list.filter((s) => !not.split(',').every((t) => s.tags.includes(t)));
    const notAny = q.get('not-tags-any');
    if (notAny) list = list.filter((s) => !notAny.split(',').some((t) => s.tags.includes(t)));
  }
  const since = q.get('changes-since');
  if (since) list = list.filter((s) => s.updated >= Date.parse(since));
  // Default order: newest first (created_at desc, then id).
  list.sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  const path = detail ? '/servers/detail' : '/servers';
  const p = page(list, q, 1000, (marker, limit) => withMarker(ctx.base, path, q, marker, limit), (m) => badRequest(`marker [${m}] not found`));
  const body: Record<string, unknown> = { servers: p.items.map((s) => serverView(env, ctx, s, mv, detail)) };
  if (p.next) body.servers_links = [{ rel: 'next', href: p.next }];
  return { status: 200, body };
}

function liveMigrate(env: Env, ctx: Ctx, s: Server, args: any, mv: number): Reply {
  requireAdmin(env, 'os_compute_api:os-migrate-server:migrate_live');
  if (!args || typeof args !== 'object') throw invalid('os-migrateLive', args, 'is not of type object');
  if (!('host' in args)) throw invalid('os-migrateLive', args, "'host' is a required property");
  if (mv >= 25) {
    if (!('block_migration' in args)) throw invalid('os-migrateLive', args, "'block_migration' is a required property");
    if (!['auto', true, false, 'true', 'false', 'True', 'False'].includes(args.block_migration)) throw invalid('block_migration', args.block_migration, "is not one of ['auto', True, False]");
    if ('disk_over_commit' in args) throw badRequest(`Invalid input for field/attribute os-migrateLive. Value: ${JSON.stringify(args)}. Additional properties are not allowed ('disk_over_commit' was unexpected)`);
  } else {
    if (!('block_migration' in args) || !('disk_over_commit' in args)) throw invalid('os-migrateLive', args, "'block_migration' and 'disk_over_commit' are required properties");
    if (args.block_migration === 'auto') throw invalid('block_migration', args.block_migration, "is not one of [True, False]");
  }
  if (s.locked && !env.admin) throw conflict(`Instance ${s.id} is locked`);
  if (s.vm_state !== 'active' && s.vm_state !== 'paused') throw conflict(`Cannot 'os-migrateLive' instance ${s.id} while it is in vm_state ${s.vm_state}`);
  if (s.task_state) throw conflict(`Cannot 'os-migrateLive' instance ${s.id} while it is in task_state ${s.task_state}`);
  const src = s.host!;
  if (hostDown(env.world, env.cloud.name, env.region.name, src)) throw badRequest(`Compute service of ${src} is unavailable at this time.`);
  const target: string | null = args.host ?? null;
  if (target !== null) {
    const svc = env.region.services.find((x) => x.binary === 'nova-compute' && x.host === target);
    if (!svc) throw badRequest(`Compute host ${target} could not be found.`);
    if (target === src) throw badRequest(`Unable to migrate instance (${s.id}) to current host (${src}).`);
  }
  const force = mv >= 30 && mv < 68 && (args.force === true || args.force === 'true');
  const sgroup = s.server_group ? env.region.serverGroups[s.server_group] : undefined;
  let dest: string | null;
  if (target && force) dest = hostDown(env.world, env.cloud.name, env.region.name, target) ? null : target;
  else
    dest = pickHost(env.world, env.cloud.name, env.region, s.flavor_id, {
      exclude: [src],
      only: target ?? undefined,
      antiAffinityWith: sgroup?.policy === 'anti-affinity' ? sgroup.members.filter((m) => m !== s.id) : [],
    });
  if (!dest && mv < 34) throw badRequest('No valid host was found. There are not enough hosts available.');
  const f = env.region.flavors.find((x) => x.id === s.flavor_id);
  const mem = (f?.ram ?? 512) * 1024 * 1024;
  const m: Migration = {
    id: ++env.region.seq.migration,
    uuid: uuid(),
    instance_uuid: s.id,
    migration_type: 'live-migration',
    status: 'queued',
    source_compute: src,
    dest_compute: dest,
    source_node: src,
    dest_node: dest,
    dest_host: dest ? env.region.services.find((x) => x.host === dest)?.host_ip ?? null : null,
    created_at: env.now,
    updated_at: env.now,
    project_id: s.project_id,
    user_id: s.user_id,
    memory_total_bytes: mem,
    memory_processed_bytes: 0,
    memory_remaining_bytes: mem,
    disk_total_bytes: 0,
    disk_processed_bytes: 0,
    disk_remaining_bytes: 0,
    started_at: env.now,
  };
  env.region.migrations.push(m);
  s.status = 'MIGRATING';
  s.task_state = 'migrating';
  s.updated = env.now;
  const lat = env.world.config.latency.liveMigration;
  if (!dest) {
    // Since 2.34 scheduling is asynchronous: the migration ends in "error", the server stays.
    addPending(env.region, { at: env.now + Math.min(200, lat), kind: 'migration.done', id: m.uuid, extra: { error: 'NoValidHost' } });
  } else {
    m.status = 'preparing';
    addPending(env.region, { at: env.now + Math.floor(lat * 0.2), kind: 'migration.run', id: m.uuid });
    addPending(env.region, { at: env.now + lat, kind: 'migration.done', id: m.uuid });
  }
  env.dirty();
  return { status: 202 };
}

function serverAction(env: Env, ctx: Ctx, mv: number): Reply {
  const s = findServer(env, ctx.params.id);
  const body = ctx.body;
  if (!body || typeof body !== 'object' || Object.keys(body).length !== 1) throw badRequest('Malformed request body');
  const [action] = Object.keys(body);
  const args = body[action];
  switch (action) {
    case 'os-migrateLive':
      return liveMigrate(env, ctx, s, args, mv);
    case 'os-stop':
      if (s.vm_state !== 'active') throw conflict(`Cannot 'stop' instance ${s.id} while it is in vm_state ${s.vm_state}`);
      Object.assign(s, { status: 'SHUTOFF', vm_state: 'stopped', power_state: 4, updated: env.now });
      env.dirty();
      return { status: 202 };
    case 'os-start':
      if (s.vm_state !== 'stopped') throw conflict(`Cannot 'start' instance ${s.id} while it is in vm_state ${s.vm_state}`);
      Object.assign(s, { status: 'ACTIVE', vm_state: 'active', power_state: 1, updated: env.now });
      env.dirty();
      return { status: 202 };
    case 'reboot':
      if (!args || !['SOFT', 'HARD'].includes(args.type)) throw invalid('reboot', args, "'type' must be SOFT or HARD");
      if (s.vm_state !== 'active' && args.type === 'SOFT') throw conflict(`Cannot 'reboot' instance ${s.id} while it is in vm_state ${s.vm_state}`);
      return { status: 202 };
    case 'lock':
      s.locked = true;
      env.dirty();
      return { status: 202 };
    case 'unlock':
      s.locked = false;
      env.dirty();
      return { status: 202 };
    default:
      throw badRequest(`There is no such action: ${action}`);
  }
}

function parseBool(v: string | null): boolean {
  return v !== null && ['1', 'true', 'True', 'yes', 'on'].includes(v);
}

// ---- router --------------------------------------------------------------------------------

export function novaRouter(): Router<Env> {
  const r = new Router<Env>();
  const v = (h: (ctx: Ctx, env: Env, mv: number) => Reply): ((ctx: Ctx, env: Env) => Reply) => (ctx, env) => {
    const mv = microversion(ctx);
    ctx.extraHeaders['openstack-api-version'] = `compute 2.${mv}`;
    ctx.extraHeaders['x-openstack-nova-api-version'] = `2.${mv}`;
    ctx.extraHeaders.vary = 'OpenStack-API-Version, X-OpenStack-Nova-API-Version';
    return h(ctx, env, mv);
  };
  r.on('GET', '/', v((ctx, env, mv) => ({ status: 200, body: { version: novaVersion(ctx) } })));
  r.on('GET', '/servers', v((ctx, env, mv) => listServers(env, ctx, mv, false)));
  r.on('GET', '/servers/detail', v((ctx, env, mv) => listServers(env, ctx, mv, true)));
  r.on('POST', '/servers', v((ctx, env, mv) => createServers(env, ctx, mv)));
  r.on('GET', '/servers/:id', v((ctx, env, mv) => ({ status: 200, body: { server: serverView(env, ctx, findServer(env, ctx.params.id), mv, true) } })));
  r.on(
    'PUT',
    '/servers/:id',
    v((ctx, env, mv) => {
      const s = findServer(env, ctx.params.id);
      const b = ctx.body?.server;
      if (!b || typeof b !== 'object') throw invalid('server', b ?? null, "'server' is a required property");
      for (const k of Object.keys(b)) if (!['name', 'accessIPv4', 'accessIPv6', 'OS-DCF:diskConfig', ...(mv >= 19 ? ['description'] : []), ...(mv >= 90 ? ['hostname'] : [])].includes(k)) throw badRequest(`Additional properties are not allowed ('${k}' was unexpected)`);
      if (b.name !== undefined) s.name = b.name;
      if (b.description !== undefined) s.description = b.description;
      s.updated = env.now;
      env.dirty();
      return { status: 200, body: { server: serverView(env, ctx, s, mv, true) } };
    }),
  );
  r.on(
    'DELETE',
    '/servers/:id',
    v((ctx, env) => {
      const s = findServer(env, ctx.params.id);
      if (s.locked && !env.admin) throw conflict(`Instance ${s.id} is locked`);
      if (s.task_state === 'deleting') return { status: 204 };
      s.task_state = 'deleting';
      s.updated = env.now;
      for (const m of env.region.migrations) if (m.instance_uuid === s.id && ['queued', 'preparing', 'running'].includes(m.status)) m.status = 'cancelled';
      addPending(env.region, { at: env.now + env.world.config.latency.serverDelete, kind: 'server.delete', id: s.id });
      env.dirty();
      return { status: 204 };
    }),
  );
  r.on('POST', '/servers/:id/action', v((ctx, env, mv) => serverAction(env, ctx, mv)));
  r.on('GET', '/servers/:id/metadata', v((ctx, env) => ({ status: 200, body: { metadata: findServer(env, ctx.params.id).metadata } })));
  r.on(
    'GET',
    '/servers/:id/tags',
    v((ctx, env, mv) => {
      if (mv < 26) throw notFound('The resource could not be found.');
      return { status: 200, body: { tags: findServer(env, ctx.params.id).tags } };
    }),
  );
  r.on(
    'PUT',
    '/servers/:id/tags/:tag',
    v((ctx, env, mv) => {
      if (mv < 26) throw notFound('The resource could not be found.');
      const s = findServer(env, ctx.params.id);
      if (!s.tags.includes(ctx.params.tag)) s.tags.push(ctx.params.tag);
      env.dirty();
      return { status: 201, headers: { location: `${ctx.base}/servers/${s.id}/tags/${ctx.params.tag}` } };
    }),
  );
  r.on(
    'GET',
    '/servers/:id/migrations',
    v((ctx, env, mv) => {
      if (mv < 23) throw notFound('The resource could not be found.');
      requireAdmin(env, 'os_compute_api:servers:migrations:index');
      const s = findServer(env, ctx.params.id, true);
      const list = env.region.migrations.filter((m) => m.instance_uuid === s.id && m.migration_type === 'live-migration' && ['queued', 'preparing', 'running'].includes(m.status));
      return { status: 200, body: { migrations: list.map((m) => serverMigrationView(env, ctx, m, mv)) } };
    }),
  );
  r.on(
    'GET',
    '/servers/:id/migrations/:mid',
    v((ctx, env, mv) => {
      if (mv < 23) throw notFound('The resource could not be found.');
      requireAdmin(env, 'os_compute_api:servers:migrations:show');
      const s = findServer(env, ctx.params.id, true);
      const m = env.region.migrations.find((x) => String(x.id) === ctx.params.mid && x.instance_uuid === s.id && ['queued', 'preparing', 'running'].includes(x.status));
      if (!m) throw notFound(`In-progress live migration ${ctx.params.mid} is not found for server ${s.id}.`);
      return { status: 200, body: { migration: serverMigrationView(env, ctx, m, mv) } };
    }),
  );
  r.on(
    'DELETE',
    '/servers/:id/migrations/:mid',
    v((ctx, env, mv) => {
      if (mv < 24) throw notFound('The resource could not be found.');
      requireAdmin(env, 'os_compute_api:servers:migrations:delete');
      const s = findServer(env, ctx.params.id, true);
      const m = env.region.migrations.find((x) => String(x.id) === ctx.params.mid && x.instance_uuid === s.id);
      if (!m || !['queued', 'preparing', 'running'].includes(m.status)) throw notFound(`In-progress live migration ${ctx.params.mid} is not found for server ${s.id}.`);
      m.status = 'cancelled';
      m.updated_at = env.now;
      s.status = 'ACTIVE';
      s.task_state = null;
      env.dirty();
      return { status: 202 };
    }),
  );
  r.on(
    'GET',
    '/os-migrations',
    v((ctx, env, mv) => {
      requireAdmin(env, 'os_compute_api:os-migrations:index');
      const q = ctx.query;
      let list = [...env.region.migrations].reverse();
      const f = (k: string, get: (m: Migration) => unknown) => {
        const val = q.get(k);
        if (val !== null) list = list.filter((m) => String(get(m)) === val);
      };
      f('instance_uuid', (m) => m.instance_uuid);
      f('status', (m) => m.status);
      f('migration_type', (m) => m.migration_type);
      f('source_compute', (m) => m.source_compute);
      const host = q.get('host');
      if (host !== null) list = list.filter((m) => m.source_compute === host || m.dest_compute === host);
      const withUuid = list.map((m) => ({ ...m, id: String(m.id) }));
      const p = page(withUuid, q, 1000, (marker, limit) => withMarker(ctx.base, '/os-migrations', q, marker, limit), (m) => badRequest(`Marker ${m} could not be found.`));
      const body: Record<string, unknown> = { migrations: p.items.map((m) => osMigrationView(env, ctx, env.region.migrations.find((x) => String(x.id) === m.id)!, mv)) };
      if (p.next && mv >= 59) body.migrations_links = [{ rel: 'next', href: p.next }];
      return { status: 200, body };
    }),
  );
  // flavors
  const listFlavors = (detail: boolean) =>
    v((ctx, env, mv) => {
      const q = ctx.query;
      let list = [...env.region.flavors];
      const minRam = q.get('minRam');
      if (minRam) list = list.filter((f) => f.ram >= Number(minRam));
      const minDisk = q.get('minDisk');
      if (minDisk) list = list.filter((f) => f.disk >= Number(minDisk));
      const isPublic = q.get('is_public');
      if (isPublic !== null && isPublic.toLowerCase() !== 'none') list = list.filter((f) => f.is_public === parseBool(isPublic));
      list.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
      const path = detail ? '/flavors/detail' : '/flavors';
      const p = page(list, q, 1000, (marker, limit) => withMarker(ctx.base, path, q, marker, limit), (m) => badRequest(`marker [${m}] not found`));
      const body: Record<string, unknown> = { flavors: p.items.map((f) => flavorView(ctx, f, mv, detail)) };
      if (p.next) body.flavors_links = [{ rel: 'next', href: p.next }];
      return { status: 200, body };
    });
  r.on('GET', '/flavors', listFlavors(false));
  r.on('GET', '/flavors/detail', listFlavors(true));
  r.on(
    'GET',
    '/flavors/:id',
    v((ctx, env, mv) => {
      const f = env.region.flavors.find((x) => x.id === ctx.params.id);
      if (!f) throw notFound(`Flavor ${ctx.params.id} could not be found.`);
      return { status: 200, body: { flavor: flavorView(ctx, f, mv, true) } };
    }),
  );
  r.on(
    'GET',
    '/flavors/:id/os-extra_specs',
    v((ctx, env) => {
      const f = env.region.flavors.find((x) => x.id === ctx.params.id);
      if (!f) throw notFound(`Flavor ${ctx.params.id} could not be found.`);
      return { status: 200, body: { extra_specs: f.extra_specs } };
    }),
  );
  // keypairs
  r.on(
    'GET',
    '/os-keypairs',
    v((ctx, env, mv) => {
      const user = (mv >= 10 && env.admin && ctx.query.get('user_id')) || env.token.user_id;
      const list = env.region.keypairs.filter((k) => k.user_id === user).sort((a, b) => a.name.localeCompare(b.name));
      return { status: 200, body: { keypairs: list.map((k) => ({ keypair: keypairView(k, mv, false) })) } };
    }),
  );
  r.on(
    'POST',
    '/os-keypairs',
    v((ctx, env, mv) => {
      const b = ctx.body?.keypair;
      if (!b || typeof b !== 'object') throw invalid('keypair', b ?? null, "'keypair' is a required property");
      if (typeof b.name !== 'string' || !/^[a-zA-Z0-9 _-]{1,255}$/.test(b.name)) throw invalid('name', b.name, 'does not match pattern');
      if (mv >= 92 && !b.public_key) throw invalid('keypair', b, "'public_key' is a required property");
      const user = (mv >= 10 && env.admin && b.user_id) || env.token.user_id;
      if (env.region.keypairs.some((k) => k.name === b.name && k.user_id === user)) throw conflict(`Key pair '${b.name}' already exists.`);
      const q = quota(env, env.token.project_id!);
      if (q.key_pairs >= 0 && env.region.keypairs.filter((k) => k.user_id === user).length >= q.key_pairs) throw forbidden('Quota exceeded, too many key pairs.');
      const type = mv >= 2 ? b.type ?? 'ssh' : 'ssh';
      let publicKey: string = b.public_key;
      let privateKey: string | undefined;
      if (publicKey) {
        if (!/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(publicKey.trim())) throw badRequest('Keypair data is invalid: failed to generate fingerprint');
      } else {
        publicKey = fakePublicKey();
        privateKey = `-----BEGIN RSA PRIVATE KEY-----\n${secret(600)}\n-----END RSA PRIVATE KEY-----\n`;
      }
      const k: Keypair = { name: b.name, user_id: user, public_key: publicKey.trim(), fingerprint: fingerprint(publicKey), type, created_at: env.now, id: ++env.region.seq.keypair };
      env.region.keypairs.push(k);
      env.created('keypair');
      env.dirty();
      return { status: mv >= 2 ? 201 : 200, body: { keypair: { ...keypairView(k, mv, false), user_id: k.user_id, ...(privateKey ? { private_key: privateKey } : {}) } } };
    }),
  );
  r.on(
    'GET',
    '/os-keypairs/:name',
    v((ctx, env, mv) => {
      const user = (mv >= 10 && env.admin && ctx.query.get('user_id')) || env.token.user_id;
      const k = env.region.keypairs.find((x) => x.name === ctx.params.name && x.user_id === user);
      if (!k) throw notFound(`Keypair ${ctx.params.name} not found for user ${user}`);
      return { status: 200, body: { keypair: keypairView(k, mv, true) } };
    }),
  );
  r.on(
    'DELETE',
    '/os-keypairs/:name',
    v((ctx, env, mv) => {
      const user = (mv >= 10 && env.admin && ctx.query.get('user_id')) || env.token.user_id;
      const i = env.region.keypairs.findIndex((x) => x.name === ctx.params.name && x.user_id === user);
      if (i < 0) throw notFound(`Keypair ${ctx.params.name} not found for user ${user}`);
      env.region.keypairs.splice(i, 1);
      env.dirty();
      return { status: mv >= 2 ? 204 : 202 };
    }),
  );
  // os-services
  r.on(
    'GET',
    '/os-services',
    v((ctx, env, mv) => {
      requireAdmin(env, 'os_compute_api:os-services:list');
      let list = env.region.services;
      const host = ctx.query.get('host');
      if (host !== null) list = list.filter((s) => s.host === host);
      const binary = ctx.query.get('binary');
      if (binary !== null) list = list.filter((s) => s.binary === binary);
      return { status: 200, body: { services: list.map((s) => serviceView(env, s, mv)) } };
    }),
  );
  const legacyService = (action: 'enable' | 'disable' | 'disable-log-reason' | 'force-down') =>
    v((ctx, env, mv) => {
      if (mv >= 53) throw notFound('The resource could not be found.');
      requireAdmin(env, 'os_compute_api:os-services:update');
      const b = ctx.body ?? {};
      const s = env.region.services.find((x) => x.host === b.host && x.binary === b.binary);
      if (!s) throw notFound(`Host '${b.host}' is not mapped to any cell`);
      if (action === 'enable') Object.assign(s, { status: 'enabled', disabled_reason: null });
      else if (action === 'disable') Object.assign(s, { status: 'disabled', disabled_reason: null });
      else if (action === 'disable-log-reason') {
        if (!b.disabled_reason) throw badRequest('Missing disabled reason field');
        Object.assign(s, { status: 'disabled', disabled_reason: String(b.disabled_reason) });
      } else {
        if (mv < 11) throw notFound('The resource could not be found.');
        s.forced_down = !!b.forced_down;
      }
      s.updated_at = env.now;
      env.dirty();
      const out: Record<string, unknown> = { host: s.host, binary: s.binary };
      if (action === 'force-down') out.forced_down = s.forced_down;
      else out.status = s.status;
      if (action === 'disable-log-reason') out.disabled_reason = s.disabled_reason;
      return { status: 200, body: { service: out } };
    });
  r.on('PUT', '/os-services/enable', legacyService('enable'));
  r.on('PUT', '/os-services/disable', legacyService('disable'));
  r.on('PUT', '/os-services/disable-log-reason', legacyService('disable-log-reason'));
  r.on('PUT', '/os-services/force-down', legacyService('force-down'));
  r.on(
    'PUT',
    '/os-services/:id',
    v((ctx, env, mv) => {
      if (mv < 53) throw notFound('The resource could not be found.');
      requireAdmin(env, 'os_compute_api:os-services:update');
      const s = env.region.services.find((x) => x.uuid === ctx.params.id);
      if (!s) throw notFound(`Service ${ctx.params.id} could not be found.`);
      const b = ctx.body;
      if (!b || typeof b !== 'object' || !Object.keys(b).length) throw badRequest('At least one of status or forced_down must be specified in the request body.');
      for (const k of Object.keys(b)) if (!['status', 'disabled_reason', 'forced_down'].includes(k)) throw badRequest(`Additional properties are not allowed ('${k}' was unexpected)`);
      if (b.status !== undefined && !['enabled', 'disabled'].includes(b.status)) throw invalid('status', b.status, "is not one of ['enabled', 'disabled']");
      if (b.disabled_reason !== undefined && b.status !== 'disabled') throw badRequest('Specifying a disabled_reason is only allowed when disabling a service.');
      if (b.forced_down !== undefined && s.binary !== 'nova-compute') throw badRequest("Updating a nova-compute service's forced_down is only allowed for nova-compute.");
      if (b.status === 'enabled') Object.assign(s, { status: 'enabled', disabled_reason: null });
      if (b.status === 'disabled') Object.assign(s, { status: 'disabled', disabled_reason: b.disabled_reason ?? null });
      if (b.forced_down !== undefined) s.forced_down = !!b.forced_down;
      s.updated_at = env.now;
      env.dirty();
      return { status: 200, body: { service: serviceView(env, s, mv) } };
    }),
  );
  // hypervisors
  const computeServices = (env: Env) => env.region.services.filter((s) => s.binary === 'nova-compute');
  const listHv = (detail: boolean) =>
    v((ctx, env, mv) => {
      requireAdmin(env, 'os_compute_api:os-hypervisors:list');
      let list = computeServices(env);
      const pattern = ctx.query.get('hypervisor_hostname_pattern');
      if (pattern !== null && mv >= 53) list = list.filter((s) => s.host.includes(pattern));
      const withServers = mv >= 53 && parseBool(ctx.query.get('with_servers'));
      const ids = list.map((s) => ({ ...s, id: String(mv >= 53 ? s.hypervisor_uuid : s.hypervisor_num) }));
      const path = detail ? '/os-hypervisors/detail' : '/os-hypervisors';
      const p = mv >= 33 ? page(ids, ctx.query, 1000, (marker, limit) => withMarker(ctx.base, path, ctx.query, marker, limit), (m) => badRequest(`marker [${m}] not found`)) : { items: ids, next: undefined };
      const body: Record<string, unknown> = { hypervisors: p.items.map((s) => hypervisorView(env, list.find((x) => x.host === s.host)!, mv, detail, withServers)) };
      if (p.next) body.hypervisors_links = [{ rel: 'next', href: p.next }];
      return { status: 200, body };
    });
  r.on('GET', '/os-hypervisors', listHv(false));
  r.on('GET', '/os-hypervisors/detail', listHv(true));
  r.on(
    'GET',
    '/os-hypervisors/:id',
    v((ctx, env, mv) => {
      requireAdmin(env, 'os_compute_api:os-hypervisors:show');
      const s = computeServices(env).find((x) => String(mv >= 53 ? x.hypervisor_uuid : x.hypervisor_num) === ctx.params.id);
      if (!s) throw notFound(`Hypervisor with ID ${ctx.params.id} could not be found.`);
      return { status: 200, body: { hypervisor: hypervisorView(env, s, mv, true, mv >= 53 && parseBool(ctx.query.get('with_servers'))) } };
    }),
  );
  // limits, quotas, availability zones
  r.on(
    'GET',
    '/limits',
    v((ctx, env) => {
      const project = (env.admin && ctx.query.get('tenant_id')) || env.token.project_id!;
      const q = quota(env, project);
      const u = usage(env, project);
      return {
        status: 200,
        body: {
          limits: {
            rate: [],
            absolute: {
              maxServerMeta: q.metadata_items,
              maxPersonality: q.injected_files,
              maxPersonalitySize: q.injected_file_content_bytes,
              maxTotalInstances: q.instances,
              maxTotalCores: q.cores,
              maxTotalRAMSize: q.ram,
              maxTotalKeypairs: q.key_pairs,
              maxServerGroups: q.server_groups,
              maxServerGroupMembers: q.server_group_members,
              totalInstancesUsed: u.instances,
              totalCoresUsed: u.cores,
              totalRAMUsed: u.ram,
              totalServerGroupsUsed: u.server_groups,
            },
          },
        },
      };
    }),
  );
  const quotaSet = (env: Env, project: string, mv: number) => {
    const q = quota(env, project);
    const out: Record<string, unknown> = { id: project, ...q };
    if (mv >= 57) for (const k of ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes']) delete out[k];
    return out;
  };
  r.on('GET', '/os-quota-sets/:project', v((ctx, env, mv) => ({ status: 200, body: { quota_set: quotaSet(env, ctx.params.project, mv) } })));
  r.on('GET', '/os-quota-sets/:project/defaults', v((ctx, env, mv) => ({ status: 200, body: { quota_set: { id: ctx.params.project, ...DEFAULT_COMPUTE_QUOTA } } })));
  r.on(
    'PUT',
    '/os-quota-sets/:project',
    v((ctx, env, mv) => {
      requireAdmin(env, 'os_compute_api:os-quota-sets:update');
      const b = ctx.body?.quota_set;
      if (!b || typeof b !== 'object') throw invalid('quota_set', b ?? null, "'quota_set' is a required property");
      const cur = (env.region.quotas.compute[ctx.params.project] ??= {});
      for (const [k, val] of Object.entries(b)) {
        if (k === 'force') continue;
        if (!(k in DEFAULT_COMPUTE_QUOTA)) throw badRequest(`Additional properties are not allowed ('${k}' was unexpected)`);
        if (!Number.isInteger(Number(val)) || Number(val) < -1) throw invalid(`quota_set/${k}`, val, 'must be an integer >= -1');
        cur[k] = Number(val);
      }
      env.dirty();
      const out = quotaSet(env, ctx.params.project, mv);
      delete out.id;
      return { status: 200, body: { quota_set: out } };
    }),
  );
  r.on('GET', '/os-availability-zone', v(() => ({ status: 200, body: { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] } })));
  // server groups
  const groupView = (g: any, mv: number) =>
    mv >= 64
      ? { id: g.id, name: g.name, policy: g.policy, rules: {}, members: g.members, project_id: g.project_id, user_id: g.user_id }
      : { id: g.id, name: g.name, policies: [g.policy], members: g.members, metadata: {}, ...(mv >= 13 ? { project_id: g.project_id, user_id: g.user_id } : {}) };
  r.on('GET', '/os-server-groups', v((ctx, env, mv) => ({ status: 200, body: { server_groups: Object.values(env.region.serverGroups).filter((g) => env.admin || g.project_id === env.token.project_id).map((g) => groupView(g, mv)) } })));
  r.on(
    'POST',
    '/os-server-groups',
    v((ctx, env, mv) => {
      const b = ctx.body?.server_group;
      if (!b || typeof b.name !== 'string') throw invalid('server_group', b ?? null, "'name' is a required property");
      const policy = mv >= 64 ? b.policy : Array.isArray(b.policies) ? b.policies[0] : undefined;
      if (!['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'].includes(policy)) throw invalid('policy', policy, "is not one of ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity']");
      const g = { id: uuid(), name: b.name, policy, members: [], project_id: env.token.project_id!, user_id: env.token.user_id };
      env.region.serverGroups[g.id] = g;
      env.created('server_group');
      env.dirty();
      return { status: 200, body: { server_group: groupView(g, mv) } };
    }),
  );
  r.on(
    'GET',
    '/os-server-groups/:id',
    v((ctx, env, mv) => {
      const g = env.region.serverGroups[ctx.params.id];
      if (!g || (!env.admin && g.project_id !== env.token.project_id)) throw notFound(`Instance group ${ctx.params.id} could not be found.`);
      return { status: 200, body: { server_group: groupView(g, mv) } };
    }),
  );
  r.on(
    'DELETE',
    '/os-server-groups/:id',
    v((ctx, env) => {
      const g = env.region.serverGroups[ctx.params.id];
      if (!g || (!env.admin && g.project_id !== env.token.project_id)) throw notFound(`Instance group ${ctx.params.id} could not be found.`);
      delete env.region.serverGroups[g.id];
      env.dirty();
      return { status: 204 };
    }),
  );
  return r;
}

export function novaVersion(ctx: Ctx) {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: `2.${NOVA_MAX}`,
    min_version: '2.1',
    updated: '2013-07-23T11:33:21Z',
    links: [
      { rel: 'self', href: `${versionRoot(ctx)}/v2.1/` },
      { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}

/** GET on the compute root (no version): the version list. */
export function novaVersions(root: string) {
  return {
    versions: [
      { id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z', links: [{ rel: 'self', href: `${root}/v2/` }] },
      { id: 'v2.1', status: 'CURRENT', version: `2.${NOVA_MAX}`, min_version: '2.1', updated: '2013-07-23T11:33:21Z', links: [{ rel: 'self', href: `${root}/v2.1/` }] },
    ],
  };
}
