/** `openstack.image.list`: Glance images (all pages). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';

export default defineAction({
  name: 'openstack.image.list',
  readOnly: true,
  predicts: true,
  description: 'List images from Glance (all pages): id, name, status, visibility, size.',
  input: z.strictObject({ ...target, name: z.string().default(''), status: z.string().default('') }),
  async run(input, ctx) {
    return withClient('openstack.image.list', input, ctx, async (c) => {
      const query: Record<string, string> = {};
      if (input.name) query.name = input.name;
      if (input.status) query.status = input.status;
      const images = (await c.list('image', '/images', 'images', { query })).map((i: any) => ({ id: i.id, name: i.name, status: i.status, visibility: i.visibility, size: i.size }));
      return { images, changed: false };
    });
  },
  plan: (i) => `list images on ${i.cloud}`,
});
