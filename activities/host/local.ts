/**
 * Commands of a task delegated to the worker itself (`delegate_to: localhost`), with the same
 * contract as a host connection's exec: script in, code/stdout/stderr out, cancelled with the
 * run. The environment is bare on purpose: the worker's own variables may carry credentials
 * (secret references resolve from them), and a play must not read them by running `env`.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import type { Facts } from './module';
import type { ExecResult } from './ssh';

export interface LocalExecOptions {
  stdin?: string | Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LocalRunner {
  exec(script: string, opts?: LocalExecOptions): Promise<ExecResult>;
  facts(): Promise<Facts>;
}

const MAX_OUTPUT = 16 * 1024 * 1024;

export function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: homedir(),
    LANG: 'C.UTF-8',
    ...(process.env.USER ? { USER: process.env.USER } : {}),
    ...extra,
  };
}

export function execLocal(script: string, opts: LocalExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    // Its own process group, so a cancel or timeout ends what the script started too.
    const p = spawn('/bin/sh', ['-c', script], { env: bareEnv(opts.env), cwd: homedir(), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let why: Error | undefined;
    const kill = (e: Error) => {
      why ??= e;
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => kill(opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = opts.timeoutMs ? setTimeout(() => kill(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs) : undefined;
    const take = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT) kill(new Error(`more than ${MAX_OUTPUT} bytes of output`));
      else into.push(b);
    };
    p.stdout.on('data', take(out));
    p.stderr.on('data', take(err));
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.stdin ?? '');
    p.on('error', (e) => kill(e));
    p.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      if (why) return reject(opts.signal?.aborted ? opts.signal.reason : why);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

let localFacts: Promise<Facts> | undefined;

/** A runner for delegated tasks; the worker's facts are gathered once per process. */
export function localRunner(parseFacts: (out: string) => Facts, factsScript: string): LocalRunner {
  return {
    exec: execLocal,
    facts: () =>
      (localFacts ??= execLocal(factsScript).then((r) => {
        if (r.code !== 0) throw new Error(`gathering the worker's facts failed: ${r.stderr.trim().slice(0, 300)}`);
        return parseFacts(r.stdout);
      }).catch((e) => {
        localFacts = undefined;
        throw e;
      })),
  };
}
