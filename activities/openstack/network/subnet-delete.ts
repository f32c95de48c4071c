/** `openstack.subnet.delete`: delete a subnet (404 is fine; SubnetInUse 409 is retried). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Skip, target, withClient } from '../common';

export default defineAction({
  name: 'openstack.subnet.delete',
  description: 'Delete a subnet by id (404 = already deleted); `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.subnet.delete ${input.id}`, input, ctx, async (c) => {
      const deleted = await c.deleteIfExists('network', `/subnets/${input.id}`);
      return { id: input.id, deleted, changed: deleted };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep subnet ${i.id}` : `delete subnet ${i.id}`),
});
