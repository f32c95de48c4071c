/** `openstack.listener.delete`: delete a listener (404 is fine), serialised with other changes to its load balancer. */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.listener.delete',
  description: 'Delete a listener by id; waits for the load balancer to be ACTIVE, retries 409; `skip` for compensations.',
  noun: 'listener', service: 'load-balancer', path: (id) => `/lbaas/listeners/${id}`,
  loadBalancerOf: async (c, id) => (await c.find('load-balancer', `/lbaas/listeners/${id}`))?.listener?.loadbalancers[0].id,
});
