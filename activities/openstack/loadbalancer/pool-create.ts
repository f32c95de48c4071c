/** `openstack.pool.create`: a pool behind a listener (or on a load balancer), serialised with other changes. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { Duration, looksLikeId, ms, target, withClient, undoneBy } from '../common';
import { findExisting, getLoadBalancer, mutate, tagsWith } from './lb';

export default defineAction({
  name: 'openstack.pool.create',
  description: 'Create a pool (protocol, algorithm) as the default pool of a listener or on a load balancer; idempotent, retries 409.',
  input: z.strictObject({
    ...target,
    name: z.string().min(1).max(255),
    listener: z.string().default('').describe('Listener id (the pool becomes its default pool)'),
    loadbalancer: z.string().default('').describe('Load balancer name or id (when no listener)'),
    protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'UDP', 'PROXY', 'PROXYV2', 'SCTP']),
    lbAlgorithm: z.enum(['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP', 'SOURCE_IP_PORT']).default('ROUND_ROBIN'),
    tags: z.array(z.string()).default([]),
    adopt: z.boolean().default(true),
    timeout: Duration.default('10m'),
  }),
  inverse: undoneBy('openstack.pool.delete'),
  async run(input, ctx) {
    return withClient(`openstack.pool.create ${input.name}`, input, ctx, async (c) => {
      let lbId: string;
      let listenerId: string | undefined;
      if (input.listener) {
        const l = looksLikeId(input.listener) ? (await c.get('load-balancer', `/lbaas/listeners/${input.listener}`)).body.listener : undefined;
        if (!l) throw new OpenStackError(`listener "${input.listener}": give its id`, { kind: 'invalid' });
        lbId = l.loadbalancers[0].id;
        listenerId = l.id;
      } else if (input.loadbalancer) lbId = (await getLoadBalancer(c, input.loadbalancer)).id;
      else throw new OpenStackError('give listener or loadbalancer', { kind: 'invalid' });
      const { tags, mark } = tagsWith(ctx, input.tags);
      const found = await findExisting(c, ctx, '/lbaas/pools', 'pools', mark, input.adopt ? input.name : undefined, (p) => p.loadbalancers?.some((x: any) => x.id === lbId));
      if (found) return { id: found.resource.id, loadbalancerId: lbId, listenerId: listenerId ?? null, created: found.created, conflicts: 0, changed: false };
      const body: Record<string, unknown> = { name: input.name, protocol: input.protocol, lb_algorithm: input.lbAlgorithm, tags };
      if (listenerId) body.listener_id = listenerId;
      else body.loadbalancer_id = lbId;
      const { result, conflicts } = await mutate(c, ctx, lbId, ms(input.timeout), async () => (await c.post('load-balancer', '/lbaas/pools', { pool: body })).body.pool);
      return { id: result.id, loadbalancerId: lbId, listenerId: listenerId ?? null, created: true, conflicts, changed: true };
    });
  },
  plan: (i) => `ensure pool ${i.name} (${i.protocol}, ${i.lbAlgorithm})`,
});
