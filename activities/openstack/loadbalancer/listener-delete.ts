/** `openstack.listener.delete`: delete a listener (404 is fine), serialised with other changes to its load balancer. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, Skip, ms, target, withClient } from '../common';
import { mutate } from './lb';

export default defineAction({
  name: 'openstack.listener.delete',
  description: 'Delete a listener by id; waits for the load balancer to be ACTIVE, retries 409; `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), timeout: Duration.default('10m'), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.listener.delete ${input.id}`, input, ctx, async (c) => {
      const l = (await c.find('load-balancer', `/lbaas/listeners/${input.id}`))?.listener;
      if (!l) return { id: input.id, deleted: false, changed: false };
      const { result } = await mutate(c, ctx, l.loadbalancers[0].id, ms(input.timeout), () => c.deleteIfExists('load-balancer', `/lbaas/listeners/${input.id}`));
      return { id: input.id, deleted: result, changed: result };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep listener ${i.id}` : `delete listener ${i.id}`),
});
