/** `openstack.flavor.list`: flavors with their sizes. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';

export default defineAction({
  name: 'openstack.flavor.list',
  readOnly: true,
  predicts: true,
  description: 'List flavors (public and private visible to you): id, name, vcpus, ram (MB), disk (GB).',
  input: z.strictObject({ ...target, name: z.string().default('').describe('Only this flavor name') }),
  async run(input, ctx) {
    return withClient('openstack.flavor.list', input, ctx, async (c) => {
      const all = await c.list('compute', '/flavors/detail', 'flavors', { query: { is_public: 'None' } });
      const flavors = all.filter((f: any) => !input.name || f.name === input.name).map((f: any) => ({ id: f.id, name: f.name, vcpus: f.vcpus, ram: f.ram, disk: f.disk }));
      return { flavors, changed: false };
    });
  },
  plan: (i) => `list flavors on ${i.cloud}`,
});
