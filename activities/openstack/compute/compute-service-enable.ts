/** `openstack.compute-service.enable`: allow scheduling to a host again (PUT /os-services/{id}). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Skip, target, withClient } from '../common';
import { computeService } from './servers';
import { serviceSummary } from './compute-service-list';

export default defineAction({
  name: 'openstack.compute-service.enable',
  description: 'Enable a Nova service on a host (default nova-compute); `skip` for compensations of hosts that were disabled before.',
  input: z.strictObject({ ...target, host: z.string().min(1), binary: z.string().default('nova-compute'), skip: Skip }),
  async run(input, ctx) {
    if (input.skip) return { host: input.host, binary: input.binary, skipped: true, changed: false };
    return withClient(`openstack.compute-service.enable ${input.binary}@${input.host}`, input, ctx, async (c) => {
      const before = await computeService(c, input.host, input.binary);
      if (before.status === 'enabled') return { ...serviceSummary(before), changed: false };
      const res = await c.put('compute', `/os-services/${before.id}`, { status: 'enabled' });
      return { ...serviceSummary(res.body.service), changed: true };
    });
  },
  async dryRun(input, ctx) {
    if (input.skip) return { changed: false, effect: 'none', summary: `${input.binary} on ${input.host}: left as it is (skip)` };
    return withClient(`openstack.compute-service.enable ${input.binary}@${input.host} (dry run)`, input, ctx, async (c) => {
      const before = await computeService(c, input.host, input.binary);
      return before.status === 'enabled' ? { changed: false, effect: 'none', summary: `${input.binary} on ${input.host} is enabled` } : { changed: true, effect: 'change', summary: `enable ${input.binary} on ${input.host}`, diff: `status: ${before.status} -> enabled` };
    });
  },
  plan: (i) => (i.skip ? `(skip) leave ${i.binary} on ${i.host} as it is` : `enable ${i.binary} on ${i.host}`),
});
