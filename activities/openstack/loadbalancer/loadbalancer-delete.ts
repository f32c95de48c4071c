/** `openstack.loadbalancer.delete`: delete a load balancer (cascade by default) and wait until gone. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, Skip, ms, poll, target, withClient } from '../common';
import { mutate } from './lb';

export default defineAction({
  name: 'openstack.loadbalancer.delete',
  description: 'Delete a load balancer by id (cascade: with listeners, pools, members, monitors), wait until gone; 404 is fine; `skip` for compensations.',
  input: z.strictObject({ ...target, id: z.string().min(1), cascade: z.boolean().default(true), wait: z.boolean().default(true), timeout: Duration.default('10m'), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    return withClient(`openstack.loadbalancer.delete ${input.id}`, input, ctx, async (c) => {
      const exists = await c.find('load-balancer', `/lbaas/loadbalancers/${input.id}`);
      if (!exists) return { id: input.id, deleted: false, changed: false };
      let deleted = true;
      if (exists.loadbalancer.provisioning_status !== 'PENDING_DELETE') {
        const r = await mutate(c, ctx, input.id, ms(input.timeout), () => c.deleteIfExists('load-balancer', `/lbaas/loadbalancers/${input.id}`, { query: input.cascade ? { cascade: 'true' } : {} }), false);
        deleted = r.result;
      }
      if (input.wait) await poll(ctx, { timeoutMs: ms(input.timeout), what: `load balancer ${input.id} to be deleted`, intervalMs: 200 }, async () => ((await c.find('load-balancer', `/lbaas/loadbalancers/${input.id}`)) ? undefined : true));
      return { id: input.id, deleted, changed: deleted };
    });
  },
  async dryRun(input, ctx) {
    if (input.skip) return { changed: false, effect: 'none', summary: `load balancer ${input.id}: kept (skip)` };
    return withClient(`openstack.loadbalancer.delete ${input.id} (dry run)`, input, ctx, async (c) => {
      const exists = await c.find('load-balancer', `/lbaas/loadbalancers/${input.id}`);
      if (!exists) return { changed: false, effect: 'none', summary: `load balancer ${input.id}: already gone` };
      if (exists.loadbalancer.provisioning_status === 'PENDING_DELETE') return { changed: false, effect: 'none', summary: `load balancer ${input.id}: already being deleted` };
      return { changed: true, effect: 'destroy', summary: `delete load balancer ${input.id}${input.cascade ? ' with everything in it' : ''}`, diff: `- load balancer ${exists.loadbalancer.name || input.id}` };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep load balancer ${i.id}` : `delete load balancer ${i.id}${i.cascade ? ' with everything in it' : ''}`),
});
