/** `openstack.network.delete`: delete a network (and its subnets); 404 is fine, 409 "in use" is retried. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Skip, target, withClient } from '../common';

export default defineAction({
  name: 'openstack.network.delete',
  description: 'Delete a network by id (404 = already deleted; NetworkInUse 409 is retryable); `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.network.delete ${input.id}`, input, ctx, async (c) => {
      const deleted = await c.deleteIfExists('network', `/networks/${input.id}`);
      return { id: input.id, deleted, changed: deleted };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep network ${i.id}` : `delete network ${i.id}`),
});
