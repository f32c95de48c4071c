/** `openstack.listener.create`: a listener on a load balancer (adopts one on the same port/name), serialised with other changes. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, ms, target, withClient, undoneBy } from '../common';
import { createDryRun, findExisting, getLoadBalancer, mutate, tagsWith } from './lb';

export default defineAction({
  name: 'openstack.listener.create',
  description: 'Create a listener (protocol, port) on a load balancer by name or id; waits for ACTIVE before and after, retries 409.',
  input: z.strictObject({
    ...target,
    loadbalancer: z.string().min(1),
    name: z.string().min(1).max(255),
    protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'UDP', 'TERMINATED_HTTPS', 'SCTP']),
    protocolPort: z.number().int().min(1).max(65535),
    tags: z.array(z.string()).default([]),
    adopt: z.boolean().default(true),
    timeout: Duration.default('10m'),
  }),
  inverse: undoneBy('openstack.listener.delete'),
  async run(input, ctx) {
    return withClient(`openstack.listener.create ${input.name}`, input, ctx, async (c) => {
      const lb = await getLoadBalancer(c, input.loadbalancer);
      const { tags, mark } = tagsWith(ctx, input.tags);
      const found = await findExisting(c, ctx, '/lbaas/listeners', 'listeners', mark, input.adopt ? input.name : undefined, (l) => l.loadbalancers?.some((x: any) => x.id === lb.id));
      if (found) return { id: found.resource.id, loadbalancerId: lb.id, created: found.created, conflicts: 0, changed: false };
      const { result, conflicts } = await mutate(c, ctx, lb.id, ms(input.timeout), async () =>
        (await c.post('load-balancer', '/lbaas/listeners', { listener: { loadbalancer_id: lb.id, name: input.name, protocol: input.protocol, protocol_port: input.protocolPort, tags } })).body.listener,
      );
      return { id: result.id, loadbalancerId: lb.id, created: true, conflicts, changed: true };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.listener.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const lb = await getLoadBalancer(c, input.loadbalancer);
      const found = await findExisting(c, ctx, '/lbaas/listeners', 'listeners', tagsWith(ctx, []).mark, input.adopt ? input.name : undefined, (l) => l.loadbalancers?.some((x: any) => x.id === lb.id));
      return createDryRun(`listener ${input.name}`, `${input.protocol}:${input.protocolPort} on load balancer ${input.loadbalancer}`, found);
    });
  },
  plan: (i) => `ensure listener ${i.name} ${i.protocol}:${i.protocolPort} on ${i.loadbalancer}`,
});
