/**
 * runbooks/dr-drill.yaml end to end on the real Temporal dev server: a fault injected into
 * cluster-b through the OpenStack stand-in's fault API, detection by probes, the failover
 * runbook as a child workflow moving traffic on PowerDNS, HAProxy and Octavia (checked from
 * outside), restore, failback and a report. Also: the fail case (failover disabled), a cancel
 * mid-drill, a worker SIGKILLed mid-drill, a skipped drill and a refused approval. In every case
 * the fault must be gone at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { readServer } from '../activities/traffic/haproxy-client';
import { decideUpdate, statusQuery, type RunResult } from '../workflows/definitions';
import { failureMessage, maybeRecordHistory, serverAddress, singleUserWorkerEnv, shippedInput, startRun, startTestWorker, uniqueQueue, useTestWorker } from './helpers/temporal';
import { startActiveActive, type ActiveActive } from './helpers/active-active';
import { CLUSTER_ADDRESSES } from './helpers/services';

const ROOT = resolve(__dirname, '..');
const ALL = Object.values(CLUSTER_ADDRESSES).sort();
let aa: ActiveActive;
let reports: string;
const procs: ChildProcess[] = [];
const t = useTestWorker('drill');

beforeAll(async () => {
  aa = await startActiveActive();
  reports = mkdtempSync(join(tmpdir(), 'rw-drill-reports-'));
  // The runbook's reportsDir param is left empty: the worker's setting applies.
  process.env.RUNWRIGHT_REPORTS_DIR = reports;
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))) : undefined)));
  await aa?.stop();
  rmSync(reports, { recursive: true, force: true });
  delete process.env.RUNWRIGHT_REPORTS_DIR;
});

// Runs a failed test left behind are stopped before the next test starts.
const started: WorkflowHandle[] = [];
afterEach(async () => {
  for (const h of started.splice(0)) await h.terminate('test over').catch(() => undefined);
  await aa?.reset();
});

async function start(extra: Record<string, unknown> = {}, queue?: string): Promise<WorkflowHandle> {
  const h = await startRun(t.env, queue ?? t.queue, input(extra));
  started.push(h);
  return h;
}

/** Steps of a run that really executed (succeeded or failed), by id. */
async function ran(h: WorkflowHandle): Promise<string[]> {
  const st = await h.query(statusQuery);
  return st.steps.filter((s) => s.state === 'succeeded' || s.state === 'failed' || s.state === 'compensated').map((s) => s.id);
}

function params(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const p = aa.params();
  return {
    target: 'cluster-b',
    clusters: p.clusters,
    // Cluster health is its cloud's API: the fault takes cluster-b's whole cloud down.
    health: Object.fromEntries(Object.keys(CLUSTER_ADDRESSES).map((c) => [c, `${aa.os.sim.url}/${c}/identity/v3`])),
    backends: p.backends,
    fault: { kind: 'openstack-sim', endpoint: aa.os.sim.url, cloud: 'cluster-b', down: 'refuse' },
    safe: true,
    objectiveRto: '30s',
    window: '6s',
    entrypoint: p.entrypoint,
    dnsServer: p.dnsServer,
    dnsName: p.dnsName,
    prometheus: p.prometheus,
    loadQuery: p.loadQuery,
    ...extra,
  };
}

const input = (extra: Record<string, unknown> = {}) => shippedInput('dr-drill', params(extra));
const faults = async (): Promise<unknown[]> => ((await (await fetch(`${aa.os.sim.url}/_sim/faults`)).json()) as { faults: unknown[] }).faults;

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The report the drill.report step produced, from the run's history (works for failed runs). */
async function reportOf(workflowId: string): Promise<any> {
  const { events } = await t.env.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  for (const e of events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'drill.report') scheduled.set(String(e.eventId), 'report');
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.has(String(done.scheduledEventId))) {
      const payload = done.result!.payloads![0];
      return JSON.parse(Buffer.from(payload.data!).toString('utf8')).outputs;
    }
  }
  throw new Error(`no drill.report result in ${workflowId}`);
}

test('pass: cluster-b\'s cloud goes down, traffic moves within the RTO objective, the fault is restored and traffic fails back', async () => {
  const h = await start();
  // While the drill runs, the fault is really there: cluster-b's API refuses connections.
  await waitFor('the fault', async () => (await faults()).length === 1);
  await expect(fetch(`${aa.os.sim.url}/cluster-b/identity/v3`)).rejects.toThrow();
  // The outage reaches users too: cluster-b's application answers 503 behind the proxy.
  aa.clusters['cluster-b'].appStatus = 503;
  const outageAt = new Date().toISOString();
  await waitFor('traffic off cluster-b', async () => (await aa.resolve()).join() === [CLUSTER_ADDRESSES['cluster-a'], CLUSTER_ADDRESSES['cluster-c']].join());

  await waitFor('traffic shifted', async () => (await readServer({ socket: aa.lb.socket, timeoutMs: 5000 }, 'app', 'cluster-b')).admin === 'drain');
  aa.clusters['cluster-b'].appStatus = 200;
  const backAt = new Date().toISOString();
  const res = (await h.result()) as RunResult;
  await maybeRecordHistory(t.env, h.workflowId, 'dr-drill');
  const report = (res.outputs as any).report;
  // Users saw errors between the outage and the shift, and the report counts them.
  if (!report.errorsDuringWindow?.count) {
    const w = (res.outputs as any).window;
    console.log(JSON.stringify({ outageAt, backAt, window: w?.timeline?.map((o: any) => `${o.at.slice(17, 23)}:${o.status}`).join(' ') }));
  }
  expect(report.errorsDuringWindow.count).toBeGreaterThan(0);
  expect(report.errorsDuringWindow.checks).toBeGreaterThan(report.errorsDuringWindow.count);
  expect(report.failedBack).toBe(true);
  expect(report.verdict).toBe('pass');
  expect(report.rtoMs).toBeGreaterThan(0);
  expect(report.rtoMs).toBeLessThanOrEqual(30_000);
  expect(report.detectionMs).toBeGreaterThan(0);
  expect(report.detectionMs).toBeLessThanOrEqual(report.rtoMs);
  expect(report.restored).toBe(true);
  expect(report.steadyAfter).toBe(true);
  // The window splits into activity time, timers and the engine's own share, nothing lost.
  const e = report.engine;
  expect(e.activityMs + e.waitingMs + e.engineMs).toBeCloseTo(e.windowMs, 0);
  expect(Math.abs(e.windowMs - report.rtoMs)).toBeLessThan(100); // history timestamps vs the actions' own clocks
  expect(e.share).toBeCloseTo(e.engineMs / e.windowMs, 3);
  expect(e.activityMs).toBeGreaterThan(report.detectionMs);
  expect(report.timeline.map((e: any) => e.event)).toEqual(expect.arrayContaining([expect.stringMatching(/inject/i), expect.stringMatching(/detect/i)]));
  for (const f of Object.values(report.files) as string[]) {
    expect(f.startsWith(join(reports, h.workflowId))).toBe(true);
    expect(existsSync(f)).toBe(true);
  }
  expect(readFileSync(report.files.markdown, 'utf8')).toMatch(/pass/i);
  // Everything back as before: no fault, all three clusters in DNS, in HAProxy and in Octavia.
  expect(await faults()).toEqual([]);
  expect(await aa.resolve()).toEqual(ALL);
  expect(Object.values(await aa.memberWeights())).toEqual([10, 10, 10]);
  expect((await aa.throughProxy(30))['cluster-b']).toBeGreaterThan(0);
  console.log(`drill RTO ${report.rtoMs} ms (detection ${report.detectionMs} ms), engine ${report.engine.engineMs} ms = ${(report.engine.share * 100).toFixed(2)}% of the window`);
}, 240_000);

test('fail: with failover disabled the drill is reported failed, and the fault is still restored', async () => {
  const h = await start({ failover: false, objectiveRto: '3s', window: '4s' });
  expect(await failureMessage(h.result())).toMatch(/DR drill failed/);
  const report = await reportOf(h.workflowId);
  expect(report.verdict).toBe('fail');
  expect(report.rtoMs).toBeNull();
  expect(report.reasons.join(' ')).toMatch(/traffic|RTO|failover/i);
  expect(report.restored).toBe(true);
  expect(await faults()).toEqual([]);
  expect(await aa.resolve()).toEqual(ALL);
}, 180_000);

test('cancel mid-drill: the fault is restored by compensation', async () => {
  const h = await start({ failover: false, window: '60s', detectWithin: '60s' });
  await waitFor('the fault', async () => (await faults()).length === 1);
  await h.cancel();
  await expect(h.result()).rejects.toThrow(WorkflowFailedError);
  const st = await h.query(statusQuery);
  expect(st.state).toBe('cancelled');
  expect(st.compensations.map((c) => [c.path, c.state])).toEqual([['arm_restore', 'done'], ['arm_traffic', 'done']]);
  expect(await faults()).toEqual([]);
}, 120_000);

test('cancel after traffic moved: the fault is restored first, then cluster-b gets its traffic back', async () => {
  const h = await start({ window: '120s' });
  await waitFor('traffic off cluster-b', async () => (await aa.resolve()).length === 2);
  await h.cancel();
  await expect(h.result()).rejects.toThrow(WorkflowFailedError);
  const st = await h.query(statusQuery);
  expect(st.compensations.map((c) => [c.path, c.state])).toEqual([['arm_restore', 'done'], ['arm_traffic', 'done']]);
  expect(await faults()).toEqual([]);
  expect(await aa.resolve()).toEqual(ALL);
  expect((await readServer({ socket: aa.lb.socket, timeoutMs: 5000 }, 'app', 'cluster-b')).admin).toBe('ready');
  expect(Object.values(await aa.memberWeights())).toEqual([10, 10, 10]);
}, 120_000);

test('a drill that misses its RTO fails, but its completed failback stays (no traffic taken away again)', async () => {
  const h = await start({ objectiveRto: '100ms', window: '3s' });
  expect(await failureMessage(h.result())).toMatch(/DR drill failed.*RTO/);
  const report = await reportOf(h.workflowId);
  expect(report.verdict).toBe('fail');
  expect(report.failedBack).toBe(true);
  expect(await faults()).toEqual([]);
  expect(await aa.resolve()).toEqual(ALL);
  expect((await readServer({ socket: aa.lb.socket, timeoutMs: 5000 }, 'app', 'cluster-b')).admin).toBe('ready');
  expect(Object.values(await aa.memberWeights())).toEqual([10, 10, 10]);
}, 180_000);

test('worker SIGKILLed mid-drill: another worker completes the drill and restores the fault', async () => {
  const queue = uniqueQueue('drill-crash');
  const first = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, ...singleUserWorkerEnv() },
    stdio: 'ignore',
  });
  procs.push(first);
  const h = await start({ window: '4s' }, queue);
  await waitFor('the fault', async () => (await faults()).length === 1, 90_000);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const second = await startTestWorker(t.env, queue);
  const running = second.run();
  try {
    const res = (await h.result()) as RunResult;
    expect((res.outputs as any).report.verdict).toBe('pass');
  } finally {
    second.shutdown();
    await running;
  }
  expect(await faults()).toEqual([]);
  expect(await aa.resolve()).toEqual(ALL);
}, 240_000);

test('skip: a cluster unhealthy before the drill means no fault is injected and the report says why', async () => {
  aa.os.sim.addFault({ cloud: 'cluster-c', down: 'unavailable' });
  const h = await start();
  const report = ((await h.result()) as any).outputs.report;
  expect(report.verdict).toBe('skipped');
  expect(report.reasons.join(' ')).toMatch(/steady state not met.*cluster-c/);
  const steps = await ran(h);
  expect(steps).toEqual(expect.arrayContaining(['steady_before', 'report']));
  for (const never of ['guard', 'arm_restore', 'inject', 'restore', 'failback']) expect(steps).not.toContain(never);
  expect((await faults()).length).toBe(1); // only the test's own fault on cluster-c
}, 60_000);

test('an unsafe drill waits for approval; a rejection injects nothing', async () => {
  const h = await start({ safe: false });
  await waitFor('the approval gate', async () => (await h.query(statusQuery)).state === 'waiting-approval');
  await h.executeUpdate(decideUpdate, { args: [{ step: 'approval', decision: 'reject', user: 'sre-lead', reason: 'not today' }] });
  expect(await failureMessage(h.result())).toMatch(/reject/i);
  expect(await ran(h)).not.toContain('inject');
  expect(await faults()).toEqual([]);
}, 60_000);
