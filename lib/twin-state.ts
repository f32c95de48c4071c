/**
 * A cloud's state as a rehearsal compares it: the resources of a snapshot
 * (activities/openstack/snapshot.ts), each under a label that does not depend on ids, so the
 * twin's end state and a real cloud's can be set side by side ("server web-1", "member of pool
 * web/web-1:80"), and the attributes a runbook changes. Pure: no I/O.
 */
import type { OpenStackSnapshot } from '../activities/openstack/snapshot';

export interface TwinResource {
  kind: string;
  id: string;
  /** Stable across clouds: built from names, never from ids or allocated addresses. */
  key: string;
  attrs: Record<string, unknown>;
}

export interface StateChange {
  change: 'created' | 'deleted' | 'changed';
  kind: string;
  key: string;
  /** For `changed`: field → [before, after]. */
  fields?: Record<string, [unknown, unknown]>;
}

/** Attributes where two clouds legitimately differ (scheduler choices, allocated addresses). */
export const PLACEMENT_FIELDS = new Set(['host', 'addresses', 'address', 'vip_address', 'floating_ip_address']);

/** Kinds shown in a rehearsal's summary (ports and rules follow from them). */
export const PRIMARY_KINDS = ['server', 'security group', 'network', 'subnet', 'router', 'floating IP', 'load balancer', 'listener', 'pool', 'member', 'health monitor', 'compute service'];

export function resourcesOf(snap: OpenStackSnapshot): TwinResource[] {
  const a = snap.api;
  const out: TwinResource[] = [];
  const seen = new Map<string, number>();
  const add = (kind: string, id: string, key: string, attrs: Record<string, unknown>) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    out.push({ kind, id, key: n > 1 ? `${key} #${n}` : key, attrs });
  };
  const netName = new Map(a.networks.map((n) => [n.id, n.name || n.id]));
  const sgName = new Map(a.securityGroups.map((g) => [g.id, g.name || g.id]));
  const serverName = new Map(a.servers.map((s) => [s.id, s.name || s.id]));
  const flavorName = new Map(a.flavors.map((f) => [f.id, f.name]));
  const portOwner = (p: any): string => {
    if (serverName.has(p.device_id)) return `server ${serverName.get(p.device_id)}`;
    if (p.device_owner) return p.device_owner;
    return p.name || 'unattached';
  };
  const ipOwner = new Map<string, string>();
  for (const p of a.ports) for (const f of p.fixed_ips ?? []) if (serverName.has(p.device_id)) ipOwner.set(f.ip_address, serverName.get(p.device_id)!);
  const portKey = new Map<string, string>();

  for (const s of [...a.servers].sort(byName))
    add('server', s.id, `server ${s.name}`, {
      status: s.status,
      flavor: s.flavor?.original_name ?? flavorName.get(s.flavor?.id) ?? s.flavor?.id,
      image: typeof s.image === 'object' && s.image ? s.image.id : '',
      host: s['OS-EXT-SRV-ATTR:host'] ?? null,
      metadata: sortedObject(s.metadata),
      security_groups: [...new Set((s.security_groups ?? []).map((g: any) => g.name))].sort(),
      networks: Object.keys(s.addresses ?? {}).sort(),
    });
  for (const p of [...a.ports].sort((x, y) => portOwner(x).localeCompare(portOwner(y)) || byName(x, y))) {
    const key = `port ${p.name ? `${p.name} ` : ''}of ${portOwner(p)} on ${netName.get(p.network_id) ?? p.network_id}`;
    add('port', p.id, key, { status: p.status, security_groups: (p.security_groups ?? []).map((g: string) => sgName.get(g) ?? g).sort(), fixed_ips: (p.fixed_ips ?? []).length, admin_state_up: p.admin_state_up });
    portKey.set(p.id, out[out.length - 1].key);
  }
  for (const n of [...a.networks].sort(byName)) add('network', n.id, `network ${n.name}`, { shared: n.shared, external: n['router:external'], mtu: n.mtu, status: n.status });
  for (const s of [...a.subnets].sort(byName)) add('subnet', s.id, `subnet ${s.name} of ${netName.get(s.network_id) ?? s.network_id}`, { cidr: s.cidr, gateway_ip: s.gateway_ip, enable_dhcp: s.enable_dhcp });
  for (const r of [...a.routers].sort(byName)) add('router', r.id, `router ${r.name}`, { external: netName.get(r.external_gateway_info?.network_id) ?? null, admin_state_up: r.admin_state_up });
  for (const g of [...a.securityGroups].sort(byName)) add('security group', g.id, `security group ${g.name}`, { description: g.description });
  const ruleText = (r: any) => `${r.direction} ${r.ethertype} ${r.protocol ?? 'any'} ${r.port_range_min ?? '*'}-${r.port_range_max ?? '*'} from ${r.remote_ip_prefix ?? (r.remote_group_id ? `group ${sgName.get(r.remote_group_id) ?? r.remote_group_id}` : 'any')}`;
  for (const r of [...a.securityGroupRules].sort((x, y) => ruleText(x).localeCompare(ruleText(y)))) add('security group rule', r.id, `rule of ${sgName.get(r.security_group_id) ?? r.security_group_id}: ${ruleText(r)}`, {});
  for (const f of a.floatingips) add('floating IP', f.id, `floating IP on ${netName.get(f.floating_network_id) ?? f.floating_network_id} for ${f.port_id ? (portKey.get(f.port_id) ?? f.port_id) : 'nothing'}`, { status: f.status, floating_ip_address: f.floating_ip_address });
  const lbName = new Map(a.loadbalancers.map((l) => [l.id, l.name || l.id]));
  for (const l of [...a.loadbalancers].sort(byName)) add('load balancer', l.id, `load balancer ${l.name}`, { provisioning_status: l.provisioning_status, operating_status: l.operating_status, vip_address: l.vip_address });
  for (const l of a.listeners) add('listener', l.id, `listener ${lbName.get(l.loadbalancers?.[0]?.id) ?? '?'}/${l.name || `${l.protocol}:${l.protocol_port}`}`, { protocol: l.protocol, protocol_port: l.protocol_port, provisioning_status: l.provisioning_status });
  const poolName = new Map(a.pools.map((p) => [p.id, `${lbName.get(p.loadbalancers?.[0]?.id) ?? '?'}/${p.name || p.id}`]));
  for (const p of a.pools) add('pool', p.id, `pool ${poolName.get(p.id)}`, { lb_algorithm: p.lb_algorithm, protocol: p.protocol, provisioning_status: p.provisioning_status });
  for (const [poolId, members] of Object.entries(a.members ?? {}))
    for (const m of members) add('member', m.id, `member of pool ${poolName.get(poolId) ?? poolId}: ${ipOwner.get(m.address) ?? m.address}:${m.protocol_port}`, { weight: m.weight, admin_state_up: m.admin_state_up, backup: m.backup, address: m.address, provisioning_status: m.provisioning_status });
  for (const h of a.healthmonitors) add('health monitor', h.id, `health monitor of pool ${poolName.get(h.pools?.[0]?.id) ?? '?'}`, { type: h.type, delay: h.delay, timeout: h.timeout, max_retries: h.max_retries });
  for (const s of a.services) add('compute service', String(s.id), `compute service ${s.binary}@${s.host}`, { status: s.status, state: s.state, disabled_reason: s.disabled_reason ?? null, forced_down: !!s.forced_down });
  return out;
}

function byName(x: any, y: any): number {
  return String(x.name ?? '').localeCompare(String(y.name ?? '')) || String(x.id).localeCompare(String(y.id));
}

function sortedObject(o: unknown): unknown {
  if (!o || typeof o !== 'object') return o ?? {};
  return Object.fromEntries(Object.entries(o as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)));
}

const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

/** What changed between two snapshots of the same cloud (matched by id). */
export function diffSnapshots(before: OpenStackSnapshot, after: OpenStackSnapshot): StateChange[] {
  const b = new Map(resourcesOf(before).map((r) => [`${r.kind}\0${r.id}`, r]));
  const a = new Map(resourcesOf(after).map((r) => [`${r.kind}\0${r.id}`, r]));
  const out: StateChange[] = [];
  for (const [k, r] of a) {
    const old = b.get(k);
    if (!old) {
      out.push({ change: 'created', kind: r.kind, key: r.key });
      continue;
    }
    const fields: Record<string, [unknown, unknown]> = {};
    for (const f of new Set([...Object.keys(old.attrs), ...Object.keys(r.attrs)])) if (!same(old.attrs[f], r.attrs[f])) fields[f] = [old.attrs[f], r.attrs[f]];
    if (Object.keys(fields).length) out.push({ change: 'changed', kind: r.kind, key: r.key, fields });
  }
  for (const [k, r] of b) if (!a.has(k)) out.push({ change: 'deleted', kind: r.kind, key: r.key });
  return out.sort((x, y) => x.kind.localeCompare(y.kind) || x.key.localeCompare(y.key) || x.change.localeCompare(y.change));
}

export interface ChangeComparison {
  /** Changes both made, with the same fields changed to the same values (placement aside). */
  same: string[];
  /** Changes one side made and the other did not, or made differently. */
  differences: string[];
}

/** One change as a line, placement fields left out (they differ between clouds by design). */
export function changeLine(c: StateChange, withPlacement = false): string {
  const fields = Object.entries(c.fields ?? {})
    .filter(([f]) => withPlacement || !PLACEMENT_FIELDS.has(f))
    .map(([f, [x, y]]) => `${f}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
  return `${c.change} ${c.key}${fields.length ? ` (${fields.join(', ')})` : ''}`;
}

/**
 * Set the changes two clouds went through side by side: a twin's rehearsal and the real run,
 * matched by label (kind and names), ignoring placement (which compute, which address).
 */
export function compareChanges(twin: StateChange[], real: StateChange[]): ChangeComparison {
  const lines = (cs: StateChange[]) => cs.map((c) => changeLine(c)).filter((l, _i) => !/^changed [^(]*$/.test(l));
  const t = lines(twin);
  const r = lines(real);
  const rest = [...r];
  const same: string[] = [];
  const differences: string[] = [];
  for (const l of t) {
    const i = rest.indexOf(l);
    if (i >= 0) {
      same.push(l);
      rest.splice(i, 1);
    } else differences.push(`twin only: ${l}`);
  }
  for (const l of rest) differences.push(`real only: ${l}`);
  return { same, differences };
}

/** Counts by change and primary kind: "servers: 2 created". */
export function changeCounts(cs: StateChange[]): { created: number; changed: number; deleted: number; byKind: Record<string, Record<string, number>> } {
  const byKind: Record<string, Record<string, number>> = {};
  let created = 0;
  let changed = 0;
  let deleted = 0;
  for (const c of cs) {
    if (!PRIMARY_KINDS.includes(c.kind)) continue;
    if (c.change === 'changed' && !Object.keys(c.fields ?? {}).some((f) => !PLACEMENT_FIELDS.has(f) || c.kind === 'server')) continue;
    (byKind[c.kind] ??= {})[c.change] = (byKind[c.kind][c.change] ?? 0) + 1;
    if (c.change === 'created') created++;
    else if (c.change === 'changed') changed++;
    else deleted++;
  }
  return { created, changed, deleted, byKind };
}

/** What a plan said about a step, as a rehearsal sets it beside what the twin did. */
export interface PlannedStep {
  path: string;
  action?: string;
  effect?: string;
  summary?: string;
  diff?: string;
}

/** A step of the twin's run, as the rehearsal report shows it. */
export interface RehearsedStep {
  path: string;
  action?: string;
  state: string;
  /** How the rehearsal worker ran its action (workers/rehearsal.ts). */
  mode?: string;
  summary?: string;
  error?: string;
}

export interface PlanComparison {
  /** Twin changes whose resource a changing step of the plan names. */
  asPlanned: { change: string; step: string }[];
  /** Twin changes no planned step names: what the plan did not show. */
  notInPlan: string[];
  /** Changing steps of the plan that did not succeed on the twin. */
  notDone: { step: string; effect: string; state: string }[];
}

/** The name inside a change's label: "server web-1" → "web-1"; "member of pool lb/web: web-1:80" → "web-1". */
export function changedName(c: StateChange): string {
  const k = c.key.replace(/ #\d+$/, '');
  const m = /^member of pool .*: (.+):\d+$/.exec(k) ?? /^compute service [^@]+@(.+)$/.exec(k) ?? /^port (?:.* )?of server (\S+)/.exec(k) ?? /^[a-z ]+? (?:of |on )?(\S+)(?: of .*)?$/.exec(k);
  return m ? m[1].replace(/^.*\//, '') : k;
}

/**
 * Set the twin's changes beside the plan: each change is "as planned" when a changing step of
 * the plan names its resource (in its summary, diff or input), else "not in the plan"; a changing
 * step that did not succeed on the twin is "not done".
 */
export function compareWithPlan(plan: readonly (PlannedStep & { input?: unknown })[], run: readonly RehearsedStep[], changes: readonly StateChange[]): PlanComparison {
  const changing = plan.filter((s) => s.effect && s.effect !== 'none');
  const steps = changing.map((s) => ({ path: s.path, action: s.action ?? '', effect: s.effect!, text: `${s.summary ?? ''}\n${s.diff ?? ''}\n${JSON.stringify(s.input ?? '')}` }));
  const asPlanned: PlanComparison['asPlanned'] = [];
  const notInPlan: string[] = [];
  for (const c of changes) {
    if (!PRIMARY_KINDS.includes(c.kind)) continue;
    if (c.change === 'changed' && !Object.keys(c.fields ?? {}).length) continue;
    const line = changeLine(c, true);
    const name = changedName(c);
    // A step of the resource's own kind whose effect allows the change, naming it if one does
    // (a name can be "known after apply" in the plan); else any changing step that names it.
    const fits = steps.filter((s) => (KIND_SLUG[c.kind] ?? []).some((slug) => s.action.includes(slug)) && EFFECTS[c.change].includes(s.effect));
    const hit = fits.find((s) => name && s.text.includes(name)) ?? fits[0] ?? steps.find((s) => name && s.text.includes(name));
    if (hit) asPlanned.push({ change: line, step: hit.path });
    else notInPlan.push(line);
  }
  const notDone: PlanComparison['notDone'] = [];
  for (const s of changing) {
    // A foreach step is planned once ("each[*].x"); it is done when every item's step succeeded.
    const re = new RegExp(`^${s.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\[\\\*\\\]/g, '\\[\\d+\\]')}$`);
    const states = run.filter((r) => re.test(r.path)).map((r) => r.state);
    const bad = states.find((st) => st !== 'succeeded');
    if (!states.length || bad) notDone.push({ step: s.path, effect: s.effect!, state: bad ?? 'not reached' });
  }
  return { asPlanned, notInPlan, notDone };
}

/** The action-name parts that act on a kind (openstack.<slug>.…); a drain moves servers. */
const KIND_SLUG: Record<string, string[]> = {
  server: ['.server.', '.compute-host.'],
  'security group': ['.security-group'],
  network: ['.network.'],
  subnet: ['.subnet.'],
  router: ['.router.'],
  'floating IP': ['.floating-ip.'],
  'load balancer': ['.loadbalancer.'],
  listener: ['.listener.'],
  pool: ['.pool.'],
  member: ['.member.'],
  'health monitor': ['.healthmonitor.'],
  'compute service': ['.compute-service.'],
};

/** Which planned effects account for a change. */
const EFFECTS: Record<StateChange['change'], string[]> = { created: ['create', 'change'], deleted: ['destroy', 'change'], changed: ['change', 'create', 'destroy'] };
