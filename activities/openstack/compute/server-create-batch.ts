/**
 * `openstack.server.create-batch`: boot many servers at once from one step (POSTs in parallel),
 * so N servers start building together instead of one activity after another. Idempotent: every
 * server carries the step's marker (metadata and tag), and a retried attempt boots only the
 * names it cannot find. All or nothing: when a server cannot be booted for a reason a retry
 * will not fix (quota, bad request; with `wait`, a server that goes to ERROR or does not become
 * ACTIVE in time), the servers of this step are deleted again before the step fails, so a failed
 * step leaves nothing behind for a compensation it does not get.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { classify } from '../errors';
import { Duration, NOVA_MARKER_KEY, marker, ms, target, withClient } from '../common';
import { ServerSpec, serverRequest, summarize, waitServers } from './servers';

export default defineAction({
  name: 'openstack.server.create-batch',
  description: 'Boot many servers in parallel (names from openstack.server.prepare), idempotent across retries, all or nothing; optionally wait for ACTIVE.',
  input: z.strictObject({
    ...target,
    names: z.array(z.string().min(1).max(255)).min(1).max(1000),
    ...ServerSpec,
    concurrency: z.number().int().min(1).max(200).default(50).describe('POST /servers in flight at once'),
    wait: z.boolean().default(false).describe('Wait until every server is ACTIVE (one list call per poll); one in ERROR fails the step after deleting them all'),
    timeout: Duration.default('10m'),
  }),
  async run(input, ctx) {
    if (new Set(input.names).size !== input.names.length) throw new Error('openstack.server.create-batch: names must be unique');
    return withClient(`openstack.server.create-batch (${input.names.length})`, input, ctx, async (c) => {
      const mark = marker(ctx.idempotencyKey);
      const byName = new Map<string, string>();
      if (ctx.attempt > 1) {
        // Servers an earlier attempt booted carry the marker as a tag (Nova filters on tags since 2.26).
        for (const s of await c.list('compute', '/servers', 'servers', { query: { tags: mark } })) byName.set(s.name, s.id);
        ctx.log(`attempt ${ctx.attempt}: ${byName.size} of ${input.names.length} servers already booted`);
      }
      const build = await serverRequest(c, input);
      const todo = input.names.filter((n) => !byName.has(n));
      let next = 0;
      let fatal: unknown;
      let transient: unknown;
      const worker = async () => {
        while (next < todo.length && !fatal) {
          const name = todo[next++];
          try {
            const res = await c.post('compute', '/servers', build(name, { [NOVA_MARKER_KEY]: mark }, [mark]));
            byName.set(name, res.body.server.id);
          } catch (e) {
            if (ctx.signal.aborted) throw e;
            if (classify(e).retryable) transient ??= e;
            else fatal ??= e;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(input.concurrency, todo.length) }, worker));
      ctx.heartbeat({ progress: `${byName.size}/${input.names.length} servers booting` });
      // A retry would fail the same way: remove what this step booted, then fail.
      const undo = async (e: unknown): Promise<never> => {
        const mine = await c.list('compute', '/servers', 'servers', { query: { tags: mark } });
        await Promise.all(mine.map((s: any) => c.deleteIfExists('compute', `/servers/${s.id}`)));
        if (mine.length) await waitServers(c, ctx, mine.map((s: any) => s.id), 'DELETED', 10 * 60_000).catch(() => undefined);
        ctx.log(`deleted the ${mine.length} server(s) of this step: ${(e as Error).message}`);
        throw e;
      };
      if (fatal) await undo(fatal);
      if (transient) throw transient;
      const ids = input.names.map((n) => byName.get(n)!);
      let servers: unknown[] = input.names.map((name, i) => ({ id: ids[i], name, status: 'BUILD' }));
      if (input.wait) {
        try {
          servers = (await waitServers(c, ctx, ids, 'ACTIVE', ms(input.timeout))).map(summarize);
        } catch (e) {
          if (ctx.signal.aborted || classify(e).retryable) throw e;
          await undo(e);
        }
      }
      return { ids, servers, marker: mark, booted: todo.length, changed: todo.length > 0 };
    });
  },
  async dryRun(input, ctx) {
    if (new Set(input.names).size !== input.names.length) throw new Error('openstack.server.create-batch: names must be unique');
    return withClient(`openstack.server.create-batch (${input.names.length}) (dry run)`, input, ctx, async (c) => {
      await serverRequest(c, input); // resolves flavor, image and networks as the run does
      return { changed: true, effect: 'create', summary: `boot ${input.names.length} server(s) (${input.flavor}, ${input.image}) on ${input.cloud}`, diff: input.names.map((n) => `+ server ${n}`).join('\n') };
    });
  },
  plan: (i) => `boot ${i.names.length} server(s) ${i.names.slice(0, 3).join(', ')}${i.names.length > 3 ? ', …' : ''} (${i.flavor}, ${i.image}) on ${i.cloud}${i.wait ? ', wait for ACTIVE' : ''}`,
});
