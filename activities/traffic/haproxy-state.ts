/** HAProxy: the servers of one backend (or all), with weights and states, from the runtime API. */
import { z } from 'zod';
import { defineAction } from '../define';
import { readServers } from './haproxy-client';
import { RuntimeConnection, runtimeApi } from './haproxy-common';

export default defineAction({
  name: 'lb.haproxy.state',
  readOnly: true,
  description: 'HAProxy: list servers (of a backend, or all) with admin state (ready/drain/maint), operational state, weight, status and current sessions.',
  input: z.strictObject({
    ...RuntimeConnection,
    backend: z.string().regex(/^[A-Za-z0-9_.:-]+$/).optional().describe('Only this backend.'),
  }),
  async run(i, ctx) {
    const servers = await readServers(runtimeApi(i, ctx.signal), i.backend);
    const byName = Object.fromEntries(servers.map((s) => [`${s.backend}/${s.server}`, s]));
    return { servers, byName, changed: false };
  },
  plan: (i) => `read server states${i.backend ? ` of ${i.backend}` : ''} via ${i.socket}`,
});
