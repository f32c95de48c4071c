/** Inputs and the state-change core shared by the lb.haproxy.* actions (HAProxy runtime API). */
import { z } from 'zod';
import { defineAction, cancellableSleep, timeoutFields, timeoutOf, type ActionContext } from '../define';
import { readServer, runtimeSet, type AdminState, type RuntimeApi, type ServerState } from './haproxy-client';
import { msField } from '../../dsl/duration';
import { firstBefore } from './first-before';

const Name = z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'expected an HAProxy proxy or server name (letters, digits, _ . : -)');

export const RuntimeConnection = {
  socket: z.string().min(1).describe('Runtime API socket with admin level: a unix socket path ("/run/haproxy/admin.sock", "unix:/path") or "host:port" for a TCP one.'),
  ...timeoutFields(1, 300_000, 5_000, 'Per runtime API command.'),
};

export const ServerRef = {
  backend: Name.describe('Backend name.'),
  server: Name.describe('Server name inside the backend.'),
};

export function runtimeApi(input: { socket: string; timeout?: number; timeoutMs?: number }, signal?: AbortSignal): RuntimeApi {
  return { socket: input.socket, timeoutMs: timeoutOf(input, 5_000), signal };
}

/** What the outputs show of a server. */
export function view(s: ServerState) {
  return { admin: s.admin, op: s.op, weight: s.weight, initialWeight: s.initialWeight, status: s.status, sessions: s.sessions };
}

const STATE_INPUT = z.strictObject({
  ...RuntimeConnection,
  ...ServerRef,
  dryRun: z.boolean().default(false).describe('Report what would change without changing anything.'),
  waitForSessions: msField(0, 24 * 3_600_000).default(0)
    .describe('drain/maint: then wait up to this long (ms or "30s") for the server\'s current sessions to reach 0 (default 0: no wait); see `drained`.'),
  pollMs: z.number().int().min(50).max(60_000).default(500).describe('How often to check sessions while waiting.'),
});

/** lb.haproxy.drain / ready / maint: set a server's admin state, idempotently. */
export function adminStateAction(state: AdminState, description: string) {
  return defineAction({
    name: `lb.haproxy.${state}`,
    description,
    input: STATE_INPUT,
    async run(i, ctx: ActionContext) {
      const api = runtimeApi(i, ctx.signal);
      const current = await readServer(api, i.backend, i.server);
      const needsSet = current.admin !== state;
      // Report against what the first attempt saw, so a retry after a landed change still says so.
      const before = i.dryRun ? view(current) : firstBefore(ctx, view(current));
      const changed = before.admin !== state;
      const diff = changed ? { admin: { from: before.admin, to: state } } : null;
      if (i.dryRun) return { backend: i.backend, server: i.server, changed, dryRun: true, before, after: { ...before, admin: state }, diff, drained: null };
      if (needsSet) {
        ctx.log(`haproxy ${i.backend}/${i.server}: ${current.admin} → ${state}`);
        await runtimeSet(api, `set server ${i.backend}/${i.server} state ${state}`);
      }
      let after = await readServer(api, i.backend, i.server);
      if (after.admin !== state) {
        throw new Error(`haproxy ${i.backend}/${i.server}: asked for ${state}, server is ${after.admin} (flags 0x${after.adminFlags.toString(16)}: maintenance inherited from a tracked server or DNS?)`);
      }
      let drained: boolean | null = null;
      if (state !== 'ready' && i.waitForSessions > 0) {
        const end = Date.now() + i.waitForSessions;
        while ((after.sessions ?? 0) > 0 && Date.now() < end) {
          ctx.heartbeat({ before, sessions: after.sessions });
          await cancellableSleep(Math.min(i.pollMs, Math.max(1, end - Date.now())), ctx.signal);
          after = await readServer(api, i.backend, i.server);
        }
        drained = (after.sessions ?? 0) === 0;
      }
      return { backend: i.backend, server: i.server, changed, dryRun: false, before, after: view(after), diff, drained };
    },
    plan: (i) => `${i.dryRun ? 'dry run: ' : ''}set ${i.backend}/${i.server} state ${state} via ${i.socket}${i.waitForSessions && state !== 'ready' ? `, wait up to ${i.waitForSessions}ms for sessions to end` : ''}`,
  });
}
