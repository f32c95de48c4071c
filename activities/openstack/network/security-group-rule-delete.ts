/** `openstack.security-group-rule.delete`: delete a rule by id (404 is fine). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Skip, target, withClient } from '../common';

export default defineAction({
  name: 'openstack.security-group-rule.delete',
  description: 'Delete a security group rule by id (404 = already deleted); `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.security-group-rule.delete ${input.id}`, input, ctx, async (c) => {
      const deleted = await c.deleteIfExists('network', `/security-group-rules/${input.id}`);
      return { id: input.id, deleted, changed: deleted };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep rule ${i.id}` : `delete security group rule ${i.id}`),
});
