/** `openstack.server.list`: servers matching Nova's filters (name is a regular expression). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';
import { summarize } from './servers';

export default defineAction({
  name: 'openstack.server.list',
  readOnly: true,
  predicts: true,
  description: 'List servers (all pages) with Nova filters: name (regex), status, host and allTenants (admin), tags.',
  input: z.strictObject({
    ...target,
    name: z.string().default('').describe('Regular expression on the name, as Nova applies it'),
    status: z.string().default(''),
    host: z.string().default('').describe('Compute host (admin only; Nova ignores it otherwise)'),
    allTenants: z.boolean().default(false),
    tags: z.array(z.string()).default([]),
  }),
  async run(input, ctx) {
    return withClient('openstack.server.list', input, ctx, async (c) => {
      const query: Record<string, string | number> = {};
      if (input.name) query.name = input.name;
      if (input.status) query.status = input.status;
      if (input.host) query.host = input.host;
      if (input.allTenants) query.all_tenants = 1;
      if (input.tags.length) query.tags = input.tags.join(',');
      const servers = (await c.list('compute', '/servers/detail', 'servers', { query })).map(summarize);
      return { servers, count: servers.length, ids: servers.map((s) => s.id), changed: false };
    });
  },
  plan: (i) => `list servers${i.name ? ` named /${i.name}/` : ''}${i.host ? ` on ${i.host}` : ''}`,
});
