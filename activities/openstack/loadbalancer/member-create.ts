/**
 * `openstack.member.create`: add one member to a pool. Octavia allows one member per
 * address:port, so an existing one is adopted (created only if it carries this step's marker).
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, looksLikeId, ms, target, withClient, undoneBy } from '../common';
import { findSubnet } from '../network/neutron';
import { createDryRun, findMember, getPool, memberSummary, mutate, poolLb, tagsWith } from './lb';

export default defineAction({
  name: 'openstack.member.create',
  description: 'Add a member (address, port, weight) to a pool by name or id; an existing member with the same address:port is reused; retries 409.',
  input: z.strictObject({
    ...target,
    pool: z.string().min(1),
    address: z.string().min(1),
    protocolPort: z.number().int().min(1).max(65535),
    weight: z.number().int().min(0).max(256).default(1),
    name: z.string().default(''),
    subnet: z.string().default('').describe('Subnet name or id of the member address'),
    monitorAddress: z.string().default(''),
    tags: z.array(z.string()).default([]),
    timeout: Duration.default('10m'),
  }),
  inverse: undoneBy('openstack.member.delete', { pool: '{{ outputs.poolId }}', id: '{{ outputs.id }}' }),
  async run(input, ctx) {
    return withClient(`openstack.member.create ${input.address}:${input.protocolPort}`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const { tags, mark } = tagsWith(ctx, input.tags);
      const existing = await findMember(c, pool.id, input);
      if (existing) return { ...memberSummary(existing), poolId: pool.id, created: existing.tags?.includes(mark) ?? false, conflicts: 0, changed: false };
      const body: Record<string, unknown> = { address: input.address, protocol_port: input.protocolPort, weight: input.weight, tags };
      if (input.name) body.name = input.name;
      if (input.subnet) body.subnet_id = looksLikeId(input.subnet) ? input.subnet : (await findSubnet(c, input.subnet)).id;
      if (input.monitorAddress) body.monitor_address = input.monitorAddress;
      const { result, conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), async () => (await c.post('load-balancer', `/lbaas/pools/${pool.id}/members`, { member: body })).body.member);
      return { ...memberSummary(result), poolId: pool.id, created: true, conflicts, changed: true };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.member.create ${input.address}:${input.protocolPort} (dry run)`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const m = await findMember(c, pool.id, input);
      return createDryRun(`member ${input.address}:${input.protocolPort}`, `(weight ${input.weight}) in pool ${input.pool}`, m ? { resource: m } : undefined);
    });
  },
  plan: (i) => `add ${i.address}:${i.protocolPort} (weight ${i.weight}) to pool ${i.pool}`,
});
