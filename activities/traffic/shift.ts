/**
 * traffic.shift: give one cluster of an Active-Active set a share of traffic (0-100 % of its full
 * weight) on every steering backend at once: PowerDNS (the service name's A/AAAA records),
 * HAProxy (server weight and drain, runtime API) and Octavia (pool member weights). Failover
 * sets 0; failback walks 25 → 50 → 100 with checks in between. One action for all backends, so a
 * runbook names the cluster and its backends once, and a compensation can undo it in one call.
 *
 * Idempotent: each backend is read first and written only when it differs; `changed` and a
 * per-backend before/after say what moved. Full weight is the backend's own notion: HAProxy's
 * initial weight (from its config), Octavia's highest weight among the other clusters' members
 * (or `fullWeight`), DNS is on/off (the addresses are in the RRset or not).
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction, type ActionContext } from '../define';
import { getRRset, replaceRRset } from '../../lib/pdns';
import { readServer, runtimeSet } from '../../lib/haproxy';
import { PdnsConnection, names, pdnsTarget } from './dns-common';
import { RuntimeConnection, runtimeApi } from './haproxy-common';
import { desiredRecords, normalizeContent } from './dns-records-set';
import { target as osTarget, withClient } from '../openstack/common';
import { getPool, mutate, poolLb } from '../openstack/loadbalancer/lb';

const ClusterMap = z.record(z.string().min(1), z.array(z.string().min(1)).min(1));

const DnsBackend = z.strictObject({
  kind: z.literal('dns'),
  ...PdnsConnection,
  addresses: ClusterMap.describe('cluster → its record contents (addresses) in the RRset.'),
});
const HaproxyBackend = z.strictObject({
  kind: z.literal('haproxy'),
  ...RuntimeConnection,
  backend: z.string().min(1),
  servers: ClusterMap.describe('cluster → its server names in the backend.'),
  fullWeight: z.number().int().min(1).max(256).optional().describe("100 % weight; default: the server's initial weight from the config."),
});
const OctaviaBackend = z.strictObject({
  kind: z.literal('octavia'),
  ...osTarget,
  pool: z.string().min(1).describe('Pool name or id.'),
  members: ClusterMap.describe('cluster → its member addresses in the pool.'),
  fullWeight: z.number().int().min(1).max(256).optional().describe("100 % weight; default: the highest weight of the other clusters' members (at least 1)."),
  timeout: z.number().int().min(1000).default(600_000).describe('ms to wait for the load balancer to be ACTIVE around the change.'),
});
export const SteeringBackend = z.discriminatedUnion('kind', [DnsBackend, HaproxyBackend, OctaviaBackend]);
export type SteeringBackend = z.output<typeof SteeringBackend>;

export const ShiftInput = z.strictObject({
  cluster: z.string().min(1).describe('The cluster whose share changes.'),
  weight: z.number().min(0).max(100).describe('Share in % of its full weight: 0 takes it out of service, 100 restores it.'),
  backends: z.array(SteeringBackend).min(1).describe('Every steering backend to change (dns, haproxy, octavia).'),
  dryRun: z.boolean().default(false),
});
type Input = z.output<typeof ShiftInput>;

export interface BackendShift {
  kind: SteeringBackend['kind'];
  target: string;
  changed: boolean;
  before: unknown;
  after: unknown;
}

const scaled = (full: number, pct: number) => (pct <= 0 ? 0 : Math.max(1, Math.round((full * pct) / 100)));

function clusterEntries(map: Record<string, string[]>, cluster: string, what: string): string[] {
  const v = map[cluster];
  if (!v) throw ApplicationFailure.nonRetryable(`traffic.shift: ${what} lists no entry for cluster "${cluster}" (has: ${Object.keys(map).join(', ')})`, 'InvalidInput');
  return v;
}

async function shiftDns(b: z.output<typeof DnsBackend>, i: Input, ctx: ActionContext): Promise<BackendShift> {
  const mine = clusterEntries(b.addresses, i.cluster, 'dns.addresses');
  const { zone, name } = names(b);
  const t = pdnsTarget(b, ctx.signal);
  const current = await getRRset(t, zone, name, b.type);
  const before = (current?.records ?? []).map((r) => normalizeContent(b.type, r)).sort();
  const after = desiredRecords(b.type, before, i.weight > 0 ? { add: mine } : { remove: mine });
  if (!after.length) {
    throw ApplicationFailure.nonRetryable(`traffic.shift: taking ${i.cluster} out of ${name} would leave it with no records; refusing (no healthy cluster left in DNS)`, 'DnsWouldBeEmpty');
  }
  const changed = before.join() !== after.join();
  if (changed && !i.dryRun) {
    await replaceRRset(t, zone, name, b.type, current?.ttl ?? 60, after);
    const now = ((await getRRset(t, zone, name, b.type))?.records ?? []).map((r) => normalizeContent(b.type, r)).sort();
    if (now.join() !== after.join()) throw new Error(`traffic.shift: ${name} holds [${now}] after the update, expected [${after}]`);
  }
  return { kind: 'dns', target: `${b.type} ${name}`, changed, before, after };
}

async function shiftHaproxy(b: z.output<typeof HaproxyBackend>, i: Input, ctx: ActionContext): Promise<BackendShift> {
  const api = runtimeApi(b, ctx.signal);
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  let changed = false;
  for (const server of clusterEntries(b.servers, i.cluster, 'haproxy.servers')) {
    const s = await readServer(api, b.backend, server);
    const weight = scaled(b.fullWeight ?? s.initialWeight, i.weight);
    // 0 %: drain (no new sessions, health checks go on); otherwise ready at the scaled weight.
    const admin = i.weight > 0 ? 'ready' : 'drain';
    const wantWeight = i.weight > 0 ? weight : s.weight;
    before[server] = { admin: s.admin, weight: s.weight };
    after[server] = { admin, weight: wantWeight };
    if (s.admin === admin && s.weight === wantWeight) continue;
    changed = true;
    if (i.dryRun) continue;
    // Weight first, then admin state, so a server coming back starts at its reduced share.
    if (s.weight !== wantWeight) await runtimeSet(api, `set server ${b.backend}/${server} weight ${wantWeight}`);
    if (s.admin !== admin) await runtimeSet(api, `set server ${b.backend}/${server} state ${admin}`);
    const now = await readServer(api, b.backend, server);
    if (now.admin !== admin || now.weight !== wantWeight) {
      throw new Error(`traffic.shift: haproxy ${b.backend}/${server} is ${now.admin} weight ${now.weight} after the update, expected ${admin} weight ${wantWeight}`);
    }
  }
  return { kind: 'haproxy', target: `${b.backend} via ${b.socket}`, changed, before, after };
}

async function shiftOctavia(b: z.output<typeof OctaviaBackend>, i: Input, ctx: ActionContext): Promise<BackendShift> {
  const mine = new Set(clusterEntries(b.members, i.cluster, 'octavia.members'));
  const others = new Set(Object.entries(b.members).filter(([k]) => k !== i.cluster).flatMap(([, v]) => v));
  return withClient(`traffic.shift octavia ${b.pool}`, b, ctx, async (c) => {
    const pool = await getPool(c, b.pool);
    const members: any[] = await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
    const targets = members.filter((m) => mine.has(m.address));
    if (!targets.length) throw ApplicationFailure.nonRetryable(`traffic.shift: pool ${b.pool} has no member with the addresses of ${i.cluster} (${[...mine].join(', ')})`, 'InvalidInput');
    const full = b.fullWeight ?? Math.max(1, ...members.filter((m) => others.has(m.address)).map((m) => Number(m.weight) || 0));
    const weight = scaled(full, i.weight);
    const before = Object.fromEntries(targets.map((m) => [`${m.address}:${m.protocol_port}`, m.weight]));
    const after = Object.fromEntries(targets.map((m) => [`${m.address}:${m.protocol_port}`, weight]));
    const todo = targets.filter((m) => m.weight !== weight);
    if (todo.length && !i.dryRun) {
      // One member at a time: Octavia refuses changes while the load balancer is PENDING_UPDATE.
      for (const m of todo) {
        await mutate(c, ctx, poolLb(pool), b.timeout, async () => (await c.put('load-balancer', `/lbaas/pools/${pool.id}/members/${m.id}`, { member: { weight } })).body.member);
      }
    }
    return { kind: 'octavia' as const, target: `pool ${b.pool} on ${b.cloud}`, changed: todo.length > 0, before, after };
  });
}

export default defineAction({
  name: 'traffic.shift',
  description: "Set one cluster's share of traffic (0-100 %) on DNS (PowerDNS), HAProxy and Octavia at once; idempotent, returns changed + before/after per backend.",
  input: ShiftInput,
  async run(i, ctx) {
    const results: BackendShift[] = [];
    for (const b of i.backends) {
      ctx.heartbeat({ backend: b.kind });
      if (b.kind === 'dns') results.push(await shiftDns(b, i, ctx));
      else if (b.kind === 'haproxy') results.push(await shiftHaproxy(b, i, ctx));
      else results.push(await shiftOctavia(b, i, ctx));
    }
    const changed = results.some((r) => r.changed);
    if (changed) ctx.log(`traffic.shift ${i.cluster} → ${i.weight}%: ${results.filter((r) => r.changed).map((r) => `${r.kind} ${r.target}`).join('; ')}`);
    return { cluster: i.cluster, weight: i.weight, changed, dryRun: i.dryRun, at: new Date().toISOString(), backends: results };
  },
  plan: (i) => `${i.dryRun ? 'dry run: ' : ''}set ${i.cluster} to ${i.weight}% of its traffic on ${i.backends.map((b) => b.kind).join(', ')}`,
});
