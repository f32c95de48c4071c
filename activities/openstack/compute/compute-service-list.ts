/** `openstack.compute-service.list`: Nova services (os-services, admin) with state and status. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { target, withClient } from '../common';

export function serviceSummary(s: any) {
  return { id: s.id, binary: s.binary, host: s.host, zone: s.zone, status: s.status, state: s.state, disabledReason: s.disabled_reason ?? null, forcedDown: !!s.forced_down, updatedAt: s.updated_at };
}

export default defineAction({
  name: 'openstack.compute-service.list',
  readOnly: true,
  description: 'List Nova services (admin): binary, host, status enabled/disabled, state up/down, disabled reason. Output `down` lists services that are down.',
  input: z.strictObject({
    ...target,
    binary: z.string().default(''),
    host: z.string().default(''),
    requireUp: z.boolean().default(false).describe('Fail (retryable) unless every listed service is up; enabled/disabled does not matter'),
  }),
  async run(input, ctx) {
    return withClient('openstack.compute-service.list', input, ctx, async (c) => {
      const query: Record<string, string> = {};
      if (input.binary) query.binary = input.binary;
      if (input.host) query.host = input.host;
      const services = ((await c.get('compute', '/os-services', { query })).body.services ?? []).map(serviceSummary);
      const down = services.filter((s: any) => s.state !== 'up').map((s: any) => `${s.binary}@${s.host}`);
      if (input.requireUp && down.length) throw new OpenStackError(`service(s) down: ${down.join(', ')}`, { status: 503, apiMessage: 'service down' });
      if (input.requireUp && !services.length) throw new OpenStackError(`no ${input.binary || 'Nova'} service${input.host ? ` on ${input.host}` : ''}`, { kind: 'not-found' });
      return {
        services,
        hosts: [...new Set(services.filter((s: any) => s.binary === 'nova-compute').map((s: any) => s.host))].sort(),
        down,
        changed: false,
      };
    });
  },
  plan: (i) => `list compute services on ${i.cloud}`,
});
