/** `openstack.network.delete`: delete a network (and its subnets); 404 is fine, 409 "in use" is retried. */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.network.delete',
  description: 'Delete a network by id (404 = already deleted; NetworkInUse 409 is retryable); `skip` for compensations.',
  noun: 'network', service: 'network', path: (id) => `/networks/${id}`,
});
