/** `openstack.security-group.delete`: delete a security group (404 is fine; "in use" 409 is retried). */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.security-group.delete',
  description: 'Delete a security group by id (404 = already deleted; SecurityGroupInUse 409 is retryable); `skip` for compensations.',
  noun: 'security group', service: 'network', path: (id) => `/security-groups/${id}`,
});
