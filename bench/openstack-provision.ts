/**
 * OpenStack provisioning benchmark: runbooks/provision-vm.yaml booting 100 servers in parallel
 * on the local stand-in (2 s BUILD latency) and adding them to an Octavia pool, against
 *
 *   floor   the stand-in's own latency path: BUILD → ACTIVE, one pool update (PENDING_UPDATE →
 *           ACTIVE) and the first health check, one after the other (nothing can be faster), and
 *   direct  the same work done by a hand-written script straight against the stand-in's API
 *           (no Temporal): all ports and servers at once, one list poll every 50 ms, one batch
 *           member update, members polled every 50 ms.
 *
 * It reports the wall time of each, the ratios (target: runbook ≤ 1.10 × the latency path) and
 * OpenStack API calls per VM (from the stand-in's counters).
 *
 *   npx tsx bench/openstack-provision.ts [--check]
 *
 * Starts its own Temporal dev server and the stand-in (`runwright sim openstack`, a separate
 * process, as a real cloud would be) and stops both at the end. Writes
 * bench/results/openstack-provision-<date>.json. Overrides: BENCH_OS_VMS (100), BENCH_OS_RUNS (5),
 * BENCH_OS_BUILD_MS (2000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { ActionContext } from '../activities/define';
import { OPENSTACK_ACTIONS } from '../activities/openstack';
import { OpenStackClient } from '../activities/openstack/client';
import { buildRegistry } from '../activities/registry';
import { loadRunbookFile } from '../client/runbooks';
import { resolveParams } from '../dsl/params';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { createWorker } from '../workers/worker';
import { DEFAULT_LATENCIES, type Latencies } from '../sim/openstack/model';
import { INTERPRETER_WORKFLOW, statusQuery, type RunInput } from '../workflows/definitions';

const REPO = path.resolve(__dirname, '..');
const num = (name: string, d: number) => (process.env[name] ? Number(process.env[name]) : d);
const VMS = num('BENCH_OS_VMS', 100);
const RUNS = num('BENCH_OS_RUNS', 5);
const LATENCY: Latencies = { ...DEFAULT_LATENCIES, serverBuild: num('BENCH_OS_BUILD_MS', 2000) };
const TARGET = 1.1;
const CLOUD = 'cluster-a';
const CHECK = process.argv.includes('--check');

const cleanups: (() => Promise<void>)[] = [];
async function cleanup() {
  for (const fn of cleanups.reverse()) await fn().catch((e) => console.error(`cleanup: ${e?.message ?? e}`));
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startStandIn(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const latency = Object.entries(LATENCY).flatMap(([k, v]) => ['--latency', `${k}=${v}`]);
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'runwright'), 'sim', 'openstack', '--port', '0', '--reset', '--state', path.join(dir, 'state.json'), '--clouds-yaml', path.join(dir, 'clouds.yaml'), ...latency], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const m = /^OpenStack stand-in at (\S+)/.exec(l);
      if (m) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`the stand-in exited (${c})`)));
  });
  process.env.OS_CLIENT_CONFIG_FILE = path.join(dir, 'clouds.yaml');
  return { url, child };
}

const ctx = (): ActionContext => { const key = `bench-${Math.random()}`; return { idempotencyKey: key, executionKey: key, attempt: 1, signal: new AbortController().signal, heartbeat: () => {}, heartbeatDetails: () => undefined, log: () => {} }; };
async function act(name: string, input: Record<string, unknown>): Promise<any> {
  const a = OPENSTACK_ACTIONS.find((x) => x.name === name)!;
  return a.run(a.input.parse(input), ctx());
}

/** Fresh resources, a pool to join, quotas for hundreds of servers; counters zeroed. */
async function prepare(url: string): Promise<{ poolId: string }> {
  await fetch(`${url}/_sim/reset`, { method: 'POST' });
  const c = new OpenStackClient(CLOUD);
  const t = await c.session.token();
  await c.put('compute', `/os-quota-sets/${t.projectId}`, { quota_set: { instances: 5000, cores: 5000, ram: 10_000_000 } });
  await c.put('network', `/quotas/${t.projectId}`, { quota: { port: 5000 } });
  const lb = await act('openstack.loadbalancer.create', { cloud: CLOUD, name: 'bench-lb', vipSubnet: 'private-subnet' });
  const l = await act('openstack.listener.create', { cloud: CLOUD, loadbalancer: lb.id, name: 'bench-http', protocol: 'HTTP', protocolPort: 80 });
  const p = await act('openstack.pool.create', { cloud: CLOUD, listener: l.id, name: 'bench-pool', protocol: 'HTTP' });
  await act('openstack.healthmonitor.create', { cloud: CLOUD, pool: p.id, delay: 1, timeoutSeconds: 1 });
  await act('openstack.security-group.create', { cloud: CLOUD, name: 'bench', rules: [{ port: 80 }] });
  await fetch(`${url}/_sim/counters`, { method: 'DELETE' });
  return { poolId: p.id };
}

async function counters(url: string): Promise<{ total: number; calls: Record<string, number> }> {
  return (await fetch(`${url}/_sim/counters`)).json() as Promise<{ total: number; calls: Record<string, number> }>;
}

/** The hand-written client: the fewest calls, the tightest polling. */
async function direct(poolId: string): Promise<number> {
  const c = new OpenStackClient(CLOUD);
  const net = (await c.list('network', '/networks', 'networks', { query: { name: 'private' } }))[0];
  const sg = (await c.list('network', '/security-groups', 'security_groups', { query: { name: 'bench' } }))[0];
  const image = (await c.list('image', '/images', 'images', { query: { name: 'cirros-0.6.2-x86_64-disk' } }))[0];
  const t0 = performance.now();
  const made = await Promise.all(
    Array.from({ length: VMS }, async (_, i) => {
      const port = (await c.post('network', '/ports', { port: { network_id: net.id, name: `d-${i}-port`, security_groups: [sg.id] } })).body.port;
      const s = (await c.post('compute', '/servers', { server: { name: `d-${i}`, flavorRef: '1', imageRef: image.id, networks: [{ port: port.id }] } })).body.server;
      return { id: s.id, ip: port.fixed_ips[0].ip_address };
    }),
  );
  const ids = new Set(made.map((m) => m.id));
  for (;;) {
    const all = await c.list('compute', '/servers/detail', 'servers');
    if (all.filter((s: any) => ids.has(s.id) && s.status === 'ACTIVE').length === VMS) break;
    await sleep(50);
  }
  await c.put('load-balancer', `/lbaas/pools/${poolId}/members`, { members: made.map((m) => ({ address: m.ip, protocol_port: 80 })) }, { query: { additive_only: 'true' } });
  for (;;) {
    const ms = await c.list('load-balancer', `/lbaas/pools/${poolId}/members`, 'members');
    if (ms.filter((m: any) => m.operating_status === 'ONLINE').length >= VMS) break;
    await sleep(50);
  }
  return performance.now() - t0;
}

async function runbook(client: Client, queue: string, poolId: string, n: number): Promise<{ ms: number; id: string }> {
  const { loaded } = loadRunbookFile(path.join(REPO, 'runbooks', 'provision-vm.yaml'), buildRegistry());
  const { values } = resolveParams(loaded!.runbook, { cloud: CLOUD, pool: poolId, count: VMS, namePrefix: `rb${n}`, securityGroup: 'bench' });
  const input: RunInput = { runbook: loaded!.runbook, params: values, startedBy: 'bench' };
  const t0 = performance.now();
  const h = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: queue, workflowId: `bench-provision-${n}-${Date.now()}`, args: [input] });
  await h.result();
  const ms = performance.now() - t0;
  if (process.env.BENCH_OS_TIMELINE) {
    const st = await h.query(statusQuery);
    const start = Date.parse(st.startedAt);
    const rel = (t?: string) => (t ? Date.parse(t) - start : NaN);
    const groups = new Map<string, number[][]>();
    for (const s of st.steps) {
      const key = s.path.replace(/\[\d+\]/, '[*]');
      groups.set(key, [...(groups.get(key) ?? []), [rel(s.startedAt), rel(s.endedAt)]]);
    }
    for (const [k, v] of groups) console.log(`    ${k.padEnd(28)} start ${Math.min(...v.map((x) => x[0]))}..${Math.max(...v.map((x) => x[0]))}  end ${Math.min(...v.map((x) => x[1]))}..${Math.max(...v.map((x) => x[1]))}  (${v.length})`);
  }
  return { ms, id: h.workflowId };
}

function perVm(c: { total: number; calls: Record<string, number> }) {
  const byRoute: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.calls)) {
    const [, , service, method, ...route] = k.split(' ');
    byRoute[`${service} ${method} ${route.join(' ')}`] = (byRoute[`${service} ${method} ${route.join(' ')}`] ?? 0) + v;
  }
  return { total: c.total, perVm: +(c.total / VMS).toFixed(2), byRoute: Object.fromEntries(Object.entries(byRoute).sort((a, b) => b[1] - a[1])) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rw-bench-os-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  console.log(`openstack-provision: ${VMS} VMs, BUILD ${LATENCY.serverBuild} ms, pool update ${LATENCY.lbUpdate} ms, first health check ${LATENCY.healthCheck} ms; ${RUNS} run(s) each`);
  const cli = await findTemporalCli();
  const server = await startDevServer({ cli, headless: true, logFile: path.join(dir, 'temporal.log') });
  cleanups.push(() => server.stop());
  const { url } = await startStandIn(dir);
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  cleanups.push(async () => {
    await connection.close();
    await native.close();
  });
  const client = new Client({ connection });
  const queue = 'bench-openstack';
  const worker = await createWorker({ connection: native, taskQueue: queue, registry: buildRegistry(), tuning: { maxConcurrentActivityTaskExecutions: 200 } });
  const running = worker.run();
  cleanups.push(async () => {
    worker.shutdown();
    await running;
  });

  const floor = LATENCY.serverBuild + LATENCY.lbUpdate + LATENCY.healthCheck + 3 * LATENCY.request;
  const rows: { kind: string; ms: number; calls: ReturnType<typeof perVm> }[] = [];
  // Warm-up (worker bundle, first token, JIT): one small run, not measured.
  {
    const { poolId } = await prepare(url);
    await runbook(client, queue, poolId, 0);
  }
  for (let i = 1; i <= RUNS; i++) {
    let { poolId } = await prepare(url);
    const d = await direct(poolId);
    rows.push({ kind: 'direct', ms: d, calls: perVm(await counters(url)) });
    ({ poolId } = await prepare(url));
    const r = await runbook(client, queue, poolId, i);
    rows.push({ kind: 'runbook', ms: r.ms, calls: perVm(await counters(url)) });
    console.log(`  run ${i}: direct ${(d / 1000).toFixed(2)} s, runbook ${(r.ms / 1000).toFixed(2)} s`);
  }
  const rb = median(rows.filter((r) => r.kind === 'runbook').map((r) => r.ms));
  const dr = median(rows.filter((r) => r.kind === 'direct').map((r) => r.ms));
  const rbCalls = rows.filter((r) => r.kind === 'runbook').at(-1)!.calls;
  const drCalls = rows.filter((r) => r.kind === 'direct').at(-1)!.calls;
  const result = {
    date: new Date().toISOString(),
    vms: VMS,
    latency: LATENCY,
    floorMs: floor,
    directMedianMs: Math.round(dr),
    runbookMedianMs: Math.round(rb),
    ratioToFloor: +(rb / floor).toFixed(3),
    ratioToDirect: +(rb / dr).toFixed(3),
    directToFloor: +(dr / floor).toFixed(3),
    target: TARGET,
    apiCallsPerVm: { runbook: rbCalls.perVm, direct: drCalls.perVm },
    runbookCalls: rbCalls.byRoute,
    directCalls: drCalls.byRoute,
    runs: rows.map((r) => ({ kind: r.kind, ms: Math.round(r.ms), calls: r.calls.total })),
    env: { cpus: os.cpus().length, node: process.version, loadAvgAtEnd: os.loadavg() },
  };
  console.log(`\nlatency path (floor)       ${(floor / 1000).toFixed(2)} s`);
  console.log(`direct API script (median) ${(dr / 1000).toFixed(2)} s   ${result.directToFloor}x floor, ${drCalls.perVm} API calls/VM`);
  console.log(`provision-vm (median)      ${(rb / 1000).toFixed(2)} s   ${result.ratioToFloor}x floor, ${result.ratioToDirect}x direct, ${rbCalls.perVm} API calls/VM (target ≤ ${TARGET}x)`);
  console.log(`runbook calls by route: ${Object.entries(rbCalls.byRoute).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  const out = path.join(REPO, 'bench', 'results', `openstack-provision-${result.date.slice(0, 10)}.json`);
  if (!Object.keys(process.env).some((k) => k.startsWith('BENCH_OS_'))) {
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${path.relative(REPO, out)}`);
  }
  return CHECK && result.ratioToFloor > TARGET ? 2 : 0;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (e) => {
    console.error(e);
    await cleanup();
    process.exit(1);
  });
