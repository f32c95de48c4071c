/** `openstack.member.update`: change a member's weight (0 drains it), admin state or name. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { notFound, Duration, ms, target, withClient } from '../common';
import { findMember, getPool, memberRef, memberSummary, mutate, poolLb } from './lb';

/** The fields of the member that differ from the input (what the PUT sends). */
function changes(m: any, input: { weight?: number; adminStateUp?: boolean; name?: string }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (input.weight !== undefined && input.weight !== m.weight) body.weight = input.weight;
  if (input.adminStateUp !== undefined && input.adminStateUp !== m.admin_state_up) body.admin_state_up = input.adminStateUp;
  if (input.name !== undefined && input.name !== m.name) body.name = input.name;
  return body;
}

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
      const m = await findMember(c, pool.id, input);
      if (!m) throw notFound('member', memberRef(input));
      const body = changes(m, input);
      if (!Object.keys(body).length) return { ...memberSummary(m), previousWeight: m.weight, conflicts: 0, changed: false };
      const { result, conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), async () => (await c.put('load-balancer', `/lbaas/pools/${pool.id}/members/${m.id}`, { member: body })).body.member);
      return { ...memberSummary(result), previousWeight: m.weight, conflicts, changed: true };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.member.update ${memberRef(input)} (dry run)`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const m = await findMember(c, pool.id, input);
      if (!m) throw notFound('member', memberRef(input));
      const body = changes(m, input);
      if (!Object.keys(body).length) return { changed: false, effect: 'none', summary: `member ${memberRef(input)} in ${input.pool} is as wanted` };
      return { changed: true, effect: 'change', summary: `update member ${memberRef(input)} in ${input.pool}: ${Object.keys(body).join(', ')}`, diff: Object.entries(body).map(([k, v]) => `${k}: ${JSON.stringify(m[k])} -> ${JSON.stringify(v)}`).join('\n') };
    });
  },
  plan: (i) => `update member ${i.id || `${i.address}:${i.protocolPort}`} in ${i.pool}${i.weight !== undefined ? ` (weight ${i.weight})` : ''}`,
});
