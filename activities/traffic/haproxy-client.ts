/**
 * HAProxy runtime API client (the `stats socket ... level admin` of haproxy.cfg): one command per
 * connection, over a unix socket or TCP. Reads server state from `show servers state` (weights,
 * admin/operational state) and `show stat` (status text, current sessions).
 */
import { maxResponseBytes, tooLarge } from '../../lib/bounded';
import { connect, type Socket } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';

export interface RuntimeApi {
  /** "/run/haproxy/admin.sock", "unix:/path", "127.0.0.1:9999" or "tcp:127.0.0.1:9999". */
  socket: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export type AdminState = 'ready' | 'drain' | 'maint';
export type OpState = 'stopped' | 'starting' | 'running' | 'stopping';

export interface ServerState {
  backend: string;
  server: string;
  address: string;
  port: number | null;
  /** What the runtime API sets: ready, drain or maint (maint wins over drain). */
  admin: AdminState;
  /** Raw srv_admin_state flags (0x01 forced maint, 0x08 forced drain, ...). */
  adminFlags: number;
  op: OpState;
  /** Current user weight (set-weight changes it) and the weight from the configuration. */
  weight: number;
  initialWeight: number;
  /** `show stat` status (UP, DOWN, DRAIN, MAINT, no check, ...) and current sessions. */
  status: string | null;
  sessions: number | null;
  checkStatus: string | null;
}

function endpoint(socket: string): { path: string } | { host: string; port: number } {
  const s = socket.replace(/^unix:/, '');
  const tcp = /^(?:tcp:|ipv4@)?(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|localhost):(\d+)$/.exec(socket.replace(/^tcp:/, ''));
  if (!socket.startsWith('unix:') && tcp) return { host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2]) };
  return { path: s };
}

/** Send one command; resolves with the full response text. */
export function runtimeCommand(api: RuntimeApi, command: string): Promise<string> {
  if (/[\n\r;]/.test(command)) return Promise.reject(new Error('haproxy runtime command must be a single command'));
  return new Promise((resolve, reject) => {
    const ep = endpoint(api.socket);
    let sock: Socket;
    let out = '';
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      api.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve(out);
    };
    const onAbort = () => finish(api.signal?.reason ?? new Error('aborted'));
    const timer = setTimeout(
      () => finish(ApplicationFailure.retryable(`haproxy ${api.socket}: no answer to "${command}" within ${api.timeoutMs}ms`, 'HaproxyTimeout')),
      api.timeoutMs,
    );
    sock = 'path' in ep ? connect(ep.path) : connect(ep.port, ep.host);
    api.signal?.addEventListener('abort', onAbort, { once: true });
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${command}\n`));
    const limit = maxResponseBytes();
    sock.on('data', (d: string) => {
      out += d;
      // A runtime API answer the size of the worker's memory is not an answer: stop reading.
      if (out.length > limit) finish(tooLarge(`haproxy ${api.socket}: "${command}"`, limit));
    });
    sock.on('end', () => finish());
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (api.signal?.aborted) return finish(api.signal.reason);
      finish(ApplicationFailure.retryable(`haproxy runtime API ${api.socket}: ${e.code ?? e.message}`, 'HaproxyConnectionError'));
    });
  });
}

/** A command that answers with nothing on success and a message on failure ("No such server."). */
export async function runtimeSet(api: RuntimeApi, command: string): Promise<void> {
  const out = (await runtimeCommand(api, command)).trim();
  if (out) throw ApplicationFailure.nonRetryable(`haproxy: "${command}": ${out}`, /permission denied/i.test(out) ? 'HaproxyPermissionDenied' : 'HaproxyRejected');
}

const OP: Record<number, OpState> = { 0: 'stopped', 1: 'starting', 2: 'running', 3: 'stopping' };
const ADMF_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const ADMF_DRAIN = 0x08 | 0x10;

export function parseServersState(text: string): Omit<ServerState, 'status' | 'sessions' | 'checkStatus'>[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'));
  if (!header) throw ApplicationFailure.nonRetryable(`haproxy: unexpected "show servers state" answer: ${text.slice(0, 200)}`, 'HaproxyRejected');
  const cols = header.slice(1).trim().split(/\s+/);
  const at = (row: string[], c: string) => row[cols.indexOf(c)];
  const out = [];
  for (const line of lines) {
    if (line.startsWith('#') || /^\d+$/.test(line)) continue;
    const row = line.split(/\s+/);
    const flags = Number(at(row, 'srv_admin_state'));
    const port = Number(at(row, 'srv_port'));
    out.push({
      backend: at(row, 'be_name'),
      server: at(row, 'srv_name'),
      address: at(row, 'srv_addr'),
      port: Number.isFinite(port) && port > 0 ? port : null,
      admin: (flags & ADMF_MAINT ? 'maint' : flags & ADMF_DRAIN ? 'drain' : 'ready') as AdminState,
      adminFlags: flags,
      op: OP[Number(at(row, 'srv_op_state'))] ?? 'stopped',
      weight: Number(at(row, 'srv_uweight')),
      initialWeight: Number(at(row, 'srv_iweight')),
    });
  }
  return out;
}

/** `show stat` CSV → rows keyed by column name (server rows only). */
export function parseStat(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter(Boolean);
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).split(',');
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])))
    .filter((r) => r.svname !== 'FRONTEND' && r.svname !== 'BACKEND');
}

/** Every server (of one backend, if given), with weights, states and sessions. */
export async function readServers(api: RuntimeApi, backend?: string): Promise<ServerState[]> {
  const state = await runtimeCommand(api, backend ? `show servers state ${backend}` : 'show servers state');
  if (backend && /can't find backend|no such backend/i.test(state)) {
    throw ApplicationFailure.nonRetryable(`haproxy: no backend "${backend}"`, 'HaproxyRejected');
  }
  const servers = parseServersState(state);
  // -1 4 -1: all proxies, servers only, all ids (works on every version with the runtime API).
  const stats = parseStat(await runtimeCommand(api, 'show stat -1 4 -1'));
  return servers.map((s) => {
    const st = stats.find((r) => r.pxname === s.backend && r.svname === s.server);
    return {
      ...s,
      status: st?.status ?? null,
      sessions: st && st.scur !== '' ? Number(st.scur) : null,
      checkStatus: st?.check_status || null,
    };
  });
}

export async function readServer(api: RuntimeApi, backend: string, server: string): Promise<ServerState> {
  const found = (await readServers(api, backend)).find((s) => s.server === server);
  if (!found) throw ApplicationFailure.nonRetryable(`haproxy: backend "${backend}" has no server "${server}"`, 'HaproxyRejected');
  return found;
}
