/** `openstack.keypair.delete`: delete a keypair by name (absent is fine). */
import { deleteAction } from '../delete';

export default deleteAction({
  name: 'openstack.keypair.delete',
  description: 'Delete a Nova keypair by name (404 = already deleted); `skip` for compensations.',
  noun: 'keypair', by: 'name', service: 'compute', path: (name) => `/os-keypairs/${encodeURIComponent(name)}`,
});
