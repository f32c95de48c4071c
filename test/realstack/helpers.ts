/**
 * The real OpenStack started by `scripts/realstack up`: its clouds.yaml (cloud "realstack",
 * admin), found through RUNWRIGHT_REALSTACK_DIR (default /var/tmp/runwright-realstack). Tests
 * fail, never skip, when it is not running: `npm run test:realstack` exists to check it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resetSessions, OpenStackClient } from '../../activities/openstack/client';
import type { ActionDefinition } from '../../activities/define';
import { act } from '../helpers/openstack';
import { startSuiteWorker, type SuiteWorker } from '../helpers/temporal';

export const CLOUD = 'realstack';
export const ROOT = join(__dirname, '..', '..');
export const STATE_DIR = process.env.RUNWRIGHT_REALSTACK_DIR || '/var/tmp/runwright-realstack';
export const CLOUDS_FILE = join(STATE_DIR, 'clouds.yaml');
export const COMPUTE_HOSTS = ['compute-1', 'compute-2'];
export const IMAGE = 'cirros-0.6.2-x86_64-disk';

/** Point the OpenStack client at the real stack; throws when it is not up. */
export function useRealstack(): void {
  if (!existsSync(CLOUDS_FILE)) throw new Error(`${CLOUDS_FILE} is missing: run scripts/realstack up first`);
  try {
    execFileSync(join(ROOT, 'scripts', 'realstack'), ['status'], { env: { ...process.env, RUNWRIGHT_REALSTACK_DIR: STATE_DIR }, stdio: 'pipe' });
  } catch (e: any) {
    throw new Error(`the real OpenStack is not (fully) running: run scripts/realstack up\n${String(e.stdout ?? '')}`);
  }
  process.env.OS_CLIENT_CONFIG_FILE = CLOUDS_FILE;
  delete process.env.OS_CLOUD;
  resetSessions();
}

/** A name prefix unique to this test run, so cleanup only touches what the run made. */
export function runPrefix(what: string): string {
  return `rw-${what}-${process.pid}-${Date.now().toString(36)}`;
}

/** Delete every server whose name starts with prefix (and wait until they are gone). */
export async function deleteServers(prefix: string): Promise<void> {
  const c = new OpenStackClient(CLOUD);
  const left = (await c.list('compute', '/servers/detail', 'servers', { query: { all_tenants: 1 } })).filter((s: any) => s.name.startsWith(prefix));
  if (!left.length) return;
  await act('openstack.server.delete', { cloud: CLOUD, ids: left.map((s: any) => s.id), wait: true });
}

/** Delete every load balancer whose name starts with prefix (cascade). */
export async function deleteLoadBalancers(prefix: string): Promise<void> {
  const c = new OpenStackClient(CLOUD);
  for (const lb of await c.list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers')) {
    if (lb.name.startsWith(prefix)) await c.deleteIfExists('load-balancer', `/lbaas/loadbalancers/${lb.id}`, { query: { cascade: true } });
  }
}

/** Restart one process of the stack (e.g. nova-compute-1), as an upgrade restarts a service. */
export function restartProcess(name: string): void {
  execFileSync(join(ROOT, 'scripts', 'realstack'), ['restart', name], { env: { ...process.env, RUNWRIGHT_REALSTACK_DIR: STATE_DIR }, stdio: 'pipe', timeout: 240_000 });
}

export type RealstackWorker = SuiteWorker;

/** Connect to the tests' Temporal dev server and run a worker (with extra actions) on a queue of its own. */
export const startWorker = (name: string, extra: ActionDefinition[] = []): Promise<RealstackWorker> => startSuiteWorker(name, extra);
