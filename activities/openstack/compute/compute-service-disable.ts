/**
 * `openstack.compute-service.disable`: stop scheduling to a host (PUT /os-services/{id},
 * microversion 2.53+, with a reason). Outputs the previous status so the matching
 * compensation (`openstack.compute-service.enable` with `when: previousStatus != 'disabled'`)
 * leaves a host that was already disabled alone.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';
import { computeService } from './servers';
import { serviceSummary } from './compute-service-list';

export default defineAction({
  name: 'openstack.compute-service.disable',
  description: 'Disable a Nova service on a host (default nova-compute) with a reason; outputs the previous status for the compensation.',
  input: z.strictObject({ ...target, host: z.string().min(1), binary: z.string().default('nova-compute'), reason: z.string().min(1).max(255) }),
  inverse: {
    action: 'openstack.compute-service.enable',
    with: { cloud: '{{ input.cloud }}', region: '{{ input.region }}', host: '{{ input.host }}', binary: '{{ input.binary }}' },
    when: "{{ outputs.previousStatus != 'disabled' }}",
  },
  async run(input, ctx) {
    return withClient(`openstack.compute-service.disable ${input.binary}@${input.host}`, input, ctx, async (c) => {
      const before = await computeService(c, input.host, input.binary);
      if (before.status === 'disabled') {
        // Our own reason: an earlier attempt of this step disabled it (the heartbeat kept what it was before).
        if (before.disabled_reason === input.reason) return { ...serviceSummary(before), previousStatus: ctx.heartbeatDetails<{ previous?: string }>()?.previous ?? 'enabled', changed: false };
        // Disabled by someone else, for another reason: leave it (and its reason) alone.
        return { ...serviceSummary(before), previousStatus: 'disabled', previousReason: before.disabled_reason ?? null, changed: false };
      }
      ctx.heartbeat({ progress: `disabling ${input.binary} on ${input.host}`, previous: before.status });
      const res = await c.put('compute', `/os-services/${before.id}`, { status: 'disabled', disabled_reason: input.reason });
      return { ...serviceSummary(res.body.service), previousStatus: before.status, previousReason: before.disabled_reason ?? null, changed: before.status !== 'disabled' };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.compute-service.disable ${input.binary}@${input.host} (dry run)`, input, ctx, async (c) => {
      const before = await computeService(c, input.host, input.binary);
      return before.status === 'disabled' ? { changed: false, effect: 'none', summary: `${input.binary} on ${input.host} is disabled (${before.disabled_reason ?? 'no reason'})` } : { changed: true, effect: 'change', summary: `disable ${input.binary} on ${input.host}`, diff: `status: ${before.status} -> disabled ("${input.reason}")` };
    });
  },
  plan: (i) => `disable ${i.binary} on ${i.host} ("${i.reason}")`,
});
