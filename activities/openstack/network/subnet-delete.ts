/** `openstack.subnet.delete`: delete a subnet (404 is fine; SubnetInUse 409 is retried). */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.subnet.delete',
  description: 'Delete a subnet by id (404 = already deleted); `skip` for compensations.',
  noun: 'subnet', service: 'network', path: (id) => `/subnets/${id}`,
});
