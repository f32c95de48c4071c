/**
 * The local OpenStack stand-in for tests: started on a free port with its state in a temp
 * folder and a clouds.yaml the worker finds through OS_CLIENT_CONFIG_FILE. Plus a way to call an
 * OpenStack action directly (no Temporal) with a context that records heartbeats.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionContext } from '../../activities/define';
import { OPENSTACK_ACTIONS } from '../../activities/openstack';
import { resetSessions } from '../../activities/openstack/client';
import { startOpenStackSim, type OpenStackSim, type OpenStackSimOptions } from '../../sim/openstack/server';
import type { RunStatus } from '../../workflows/definitions';

export interface SimEnv {
  sim: OpenStackSim;
  dir: string;
  cloudsFile: string;
  close(): Promise<void>;
}

/** Fast defaults for tests; individual tests change latencies with sim.setLatency(). */
export const TEST_LATENCY = { serverBuild: 300, serverDelete: 100, liveMigration: 400, lbCreate: 300, lbUpdate: 150, lbDelete: 100, healthCheck: 100 };

export async function startSim(opts: OpenStackSimOptions = {}): Promise<SimEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'rw-ossim-'));
  const sim = await startOpenStackSim({ stateFile: join(dir, 'state.json'), latency: TEST_LATENCY, ...opts });
  const cloudsFile = join(dir, 'clouds.yaml');
  sim.writeCloudsYaml(cloudsFile);
  process.env.OS_CLIENT_CONFIG_FILE = cloudsFile;
  delete process.env.OS_CLOUD;
  resetSessions();
  return {
    sim,
    dir,
    cloudsFile,
    close: async () => {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;

export interface TestCtx extends ActionContext {
  beats: unknown[];
  logs: string[];
  abort(): void;
}

export function testCtx(over: Partial<ActionContext> & { details?: unknown } = {}): TestCtx {
  const ac = new AbortController();
  const beats: unknown[] = [];
  const logs: string[] = [];
  let last = over.details;
  return {
    idempotencyKey: `test-${process.pid}-${Date.now().toString(36)}-${seq++}`,
    get executionKey() { return this.idempotencyKey; },
    attempt: 1,
    signal: ac.signal,
    heartbeat: (d) => {
      beats.push(d);
      if (d !== undefined) last = d;
    },
    heartbeatDetails: <T>() => last as T | undefined,
    log: (m) => logs.push(m),
    beats,
    logs,
    abort: () => ac.abort(),
    ...over,
  };
}

/** Run an OpenStack action's body directly (input parsed by its schema, as the activity does). */
export async function act<T = any>(name: string, input: Record<string, unknown>, ctx: ActionContext = testCtx()): Promise<T> {
  const a = OPENSTACK_ACTIONS.find((x) => x.name === name);
  if (!a) throw new Error(`no action ${name}`);
  return (await a.run(a.input.parse(input), ctx)) as T;
}

/** A fetch Response's JSON body, untyped (for assertions). */
export const json = async (r: Response): Promise<any> => r.json();

/** Await a promise that must reject; returns the error. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** A load balancer with an HTTP listener, a pool and an HTTP health monitor, ready for members. */
export async function makePool(cloud: string, name: string): Promise<{ lbId: string; poolId: string; listenerId: string }> {
  const lb = await act('openstack.loadbalancer.create', { cloud, name: `${name}-lb`, vipSubnet: 'private-subnet' });
  const l = await act('openstack.listener.create', { cloud, loadbalancer: lb.id, name: `${name}-http`, protocol: 'HTTP', protocolPort: 80 });
  const p = await act('openstack.pool.create', { cloud, listener: l.id, name: `${name}-pool`, protocol: 'HTTP' });
  await act('openstack.healthmonitor.create', { cloud, pool: p.id, delay: 1, timeoutSeconds: 1 });
  return { lbId: lb.id, poolId: p.id, listenerId: l.id };
}

/**
 * The compute phase of openstack-upgrade.yaml ran one host at a time: each batch item disabled,
 * drained (nothing left), upgraded, verified and enabled in that order, and the next item started
 * only after the previous one was enabled.
 */
export function expectRollingComputeUpgrade(st: RunStatus, computes: number): void {
  const step = (path: string) => st.steps.find((s) => s.path === path)!;
  const t = (path: string, end = false) => Date.parse(step(path)[end ? 'endedAt' : 'startedAt']!);
  for (let i = 0; i < computes; i++) {
    const p = (s: string) => `compute-upgrade[${i}].${s}`;
    expect(t(p('disable'), true)).toBeLessThanOrEqual(t(p('drain')));
    expect(t(p('drain'), true)).toBeLessThanOrEqual(t(p('upgrade')));
    expect(t(p('upgrade'), true)).toBeLessThanOrEqual(t(p('verify')));
    expect(t(p('verify'), true)).toBeLessThanOrEqual(t(p('enable')));
    if (i > 0) expect(t(`compute-upgrade[${i - 1}].enable`, true)).toBeLessThanOrEqual(t(p('disable')));
    expect((step(p('drain')).outputs as any).remaining).toEqual([]);
  }
}
