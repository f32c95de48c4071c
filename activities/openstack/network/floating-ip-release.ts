/** `openstack.floating-ip.release`: give a floating IP back to the pool (404 is fine). */
import { z } from 'zod';
import { defineAction } from '../../define';
import type { OpenStackClient } from '../client';
import { Skip, looksLikeId, target, withClient } from '../common';

export async function findFloatingIp(c: OpenStackClient, ref: string): Promise<any | undefined> {
  if (looksLikeId(ref)) return (await c.find('network', `/floatingips/${ref}`))?.floatingip;
  const list = await c.list('network', '/floatingips', 'floatingips', { query: { floating_ip_address: ref } });
  return list[0];
}

export default defineAction({
  name: 'openstack.floating-ip.release',
  description: 'Release (delete) a floating IP by id or address; absent is fine; `skip` for compensations.',
  input: z.strictObject({ ...target, floatingIp: z.string().min(1).describe('Id or address'), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { floatingIp: input.floatingIp, released: false, skipped: true, changed: false };
    return withClient(`openstack.floating-ip.release ${input.floatingIp}`, input, ctx, async (c) => {
      const f = await findFloatingIp(c, input.floatingIp);
      const released = f ? await c.deleteIfExists('network', `/floatingips/${f.id}`) : false;
      return { floatingIp: input.floatingIp, id: f?.id ?? null, address: f?.floating_ip_address ?? null, released, changed: released };
    });
  },
  async dryRun(input, ctx) {
    if (input.skip) return { changed: false, effect: 'none', summary: `floating IP ${input.floatingIp}: kept (skip)` };
    return withClient(`openstack.floating-ip.release ${input.floatingIp} (dry run)`, input, ctx, async (c) => {
      const f = await findFloatingIp(c, input.floatingIp);
      return f ? { changed: true, effect: 'destroy', summary: `release floating IP ${f.floating_ip_address} (${f.id})`, diff: `- floating IP ${f.floating_ip_address}` } : { changed: false, effect: 'none', summary: `floating IP ${input.floatingIp}: already released` };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep floating IP ${i.floatingIp}` : `release floating IP ${i.floatingIp}`),
});
