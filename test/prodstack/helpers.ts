/**
 * The production-shaped Temporal stack of `scripts/prodstack` (two server processes on PostgreSQL,
 * mTLS at the frontend), found through RUNWRIGHT_PRODSTACK_DIR (default /var/tmp/runwright-prodstack).
 * global-setup.ts starts it when it is not up and global-teardown.ts stops it again in that case.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConnectionConfig, type ConnectionConfig } from '../../lib/connect';
import { loadTopology, nodePorts } from '../../scripts/prodstack-config';

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

/** Rows of a query against the stack's PostgreSQL (psql, unaligned), as the Temporal user. */
export function sql(query: string, params: string[] = []): string[][] {
  const t = loadTopology();
  const vars = params.flatMap((p, i) => ['-v', `p${i + 1}=${p}`]);
  const out = execFileSync('psql', ['-h', t.loopback.host, '-p', String(t.loopback.postgresPort), '-U', t.postgres.user, '-d', t.postgres.database, '-XAt', ...vars], {
    input: query,
    env: { ...process.env, PGPASSWORD: readFileSync(join(STATE_DIR, 'secrets', 'db-password'), 'utf8').trim() },
    encoding: 'utf8',
  });
  return out.split('\n').filter(Boolean).map((line) => line.split('|'));
}

/** History shards a node owns now (the owner, its history service's address, is in each shard's record). */
export function shardsOwnedBy(node: string): Set<number> {
  const t = loadTopology();
  const owner = `${t.loopback.host}:${nodePorts(t, node, 'loopback').history}`;
  return new Set(sql(`select shard_id from shards where position(convert_to(:'p1', 'UTF8') in data) > 0`, [owner]).map(([id]) => Number(id)));
}

/** The history shard a workflow lives on. */
export function shardOf(workflowId: string): number {
  const [row] = sql(`select shard_id from executions where workflow_id = :'p1' limit 1`, [workflowId]);
  if (!row) throw new Error(`no execution ${workflowId} in the database`);
  return Number(row[0]);
}
