/** `openstack.security-group.delete`: delete a security group (404 is fine; "in use" 409 is retried). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Skip, target, withClient } from '../common';

export default defineAction({
  name: 'openstack.security-group.delete',
  description: 'Delete a security group by id (404 = already deleted; SecurityGroupInUse 409 is retryable); `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.security-group.delete ${input.id}`, input, ctx, async (c) => {
      const deleted = await c.deleteIfExists('network', `/security-groups/${input.id}`);
      return { id: input.id, deleted, changed: deleted };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep security group ${i.id}` : `delete security group ${i.id}`),
});
