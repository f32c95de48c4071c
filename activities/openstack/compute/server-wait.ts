/** `openstack.server.wait`: wait for one or many servers to be ACTIVE, SHUTOFF or deleted (ERROR fails with the server's fault). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, ms, target, withClient } from '../common';
import { summarize, waitServers } from './servers';

export default defineAction({
  name: 'openstack.server.wait',
  readOnly: true,
  description: 'Wait until servers reach a status (ACTIVE, SHUTOFF, DELETED); several servers are polled with one list call. Heartbeats progress.',
  input: z
    .strictObject({
      ...target,
      id: z.string().min(1).optional(),
      ids: z.array(z.string().min(1)).optional(),
      status: z.enum(['ACTIVE', 'SHUTOFF', 'DELETED']).default('ACTIVE'),
      timeout: Duration.default('10m'),
      pollInterval: Duration.default('50ms').describe('Poll interval for the first 3 s (then it grows 1.5x up to maxPollInterval); several servers cost one list call per poll'),
      maxPollInterval: Duration.default('2s'),
    })
    .refine((i) => i.id || (i.ids && i.ids.length), { message: 'give id or ids' }),
  async run(input, ctx) {
    const ids = [...new Set([...(input.id ? [input.id] : []), ...(input.ids ?? [])])];
    return withClient(`openstack.server.wait (${ids.length} server(s))`, input, ctx, async (c) => {
      const got = await waitServers(c, ctx, ids, input.status, ms(input.timeout), { intervalMs: ms(input.pollInterval), maxIntervalMs: ms(input.maxPollInterval) });
      const servers = got.map((s) => (s.status === 'DELETED' && !s.name ? { id: s.id, status: 'DELETED' } : summarize(s)));
      return { servers, ips: servers.map((s: any) => s.fixedIps?.[0] ?? null), changed: false };
    });
  },
  plan: (i) => `wait for ${i.id ?? `${i.ids?.length} server(s)`} to be ${i.status}`,
});
