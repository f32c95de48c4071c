/**
 * The production-shaped Temporal stack of `scripts/prodstack` (two server processes on PostgreSQL,
 * mTLS at the frontend), found through RUNWRIGHT_PRODSTACK_DIR (default /var/tmp/runwright-prodstack).
 * global-setup.ts starts it when it is not up and global-teardown.ts stops it again in that case.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConnectionConfig, type ConnectionConfig } from '../../lib/connect';

export const ROOT = join(__dirname, '..', '..');
export const SCRIPT = join(ROOT, 'scripts', 'prodstack');
export const STATE_DIR = process.env.RUNWRIGHT_PRODSTACK_DIR || '/var/tmp/runwright-prodstack';
/** Written by global-setup.ts when it started the stack (so teardown stops only what it started). */
export const STARTED_MARK = join(STATE_DIR, 'started-by-test');

const env = () => ({ ...process.env, RUNWRIGHT_PRODSTACK_DIR: STATE_DIR });

export function prodstack(args: string[], timeoutMs = 20 * 60_000): string {
  return execFileSync(SCRIPT, args, { env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
}

export function stackRuns(): boolean {
  try {
    prodstack(['status'], 60_000);
    return true;
  } catch {
    return false;
  }
}

/** What `eval "$(scripts/prodstack env NODE)"` exports, as a map (read back through bash). */
export function nodeEnv(node: string): Record<string, string> {
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', 'eval "$("$0" env "$1")" && env -0', SCRIPT, node], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RUNWRIGHT_PRODSTACK_DIR: STATE_DIR },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Object.fromEntries(
    out
      .split('\0')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])
      .filter(([k]) => k.startsWith('TEMPORAL_') || k === 'RUNWRIGHT_PRODSTACK_DIR'),
  );
}

/** Connection settings for one node, read by Runwright's own lib/connect.ts from those variables. */
export function nodeConnection(node: string): ConnectionConfig {
  return loadConnectionConfig(nodeEnv(node));
}

/** The pid of one of the stack's processes (postgres, node1, node2), from its pid file. */
export function stackPid(name: string): number {
  const [pid] = readFileSync(join(STATE_DIR, 'run', `${name}.pid`), 'utf8').trim().split(/\s+/);
  return Number(pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
