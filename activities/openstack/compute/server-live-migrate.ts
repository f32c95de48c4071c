/**
 * `openstack.server.live-migrate`: POST os-migrateLive (block_migration "auto", 2.25+; the
 * scheduler picks the host unless one is given) and, by default, wait until the server is ACTIVE
 * again, reporting progress from /servers/{id}/migrations in heartbeats.
 */
import { z } from 'zod';
import { defineAction, type ActionContext } from '../../define';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';
import { Duration, ms, poll, target, withClient } from '../common';

export interface MigrationResult {
  id: string;
  name: string;
  from: string | null;
  to: string | null;
  status: 'completed' | 'error' | 'unchanged';
  migrationId?: number;
}

/** Start a live migration and wait for its end; resolves with where the server ended up. */
export async function liveMigrate(c: OpenStackClient, ctx: ActionContext, serverId: string, o: { host?: string; blockMigration: 'auto' | boolean; wait: boolean; timeoutMs: number; onProgress?: (p: unknown) => void }): Promise<MigrationResult> {
  const before = (await c.get('compute', `/servers/${serverId}`)).body.server;
  const from = before['OS-EXT-SRV-ATTR:host'] ?? null;
  if (before.status === 'MIGRATING') ctx.log(`server ${before.name} is already migrating; waiting for it`);
  else {
    if (before.status !== 'ACTIVE' && before.status !== 'PAUSED') throw new OpenStackError(`server ${before.name} (${serverId}) is ${before.status}; only ACTIVE or PAUSED servers can be live-migrated`, { status: 409, apiMessage: `status ${before.status}`, kind: 'invalid' });
    await c.post('compute', `/servers/${serverId}/action`, { 'os-migrateLive': { host: o.host ?? null, block_migration: o.blockMigration } });
  }
  if (!o.wait) return { id: serverId, name: before.name, from, to: null, status: 'unchanged' };
  let progress: unknown = {};
  const after = await poll(
    ctx,
    { timeoutMs: o.timeoutMs, what: `live migration of ${before.name}`, intervalMs: 250, maxIntervalMs: 2000 },
    async () => {
      const s = (await c.get('compute', `/servers/${serverId}`)).body.server;
      if (s.status === 'ERROR') throw new OpenStackError(`server ${s.name} went to ERROR during live migration${s.fault ? `: ${s.fault.message}` : ''}`, { kind: 'resource-error' });
      if (s.status !== 'MIGRATING' && !s['OS-EXT-STS:task_state']) return s;
      const mig = await c.find('compute', `/servers/${serverId}/migrations`);
      const m = mig?.migrations?.[0];
      if (m)
        progress = {
          progress: `live migration ${m.id} of ${before.name}: ${m.status}${m.memory_total_bytes ? ` ${Math.round((100 * (m.memory_processed_bytes ?? 0)) / m.memory_total_bytes)}%` : ''}`,
          migration: m.id,
          status: m.status,
          memoryProcessed: m.memory_processed_bytes,
          memoryTotal: m.memory_total_bytes,
        };
      o.onProgress?.(progress);
      return undefined;
    },
    () => ({ server: serverId, ...(progress as object) }),
  );
  const to = after['OS-EXT-SRV-ATTR:host'] ?? null;
  const hist = (await c.get('compute', '/os-migrations', { query: { instance_uuid: serverId, migration_type: 'live-migration' } })).body.migrations ?? [];
  const last = hist.sort((a: any, b: any) => b.id - a.id)[0];
  return { id: serverId, name: after.name, from, to, status: to && to !== from ? 'completed' : 'error', migrationId: last?.id };
}

/** What a live migration of this server would do, read-only: the line for a dry run, or why nothing would move. */
export function migrationPreview(s: any, host: string | undefined): { moves: boolean; line: string } {
  const from = s['OS-EXT-SRV-ATTR:host'] ?? 'unknown host';
  const label = `server ${s.name} (${s.id})`;
  if (host && from === host) return { moves: false, line: `${label} is on ${host} already` };
  if (s.status === 'MIGRATING') return { moves: true, line: `${label} is migrating from ${from}; the run waits for it` };
  if (s.status !== 'ACTIVE' && s.status !== 'PAUSED') return { moves: false, line: `${label} is ${s.status}: the run would fail (only ACTIVE or PAUSED servers live-migrate)` };
  return { moves: true, line: `~ ${label}: host ${from} -> ${host ?? "(scheduler's choice)"}` };
}

export default defineAction({
  name: 'openstack.server.live-migrate',
  description: 'Live-migrate a server (admin; block_migration auto; target host optional) and wait for it to land; fails if it stayed on its host.',
  input: z.strictObject({
    ...target,
    server: z.string().min(1).describe('Server id'),
    host: z.string().default('').describe('Target host (default: the scheduler picks)'),
    blockMigration: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    wait: z.boolean().default(true),
    timeout: Duration.default('30m'),
  }),
  /** Beyond the input's own wait timeout, so the step does not cut the wait short. */
  defaults: { timeout: '35m' },
  async run(input, ctx) {
    return withClient(`openstack.server.live-migrate ${input.server}`, input, ctx, async (c) => {
      const r = await liveMigrate(c, ctx, input.server, { host: input.host || undefined, blockMigration: input.blockMigration, wait: input.wait, timeoutMs: ms(input.timeout) });
      if (input.wait && r.status !== 'completed')
        throw new OpenStackError(`live migration of ${r.name} (${r.id}) did not move it: still on ${r.from}${r.migrationId ? ` (migration ${r.migrationId} ended in error; see GET /os-migrations)` : ''}`, { kind: 'resource-error' });
      return { ...r, changed: r.status === 'completed' };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.server.live-migrate ${input.server} (dry run)`, input, ctx, async (c) => {
      const p = migrationPreview((await c.get('compute', `/servers/${input.server}`)).body.server, input.host || undefined);
      return p.moves ? { changed: true, effect: 'change', summary: `live-migrate server ${input.server}`, diff: p.line } : { changed: false, effect: 'none', summary: p.line };
    });
  },
  plan: (i) => `live-migrate server ${i.server}${i.host ? ` to ${i.host}` : ''} (block_migration ${i.blockMigration})`,
});
