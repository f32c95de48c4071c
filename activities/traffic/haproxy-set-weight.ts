/** HAProxy: set a server's weight through the runtime API (0-256; 0 sends it no new traffic). */
import { z } from 'zod';
import { defineAction } from '../define';
import { readServer, runtimeSet } from './haproxy-client';
import { RuntimeConnection, ServerRef, runtimeApi, view } from './haproxy-common';
import { firstBefore } from './first-before';

export default defineAction({
  name: 'lb.haproxy.set-weight',
  description: 'HAProxy: set a server\'s weight (0-256) through the runtime API; idempotent, returns changed + diff. Not persisted across a reload unless a server-state file is configured.',
  input: z.strictObject({
    ...RuntimeConnection,
    ...ServerRef,
    weight: z.number().int().min(0).max(256).describe('New weight; relative to the other servers of the backend.'),
    dryRun: z.boolean().default(false),
  }),
  async run(i, ctx) {
    const api = runtimeApi(i, ctx.signal);
    const current = await readServer(api, i.backend, i.server);
    const needsSet = current.weight !== i.weight;
    // Report against what the first attempt saw, so a retry after a landed change still says so.
    const before = i.dryRun ? view(current) : firstBefore(ctx, view(current));
    const changed = before.weight !== i.weight;
    const diff = changed ? { weight: { from: before.weight, to: i.weight } } : null;
    if (i.dryRun) return { backend: i.backend, server: i.server, changed, dryRun: true, before, after: { ...before, weight: i.weight }, diff };
    if (needsSet) {
      ctx.log(`haproxy ${i.backend}/${i.server}: weight ${current.weight} → ${i.weight}`);
      await runtimeSet(api, `set server ${i.backend}/${i.server} weight ${i.weight}`);
    }
    const after = await readServer(api, i.backend, i.server);
    if (after.weight !== i.weight) throw new Error(`haproxy ${i.backend}/${i.server}: asked for weight ${i.weight}, server has ${after.weight}`);
    return { backend: i.backend, server: i.server, changed, dryRun: false, before, after: view(after), diff };
  },
  plan: (i) => `${i.dryRun ? 'dry run: ' : ''}set ${i.backend}/${i.server} weight ${i.weight} via ${i.socket}`,
});
