/**
 * A real Temporal dev server (`temporal server start-dev`) as a child process: used by
 * `runwright dev`, by `runwright run` when nothing else is configured, and by the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from './config';

/**
 * Dynamic config of every dev server Runwright starts (the embedded default and the tests).
 * Each sequential step costs two trips through the history service's transfer queue, whose reader
 * the dev server paces at 20 polls/s per shard: ~100 ms a step. Polled faster, and with activity
 * tasks handed back in the workflow task's reply (eager execution), a step takes ~10 ms. The price
 * is idle polling of a local SQLite file, which a development server can pay.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'frontend.enableUpdateWorkflowExecution': true,
  'history.transferProcessorMaxPollRPS': 1000,
  'system.enableActivityEagerExecution': true,
};

export interface DevServer {
  address: string;
  port: number;
  uiUrl?: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  cli: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** SQLite file: runs survive a restart of the server. */
  dbFile?: string;
  /** Where the server's own log goes (default: discarded). */
  logFile?: string;
  ip?: string;
  startTimeoutMs?: number;
  /** Keep running after this process exits (`runwright dev --background` style). */
  detached?: boolean;
  /** Codec server the web UI decodes payloads with (sealed history, lib/codec-server.ts). */
  uiCodecEndpoint?: string;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections at host:port. */
export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave a server behind when the parent dies (tests that fail, Ctrl-C).
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

/** Attempts at starting the server before giving up (see startDevServer). */
const START_ATTEMPTS = 3;

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  // The CLI picks its internal ports (history, matching, metrics) itself, between choosing and
  // binding them another process can take one, and the server then exits at once. That is a race
  // of the machine, not a fault of the caller's: start again (a new port unless one was asked for).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (!(e instanceof EarlyExit) || attempt >= START_ATTEMPTS) throw e;
    }
  }
}

class EarlyExit extends Error {}

async function startOnce(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(ip));
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', 'default', '--log-level', 'warn'];
  if (opts.headless ?? !opts.uiPort) args.push('--headless');
  else if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  if (opts.uiCodecEndpoint && !(opts.headless ?? !opts.uiPort)) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  for (const name of Object.values(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=Keyword`);
  for (const [k, v] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  // Without a log file, stderr is kept (its tail only) so that a failed start says why. Not for a
  // detached server: it outlives this process, and Go dies writing to a pipe nobody reads.
  let out: number | 'pipe' | 'ignore' = opts.detached ? 'ignore' : 'pipe';
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    out = openSync(opts.logFile, 'a');
  }
  const child = spawn(opts.cli, args, { stdio: ['ignore', typeof out === 'number' ? out : 'ignore', out], detached: opts.detached ?? false });
  if (typeof out === 'number') closeSync(out);
  let errTail = '';
  if (child.stderr) {
    child.stderr.on('data', (b: Buffer) => (errTail = (errTail + b.toString('utf8')).slice(-2000)));
    (child.stderr as unknown as { unref?: () => void }).unref?.(); // never what keeps this process up
  }
  if (opts.detached) child.unref();
  else killOnExit(child);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));

  const address = `${ip}:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== null) {
      const why = opts.logFile ? ` (see ${opts.logFile})` : errTail.trim() ? `: ${errTail.trim().split('\n').slice(-5).join('\n')}` : '';
      throw new EarlyExit(`temporal server start-dev exited with code ${exited}${why}`);
    }
    if (await isListening(ip, port)) {
      try {
        const conn = await Connection.connect({ address, connectTimeout: 2000 });
        try {
          await conn.workflowService.getSystemInfo({});
          await conn.workflowService.describeNamespace({ namespace: 'default' });
          break;
        } finally {
          await conn.close();
        }
      } catch {
        /* not ready yet */
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not become ready on ${address}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Once up, stop reading: a long-lived server must not fill a pipe nobody drains.
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();

  return {
    address,
    port,
    namespace: 'default',
    pid: child.pid!,
    uiUrl: opts.uiPort && !opts.headless ? `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${opts.uiPort}` : undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
