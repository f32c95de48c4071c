/** `openstack.member.wait`: wait until members report an operating status (ONLINE by default) in their pool. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { Duration, ms, poll, target, withClient } from '../common';
import type { ActionContext } from '../../define';
import type { OpenStackClient } from '../client';
import { getPool, memberSummary } from './lb';

/** Poll a pool's members until the given addresses (all if none) are ACTIVE and in one of the statuses. */
export async function waitMembers(c: OpenStackClient, ctx: ActionContext, pool: { id: string; name?: string }, addresses: string[], statuses: string[], timeoutMs: number): Promise<any[]> {
  let last: any[] = [];
  return poll(
    ctx,
    { timeoutMs, what: `members of pool ${pool.name || pool.id} to be ${statuses.join('/')}`, intervalMs: 50, maxIntervalMs: 1000, fastForMs: 3000 },
    async () => {
      const all = await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
      const wanted = addresses.length ? all.filter((m: any) => addresses.includes(m.address)) : all;
      last = wanted;
      const missing = addresses.filter((a) => !all.some((m: any) => m.address === a));
      if (missing.length) throw new OpenStackError(`pool ${pool.name || pool.id} has no member ${missing.join(', ')}`, { kind: 'not-found' });
      const bad = wanted.find((m: any) => m.provisioning_status === 'ERROR');
      if (bad) throw new OpenStackError(`member ${bad.address}:${bad.protocol_port} is in provisioning_status ERROR`, { kind: 'resource-error' });
      return wanted.every((m: any) => m.provisioning_status === 'ACTIVE' && statuses.includes(m.operating_status)) ? wanted : undefined;
    },
    () => ({ progress: `${last.filter((m: any) => m.provisioning_status === 'ACTIVE' && statuses.includes(m.operating_status)).length}/${last.length} member(s) ${statuses.join('/')}`, members: last.slice(0, 20).map((m: any) => `${m.address}:${m.operating_status}`) }),
  );
}

export default defineAction({
  name: 'openstack.member.wait',
  readOnly: true,
  description: 'Wait until the given members (addresses; default all) of a pool are ACTIVE and in one of the operating statuses (default ONLINE; NO_MONITOR counts when the pool has no health monitor).',
  input: z.strictObject({
    ...target,
    pool: z.string().min(1),
    addresses: z.array(z.string().min(1)).default([]),
    operatingStatus: z.array(z.enum(['ONLINE', 'DRAINING', 'OFFLINE', 'DEGRADED', 'ERROR', 'NO_MONITOR'])).default(['ONLINE', 'NO_MONITOR']),
    timeout: Duration.default('10m'),
  }),
  async run(input, ctx) {
    return withClient(`openstack.member.wait ${input.pool}`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const members = await waitMembers(c, ctx, pool, input.addresses, input.operatingStatus, ms(input.timeout));
      return { poolId: pool.id, members: members.map(memberSummary), changed: false };
    });
  },
  plan: (i) => `wait for ${i.addresses.length ? i.addresses.join(', ') : 'all members'} of pool ${i.pool} to be ${i.operatingStatus.join('/')}`,
});
