/**
 * `openstack.member.batch`: add, re-weight and remove many members with one Octavia batch
 * update (PUT /pools/{id}/members), so N servers cost one load balancer update instead of N
 * serialised ones. Adds and weight changes only: `additive_only=true`; with removals, the
 * complete desired list is sent. Idempotent: members are matched by address:port.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, Skip, looksLikeId, ms, target, withClient } from '../common';
import { findSubnet } from '../network/neutron';
import { getPool, memberSummary, mutate, poolLb, tagsWith } from './lb';
import { waitMembers } from './member-wait';

const Add = z.strictObject({
  address: z.string().min(1),
  protocolPort: z.number().int().min(1).max(65535),
  weight: z.number().int().min(0).max(256).optional(),
  name: z.string().optional(),
  subnet: z.string().optional(),
  monitorAddress: z.string().optional(),
});
const Remove = z.union([z.string().min(1).describe('"address" (any port) or "address:port"'), z.strictObject({ address: z.string().min(1), protocolPort: z.number().int().min(1).max(65535) })]);

type BatchInput = { members: z.output<typeof Add>[]; remove: z.output<typeof Remove>[]; updateOnly: boolean; addresses: string[]; names: string[]; protocolPort: number; weight?: number; subnet: string };
interface BatchPlan {
  added: string[];
  updated: string[];
  removed: string[];
  /** The members to send (adds and updates). */
  wanted: Record<string, unknown>[];
  /** Current members that stay as they are (sent too when something is removed). */
  keep: any[];
}

const key = (a: string, p: number) => `${a}:${p}`;

/** `members` with the `addresses` shorthand expanded. */
function withAddresses<I extends BatchInput>(input: I): I {
  const fromAddresses = input.addresses.map((address, i) => ({
    address,
    protocolPort: input.protocolPort,
    ...(input.weight !== undefined ? { weight: input.weight } : {}),
    ...(input.names[i] ? { name: input.names[i] } : {}),
    ...(input.subnet ? { subnet: input.subnet } : {}),
  }));
  return { ...input, members: [...input.members, ...fromAddresses] };
}

/** What the batch update adds, re-weights and removes against the pool's current members. */
function planBatch(input: BatchInput, current: any[], tags: string[], subnetIds: Map<string, string>): BatchPlan {
  const removes = (m: { address: string; protocol_port: number }) =>
    input.remove.some((r) => (typeof r === 'string' ? (r.includes(':') ? r === key(m.address, m.protocol_port) : r === m.address) : r.address === m.address && r.protocolPort === m.protocol_port));
  const listed = (m: any) => input.members.some((w) => key(w.address, w.protocolPort) === key(m.address, m.protocol_port));
  const byKey = new Map(current.map((m: any) => [key(m.address, m.protocol_port), m]));
  const plan: BatchPlan = { added: [], updated: [], removed: [], wanted: [], keep: [] };
  plan.wanted = input.members.filter((m) => !input.updateOnly || byKey.has(key(m.address, m.protocolPort))).map((m) => {
    const cur = byKey.get(key(m.address, m.protocolPort));
    const out: Record<string, unknown> = { address: m.address, protocol_port: m.protocolPort };
    if (m.weight !== undefined) out.weight = m.weight;
    if (m.name !== undefined) out.name = m.name;
    if (m.monitorAddress) out.monitor_address = m.monitorAddress;
    if (!cur) {
      if (m.subnet) out.subnet_id = subnetIds.get(m.subnet);
      out.tags = tags;
      plan.added.push(key(m.address, m.protocolPort));
    } else if ((m.weight !== undefined && m.weight !== cur.weight) || (m.name !== undefined && m.name !== cur.name)) plan.updated.push(key(m.address, m.protocolPort));
    return out;
  });
  plan.removed = current.filter((m: any) => removes(m) && !listed(m)).map((m: any) => key(m.address, m.protocol_port));
  plan.keep = current.filter((m: any) => !removes(m) && !listed(m));
  return plan;
}

export default defineAction({
  name: 'openstack.member.batch',
  description: 'Batch-update a pool\'s members in one Octavia call: add/re-weight (`members`), remove (`remove`); waits for ACTIVE, retries 409; outputs member ids.',
  input: z.strictObject({
    ...target,
    pool: z.string().min(1).describe('Pool name or id'),
    members: z.array(Add).default([]).describe('Members to add or update (matched by address:port)'),
    addresses: z.array(z.string().min(1)).default([]).describe('Shorthand for members: these addresses with protocolPort/weight/subnet below (runbooks build lists of strings easily)'),
    names: z.array(z.string()).default([]).describe('Member names, in the order of addresses'),
    protocolPort: z.number().int().min(1).max(65535).default(80).describe('For addresses'),
    weight: z.number().int().min(0).max(256).optional().describe('For addresses'),
    subnet: z.string().default('').describe('For addresses: subnet name or id'),
    remove: z.array(Remove).default([]).describe('Members to remove'),
    updateOnly: z.boolean().default(false).describe('Only change members that exist (e.g. set weight 0 to drain); never add'),
    waitOnline: z.boolean().default(false).describe('Then wait until the members added or updated are ONLINE (NO_MONITOR without a health monitor)'),
    timeout: Duration.default('10m'),
    skip: Skip,
  }),
  async run(input, ctx) {
    if (input.skip) return { skipped: true, added: [], updated: [], removed: [], members: [], changed: false };
    input = withAddresses(input);
    return withClient(`openstack.member.batch ${input.pool}`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const { tags, mark } = tagsWith(ctx, []);
      const subnetIds = new Map<string, string>();
      for (const m of input.members) if (m.subnet && !subnetIds.has(m.subnet)) subnetIds.set(m.subnet, looksLikeId(m.subnet) ? m.subnet : (await findSubnet(c, m.subnet)).id);
      let plan: BatchPlan = { added: [], updated: [], removed: [], wanted: [], keep: [] };
      // With waitOnline the members' own ACTIVE/ONLINE is awaited below (Octavia settles children with the load balancer).
      const { conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), async () => {
        // Read the members inside the retry loop: a concurrent change may have landed meanwhile.
        plan = planBatch(input, await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members'), tags, subnetIds);
        if (!plan.added.length && !plan.updated.length && !plan.removed.length) return false;
        if (plan.removed.length) {
          // Octavia deletes what the list leaves out: send every member we keep, unchanged ones as they are.
          const full = [...plan.keep.map((m: any) => ({ address: m.address, protocol_port: m.protocol_port, weight: m.weight, name: m.name, ...(m.subnet_id ? { subnet_id: m.subnet_id } : {}) })), ...plan.wanted];
          await c.put('load-balancer', `/lbaas/pools/${pool.id}/members`, { members: full });
        } else await c.put('load-balancer', `/lbaas/pools/${pool.id}/members`, { members: plan.wanted }, { query: { additive_only: 'true' } });
        return true;
      }, !input.waitOnline);
      const after = input.waitOnline && input.members.length
        ? await waitMembers(c, ctx, pool, input.members.map((m) => m.address), ['ONLINE', 'NO_MONITOR'], ms(input.timeout))
        : await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
      // In the order they were given.
      const order = new Map(input.members.map((w, i) => [key(w.address, w.protocolPort), i]));
      const mine = after.filter((m: any) => order.has(key(m.address, m.protocol_port))).sort((a: any, b: any) => order.get(key(a.address, a.protocol_port))! - order.get(key(b.address, b.protocol_port))!);
      return {
        poolId: pool.id,
        loadbalancerId: poolLb(pool),
        // Members carrying this step's marker were added by it (also by an attempt before a crash):
        // the compensation removes exactly these.
        added: mine.filter((m: any) => m.tags?.includes(mark)).map((m: any) => key(m.address, m.protocol_port)),
        updated: plan.updated,
        removed: plan.removed,
        members: mine.map(memberSummary),
        memberIds: mine.map((m: any) => m.id),
        conflicts,
        changed: plan.added.length + plan.updated.length + plan.removed.length > 0,
      };
    });
  },
  async dryRun(raw, ctx) {
    if (raw.skip) return { changed: false, effect: 'none', summary: `pool ${raw.pool}: left as it is (skip)` };
    const input = withAddresses(raw);
    return withClient(`openstack.member.batch ${input.pool} (dry run)`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      // Subnets are only sent for added members; the dry run names them as given.
      const p = planBatch(input, await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members'), [], new Map());
      const diff = [...p.added.map((k) => `+ member ${k}`), ...p.updated.map((k) => `~ member ${k}`), ...p.removed.map((k) => `- member ${k}`)].join('\n');
      const changed = diff.length > 0;
      return { changed, effect: !changed ? 'none' : p.updated.length || p.removed.length ? 'change' : 'create', summary: changed ? `pool ${input.pool}: add ${p.added.length}, update ${p.updated.length}, remove ${p.removed.length}` : `pool ${input.pool}: members as wanted`, ...(changed ? { diff } : {}) };
    });
  },
  plan: (i) => (i.skip ? '(skip) leave the pool as it is' : `batch update pool ${i.pool}: ${i.members.length + i.addresses.length} ${i.updateOnly ? 'update' : 'add/update'}, ${i.remove.length} remove`),
});
