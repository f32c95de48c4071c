/** `openstack.member.update`: change a member's weight (0 drains it), admin state or name. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { notFound, Duration, ms, target, withClient } from '../common';
import { getPool, memberSummary, mutate, poolLb } from './lb';

export default defineAction({
  name: 'openstack.member.update',
  description: 'Set a member\'s weight (0 = drain), adminStateUp or name (member id, or address + protocolPort); outputs the previous weight.',
  input: z
    .strictObject({
      ...target,
      pool: z.string().min(1),
      id: z.string().default(''),
      address: z.string().default(''),
      protocolPort: z.number().int().optional(),
      weight: z.number().int().min(0).max(256).optional(),
      adminStateUp: z.boolean().optional(),
      name: z.string().optional(),
      timeout: Duration.default('10m'),
    })
    .refine((i) => i.id || (i.address && i.protocolPort), { message: 'give id, or address and protocolPort' }),
  async run(input, ctx) {
    return withClient(`openstack.member.update ${input.id || `${input.address}:${input.protocolPort}`}`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const m = input.id
        ? (await c.find('load-balancer', `/lbaas/pools/${pool.id}/members/${input.id}`))?.member
        : (await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members', { query: { address: input.address, protocol_port: input.protocolPort } }))[0];
      if (!m) throw notFound('member', input.id || `${input.address}:${input.protocolPort}`);
      const body: Record<string, unknown> = {};
      if (input.weight !== undefined && input.weight !== m.weight) body.weight = input.weight;
      if (input.adminStateUp !== undefined && input.adminStateUp !== m.admin_state_up) body.admin_state_up = input.adminStateUp;
      if (input.name !== undefined && input.name !== m.name) body.name = input.name;
      if (!Object.keys(body).length) return { ...memberSummary(m), previousWeight: m.weight, conflicts: 0, changed: false };
      const { result, conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), async () => (await c.put('load-balancer', `/lbaas/pools/${pool.id}/members/${m.id}`, { member: body })).body.member);
      return { ...memberSummary(result), previousWeight: m.weight, conflicts, changed: true };
    });
  },
  plan: (i) => `update member ${i.id || `${i.address}:${i.protocolPort}`} in ${i.pool}${i.weight !== undefined ? ` (weight ${i.weight})` : ''}`,
});
