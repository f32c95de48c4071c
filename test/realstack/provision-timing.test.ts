/**
 * How long provision-vm takes for one server on the real Nova of scripts/realstack and on the
 * stand-in (sim/openstack) with its default latencies: the stand-in's defaults are meant to be
 * close to what a real control plane shows, so a run on it takes about as long. Also compares
 * the single operations the latencies model: server build (BUILD -> ACTIVE), live migration,
 * load balancer create. Figures go to the test output and to <state dir>/timings.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRegistry } from '../../activities/registry';
import { OpenStackClient, resetSessions } from '../../activities/openstack/client';
import { loadRunbookFile } from '../../client/runbooks';
import { resolveParams } from '../../dsl/params';
import { DEFAULT_LATENCIES } from '../../sim/openstack/model';
import type { RunInput, RunResult } from '../../workflows/definitions';
import { startRun } from '../helpers/temporal';
import { act, startSim, testCtx } from '../helpers/openstack';
import { CLOUD, CLOUDS_FILE, IMAGE, ROOT, STATE_DIR, deleteLoadBalancers, deleteServers, runPrefix, startWorker, useRealstack, type RealstackWorker } from './helpers';

const P = runPrefix('time');
let w: RealstackWorker;

beforeAll(async () => {
  useRealstack();
  w = await startWorker('realstack-timing');
});

afterAll(async () => {
  await w?.stop();
  process.env.OS_CLIENT_CONFIG_FILE = CLOUDS_FILE;
  resetSessions();
  await deleteServers(P);
  await deleteLoadBalancers(P);
  const c = new OpenStackClient(CLOUD);
  for (const g of await c.list('network', '/security-groups', 'security_groups')) if (g.name.startsWith(P)) await c.deleteIfExists('network', `/security-groups/${g.id}`);
});

function input(params: Record<string, unknown>): RunInput {
  const { loaded, diagnostics } = loadRunbookFile(join(ROOT, 'runbooks', 'provision-vm.yaml'), buildRegistry());
  if (!loaded) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const { values, errors } = resolveParams(loaded.runbook, params);
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return { runbook: loaded.runbook, params: values, children: loaded.children, startedBy: 'realstack-timing' };
}

/** A load balancer with a listener and a pool without a health monitor (members: NO_MONITOR, as Octavia's noop drivers can do). */
async function pool(cloud: string, name: string): Promise<string> {
  const lb = await act('openstack.loadbalancer.create', { cloud, name: `${name}-lb`, vipSubnet: 'private-subnet' });
  const l = await act('openstack.listener.create', { cloud, loadbalancer: lb.id, name: `${name}-http`, protocol: 'HTTP', protocolPort: 80 });
  return (await act('openstack.pool.create', { cloud, listener: l.id, name: `${name}-pool`, protocol: 'HTTP' })).id;
}

async function provision(cloud: string, poolId: string, prefix: string): Promise<number> {
  const t0 = Date.now();
  const h = await startRun(w.env, w.queue, input({ cloud, pool: poolId, count: 1, namePrefix: prefix, securityGroup: `${prefix}-sg` }));
  const res = (await h.result()) as RunResult;
  const took = Date.now() - t0;
  const m = (res.outputs as any).members.members[0];
  expect(m.operatingStatus).toBe('NO_MONITOR');
  return took;
}

/** Single operations timed with the actions themselves. */
async function operations(cloud: string, prefix: string, hosts: [string, string]) {
  let t = Date.now();
  const s = await act('openstack.server.create', { cloud, name: `${prefix}-op`, flavor: 'm1.tiny', image: IMAGE, networks: [{ network: 'private' }], availabilityZone: `nova:${hosts[0]}`, wait: true });
  const build = Date.now() - t;
  t = Date.now();
  const mig = await act('openstack.server.live-migrate', { cloud, server: s.id, host: hosts[1], wait: true }, testCtx());
  const migrate = Date.now() - t;
  expect(mig.status).toBe('completed');
  t = Date.now();
  await act('openstack.server.delete', { cloud, id: s.id, wait: true });
  const del = Date.now() - t;
  t = Date.now();
  const lb = await act('openstack.loadbalancer.create', { cloud, name: `${prefix}-oplb`, vipSubnet: 'private-subnet' });
  const lbCreate = Date.now() - t;
  t = Date.now();
  await act('openstack.loadbalancer.delete', { cloud, id: lb.id });
  const lbDelete = Date.now() - t;
  return { serverBuild: build, liveMigration: migrate, serverDelete: del, lbCreate, lbDelete };
}

test('provision-vm for one server: the stand-in with its default latencies takes about as long as real Nova', async () => {
  const realPool = await pool(CLOUD, P);
  // A first run warms the services' caches (flavors, images, tokens) as a long-running cloud has them.
  await provision(CLOUD, realPool, `${P}-warm`);
  const real = await provision(CLOUD, realPool, `${P}-web`);
  const realOps = await operations(CLOUD, P, ['compute-1', 'compute-2']);

  const sim = await startSim({ latency: DEFAULT_LATENCIES });
  let stand: number;
  let simOps: Record<string, number>;
  try {
    const simPool = await pool('cluster-a', 'timing');
    await provision('cluster-a', simPool, 'warm');
    stand = await provision('cluster-a', simPool, 'web');
    const hosts = (await new OpenStackClient('cluster-a').get('compute', '/os-services', { query: { binary: 'nova-compute' } })).body.services.map((x: any) => x.host);
    simOps = await operations('cluster-a', 'timing', [hosts[0], hosts[1]]);
  } finally {
    await sim.close();
    process.env.OS_CLIENT_CONFIG_FILE = CLOUDS_FILE;
    resetSessions();
  }
  const figures = { provisionVm: { realMs: real, standInMs: stand }, operations: { real: realOps, standIn: simOps }, defaults: DEFAULT_LATENCIES, measuredAt: new Date().toISOString() };
  console.log(`provision-vm, one server: real ${real} ms, stand-in ${stand} ms\n${JSON.stringify(figures, null, 1)}`);
  writeFileSync(join(STATE_DIR, 'timings.json'), JSON.stringify(figures, null, 1));
  // Close: within a factor of two either way.
  expect(stand / real).toBeGreaterThan(0.5);
  expect(stand / real).toBeLessThan(2);
}, 600_000);
