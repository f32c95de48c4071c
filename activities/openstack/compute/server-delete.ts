/**
 * `openstack.server.delete`: delete a server (already gone is fine), wait until it is gone, and
 * optionally delete the ports it had that Nova does not delete itself (ports created before the
 * server). The port list is kept in heartbeat details, so a retry after a crash still finds it.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, Skip, ms, target, withClient } from '../common';
import { waitServers } from './servers';

export default defineAction({
  name: 'openstack.server.delete',
  description: 'Delete a server by id, or several (`ids`) at once (404 = already deleted), wait until gone, optionally delete its remaining ports and release its floating IPs; `skip` for compensations.',
  input: z.strictObject({
    ...target,
    id: z.string().default(''),
    ids: z.array(z.string().min(1)).default([]).describe('Several servers at once (deleted in parallel, one list poll for all)'),
    wait: z.boolean().default(true),
    deletePorts: z.boolean().default(false).describe('Also delete ports left behind (ports created before the server)'),
    releaseFloatingIps: z.boolean().default(false).describe("Release the floating IPs on the server's ports first"),
    timeout: Duration.default('10m'),
    skip: Skip,
  }),
  async run(input, ctx) {
    if (input.skip) return { id: input.id, deleted: false, skipped: true, changed: false };
    if (input.ids.length || !input.id) {
      const ids = [...new Set([...input.ids, ...(input.id ? [input.id] : [])])];
      if (!ids.length) return { ids, deleted: [], changed: false };
      return withClient(`openstack.server.delete (${ids.length})`, input, ctx, async (c) => {
        const gone = await Promise.all(ids.map((id) => c.deleteIfExists('compute', `/servers/${id}`)));
        if (input.wait) await waitServers(c, ctx, ids, 'DELETED', ms(input.timeout));
        const deleted = ids.filter((_, i) => gone[i]);
        return { ids, deleted, changed: deleted.length > 0 };
      });
    }
    return withClient(`openstack.server.delete ${input.id}`, input, ctx, async (c) => {
      const earlier = ctx.heartbeatDetails<{ ports?: string[] }>();
      let ports = earlier?.ports ?? [];
      if ((input.deletePorts || input.releaseFloatingIps) && !earlier?.ports) {
        ports = (await c.list('network', '/ports', 'ports', { query: { device_id: input.id } })).map((p: any) => p.id);
        if (input.deletePorts) ctx.heartbeat({ progress: `deleting server ${input.id}`, ports });
      }
      const released: string[] = [];
      if (input.releaseFloatingIps)
        for (const p of ports)
          for (const f of await c.list('network', '/floatingips', 'floatingips', { query: { port_id: p } }))
            if (await c.deleteIfExists('network', `/floatingips/${f.id}`)) released.push(f.floating_ip_address);
      if (!input.deletePorts) ports = [];
      const deleted = await c.deleteIfExists('compute', `/servers/${input.id}`);
      if (input.wait || input.deletePorts) await waitServers(c, ctx, [input.id], 'DELETED', ms(input.timeout), { details: { ports } });
      const portsDeleted: string[] = [];
      for (const p of ports) if (await c.deleteIfExists('network', `/ports/${p}`)) portsDeleted.push(p);
      return { id: input.id, deleted, portsDeleted, floatingIpsReleased: released, changed: deleted || portsDeleted.length > 0 || released.length > 0 };
    });
  },
  async dryRun(input, ctx) {
    const ids = [...new Set([...input.ids, ...(input.id ? [input.id] : [])])];
    if (input.skip || !ids.length) return { changed: false, effect: 'none', summary: input.skip ? `server ${input.id}: kept (skip)` : 'no server to delete' };
    return withClient(`openstack.server.delete ${ids.join(', ')} (dry run)`, input, ctx, async (c) => {
      const found = (await Promise.all(ids.map((id) => c.find('compute', `/servers/${id}`)))).filter(Boolean).map((r: any) => r.server);
      const diff = found.map((s: any) => `- server ${s.name} (${s.id})`);
      // Ports and floating IPs of the single-server form (the run reads them the same way).
      if (found.length && !input.ids.length && (input.deletePorts || input.releaseFloatingIps)) {
        const ports = await c.list('network', '/ports', 'ports', { query: { device_id: input.id } });
        for (const p of ports) {
          if (input.releaseFloatingIps) for (const f of await c.list('network', '/floatingips', 'floatingips', { query: { port_id: p.id } })) diff.push(`- floating IP ${f.floating_ip_address}`);
          if (input.deletePorts) diff.push(`- port ${p.id}`);
        }
      }
      return diff.length ? { changed: true, effect: 'destroy', summary: `delete ${found.length} of ${ids.length} server(s)`, diff: diff.join('\n') } : { changed: false, effect: 'none', summary: `server(s) ${ids.join(', ')} already gone` };
    });
  },
  plan: (i) => (i.skip ? `(skip) keep server ${i.id}` : i.ids.length ? `delete ${i.ids.length} server(s)` : `delete server ${i.id}${i.releaseFloatingIps ? ', release its floating IPs' : ''}${i.deletePorts ? ' and delete its ports' : ''}`),
});
