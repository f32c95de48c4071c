/**
 * `openstack.keypair.create`: import a public key under a name (private keys never pass through
 * a run). Idempotent: the same name with the same key is success; another key is an error.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { target, withClient, undoneBy } from '../common';

/** The key type and body of an OpenSSH public key line (its comment does not count). */
const sshKeyBlob = (k: string) => k.trim().split(/\s+/).slice(0, 2).join(' ');

export default defineAction({
  name: 'openstack.keypair.create',
  description: 'Import an SSH public key as a Nova keypair (exists with the same key: unchanged; with another key: error).',
  input: z.strictObject({
    ...target,
    name: z.string().regex(/^[A-Za-z0-9 _-]{1,255}$/),
    publicKey: z.string().regex(/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, 'an OpenSSH public key line'),
  }),
  inverse: undoneBy('openstack.keypair.delete', { name: '{{ outputs.name }}' }),
  async run(input, ctx) {
    return withClient(`openstack.keypair.create ${input.name}`, input, ctx, async (c) => {
      const existing = await c.find('compute', `/os-keypairs/${encodeURIComponent(input.name)}`);
      if (existing) {
        if (sshKeyBlob(existing.keypair.public_key) !== sshKeyBlob(input.publicKey)) throw new OpenStackError(`keypair "${input.name}" exists with a different public key (fingerprint ${existing.keypair.fingerprint})`, { status: 409, apiMessage: 'already exists' });
        return { name: input.name, fingerprint: existing.keypair.fingerprint, created: false, changed: false };
      }
      try {
        const res = await c.post('compute', '/os-keypairs', { keypair: { name: input.name, public_key: input.publicKey, type: 'ssh' } });
        return { name: input.name, fingerprint: res.body.keypair.fingerprint, created: true, changed: true };
      } catch (e) {
        // Created by a concurrent attempt between our GET and POST.
        if (e instanceof OpenStackError && e.status === 409) {
          const again = await c.find('compute', `/os-keypairs/${encodeURIComponent(input.name)}`);
          if (again && sshKeyBlob(again.keypair.public_key) === sshKeyBlob(input.publicKey)) return { name: input.name, fingerprint: again.keypair.fingerprint, created: false, changed: false };
        }
        throw e;
      }
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.keypair.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const existing = await c.find('compute', `/os-keypairs/${encodeURIComponent(input.name)}`);
      if (!existing) return { changed: true, effect: 'create', summary: `import keypair ${input.name} on ${input.cloud}`, diff: `+ keypair ${input.name}` };
      const same = sshKeyBlob(existing.keypair.public_key) === sshKeyBlob(input.publicKey);
      return { changed: false, effect: 'none', summary: same ? `keypair ${input.name} exists with this key` : `keypair ${input.name} exists with a different key (fingerprint ${existing.keypair.fingerprint}): the run would fail` };
    });
  },
  plan: (i) => `import keypair ${i.name} on ${i.cloud}`,
});
