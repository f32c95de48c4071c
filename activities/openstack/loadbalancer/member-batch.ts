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
    const fromAddresses = input.addresses.map((address, i) => ({
      address,
      protocolPort: input.protocolPort,
      ...(input.weight !== undefined ? { weight: input.weight } : {}),
      ...(input.names[i] ? { name: input.names[i] } : {}),
      ...(input.subnet ? { subnet: input.subnet } : {}),
    }));
    input = { ...input, members: [...input.members, ...fromAddresses] };
    return withClient(`openstack.member.batch ${input.pool}`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const { tags, mark } = tagsWith(ctx, []);
      const subnetIds = new Map<string, string>();
      for (const m of input.members) if (m.subnet && !subnetIds.has(m.subnet)) subnetIds.set(m.subnet, looksLikeId(m.subnet) ? m.subnet : (await findSubnet(c, m.subnet)).id);
      const key = (a: string, p: number) => `${a}:${p}`;
      const removes = (m: { address: string; protocol_port: number }) =>
        input.remove.some((r) => (typeof r === 'string' ? (r.includes(':') ? r === key(m.address, m.protocol_port) : r === m.address) : r.address === m.address && r.protocolPort === m.protocol_port));
      let plan = { added: [] as string[], updated: [] as string[], removed: [] as string[] };
      // With waitOnline the members' own ACTIVE/ONLINE is awaited below (Octavia settles children with the load balancer).
      const { conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), async () => {
        // Read the members inside the retry loop: a concurrent change may have landed meanwhile.
        const current = await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
        const byKey = new Map(current.map((m: any) => [key(m.address, m.protocol_port), m]));
        plan = { added: [], updated: [], removed: [] };
        const wanted = input.members.filter((m) => !input.updateOnly || byKey.has(key(m.address, m.protocolPort))).map((m) => {
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
        const removed = current.filter((m: any) => removes(m) && !input.members.some((w) => key(w.address, w.protocolPort) === key(m.address, m.protocol_port)));
        plan.removed = removed.map((m: any) => key(m.address, m.protocol_port));
        if (!plan.added.length && !plan.updated.length && !plan.removed.length) return false;
        if (plan.removed.length) {
          // Octavia deletes what the list leaves out: send every member we keep, unchanged ones as they are.
          const keep = current.filter((m: any) => !removes(m) && !input.members.some((w) => key(w.address, w.protocolPort) === key(m.address, m.protocol_port)));
          const full = [...keep.map((m: any) => ({ address: m.address, protocol_port: m.protocol_port, weight: m.weight, name: m.name, ...(m.subnet_id ? { subnet_id: m.subnet_id } : {}) })), ...wanted];
          await c.put('load-balancer', `/lbaas/pools/${pool.id}/members`, { members: full });
        } else await c.put('load-balancer', `/lbaas/pools/${pool.id}/members`, { members: wanted }, { query: { additive_only: 'true' } });
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
  plan: (i) => (i.skip ? '(skip) leave the pool as it is' : `batch update pool ${i.pool}: ${i.members.length + i.addresses.length} ${i.updateOnly ? 'update' : 'add/update'}, ${i.remove.length} remove`),
});
