/**
 * Probe actions against real endpoints on loopback: probe.http against the cluster stand-ins
 * (stopped, flapping, failing mid-probe), probe.prometheus against a real Prometheus scraping
 * them (served under the /prometheus prefix, as Mimir serves its Prometheus API, and behind a
 * gateway that insists on X-Scope-OrgID as Mimir does). Run as runbook steps on real Temporal.
 */
import http from 'node:http';
import { WorkflowFailedError } from '@temporalio/client';
import { inputFor, runbookFrom, startRun, startSuiteWorker, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { ServiceGroup, missingBinaries, type Cluster, type Prometheus } from './helpers/services';
import { evaluate } from '../activities/probe/prometheus';
import { judge } from '../activities/probe/dns';
import { statusQuery } from '../workflows/definitions';

let env: TestEnv;
let queue: string;
let suite: SuiteWorker | undefined;
const services = new ServiceGroup();
let clusters: Cluster[];
let prom: Prometheus;
/** A Mimir-like gateway: the Prometheus API under /prometheus, only with X-Scope-OrgID: team-a. */
let gateway: string;
const tenantsSeen: string[] = [];

beforeAll(async () => {
  const missing = missingBinaries();
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: install the Debian packages listed in .ci/run`);
  ({ env, queue } = suite = await startSuiteWorker('probe'));
  clusters = await services.startClusters();
  prom = await services.startPrometheus(clusters.map((c) => c.hostPort), '/prometheus');
  const gw = services.trackServer(
    http.createServer((req, res) => {
      const org = req.headers['x-scope-orgid'];
      tenantsSeen.push(String(org ?? ''));
      if (org !== 'team-a') {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('no org id\n');
        return;
      }
      const up = http.request(`http://127.0.0.1:${prom.port}${req.url}`, { method: req.method, headers: { ...req.headers, host: `127.0.0.1:${prom.port}` } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    }),
  );
  await new Promise<void>((r) => gw.listen(0, '127.0.0.1', () => r()));
  gateway = `http://127.0.0.1:${(gw.address() as { port: number }).port}/prometheus`;
}, 60_000);

afterAll(async () => {
  await suite?.stop();
  await services.stop();
});

const rb = (body: string) => runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: probes }\nspec:\n${body.replace(/^/gm, '  ')}`);

async function run(body: string): Promise<Record<string, any>> {
  const h = await startRun(env, queue, inputFor(rb(body)));
  return (await h.result()).outputs as Record<string, any>;
}

async function failure(body: string): Promise<string> {
  const h = await startRun(env, queue, inputFor(rb(body)));
  try {
    await h.result();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    const cause = (e as WorkflowFailedError).cause as any;
    return [cause?.message, cause?.cause?.message].filter(Boolean).join(' | ');
  }
  throw new Error('expected the run to fail');
}

describe('probe.http', () => {
  test('a healthy target is up after successThreshold good checks', async () => {
    const a = clusters[0];
    const out = await run(`
steps:
  - id: p
    action: probe.http
    with: { url: "${a.url}/health", interval: 50ms, successThreshold: 3, bodyContains: ok }
`);
    expect(out.p).toMatchObject({ verdict: 'up', ok: true, checks: 3, successes: 3, failures: 0, reached: { up: expect.any(Number), down: null } });
    expect(out.p.timeline.map((o: any) => [o.ok, o.status])).toEqual([[true, 200], [true, 200], [true, 200]]);
  });

  test('a stopped backend is down after N consecutive failures', async () => {
    const b = clusters[1];
    await b.stop();
    try {
      const out = await run(`
steps:
  - id: p
    action: probe.http
    with: { url: "${b.url}/health", interval: 100ms, timeout: 1s, failureThreshold: 3, until: down }
`);
      expect(out.p).toMatchObject({ verdict: 'down', ok: true, checks: 3, failures: 3 });
      // The very first check failed: its offset is the time from the probe's start to that check (ms clock).
      expect(out.p.firstFailureMs).toBeLessThan(100);
      expect(out.p.firstFailureMs).toBe(out.p.timeline[0].ms);
      expect(out.p.timeline).toHaveLength(3);
      for (const o of out.p.timeline) expect(o).toMatchObject({ ok: false, status: null, error: 'ECONNREFUSED' });
      expect(out.p.transitions).toEqual([{ ms: out.p.timeline[2].ms, at: out.p.timeline[2].at, verdict: 'down' }]);
      // Three checks 100ms apart: the verdict cannot come before the third one.
      expect(out.p.reached.down).toBeGreaterThanOrEqual(180);

      // Expecting it up fails the step, once (a probe is not retried), with the reason.
      const t0 = Date.now();
      const msg = await failure(`
steps:
  - id: p
    action: probe.http
    with: { url: "${b.url}/health", interval: 50ms, failureThreshold: 2 }
`);
      expect(msg).toMatch(/probe\.http .*: down, expected up \(2 of 2 checks failed; last: ECONNREFUSED\)/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await b.start();
    }
  });

  test('a single flap does not make the target down', async () => {
    const c = clusters[2];
    c.failNext(1, 503);
    const out = await run(`
steps:
  - id: p
    action: probe.http
    with: { url: "${c.url}/health", interval: 50ms, failureThreshold: 2, successThreshold: 3 }
`);
    expect(out.p).toMatchObject({ verdict: 'up', ok: true, failures: 1, successes: 3, checks: 4, reached: { down: null } });
    expect(out.p.timeline[0]).toMatchObject({ ok: false, status: 503, error: 'HTTP 503' });

    // Two failures in a row at failureThreshold 2 are not a flap.
    c.failNext(2, 500);
    const down = await run(`
steps:
  - id: p
    action: probe.http
    with: { url: "${c.url}/health", interval: 50ms, failureThreshold: 2, successThreshold: 3, expect: any }
`);
    expect(down.p).toMatchObject({ verdict: 'down', ok: true, checks: 2 });
  });

  test('watching a window: time to detection when the target fails mid-probe, and the errors seen', async () => {
    const c = clusters[2];
    const h = await startRun(
      env,
      queue,
      inputFor(
        rb(`
steps:
  - id: watch
    action: probe.http
    with: { url: "${c.url}/health", interval: 100ms, timeout: 500ms, failureThreshold: 2, successThreshold: 1, until: deadline, maxDuration: 3s }
    heartbeatTimeout: 2s
`),
      ),
    );
    // Stop the cluster about a second into the window, bring it back a second later.
    await new Promise((r) => setTimeout(r, 1000));
    const stoppedAt = Date.now();
    await c.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await c.start();
    const out = ((await h.result()).outputs as any).watch;
    const st = await h.query(statusQuery);
    expect(st.state).toBe('succeeded');
    expect(out.verdict).toBe('up');
    expect(out.transitions.map((t: any) => t.verdict)).toEqual(['up', 'down', 'up']);
    const started = Date.parse(out.startedAt);
    // Detection: two failed checks 100ms apart after the stop.
    expect(out.reached.down).toBeGreaterThanOrEqual(stoppedAt - started);
    expect(out.reached.down).toBeLessThan(stoppedAt - started + 1500);
    expect(out.failures).toBeGreaterThanOrEqual(4);
    expect(out.failures).toBeLessThanOrEqual(15);
    expect(out.successes).toBeGreaterThanOrEqual(10);
    expect(out.durationMs).toBeGreaterThanOrEqual(3000);
    expect(out.durationMs).toBeLessThan(5000);
  });
});

describe('probe.prometheus', () => {
  const q = (extra: string) => `{ url: "${prom.url}", ${extra} }`;

  test('an instant query returns the scraped value and the threshold result', async () => {
    clusters[0].setMetric('load', 42);
    clusters[1].setMetric('load', 7);
    const out = await run(`
steps:
  - id: hi
    action: probe.prometheus
    with: ${q(`query: 'runwright_test_load{cluster="cluster-a"}', threshold: { op: ">", value: 40 }, wait: 20s, interval: 500ms`)}
  - id: both
    action: probe.prometheus
    with: ${q(`query: 'count(runwright_test_load)', threshold: { op: "==", value: 2 }, wait: 20s, interval: 500ms`)}
  - id: all
    action: probe.prometheus
    with: ${q(`query: 'runwright_test_load', threshold: { op: "<", value: 40 }, assert: false`)}
  - id: any
    action: probe.prometheus
    with: ${q(`query: 'runwright_test_load', threshold: { op: "<", value: 40 }, match: any`)}
  - id: sum
    action: probe.prometheus
    with: ${q(`query: 'sum(runwright_test_load)', threshold: { op: "==", value: 49 }, method: POST`)}
`);
    expect(out.hi).toMatchObject({ pass: true, resultType: 'vector', value: 42, seriesCount: 1 });
    expect(out.hi.series[0].metric).toMatchObject({ __name__: 'runwright_test_load', cluster: 'cluster-a', job: 'clusters' });
    expect(out.all).toMatchObject({ pass: false, seriesCount: 2 });
    expect(Object.fromEntries(out.all.series.map((s: any) => [s.metric.cluster, [s.value, s.pass]]))).toEqual({ 'cluster-a': [42, false], 'cluster-b': [7, true] });
    expect(out.any).toMatchObject({ pass: true });
    expect(out.sum).toMatchObject({ pass: true, value: 49 });
  });

  test('a failing threshold fails the step with the value; wait sees a later change', async () => {
    clusters[2].setMetric('errors', 9);
    const msg = await failure(`
steps:
  - id: p
    action: probe.prometheus
    with: ${q(`query: 'runwright_test_errors{cluster="cluster-c"}', threshold: { op: "<", value: 1 }, wait: 3s, interval: 500ms`)}
`);
    expect(msg).toMatch(/does not hold \((value 9|value none: empty result)/);
    // The value drops after a second; waiting sees it through the next scrapes.
    setTimeout(() => clusters[2].setMetric('errors', 0), 1000);
    const out = await run(`
steps:
  - id: p
    action: probe.prometheus
    with: ${q(`query: 'runwright_test_errors{cluster="cluster-c"}', threshold: { op: "<", value: 1 }, wait: 20s, interval: 300ms`)}
`);
    expect(out.p).toMatchObject({ pass: true, value: 0 });
    expect(out.p.attempts).toBeGreaterThan(1);
  });

  test('a range query: every sample, or one reduced value per series', async () => {
    clusters[0].setMetric('load', 42);
    // Let a few scrapes land.
    await new Promise((r) => setTimeout(r, 3000));
    const out = await run(`
steps:
  - id: every
    action: probe.prometheus
    with: ${q(`query: 'runwright_test_load{cluster="cluster-a"}', mode: range, lookback: 3s, step: 1s, threshold: { op: ">=", value: 42 }`)}
  - id: max
    action: probe.prometheus
    with: ${q(`query: 'up{job="clusters"}', mode: range, lookback: 2s, step: 1s, reduce: min, threshold: { op: "==", value: 1 }`)}
`);
    expect(out.every).toMatchObject({ pass: true, resultType: 'matrix', seriesCount: 1, value: 42 });
    expect(out.every.samples).toBeGreaterThanOrEqual(3);
    expect(out.every.series[0].values.every((v: [number, number]) => v[1] === 42)).toBe(true);
    expect(out.max).toMatchObject({ pass: true, seriesCount: 3 });
  });

  test('Mimir style: the /prometheus prefix and the X-Scope-OrgID tenant header', async () => {
    const out = await run(`
steps:
  - id: p
    action: probe.prometheus
    with: { url: "${gateway}", tenant: team-a, query: 'count(up{job="clusters"} == 1)', threshold: { op: "==", value: 3 }, wait: 20s, interval: 500ms }
`);
    expect(out.p).toMatchObject({ pass: true, value: 3 });
    expect(tenantsSeen).toContain('team-a');
    const msg = await failure(`
steps:
  - id: p
    action: probe.prometheus
    with: { url: "${gateway}", query: 'up' }
`);
    expect(msg).toMatch(/HTTP 401: no org id/);
  });

  test('a bad query fails at once with the server\'s reason', async () => {
    const t0 = Date.now();
    const msg = await failure(`
steps:
  - id: p
    action: probe.prometheus
    with: ${q(`query: 'sum(rate(', wait: 30s`)}
`);
    expect(msg).toMatch(/HTTP 400: bad_data: .*parse error/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('threshold evaluation', () => {
    const vec = { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, '5'] }, { metric: { a: '2' }, value: [1, 'NaN'] }] };
    const base = { mode: 'instant' as const, match: 'all' as const, onEmpty: 'fail' as const, reduce: undefined };
    expect(evaluate({ ...base, threshold: { op: '<', value: 10 } }, vec)).toMatchObject({ pass: false, value: 5, samples: 2 });
    expect(evaluate({ ...base, match: 'any', threshold: { op: '<', value: 10 } }, vec).pass).toBe(true);
    expect(evaluate({ ...base, threshold: { op: '<', value: 10 } }, { resultType: 'vector', result: [] }).pass).toBe(false);
    expect(evaluate({ ...base, onEmpty: 'pass', threshold: { op: '<', value: 10 } }, { resultType: 'vector', result: [] }).pass).toBe(true);
    expect(evaluate({ ...base, threshold: undefined }, vec).pass).toBeNull();
    const mat = { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1'], [2, '9'], [3, '2']] }] };
    expect(evaluate({ ...base, mode: 'range', threshold: { op: '<', value: 5 } }, mat)).toMatchObject({ pass: false, value: 2 });
    expect(evaluate({ ...base, mode: 'range', reduce: 'avg', threshold: { op: '<', value: 5 } }, mat)).toMatchObject({ pass: true, value: 4 });
    expect(evaluate({ ...base, threshold: { op: '>', value: 0 } }, { resultType: 'scalar', result: [1, '3'] })).toMatchObject({ pass: true, value: 3 });
  });
});

test('probe.dns judges answers', () => {
  expect(judge({ includes: ['a.example.'], excludes: ['10.0.0.2'] }, 'NOERROR', ['A.example', '10.0.0.1'])).toEqual([]);
  expect(judge({ excludes: ['10.0.0.2'] }, 'NOERROR', ['10.0.0.2'])).toEqual(['still answering [10.0.0.2]']);
  expect(judge(undefined, 'NXDOMAIN', [])).toEqual(['expected answers, got NXDOMAIN']);
  expect(judge({ empty: true }, 'NXDOMAIN', [])).toEqual([]);
  expect(judge({ equals: ['1', '2'] }, 'NOERROR', ['2', '1'])).toEqual([]);
  expect(judge({ equals: ['1'] }, 'NOERROR', ['2', '1'])).toHaveLength(1);
  expect(judge({ empty: true }, 'TIMEOUT', [])).toEqual(['no answer from the server: TIMEOUT']);
});
