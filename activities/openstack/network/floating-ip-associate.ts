/** `openstack.floating-ip.associate`: point a floating IP at a port, or at nothing (port: ""). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { notFound, target, withClient } from '../common';
import { findFloatingIp } from './floating-ip-release';
import { fipSummary } from './floating-ip-create';

export default defineAction({
  name: 'openstack.floating-ip.associate',
  description: 'Associate a floating IP (id or address) with a port, or disassociate it (port: "").',
  input: z.strictObject({ ...target, floatingIp: z.string().min(1).describe('Id or address'), port: z.string().describe('Port id; "" to disassociate'), fixedIp: z.string().default('') }),
  async run(input, ctx) {
    return withClient(`openstack.floating-ip.associate ${input.floatingIp}`, input, ctx, async (c) => {
      const f = await findFloatingIp(c, input.floatingIp);
      if (!f) throw notFound('floating IP', input.floatingIp);
      const want = input.port || null;
      if (f.port_id === want && (!input.fixedIp || f.fixed_ip_address === input.fixedIp)) return { ...fipSummary(f), changed: false };
      const body: Record<string, unknown> = { port_id: want };
      if (want && input.fixedIp) body.fixed_ip_address = input.fixedIp;
      const res = await c.put('network', `/floatingips/${f.id}`, { floatingip: body });
      return { ...fipSummary(res.body.floatingip), previousPortId: f.port_id ?? null, changed: true };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.floating-ip.associate ${input.floatingIp} (dry run)`, input, ctx, async (c) => {
      const f = await findFloatingIp(c, input.floatingIp);
      if (!f) throw notFound('floating IP', input.floatingIp);
      const want = input.port || null;
      if (f.port_id === want && (!input.fixedIp || f.fixed_ip_address === input.fixedIp)) return { changed: false, effect: 'none', summary: `floating IP ${f.floating_ip_address} is ${want ? `on port ${want}` : 'not associated'}` };
      const to = want ? `port ${want}${input.fixedIp ? ` (${input.fixedIp})` : ''}` : 'nothing';
      return { changed: true, effect: 'change', summary: want ? `associate floating IP ${f.floating_ip_address} with ${to}` : `disassociate floating IP ${f.floating_ip_address}`, diff: `port: ${f.port_id ?? 'none'} -> ${want ?? 'none'}` };
    });
  },
  plan: (i) => (i.port ? `associate floating IP ${i.floatingIp} with port ${i.port}` : `disassociate floating IP ${i.floatingIp}`),
});
