/** `openstack.pool.create`: a pool behind a listener (or on a load balancer), serialised with other changes. */
import { z } from 'zod';
import { defineAction, type ActionContext } from '../../define';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';
import { Duration, looksLikeId, ms, target, withClient, undoneBy } from '../common';
import { createDryRun, findExisting, getLoadBalancer, mutate, tagsWith } from './lb';

type PoolInput = { name: string; listener: string; loadbalancer: string; adopt: boolean };

/** The pool's load balancer, and its listener when one is given (by id). */
async function parentOf(c: OpenStackClient, input: PoolInput): Promise<{ lbId: string; listenerId?: string }> {
  if (input.listener) {
    const l = looksLikeId(input.listener) ? (await c.get('load-balancer', `/lbaas/listeners/${input.listener}`)).body.listener : undefined;
    if (!l) throw new OpenStackError(`listener "${input.listener}": give its id`, { kind: 'invalid' });
    return { lbId: l.loadbalancers[0].id, listenerId: l.id };
  }
  if (input.loadbalancer) return { lbId: (await getLoadBalancer(c, input.loadbalancer)).id };
  throw new OpenStackError('give listener or loadbalancer', { kind: 'invalid' });
}

const findPool = (c: OpenStackClient, ctx: ActionContext, input: PoolInput, lbId: string, mark: string) =>
  findExisting(c, ctx, '/lbaas/pools', 'pools', mark, input.adopt ? input.name : undefined, (p) => p.loadbalancers?.some((x: any) => x.id === lbId));

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
      const { lbId, listenerId } = await parentOf(c, input);
      const { tags, mark } = tagsWith(ctx, input.tags);
      const found = await findPool(c, ctx, input, lbId, mark);
      if (found) return { id: found.resource.id, loadbalancerId: lbId, listenerId: listenerId ?? null, created: found.created, conflicts: 0, changed: false };
      const body: Record<string, unknown> = { name: input.name, protocol: input.protocol, lb_algorithm: input.lbAlgorithm, tags };
      if (listenerId) body.listener_id = listenerId;
      else body.loadbalancer_id = lbId;
      const { result, conflicts } = await mutate(c, ctx, lbId, ms(input.timeout), async () => (await c.post('load-balancer', '/lbaas/pools', { pool: body })).body.pool);
      return { id: result.id, loadbalancerId: lbId, listenerId: listenerId ?? null, created: true, conflicts, changed: true };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.pool.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const { lbId } = await parentOf(c, input);
      return createDryRun(`pool ${input.name}`, `(${input.protocol}, ${input.lbAlgorithm}) on ${input.listener ? `listener ${input.listener}` : `load balancer ${input.loadbalancer}`}`, await findPool(c, ctx, input, lbId, tagsWith(ctx, []).mark));
    });
  },
  plan: (i) => `ensure pool ${i.name} (${i.protocol}, ${i.lbAlgorithm})`,
});
