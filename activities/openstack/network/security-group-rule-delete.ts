/** `openstack.security-group-rule.delete`: delete a rule by id (404 is fine). */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.security-group-rule.delete',
  description: 'Delete a security group rule by id (404 = already deleted); `skip` for compensations.',
  noun: 'security group rule', keepNoun: 'rule', service: 'network', path: (id) => `/security-group-rules/${id}`,
});
