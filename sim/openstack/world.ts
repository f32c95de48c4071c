/**
 * Behaviour shared by the services of one region: due state transitions, the scheduler,
 * IP allocation, ports, and the Octavia provisioning/operating status rules.
 */
import type { FaultSpec, LoadBalancer, Member, Pending, Port, RegionState, Server, Subnet, World } from './model';
import { intToIp, ipToInt, macAddress, uuid } from './model';
import { ApiError, conflict } from './http';

export function addPending(rs: RegionState, p: Pending): void {
  rs.pending.push(p);
}

/** Faults that apply to a request or a host. */
export function activeFaults(world: World, cloud: string, region: string | undefined, pred: (f: FaultSpec) => boolean): FaultSpec[] {
  return world.faults.filter((f) => (!f.cloud || f.cloud === cloud) && (!f.region || !region || f.region === region) && (f.times === undefined || f.fired < f.times) && pred(f));
}

export function hostDown(world: World, cloud: string, region: string, host: string | null | undefined): boolean {
  if (!host) return false;
  return activeFaults(world, cloud, region, (f) => f.host === host && !!f.down).length > 0;
}

/** Apply every transition due by `now`, oldest first. */
export function advance(world: World, cloud: string, rs: RegionState, now: number): boolean {
  if (!rs.pending.length) return false;
  const due = rs.pending.filter((p) => p.at <= now).sort((a, b) => a.at - b.at);
  if (!due.length) return false;
  rs.pending = rs.pending.filter((p) => p.at > now);
  for (const p of due) apply(world, cloud, rs, p);
  return true;
}

function apply(world: World, cloud: string, rs: RegionState, p: Pending): void {
  switch (p.kind) {
    case 'server.build': {
      const s = rs.servers[p.id];
      if (!s || s.status !== 'BUILD') return;
      const err = p.extra?.error as string | undefined;
      s.updated = p.at;
      if (err) {
        s.status = 'ERROR';
        s.vm_state = 'error';
        s.task_state = null;
        s.power_state = 0;
        s.fault = { code: 500, message: err, created: p.at, details: `Traceback (most recent call last):\n  ...\nnova.exception.${err.startsWith('No valid host') ? 'NoValidHost' : 'BuildAbortException'}: ${err}` };
        if (err.startsWith('No valid host')) s.host = null;
        return;
      }
      s.status = 'ACTIVE';
      s.vm_state = 'active';
      s.task_state = null;
      s.power_state = 1;
      s.launched_at = p.at;
      for (const pid of s.ports) {
        const port = rs.ports[pid];
        if (port) {
          port.status = 'ACTIVE';
          port.binding_host_id = s.host ?? '';
        }
      }
      return;
    }
    case 'server.delete': {
      const s = rs.servers[p.id];
      if (!s) return;
      removeServer(rs, s, p.at);
      return;
    }
    case 'migration.run': {
      const m = rs.migrations.find((x) => x.uuid === p.id);
      if (m && (m.status === 'queued' || m.status === 'preparing')) m.status = 'running';
      return;
    }
    case 'migration.done': {
      const m = rs.migrations.find((x) => x.uuid === p.id);
      if (!m || ['completed', 'error', 'failed', 'cancelled'].includes(m.status)) return;
      const s = rs.servers[m.instance_uuid];
      m.updated_at = p.at;
      m.done_at = p.at;
      const err = p.extra?.error as string | undefined;
      if (s) {
        s.status = 'ACTIVE';
        s.task_state = null;
        s.updated = p.at;
      }
      if (err || !s) {
        m.status = 'error';
        return;
      }
      m.status = 'completed';
      m.memory_processed_bytes = m.memory_total_bytes;
      m.memory_remaining_bytes = 0;
      s.host = m.dest_compute;
      for (const pid of s.ports) if (rs.ports[pid]) rs.ports[pid].binding_host_id = s.host ?? '';
      return;
    }
    case 'lb.settle': {
      const lb = rs.loadbalancers[p.id];
      if (!lb) return;
      settleLoadBalancer(rs, lb, p.at, !!p.extra?.error);
      return;
    }
    case 'lb.delete': {
      const lb = rs.loadbalancers[p.id];
      if (!lb) return;
      for (const l of Object.values(rs.listeners)) if (l.loadbalancer_id === lb.id) delete rs.listeners[l.id];
      for (const pool of Object.values(rs.pools)) {
        if (pool.loadbalancer_id !== lb.id) continue;
        for (const m of Object.values(rs.members)) if (m.pool_id === pool.id) delete rs.members[m.id];
        if (pool.healthmonitor_id) delete rs.healthmonitors[pool.healthmonitor_id];
        delete rs.pools[pool.id];
      }
      delete rs.ports[lb.vip_port_id];
      delete rs.loadbalancers[lb.id];
      return;
    }
  }
}

export function removeServer(rs: RegionState, s: Server, now: number): void {
  for (const pid of s.ports) {
    const port = rs.ports[pid];
    if (!port) continue;
    if (s.ownedPorts.includes(pid)) {
      for (const f of Object.values(rs.floatingips)) if (f.port_id === pid) Object.assign(f, { port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', updated_at: now });
      delete rs.ports[pid];
    } else Object.assign(port, { device_id: '', device_owner: '', status: 'DOWN', binding_host_id: '', updated_at: now });
  }
  for (const g of Object.values(rs.serverGroups)) g.members = g.members.filter((m) => m !== s.id);
  delete rs.servers[s.id];
}

// ---- scheduler ------------------------------------------------------------------------------

export function hostUsage(rs: RegionState, host: string): { vcpus: number; ram: number; disk: number; count: number } {
  const u = { vcpus: 0, ram: 0, disk: 0, count: 0 };
  for (const s of Object.values(rs.servers)) {
    if (s.host !== host || s.status === 'ERROR') continue;
    const f = rs.flavors.find((x) => x.id === s.flavor_id);
    u.vcpus += f?.vcpus ?? 0;
    u.ram += f?.ram ?? 0;
    u.disk += f?.disk ?? 0;
    u.count++;
  }
  // A live migration holds resources on the destination while it runs.
  for (const m of rs.migrations) {
    if (m.dest_compute !== host || !['queued', 'preparing', 'running'].includes(m.status)) continue;
    const s = rs.servers[m.instance_uuid];
    const f = s && rs.flavors.find((x) => x.id === s.flavor_id);
    u.vcpus += f?.vcpus ?? 0;
    u.ram += f?.ram ?? 0;
  }
  return u;
}

const CPU_RATIO = 4;
const RAM_RATIO = 1.0;

/** Pick a compute host like the filter scheduler: enabled, up, with room; spread by free RAM. */
export function pickHost(world: World, cloud: string, rs: RegionState, flavorId: string, opts: { exclude?: string[]; only?: string; antiAffinityWith?: string[]; affinityWith?: string[] } = {}): string | null {
  const f = rs.flavors.find((x) => x.id === flavorId);
  if (!f) return null;
  const avoid = new Set((opts.antiAffinityWith ?? []).map((id) => rs.servers[id]?.host).filter(Boolean) as string[]);
  const near = new Set((opts.affinityWith ?? []).map((id) => rs.servers[id]?.host).filter(Boolean) as string[]);
  const candidates = rs.services
    .filter((s) => s.binary === 'nova-compute' && s.status === 'enabled' && !s.forced_down && !hostDown(world, cloud, rs.name, s.host))
    .filter((s) => !(opts.exclude ?? []).includes(s.host) && (!opts.only || s.host === opts.only) && !avoid.has(s.host) && (!near.size || near.has(s.host)))
    .map((s) => ({ s, u: hostUsage(rs, s.host) }))
    .filter(({ s, u }) => u.vcpus + f.vcpus <= (s.vcpus ?? 0) * CPU_RATIO && u.ram + f.ram <= (s.memory_mb ?? 0) * RAM_RATIO && u.disk + f.disk <= (s.local_gb ?? 0));
  if (!candidates.length) return null;
  candidates.sort((a, b) => (b.s.memory_mb! - b.u.ram) - (a.s.memory_mb! - a.u.ram) || a.s.host.localeCompare(b.s.host));
  return candidates[0].s.host;
}

// ---- Neutron helpers ------------------------------------------------------------------------

export function usedIps(rs: RegionState, subnetId: string): Set<string> {
  const used = new Set<string>();
  for (const p of Object.values(rs.ports)) for (const ip of p.fixed_ips) if (ip.subnet_id === subnetId) used.add(ip.ip_address);
  return used;
}

export function allocateIp(rs: RegionState, subnet: Subnet, wanted?: string): string {
  const used = usedIps(rs, subnet.id);
  if (wanted) {
    if (used.has(wanted)) throw conflict(`IP address ${wanted} already allocated in subnet ${subnet.id}`, 'IpAddressAlreadyAllocated');
    const inPool = subnet.allocation_pools.some((a) => ipToInt(wanted) >= ipToInt(a.start) && ipToInt(wanted) <= ipToInt(a.end));
    if (!inPool && wanted !== subnet.gateway_ip) {
      const [base, bits] = subnet.cidr.split('/');
      const size = 2 ** (32 - Number(bits));
      const v = ipToInt(wanted);
      if (v < ipToInt(base) || v >= ipToInt(base) + size) throw new ApiError(400, `IP address ${wanted} is not a valid IP for the specified subnet.`, 'InvalidIpForSubnet');
    }
    return wanted;
  }
  for (const pool of subnet.allocation_pools) {
    const start = ipToInt(pool.start);
    const end = ipToInt(pool.end);
    const span = end - start + 1;
    for (let i = 0; i < span; i++) {
      const off = (subnet.nextHost + i) % span;
      const ip = intToIp(start + off);
      if (!used.has(ip) && ip !== subnet.gateway_ip) {
        subnet.nextHost = off + 1;
        return ip;
      }
    }
  }
  throw conflict(`No more IP addresses available on network ${subnet.network_id}.`, 'IpAddressGenerationFailure');
}

export function newPort(rs: RegionState, init: Partial<Port> & { network_id: string; project_id: string }, now: number, fixedIps?: { subnet_id?: string; ip_address?: string }[]): Port {
  const net = rs.networks[init.network_id];
  const ips: Port['fixed_ips'] = [];
  const wants = fixedIps && fixedIps.length ? fixedIps : [{}];
  for (const w of wants) {
    let subnet: Subnet | undefined;
    if (w.subnet_id) {
      subnet = rs.subnets[w.subnet_id];
      if (!subnet || subnet.network_id !== net.id) throw new ApiError(400, `Invalid input for operation: Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${w.subnet_id}.`, 'InvalidInput');
    } else if (w.ip_address) {
      subnet = net.subnets.map((id) => rs.subnets[id]).find((sn) => sn && ipInCidr(w.ip_address!, sn.cidr));
      if (!subnet) throw new ApiError(400, `Invalid input for operation: IP address ${w.ip_address} is not a valid IP for any of the subnets on the specified network.`, 'InvalidInput');
    } else subnet = net.subnets.map((id) => rs.subnets[id]).find((sn) => sn && sn.ip_version === 4);
    if (!subnet) continue;
    ips.push({ subnet_id: subnet.id, ip_address: allocateIp(rs, subnet, w.ip_address) });
  }
  const port: Port = {
    id: uuid(),
    name: '',
    description: '',
    tags: [],
    created_at: now,
    updated_at: now,
    revision_number: 1,
    admin_state_up: true,
    mac_address: macAddress(rs),
    device_id: '',
    device_owner: '',
    status: 'DOWN',
    security_groups: [],
    port_security_enabled: true,
    binding_host_id: '',
    ...init,
    fixed_ips: ips,
  };
  rs.ports[port.id] = port;
  return port;
}

export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const v = ipToInt(ip);
  return v >= ipToInt(base) && v < ipToInt(base) + size;
}

// ---- Octavia helpers ------------------------------------------------------------------------

const PENDING = ['PENDING_CREATE', 'PENDING_UPDATE', 'PENDING_DELETE'];
export const isPending = (s: string) => PENDING.includes(s);

/** Every child of a load balancer that is still changing settles when the load balancer does. */
function settleLoadBalancer(rs: RegionState, lb: LoadBalancer, now: number, error: boolean): void {
  const done = (o: { provisioning_status: string; updated_at: number | null }) => {
    if (o.provisioning_status === 'PENDING_CREATE' || o.provisioning_status === 'PENDING_UPDATE') {
      o.provisioning_status = error ? 'ERROR' : 'ACTIVE';
      o.updated_at = now;
      return true;
    }
    return false;
  };
  done(lb);
  for (const l of Object.values(rs.listeners)) if (l.loadbalancer_id === lb.id) l.provisioning_status === 'PENDING_DELETE' ? delete rs.listeners[l.id] : done(l);
  for (const p of Object.values(rs.pools)) {
    if (p.loadbalancer_id !== lb.id) continue;
    for (const m of Object.values(rs.members)) {
      if (m.pool_id !== p.id) continue;
      if (m.provisioning_status === 'PENDING_DELETE') delete rs.members[m.id];
      else if (done(m) && m.provisioning_status === 'ACTIVE') m.active_at = now;
    }
    if (p.healthmonitor_id) {
      const hm = rs.healthmonitors[p.healthmonitor_id];
      if (hm?.provisioning_status === 'PENDING_DELETE') {
        delete rs.healthmonitors[hm.id];
        p.healthmonitor_id = null;
        // Health results start over when a monitor is (re)attached.
      } else if (hm && done(hm)) for (const m of Object.values(rs.members)) if (m.pool_id === p.id) m.active_at = now;
    }
    if (p.provisioning_status === 'PENDING_DELETE') {
      for (const m of Object.values(rs.members)) if (m.pool_id === p.id) delete rs.members[m.id];
      if (p.healthmonitor_id) delete rs.healthmonitors[p.healthmonitor_id];
      for (const l of Object.values(rs.listeners)) if (l.default_pool_id === p.id) l.default_pool_id = null;
      delete rs.pools[p.id];
    } else done(p);
  }
  if (error) lb.failed = true;
}

export function memberOperatingStatus(world: World, cloud: string, rs: RegionState, m: Member, now: number, healthDelay: number): string {
  const pool = rs.pools[m.pool_id];
  const hm = pool?.healthmonitor_id ? rs.healthmonitors[pool.healthmonitor_id] : undefined;
  if (m.provisioning_status !== 'ACTIVE' || m.active_at === null) return hm ? 'OFFLINE' : 'NO_MONITOR';
  if (!m.admin_state_up) return 'OFFLINE';
  if (!hm || !hm.admin_state_up || hm.provisioning_status !== 'ACTIVE') return 'NO_MONITOR';
  if (now < m.active_at + healthDelay) return 'OFFLINE';
  const addr = m.monitor_address ?? m.address;
  const server = Object.values(rs.servers).find((s) => s.status === 'ACTIVE' && s.ports.some((pid) => rs.ports[pid]?.fixed_ips.some((ip) => ip.ip_address === addr)));
  if (!server || hostDown(world, cloud, rs.name, server.host)) return 'ERROR';
  return m.weight === 0 ? 'DRAINING' : 'ONLINE';
}

export function poolOperatingStatus(world: World, cloud: string, rs: RegionState, poolId: string, now: number, healthDelay: number): string {
  const pool = rs.pools[poolId];
  if (!pool.admin_state_up) return 'OFFLINE';
  const st = Object.values(rs.members)
    .filter((m) => m.pool_id === poolId)
    .map((m) => memberOperatingStatus(world, cloud, rs, m, now, healthDelay));
  if (!st.length) return pool.provisioning_status === 'ACTIVE' ? 'ONLINE' : 'OFFLINE';
  const bad = st.filter((s) => s === 'ERROR').length;
  if (bad === st.length) return 'ERROR';
  if (bad) return 'DEGRADED';
  return pool.provisioning_status === 'ACTIVE' ? 'ONLINE' : 'OFFLINE';
}

export function lbOperatingStatus(world: World, cloud: string, rs: RegionState, lb: LoadBalancer, now: number, healthDelay: number): string {
  if (lb.failed || lb.provisioning_status === 'ERROR') return 'ERROR';
  if (!lb.admin_state_up || lb.provisioning_status === 'PENDING_CREATE') return 'OFFLINE';
  const pools = Object.values(rs.pools).filter((p) => p.loadbalancer_id === lb.id).map((p) => poolOperatingStatus(world, cloud, rs, p.id, now, healthDelay));
  if (pools.some((p) => p === 'ERROR' || p === 'DEGRADED')) return 'DEGRADED';
  return 'ONLINE';
}
