/** `openstack.pool.delete`: delete a pool with its members (404 is fine). */
import { deleteAction } from '../delete';
import { poolLb } from './lb';

export default deleteAction({
  name: 'openstack.pool.delete',
  description: 'Delete a pool by id; waits for the load balancer to be ACTIVE, retries 409; `skip` for compensations.',
  noun: 'pool', service: 'load-balancer', path: (id) => `/lbaas/pools/${id}`,
  loadBalancerOf: async (c, id) => {
    const p = (await c.find('load-balancer', `/lbaas/pools/${id}`))?.pool;
    return p ? poolLb(p) : undefined;
  },
});
