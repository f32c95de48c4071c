/** `openstack.healthmonitor.create`: the pool's health monitor (a pool has at most one: an existing one is adopted). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, ms, target, withClient, undoneBy } from '../common';
import { createDryRun, getPool, mutate, poolLb, tagsWith } from './lb';

export default defineAction({
  name: 'openstack.healthmonitor.create',
  description: 'Create a health monitor on a pool (HTTP checks by default); adopts the pool\'s existing monitor; retries 409.',
  input: z.strictObject({
    ...target,
    pool: z.string().min(1),
    name: z.string().default(''),
    type: z.enum(['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT', 'SCTP']).default('HTTP'),
    delay: z.number().int().min(1).default(5),
    timeoutSeconds: z.number().int().min(1).default(3),
    maxRetries: z.number().int().min(1).max(10).default(3),
    maxRetriesDown: z.number().int().min(1).max(10).default(3),
    httpMethod: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS', 'PATCH', 'CONNECT']).default('GET'),
    urlPath: z.string().default('/'),
    expectedCodes: z.string().default('200'),
    timeout: Duration.default('10m'),
  }),
  inverse: undoneBy('openstack.healthmonitor.delete'),
  async run(input, ctx) {
    return withClient(`openstack.healthmonitor.create on ${input.pool}`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      const { tags, mark } = tagsWith(ctx, []);
      if (pool.healthmonitor_id) {
        const hm = (await c.get('load-balancer', `/lbaas/healthmonitors/${pool.healthmonitor_id}`)).body.healthmonitor;
        return { id: hm.id, poolId: pool.id, created: hm.tags?.includes(mark) ?? false, conflicts: 0, changed: false };
      }
      const http = input.type === 'HTTP' || input.type === 'HTTPS';
      const body: Record<string, unknown> = { pool_id: pool.id, type: input.type, delay: input.delay, timeout: input.timeoutSeconds, max_retries: input.maxRetries, max_retries_down: input.maxRetriesDown, tags };
      if (input.name) body.name = input.name;
      if (http) Object.assign(body, { http_method: input.httpMethod, url_path: input.urlPath, expected_codes: input.expectedCodes });
      const { result, conflicts } = await mutate(c, ctx, poolLb(pool), ms(input.timeout), async () => (await c.post('load-balancer', '/lbaas/healthmonitors', { healthmonitor: body })).body.healthmonitor);
      return { id: result.id, poolId: pool.id, created: true, conflicts, changed: true };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.healthmonitor.create on ${input.pool} (dry run)`, input, ctx, async (c) => {
      const pool = await getPool(c, input.pool);
      return createDryRun(`${input.type} health monitor${input.name ? ` ${input.name}` : ''}`, `on pool ${input.pool}`, pool.healthmonitor_id ? { resource: { id: pool.healthmonitor_id } } : undefined);
    });
  },
  plan: (i) => `ensure ${i.type} health monitor on pool ${i.pool}${i.type.startsWith('HTTP') ? ` (${i.httpMethod} ${i.urlPath} → ${i.expectedCodes})` : ''}`,
});
