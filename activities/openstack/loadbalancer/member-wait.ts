/** `openstack.member.wait`: wait until members report an operating status (ONLINE by default) in their pool. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { Duration, ms, poll, target, withClient } from '../common';
import { getPool, memberSummary } from './lb';

export default defineAction({
  name: 'openstack.member.wait',
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
      let last: any[] = [];
      const members = await poll(
        ctx,
        { timeoutMs: ms(input.timeout), what: `members of pool ${pool.name || pool.id} to be ${input.operatingStatus.join('/')}`, intervalMs: 100, maxIntervalMs: 1000 },
        async () => {
          const all = await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
          const wanted = input.addresses.length ? all.filter((m: any) => input.addresses.includes(m.address)) : all;
          last = wanted;
          const missing = input.addresses.filter((a) => !all.some((m: any) => m.address === a));
          if (missing.length) throw new OpenStackError(`pool ${pool.name || pool.id} has no member ${missing.join(', ')}`, { kind: 'not-found' });
          const bad = wanted.find((m: any) => m.provisioning_status === 'ERROR');
          if (bad) throw new OpenStackError(`member ${bad.address}:${bad.protocol_port} is in provisioning_status ERROR`, { kind: 'resource-error' });
          return wanted.every((m: any) => m.provisioning_status === 'ACTIVE' && input.operatingStatus.includes(m.operating_status)) ? wanted : undefined;
        },
        () => ({ members: last.map((m: any) => `${m.address}:${m.operating_status}`) }),
      );
      return { poolId: pool.id, members: members.map(memberSummary), changed: false };
    });
  },
  plan: (i) => `wait for ${i.addresses.length ? i.addresses.join(', ') : 'all members'} of pool ${i.pool} to be ${i.operatingStatus.join('/')}`,
});
