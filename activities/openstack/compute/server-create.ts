/**
 * `openstack.server.create`: boot one server. Idempotent: the step's marker goes into the
 * server's metadata, and a retried attempt (a worker that crashed between the request and the
 * answer) looks for it by name and marker before booting another.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, NOVA_MARKER_KEY, marker, ms, target, withClient, undoneBy } from '../common';
import { ServerSpec, exactName, serverRequest, summarize, waitServers } from './servers';

export default defineAction({
  name: 'openstack.server.create',
  description: 'Boot a server (flavor and image by name or id, networks or ports, key, user data, metadata, tags, availability zone, server group); optionally wait for ACTIVE.',
  input: z.strictObject({
    ...target,
    name: z.string().min(1).max(255),
    ...ServerSpec,
    adopt: z.boolean().default(false).describe('Reuse a server that already has this exact name instead of booting another'),
    wait: z.boolean().default(false).describe('Wait until ACTIVE (ERROR fails with the fault)'),
    timeout: Duration.default('10m'),
  }),
  inverse: undoneBy('openstack.server.delete'),
  async run(input, ctx) {
    return withClient(`openstack.server.create ${input.name}`, input, ctx, async (c) => {
      const mark = marker(ctx.idempotencyKey);
      // Only a retry (or adoption) can find an earlier server: attempt 1 goes straight to POST.
      if (ctx.attempt > 1 || input.adopt) {
        const same = await c.list('compute', '/servers/detail', 'servers', { query: { name: exactName(input.name) } });
        const mine = same.find((s: any) => s.metadata?.[NOVA_MARKER_KEY] === mark) ?? (input.adopt ? same.find((s: any) => s.status !== 'ERROR') : undefined);
        if (mine) {
          ctx.log(`server ${input.name} already exists (${mine.id}); not booting another`);
          const s = input.wait ? (await waitServers(c, ctx, [mine.id], 'ACTIVE', ms(input.timeout)))[0] : mine;
          return { ...summarize(s), created: mine.metadata?.[NOVA_MARKER_KEY] === mark, changed: false, marker: mark };
        }
      }
      const build = await serverRequest(c, input);
      const body = build(input.name, { [NOVA_MARKER_KEY]: mark }, []);
      const server = body.server as Record<string, unknown>;
      const res = await c.post('compute', '/servers', body);
      const id: string = res.body.server.id;
      ctx.heartbeat({ progress: `booting ${input.name} (${id})`, id });
      if (input.wait) {
        const [s] = await waitServers(c, ctx, [id], 'ACTIVE', ms(input.timeout));
        return { ...summarize(s), created: true, changed: true, marker: mark };
      }
      return { id, name: input.name, status: 'BUILD', taskState: null, host: null, ips: [], fixedIps: [], floatingIps: [], metadata: server.metadata, created: true, changed: true, marker: mark };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.server.create ${input.name} (dry run)`, input, ctx, async (c) => {
      await serverRequest(c, input); // resolves flavor, image and networks: a name that does not exist fails here as in the run
      const same = await c.list('compute', '/servers/detail', 'servers', { query: { name: exactName(input.name) } });
      const live = same.find((s: any) => s.status !== 'ERROR');
      if (input.adopt && live) return { changed: false, effect: 'none', summary: `server ${input.name} exists (${live.id}, ${live.status}); adopted` };
      const note = same.length ? ` (${same.length} server(s) named ${input.name} exist; adopt: false boots another)` : '';
      return { changed: true, effect: 'create', summary: `boot server ${input.name} (${input.flavor}, ${input.image}) on ${input.cloud}${note}`, diff: `+ server ${input.name}` };
    });
  },
  plan: (i) => `boot server ${i.name} (${i.flavor}, ${i.image}) on ${i.cloud}${i.region ? `/${i.region}` : ''}${i.wait ? ', wait for ACTIVE' : ''}`,
});
