/** `openstack.pool.delete`: delete a pool with its members (404 is fine). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, Skip, ms, target, withClient } from '../common';
import { mutate, poolLb } from './lb';

export default defineAction({
  name: 'openstack.pool.delete',
  description: 'Delete a pool by id; waits for the load balancer to be ACTIVE, retries 409; `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), timeout: Duration.default('10m'), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.pool.delete ${input.id}`, input, ctx, async (c) => {
      const p = (await c.find('load-balancer', `/lbaas/pools/${input.id}`))?.pool;
      if (!p) return { id: input.id, deleted: false, changed: false };
      const { result } = await mutate(c, ctx, poolLb(p), ms(input.timeout), () => c.deleteIfExists('load-balancer', `/lbaas/pools/${input.id}`));
      return { id: input.id, deleted: result, changed: result };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep pool ${i.id}` : `delete pool ${i.id}`),
});
