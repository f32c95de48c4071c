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
import type { CheckablePlugin } from '../plugin';
import { getRRset, replaceRRset } from './pdns-client';
import { readServer, readServers, runtimeSet } from './haproxy-client';
import { PdnsConnection, names, pdnsTarget } from './dns-common';
import { RuntimeConnection, runtimeApi } from './haproxy-common';
import { desiredRecords, normalizeContent } from './dns-records-set';
import { target as osTarget, withClient } from '../openstack/common';
import { getPool, mutate, poolLb } from '../openstack/loadbalancer/lb';
import { httpCheck } from '../probe/check';
import { firstBefore } from './first-before';
import { msField } from '../../dsl/duration';

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
  timeout: msField(1000, Number.MAX_SAFE_INTEGER).default(600_000).describe('How long to wait for the load balancer to be ACTIVE around the change: milliseconds or a duration (default 10m).'),
});
const BACKEND_SCHEMAS = { dns: DnsBackend, haproxy: HaproxyBackend, octavia: OctaviaBackend };
export const SteeringBackend = z.discriminatedUnion('kind', [DnsBackend, HaproxyBackend, OctaviaBackend]);
export type SteeringBackend = z.output<typeof SteeringBackend>;

export const ShiftInput = z.strictObject({
  cluster: z.string().min(1).describe('The cluster whose share changes.'),
  weight: z.number().min(0).max(100).describe('Share in % of its full weight: 0 takes it out of service, 100 restores it.'),
  backends: z.array(SteeringBackend).min(1).describe('Every steering backend to change (dns, haproxy, octavia).'),
  healthUrl: z.url({ protocol: /^https?$/ }).optional().describe('When raising the share: first check the cluster answers 2xx here (twice), so traffic never goes back to a sick cluster.'),
  onUnhealthy: z.enum(['fail', 'skip']).default('fail').describe('What a failed healthUrl check does: fail the step, or change nothing and report skipped (for compensations).'),
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

/** One backend's change, planned from what it holds now; `apply` writes it and checks it took. */
export interface Planned {
  kind: SteeringBackend['kind'];
  target: string;
  before: unknown;
  after: unknown;
  needed: boolean;
  apply(): Promise<void>;
}

/** The share one shift asks of every backend. */
export interface ShiftTarget {
  cluster: string;
  weight: number;
}

/** What a traffic backend's run and dry run see: the step's context and the share asked for. */
export interface TrafficContext extends ActionContext {
  shift: ShiftTarget;
}

/**
 * A traffic backend (a `kind` of traffic.shift's `backends`) is a Plugin (activities/plugin.ts):
 * `plan` reads what the backend holds now and says what it would write; `run` is plan, then
 * apply when needed; the dry run is plan alone.
 */
export interface TrafficBackend<S extends z.ZodTypeAny = z.ZodTypeAny> extends CheckablePlugin<S, TrafficContext, BackendShift> {
  plan(b: z.output<S>, shift: ShiftTarget, ctx: ActionContext): Promise<Planned>;
}

function defineTrafficBackend<S extends z.ZodTypeAny>(d: { name: SteeringBackend['kind']; description: string; input: S; plan: TrafficBackend<S>['plan'] }): TrafficBackend<S> {
  return {
    ...d,
    async run(b, ctx) {
      const p = await d.plan(b, ctx.shift, ctx);
      if (p.needed) await p.apply();
      return { kind: p.kind, target: p.target, changed: p.needed, before: p.before, after: p.after };
    },
    async dryRun(b, ctx) {
      const p = await d.plan(b, ctx.shift, ctx);
      return { changed: p.needed, summary: `${p.kind} ${p.target}: ${p.needed ? 'would change' : 'no change'}`, ...(p.needed ? { diff: `- ${JSON.stringify(p.before)}\n+ ${JSON.stringify(p.after)}` } : {}) };
    },
  };
}

const scaled = (full: number, pct: number) => (pct <= 0 ? 0 : Math.max(1, Math.round((full * pct) / 100)));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function entriesFor(b: SteeringBackend): Record<string, string[]> {
  return b.kind === 'dns' ? b.addresses : b.kind === 'haproxy' ? b.servers : b.members;
}

async function planDns(b: z.output<typeof DnsBackend>, i: ShiftTarget, ctx: ActionContext): Promise<Planned> {
  const mine = b.addresses[i.cluster];
  const { zone, name } = names(b);
  const t = pdnsTarget(b, ctx.signal);
  const current = await getRRset(t, zone, name, b.type);
  const before = (current?.records ?? []).map((r) => normalizeContent(b.type, r)).sort();
  // DNS has no weights: any share above 0 puts all of the cluster's addresses back.
  const after = desiredRecords(b.type, before, i.weight > 0 ? { add: mine } : { remove: mine });
  if (!after.length) {
    throw ApplicationFailure.nonRetryable(`traffic.shift: taking ${i.cluster} out of ${name} would leave it with no records; refusing (no healthy cluster left in DNS)`, 'WouldBeEmpty');
  }
  return {
    kind: 'dns',
    target: `${b.type} ${name}`,
    before,
    after,
    needed: !same(before, after),
    async apply() {
      await replaceRRset(t, zone, name, b.type, current?.ttl ?? 60, after);
      const now = ((await getRRset(t, zone, name, b.type))?.records ?? []).map((r) => normalizeContent(b.type, r)).sort();
      if (!same(now, after)) throw new Error(`traffic.shift: ${name} holds [${now}] after the update, expected [${after}]`);
    },
  };
}

async function planHaproxy(b: z.output<typeof HaproxyBackend>, i: ShiftTarget, ctx: ActionContext): Promise<Planned> {
  const api = runtimeApi(b, ctx.signal);
  const all = await readServers(api, b.backend);
  const mine = b.servers[i.cluster];
  const before: Record<string, { admin: string; weight: number }> = {};
  const after: Record<string, { admin: string; weight: number }> = {};
  for (const server of mine) {
    const s = all.find((x) => x.server === server);
    if (!s) throw ApplicationFailure.nonRetryable(`traffic.shift: haproxy backend ${b.backend} has no server "${server}"`, 'InvalidInput');
    // 0 %: drain (no new sessions, health checks go on); otherwise ready at the scaled weight.
    before[server] = { admin: s.admin, weight: s.weight };
    after[server] = i.weight > 0 ? { admin: 'ready', weight: scaled(b.fullWeight ?? s.initialWeight, i.weight) } : { admin: 'drain', weight: s.weight };
  }
  if (i.weight === 0 && !all.some((s) => !mine.includes(s.server) && s.admin === 'ready' && s.weight > 0)) {
    throw ApplicationFailure.nonRetryable(`traffic.shift: draining ${i.cluster} would leave haproxy backend ${b.backend} with no ready server; refusing`, 'WouldBeEmpty');
  }
  return {
    kind: 'haproxy',
    target: `${b.backend} via ${b.socket}`,
    before,
    after,
    needed: !same(before, after),
    async apply() {
      for (const server of mine) {
        const want = after[server];
        const s = await readServer(api, b.backend, server);
        // Weight first, then admin state, so a server coming back starts at its reduced share.
        if (s.weight !== want.weight) await runtimeSet(api, `set server ${b.backend}/${server} weight ${want.weight}`);
        if (s.admin !== want.admin) await runtimeSet(api, `set server ${b.backend}/${server} state ${want.admin}`);
        const now = await readServer(api, b.backend, server);
        if (now.admin !== want.admin || now.weight !== want.weight) {
          throw new Error(`traffic.shift: haproxy ${b.backend}/${server} is ${now.admin} weight ${now.weight} after the update, expected ${want.admin} weight ${want.weight}`);
        }
      }
    },
  };
}

async function planOctavia(b: z.output<typeof OctaviaBackend>, i: ShiftTarget, ctx: ActionContext): Promise<Planned> {
  const mine = new Set(b.members[i.cluster]);
  const others = new Set(Object.entries(b.members).filter(([k]) => k !== i.cluster).flatMap(([, v]) => v));
  return withClient(`traffic.shift octavia ${b.pool}`, b, ctx, async (c) => {
    const pool = await getPool(c, b.pool);
    const members: any[] = await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
    const targets = members.filter((m) => mine.has(m.address));
    if (!targets.length) throw ApplicationFailure.nonRetryable(`traffic.shift: pool ${b.pool} has no member with the addresses of ${i.cluster} (${[...mine].join(', ')})`, 'InvalidInput');
    const peers = members.filter((m) => others.has(m.address));
    if (i.weight === 0 && !peers.some((m) => Number(m.weight) > 0)) {
      throw ApplicationFailure.nonRetryable(`traffic.shift: taking ${i.cluster} out of pool ${b.pool} would leave no member with weight > 0; refusing`, 'WouldBeEmpty');
    }
    const full = b.fullWeight ?? Math.max(1, ...peers.map((m) => Number(m.weight) || 0));
    const weight = scaled(full, i.weight);
    const key = (m: any) => `${m.address}:${m.protocol_port}`;
    const before = Object.fromEntries(targets.map((m) => [key(m), m.weight]));
    const after = Object.fromEntries(targets.map((m) => [key(m), weight]));
    return {
      kind: 'octavia' as const,
      target: `pool ${b.pool} on ${b.cloud}`,
      before,
      after,
      needed: !same(before, after),
      apply: () =>
        withClient(`traffic.shift octavia ${b.pool}`, b, ctx, async (c2) => {
          // One member at a time: Octavia refuses changes while the load balancer is PENDING_UPDATE.
          for (const m of targets.filter((t) => t.weight !== weight)) {
            await mutate(c2, ctx, poolLb(pool), b.timeout, async () => (await c2.put('load-balancer', `/lbaas/pools/${pool.id}/members/${m.id}`, { member: { weight } })).body.member);
          }
        }),
    };
  });
}

/** Every steering backend traffic.shift knows, by `kind`. */
export const TRAFFIC_BACKENDS: { readonly [K in SteeringBackend['kind']]: TrafficBackend<typeof BACKEND_SCHEMAS[K]> } = {
  dns: defineTrafficBackend({ name: 'dns', description: "PowerDNS: the cluster's addresses in the service name's RRset (on above 0 %, off at 0 %).", input: DnsBackend, plan: planDns }),
  haproxy: defineTrafficBackend({ name: 'haproxy', description: "HAProxy runtime API: the cluster's servers at a scaled weight, drained at 0 %.", input: HaproxyBackend, plan: planHaproxy }),
  octavia: defineTrafficBackend({ name: 'octavia', description: "Octavia: the weight of the cluster's pool members.", input: OctaviaBackend, plan: planOctavia }),
};

function planFor(b: SteeringBackend, i: ShiftTarget, ctx: ActionContext): Promise<Planned> {
  return b.kind === 'dns' ? TRAFFIC_BACKENDS.dns.plan(b, i, ctx) : b.kind === 'haproxy' ? TRAFFIC_BACKENDS.haproxy.plan(b, i, ctx) : TRAFFIC_BACKENDS.octavia.plan(b, i, ctx);
}

async function healthy(url: string, signal: AbortSignal): Promise<string | null> {
  for (let n = 0; n < 2; n++) {
    const r = await httpCheck({ url, method: 'GET', headers: {}, timeoutMs: 2000, signal });
    if (r.status === null || r.status < 200 || r.status >= 300) return r.error ?? `HTTP ${r.status}`;
  }
  return null;
}

const trafficShift = defineAction({
  name: 'traffic.shift',
  description: "Set one cluster's share of traffic (0-100 %) on DNS (PowerDNS), HAProxy and Octavia at once; idempotent, returns changed + before/after per backend.",
  input: ShiftInput,
  async run(i, ctx) {
    // Every backend must know the cluster before anything changes: never a half-done shift.
    for (const b of i.backends) {
      if (!entriesFor(b)[i.cluster]) throw ApplicationFailure.nonRetryable(`traffic.shift: the ${b.kind} backend lists no entry for cluster "${i.cluster}" (has: ${Object.keys(entriesFor(b)).join(', ')})`, 'InvalidInput');
    }
    const at = () => new Date().toISOString();
    if (i.weight > 0 && i.healthUrl) {
      const sick = await healthy(i.healthUrl, ctx.signal);
      if (sick) {
        const msg = `traffic.shift: ${i.cluster} is not healthy (${i.healthUrl}: ${sick}); not raising its share to ${i.weight}%`;
        if (i.onUnhealthy === 'fail') throw ApplicationFailure.nonRetryable(msg, 'ClusterUnhealthy');
        ctx.log(msg);
        return { cluster: i.cluster, weight: i.weight, changed: false, skipped: msg, dryRun: i.dryRun, at: at(), backends: [] };
      }
    }
    const plans: Planned[] = [];
    for (const b of i.backends) {
      ctx.heartbeat();
      plans.push(await planFor(b, i, ctx));
    }
    // Report against what the first attempt saw, so a retry after a change that landed still says so.
    const firstSeen = i.dryRun ? plans.map((p) => p.before) : firstBefore(ctx, plans.map((p) => p.before));
    const backends: BackendShift[] = plans.map((p, n) => ({ kind: p.kind, target: p.target, changed: !same(firstSeen[n], p.after), before: firstSeen[n], after: p.after }));
    if (!i.dryRun) {
      for (const p of plans.filter((x) => x.needed)) {
        ctx.heartbeat({ before: firstSeen });
        await p.apply();
      }
    }
    const changed = backends.some((r) => r.changed);
    if (changed && !i.dryRun) ctx.log(`traffic.shift ${i.cluster} → ${i.weight}%: ${backends.filter((r) => r.changed).map((r) => `${r.kind} ${r.target}`).join('; ')}`);
    return { cluster: i.cluster, weight: i.weight, changed, dryRun: i.dryRun, at: at(), backends };
  },
  /**
   * What the shift would change, per backend: its state before and after (records, weights,
   * admin states), the diff a plan shows and an apply re-checks.
   */
  async dryRun(i, ctx) {
    const out = (await trafficShift.run({ ...i, dryRun: true }, ctx)) as { changed: boolean; skipped?: string; backends: BackendShift[] };
    // A step that is itself a dry run (a preflight) changes nothing when it runs.
    if (i.dryRun) return { changed: false, effect: 'none', summary: `dry run only: checks every backend knows ${i.cluster}; changes nothing` };
    const lines = out.backends.filter((b) => b.changed).flatMap((b) => [`~ ${b.kind} ${b.target}`, `    - ${JSON.stringify(b.before)}`, `    + ${JSON.stringify(b.after)}`]);
    const summary = out.skipped ?? (out.changed ? `${i.cluster} to ${i.weight}%: would change ${out.backends.filter((b) => b.changed).map((b) => `${b.kind} ${b.target}`).join('; ')}` : `${i.cluster} is at ${i.weight}% on every backend already`);
    return { changed: out.changed, effect: out.changed ? 'change' : 'none', summary, ...(lines.length ? { diff: lines.join('\n') } : {}) };
  },
  plan: (i) => `${i.dryRun ? 'dry run: ' : ''}set ${i.cluster} to ${i.weight}% of its traffic on ${i.backends.map((b) => b.kind).join(', ')}`,
});

export default trafficShift;
