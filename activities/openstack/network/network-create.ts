/** `openstack.network.create`: a tenant network (reuses one of the same name in the project by default). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient, undoneBy } from '../common';
import { ensureNeutron, lookupNeutron, type EnsureOptions } from './neutron';

const ensure = (input: { name: string; description: string; mtu?: number; adopt: boolean }): EnsureOptions => ({ path: '/networks', key: 'network', what: 'network', adopt: input.adopt, body: { name: input.name, description: input.description || undefined, ...(input.mtu ? { mtu: input.mtu } : {}) } });

export default defineAction({
  name: 'openstack.network.create',
  description: 'Create a network (idempotent; adopts an existing one with the same name in the project unless adopt: false).',
  input: z.strictObject({ ...target, name: z.string().min(1).max(255), description: z.string().default(''), mtu: z.number().int().min(68).optional(), adopt: z.boolean().default(true) }),
  inverse: undoneBy('openstack.network.delete'),
  async run(input, ctx) {
    return withClient(`openstack.network.create ${input.name}`, input, ctx, async (c) => {
      const { resource, created, changed } = await ensureNeutron(c, ctx, ensure(input));
      return { id: resource.id, name: resource.name, created, changed };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.network.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const hit = await lookupNeutron(c, ctx, ensure(input));
      return hit
        ? { changed: false, effect: 'none', summary: `network ${input.name} exists (${hit.resource.id}${hit.created ? '' : ', adopted'})` }
        : { changed: true, effect: 'create', summary: `create network ${input.name} on ${input.cloud}`, diff: `+ network ${input.name}` };
    });
  },
  plan: (i) => `ensure network ${i.name} on ${i.cloud}`,
});
