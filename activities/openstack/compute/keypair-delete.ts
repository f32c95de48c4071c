/** `openstack.keypair.delete`: delete a keypair by name (absent is fine). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Skip, target, withClient } from '../common';

export default defineAction({
  name: 'openstack.keypair.delete',
  description: 'Delete a Nova keypair by name (404 = already deleted); `skip` for compensations.',
  input: z.strictObject({ ...target, name: z.string().min(1), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { name: input.name, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.keypair.delete ${input.name}`, input, ctx, async (c) => {
      const deleted = await c.deleteIfExists('compute', `/os-keypairs/${encodeURIComponent(input.name)}`);
      return { name: input.name, deleted, changed: deleted };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep keypair ${i.name}` : `delete keypair ${i.name}`),
});
