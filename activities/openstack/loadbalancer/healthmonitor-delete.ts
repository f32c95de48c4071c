/** `openstack.healthmonitor.delete`: delete a health monitor (404 is fine). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, Skip, ms, target, withClient } from '../common';
import { mutate } from './lb';

export default defineAction({
  name: 'openstack.healthmonitor.delete',
  description: 'Delete a health monitor by id; waits for ACTIVE, retries 409; `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), timeout: Duration.default('10m'), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.healthmonitor.delete ${input.id}`, input, ctx, async (c) => {
      const hm = (await c.find('load-balancer', `/lbaas/healthmonitors/${input.id}`))?.healthmonitor;
      if (!hm) return { id: input.id, deleted: false, changed: false };
      const pool = (await c.get('load-balancer', `/lbaas/pools/${hm.pools[0].id}`)).body.pool;
      const { result } = await mutate(c, ctx, pool.loadbalancers[0].id, ms(input.timeout), () => c.deleteIfExists('load-balancer', `/lbaas/healthmonitors/${input.id}`));
      return { id: input.id, deleted: result, changed: result };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep health monitor ${i.id}` : `delete health monitor ${i.id}`),
});
