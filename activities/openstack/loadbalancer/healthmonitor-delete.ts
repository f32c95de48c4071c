/** `openstack.healthmonitor.delete`: delete a health monitor (404 is fine). */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.healthmonitor.delete',
  description: 'Delete a health monitor by id; waits for ACTIVE, retries 409; `skip` for compensations.',
  noun: 'health monitor', service: 'load-balancer', path: (id) => `/lbaas/healthmonitors/${id}`,
  loadBalancerOf: async (c, id) => {
    const hm = (await c.find('load-balancer', `/lbaas/healthmonitors/${id}`))?.healthmonitor;
    if (!hm) return undefined;
    return (await c.get('load-balancer', `/lbaas/pools/${hm.pools[0].id}`)).body.pool.loadbalancers[0].id;
  },
});
