/** `openstack.port.delete`: delete a port (404 is fine). */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.port.delete',
  description: 'Delete a port by id (404 = already deleted); `skip` for compensations.',
  noun: 'port', service: 'network', path: (id) => `/ports/${id}`,
});
