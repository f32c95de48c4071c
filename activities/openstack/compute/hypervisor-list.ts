/** `openstack.hypervisor.list`: hypervisors with state, status and (optionally) their servers. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';

export default defineAction({
  name: 'openstack.hypervisor.list',
  readOnly: true,
  description: 'List hypervisors (admin): hostname, state up/down, status enabled/disabled, running servers (withServers).',
  input: z.strictObject({ ...target, withServers: z.boolean().default(true), pattern: z.string().default('').describe('Hostname substring') }),
  async run(input, ctx) {
    return withClient('openstack.hypervisor.list', input, ctx, async (c) => {
      const query: Record<string, string> = {};
      if (input.withServers) query.with_servers = 'true';
      if (input.pattern) query.hypervisor_hostname_pattern = input.pattern;
      const list = await c.list('compute', '/os-hypervisors/detail', 'hypervisors', { query });
      const hypervisors = list.map((h: any) => ({
        id: h.id,
        hostname: h.hypervisor_hostname,
        host: h.service?.host ?? h.hypervisor_hostname,
        state: h.state,
        status: h.status,
        type: h.hypervisor_type,
        hostIp: h.host_ip,
        servers: (h.servers ?? []).map((s: any) => s.uuid),
        ...(h.vcpus !== undefined ? { vcpus: h.vcpus, vcpusUsed: h.vcpus_used, memoryMb: h.memory_mb, memoryMbUsed: h.memory_mb_used, runningVms: h.running_vms } : {}),
      }));
      return { hypervisors, changed: false };
    });
  },
  plan: (i) => `list hypervisors on ${i.cloud}`,
});
