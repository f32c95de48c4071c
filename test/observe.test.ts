/**
 * Issue 18 items 4 and 5, end to end: a worker *process* (workers/main.ts, as deployed) with its
 * Prometheus endpoint and OTLP tracing on runs a real runbook on the dev server; a real
 * Prometheus (Debian) scrapes it and evaluates deploy/prometheus/runwright-alerts.yml; a real
 * Jaeger (v1.75.0 from the Go module proxy, scripts/jaeger-binary) stores its traces.
 * Asserts: runbook metrics with the right labels, every Grafana panel query of
 * deploy/grafana/runwright-dashboard.json returns data, the alert rules pass promtool and fire on
 * the failed run, and the run's trace has the run → step → action span tree.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, singleUserWorkerEnv, startRun, uniqueQueue, type TestEnv } from './helpers/temporal';
import { freePort, ServiceGroup, type Prometheus } from './helpers/services';
import { startJaeger, type Jaeger } from './helpers/jaeger';
import { waitFor } from './helpers/wait';
import { TEST_ACTIONS } from './helpers/test-actions';
import { decideUpdate, statusQuery } from '../workflows/definitions';

const ROOT = resolve(__dirname, '..');
const RULES = join(ROOT, 'deploy/prometheus/runwright-alerts.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/runwright-dashboard.json');
const RUNBOOK = 'observe-demo';

const group = new ServiceGroup();
const queue = uniqueQueue('observe');
const service = `runwright-test-${process.pid}-${Date.now().toString(36)}`;
let dir: string;
let env: TestEnv;
let worker: ChildProcess | undefined;
let workerLog: string;
let metricsUrl: string;
let prom: Prometheus;
let jaeger: Jaeger;
const runs: { id: string; fail: boolean; result: string }[] = [];

async function stopWorker(): Promise<void> {
  const p = worker;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** A run of the fixture, approved at its gate, to its end; returns how it ended. */
async function runOnce(fail: boolean): Promise<void> {
  const rb = runbookFrom(readFileSync(join(__dirname, 'fixtures/observe.yaml'), 'utf8'), TEST_ACTIONS);
  const h = await startRun(env, queue, inputFor(rb, { fail }, { startedBy: 'test' }));
  await waitFor(async () => (await h.query(statusQuery)).pendingApprovals.length > 0, 'the approval gate', 30_000, { ignoreErrors: true });
  await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'alice', reason: 'observed' }] });
  const result = await h.result().then(
    (r) => r.state,
    () => 'failed',
  );
  runs.push({ id: h.workflowId, fail, result });
}

async function promQuery(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-observe-'));
  jaeger = await startJaeger(group);
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  workerLog = join(dir, 'worker.log');
  const fd = openSync(workerLog, 'a');
  worker = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...singleUserWorkerEnv(),
      TEMPORAL_ADDRESS: serverAddress(),
      RUNWRIGHT_TASK_QUEUE: queue,
      RUNWRIGHT_ACTIONS: join(ROOT, 'test/helpers/test-actions.ts'),
      RUNWRIGHT_REPORTS_DIR: join(dir, 'reports'),
      RUNWRIGHT_METRICS_ADDR: `127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttp,
      OTEL_SERVICE_NAME: service,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  await waitFor(() => fetch(metricsUrl).then((r) => r.ok), `the worker's metrics endpoint (log: ${workerLog})`, 60_000, { ignoreErrors: true });
  prom = await group.startPrometheus([`127.0.0.1:${port}`], '', { job: 'runwright-worker', ruleFiles: [RULES] });
  env = await connectTestEnv();
  // Two good runs (counters rise between scrapes, so rates are real), then a failing one (compensation).
  await runOnce(false);
  await runOnce(false);
  await runOnce(true);
  // A query of a closed run makes the worker replay its whole history: nothing may count twice.
  for (const r of runs) await env.client.workflow.getHandle(r.id).query(statusQuery);
}, 5 * 60_000);

afterAll(async () => {
  await stopWorker().catch(() => undefined);
  await env?.close();
  await group.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('the runs ended as planned (two succeeded, one failed after its compensation)', () => {
  expect(runs.map((r) => r.result)).toEqual(['succeeded', 'succeeded', 'failed']);
});

test("the worker's endpoint serves the SDK's metrics and Runwright's", async () => {
  const text = await (await fetch(metricsUrl)).text();
  expect(text).toMatch(/^temporal_workflow_completed_total\{/m);
  expect(text).toMatch(/^temporal_activity_execution_latency_bucket\{/m);
  expect(text).toMatch(new RegExp(`^runwright_runs_started_total\\{[^}]*runbook="${RUNBOOK}"[^}]*taskQueue="${queue}"[^}]*\\} 3$`, 'm'));
});

test('Prometheus scrapes runbook metrics with the right labels and values (replays of the runs counted nothing)', async () => {
  const sel = `taskQueue="${queue}",runbook="${RUNBOOK}"`;
  const byResult = await waitFor(async () => {
    // All three result series exist from the first run's start (at 0): wait for a scrape taken
    // after the last run ended, i.e. one that counts three finished runs.
    const r = await promQuery(`runwright_runs_finished_total{${sel}}`);
    return r.length === 3 && r.reduce((n, x) => n + Number(x.value[1]), 0) === 3 && r;
  }, 'runs finished in Prometheus', 30_000);
  // Every result's series exists from a run's start (at 0), so a first failure counts as an increase.
  expect(Object.fromEntries(byResult.map((s) => [s.metric.result, Number(s.value[1])]))).toEqual({ succeeded: 2, failed: 1, cancelled: 0 });
  expect(Number((await promQuery(`runwright_runs_started_total{${sel}}`))[0]?.value[1])).toBe(3);
  // test.flaky fails its first attempt in every run: one retry per run; its step counts once per run.
  expect(Number((await promQuery(`runwright_action_retries_total{${sel},action="test.flaky"}`))[0]?.value[1])).toBe(3);
  expect(Number((await promQuery(`runwright_step_duration_seconds_count{${sel},action="test.flaky",result="succeeded"}`))[0]?.value[1])).toBe(3);
  expect(Number((await promQuery(`runwright_step_duration_seconds_count{${sel},action="test.fail",result="failed"}`))[0]?.value[1])).toBe(1);
  // The retry's 100ms backoff is inside the step's duration.
  expect(Number((await promQuery(`min(runwright_step_duration_seconds_sum{${sel},action="test.flaky"} / runwright_step_duration_seconds_count{${sel},action="test.flaky"})`))[0]?.value[1])).toBeGreaterThanOrEqual(0.1);
  expect(Number((await promQuery(`runwright_approval_wait_seconds_count{${sel},outcome="approved"}`))[0]?.value[1])).toBe(3);
  // The failed run undid test.flaky's step (compensate: core.log) — once.
  const comp = await promQuery(`runwright_compensations_total{${sel}}`);
  expect(comp.map((s) => [s.metric.action, s.metric.result, s.value[1]])).toEqual([['core.log', 'done', '1']]);
  const rto = await promQuery(`runwright_drill_rto_seconds{taskQueue="${queue}"}`);
  expect(rto.map((s) => [s.metric.drill, s.metric.target, s.metric.fault, Number(s.value[1])])).toEqual([['observe-drill', 'cluster-a', 'test', 7.5]]);
});

test('every panel query of the Grafana dashboard returns data from the test Prometheus', async () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { type: string; title: string; targets?: { expr: string }[]; datasource?: { uid?: string } }[] };
  const panels = dash.panels.filter((p) => p.type !== 'row');
  expect(panels.length).toBeGreaterThanOrEqual(15);
  // Grafana's variables and macros as Grafana would fill them for this worker.
  const fill = (e: string) => e.replaceAll('$taskQueue', queue).replaceAll('$runbook', '.*').replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h');
  for (const p of panels) {
    expect(p.datasource?.uid).toBe('${datasource}');
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets ?? []) expect(fill(t.expr)).not.toMatch(/\$/);
  }
  const emptyPanels = async () => {
    const empty: string[] = [];
    for (const p of panels) for (const t of p.targets ?? []) if (!(await promQuery(fill(t.expr))).length) empty.push(`${p.title}: ${fill(t.expr)}`);
    return empty;
  };
  // increase()/rate() need two samples of a series: give the last run's series a few scrapes.
  let empty: string[] = [];
  await waitFor(async () => (empty = await emptyPanels()).length === 0, 'every panel to have data', 15_000).catch(() => undefined);
  expect(empty).toEqual([]);
});

test('the alert rules pass promtool (check and unit tests), load in Prometheus, and RunwrightRunFailed fires on the failed run', async () => {
  expect(execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })).toMatch(/SUCCESS: 8 rules found/);
  // Each alert fires on synthetic series and stays quiet on calm ones (deploy/prometheus/runwright-alerts.test.yml).
  expect(execFileSync('promtool', ['test', 'rules', RULES.replace(/\.yml$/, '.test.yml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  type Rule = { name: string; health: string; lastError?: string; state?: string; alerts?: { labels: Record<string, string> }[] };
  const firing = await waitFor(async () => {
    const body = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { rules: Rule[] }[] } };
    const rules = body.data.groups.flatMap((g) => g.rules);
    const bad = rules.filter((r) => r.health === 'err');
    if (bad.length) throw new Error(`rules failing: ${bad.map((r) => `${r.name}: ${r.lastError}`).join('; ')}`);
    const f = rules.find((r) => r.name === 'RunwrightRunFailed');
    return f?.state === 'firing' && rules.length >= 8 && f;
  }, 'RunwrightRunFailed firing', 30_000);
  expect(firing.alerts?.map((a) => [a.labels.runbook, a.labels.taskQueue])).toEqual([[RUNBOOK, queue]]);
});

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}

test("the run's trace in Jaeger: run → step → action spans with runbook, step, site and attempt", async () => {
  const run = runs.find((r) => r.fail)!;
  const tags = encodeURIComponent(JSON.stringify({ 'runwright.run_id': run.id }));
  const spans = await waitFor(async () => {
    const r = await fetch(`${jaeger.query}/api/traces?service=${service}&tags=${tags}&limit=5`);
    const body = (await r.json()) as { data: { spans: JaegerSpan[] }[] };
    if (body.data?.length !== 1) return false;
    const s = body.data[0].spans;
    // Complete once the compensation's attempt is in.
    return s.filter((x) => x.operationName === 'RunActivity:core.log').length >= 2 && s;
  }, `the trace of ${run.id} in Jaeger`, 30_000, { ignoreErrors: true });
  const tag = (s: JaegerSpan, k: string) => s.tags.find((t) => t.key === k)?.value;
  const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
  const childrenOf = (s: JaegerSpan) => spans.filter((c) => parentOf(c) === s.spanID);

  const roots = spans.filter((s) => s.operationName === 'RunWorkflow:runbook');
  expect(roots).toHaveLength(1);
  const root = roots[0];
  expect([tag(root, 'runwright.runbook'), tag(root, 'runwright.run_id')]).toEqual([RUNBOOK, run.id]);

  // Steps: one StartActivity span per action step under the run, in the order they ran.
  const steps = childrenOf(root).filter((s) => s.operationName.startsWith('StartActivity:'));
  const byStep = new Map(steps.map((s) => [tag(s, 'runwright.step'), s]));
  expect([...byStep.keys()]).toEqual(expect.arrayContaining(['hello', 'flaky', 'report', 'boom', 'compensate:flaky']));
  const flaky = byStep.get('flaky')!;
  expect(flaky.operationName).toBe('StartActivity:test.flaky');
  expect([tag(flaky, 'runwright.runbook'), tag(flaky, 'runwright.site'), tag(flaky, 'runwright.action')]).toEqual([RUNBOOK, 'site-a', 'test.flaky']);
  // The drill step names its site (target) in its input: it wins over the runbook's label.
  expect(tag(byStep.get('report')!, 'runwright.site')).toBe('cluster-a');

  // Actions: one RunActivity span per attempt under its step; the first attempt of test.flaky failed.
  const attempts = childrenOf(flaky).filter((s) => s.operationName === 'RunActivity:test.flaky');
  expect(attempts.map((s) => [tag(s, 'runwright.attempt'), tag(s, 'runwright.step'), tag(s, 'runwright.runbook')]).sort()).toEqual([
    [1, 'flaky', RUNBOOK],
    [2, 'flaky', RUNBOOK],
  ]);
  expect(attempts.find((s) => tag(s, 'runwright.attempt') === 1)!.tags.some((t) => t.key === 'error' && t.value === true)).toBe(true);
  const boom = childrenOf(byStep.get('boom')!);
  expect(boom.map((s) => s.operationName)).toEqual(['RunActivity:test.fail']);
});
