/**
 * `openstack.compute-host.evacuate`: drain a compute host by live-migrating every server off it,
 * a few at a time, like `nova host-evacuate-live` but durable: progress is in heartbeat details,
 * so a retried attempt carries on, and the action checks at the end that the host is empty.
 * The host's compute service must be disabled first (so nothing new lands on it).
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';
import { Duration, ms, target, withClient } from '../common';
import { computeService } from './servers';
import { liveMigrate, migrationPreview, type MigrationResult } from './server-live-migrate';

interface Progress {
  migrated: MigrationResult[];
  failed: { id: string; name: string; error: string }[];
}

/** The servers on a compute host (every project). */
const serversOn = async (c: OpenStackClient, host: string) => (await c.list('compute', '/servers/detail', 'servers', { query: { all_tenants: 1, host } })).filter((s: any) => s['OS-EXT-SRV-ATTR:host'] === host);

export default defineAction({
  name: 'openstack.compute-host.evacuate',
  description: 'Drain a compute host: live-migrate all its servers elsewhere (maxParallel at once), resumable; fails if servers remain.',
  input: z.strictObject({
    ...target,
    host: z.string().min(1),
    targetHost: z.string().default('').describe('Send every server here (default: the scheduler picks)'),
    maxParallel: z.number().int().min(1).max(50).default(2),
    blockMigration: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    requireDisabled: z.boolean().default(true).describe('Refuse to drain a host whose nova-compute service is still enabled'),
    ignoreStates: z.array(z.string()).default(['SHUTOFF', 'ERROR', 'SHELVED_OFFLOADED']).describe('Servers in these states are reported, not migrated'),
    timeout: Duration.default('2h').describe('For the whole drain'),
  }),
  /** Beyond the input's own wait timeout, so the step does not cut the wait short. */
  defaults: { timeout: '2h5m' },
  async run(input, ctx) {
    return withClient(`openstack.compute-host.evacuate ${input.host}`, input, ctx, async (c) => {
      const svc = await computeService(c, input.host);
      if (input.requireDisabled && svc.status !== 'disabled')
        throw new OpenStackError(`nova-compute on ${input.host} is enabled: disable it first (openstack.compute-service.disable) so no new servers land on it while it drains`, { kind: 'invalid' });
      // A retried attempt keeps what was migrated and tries earlier failures again.
      const p: Progress = { migrated: ctx.heartbeatDetails<Progress>()?.migrated ?? [], failed: [] };
      const deadline = Date.now() + ms(input.timeout);
      const onHost = () => serversOn(c, input.host);
      const skipped: { id: string; name: string; status: string }[] = [];
      for (let round = 0; round < 5; round++) {
        const servers = await onHost();
        const todo = servers.filter((s: any) => !input.ignoreStates.includes(s.status) && !p.failed.some((f) => f.id === s.id));
        skipped.splice(0, skipped.length, ...servers.filter((s: any) => input.ignoreStates.includes(s.status)).map((s: any) => ({ id: s.id, name: s.name, status: s.status })));
        if (!todo.length) break;
        ctx.log(`draining ${input.host}: ${todo.length} server(s) to live-migrate, ${input.maxParallel} at a time`);
        let next = 0;
        const worker = async () => {
          while (next < todo.length) {
            const s = todo[next++];
            try {
              const r = await liveMigrate(c, ctx, s.id, { host: input.targetHost || undefined, blockMigration: input.blockMigration, wait: true, timeoutMs: Math.max(1000, deadline - Date.now()) });
              if (r.status === 'completed') p.migrated.push(r);
              else p.failed.push({ id: s.id, name: s.name, error: `stayed on ${r.from}${r.migrationId ? ` (migration ${r.migrationId} failed)` : ''}` });
            } catch (e) {
              if (ctx.signal.aborted) throw e;
              p.failed.push({ id: s.id, name: s.name, error: (e as Error).message });
            }
            ctx.heartbeat({ ...p, progress: `${input.host}: ${p.migrated.length} migrated, ${p.failed.length} failed` });
          }
        };
        await Promise.all(Array.from({ length: Math.min(input.maxParallel, todo.length) }, worker));
      }
      const remaining = (await onHost()).filter((s: any) => !input.ignoreStates.includes(s.status));
      const result = { host: input.host, migrated: p.migrated, failed: p.failed, skipped, remaining: remaining.map((s: any) => ({ id: s.id, name: s.name, status: s.status })), changed: p.migrated.length > 0 };
      if (remaining.length)
        throw new OpenStackError(`${input.host} still has ${remaining.length} server(s): ${remaining.map((s: any) => s.name).join(', ')}${p.failed.length ? `; failures: ${p.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}` : ''}`, { kind: 'resource-error' });
      return result;
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.compute-host.evacuate ${input.host} (dry run)`, input, ctx, async (c) => {
      const svc = await computeService(c, input.host);
      if (input.requireDisabled && svc.status !== 'disabled') return { changed: false, effect: 'none', summary: `nova-compute on ${input.host} is enabled: the run would fail (disable it first)` };
      const servers = await serversOn(c, input.host);
      const todo = servers.filter((s: any) => !input.ignoreStates.includes(s.status));
      const left = servers.length - todo.length;
      const note = left ? `; ${left} server(s) in ${input.ignoreStates.join('/')} stay` : '';
      if (!todo.length) return { changed: false, effect: 'none', summary: `${input.host} has no server to live-migrate${note}` };
      return { changed: true, effect: 'change', summary: `live-migrate ${todo.length} server(s) off ${input.host}${note}`, diff: todo.map((s: any) => migrationPreview(s, input.targetHost || undefined).line).join('\n') };
    });
  },
  plan: (i) => `live-migrate every server off ${i.host} (${i.maxParallel} at a time${i.targetHost ? ` to ${i.targetHost}` : ''})`,
});
