/**
 * drill.report: the verdict, timeline and engine-share computation on synthetic inputs; then the
 * action inside real runs on the dev server (a drill-shaped runbook with a child failover
 * runbook, real probe.http steps against a local HTTP server), writing report files (the PNG is
 * decoded and checked), posting to the Slack stand-in with the chart uploaded, and
 * `runwright drill report ID` reading a failed run's report from its history.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { defineAction } from '../activities/define';
import { buildRegistry } from '../activities/registry';
import drillReport from '../activities/drill/report';
import { activitySpans, compactTimeline, computeDrill, engineShare, findShift, unionClipped, type DrillInputs, type HistoryEvent } from '../activities/drill/report-compute';
import { confineReportsDir, reportPaths, safeId } from '../activities/drill/report-files';
import { fetchRunTree, reportFromHistory, shiftFromHistory, type RunHistory } from '../activities/drill/report-history';
import { renderMarkdown, type DrillReport } from '../activities/drill/report-render';
import { startSlackSim, type SlackSim } from '../sim/slack/server';
import { act as osAct, makePool, startSim, type SimEnv } from './helpers/openstack';
import { TEST_ACTIONS } from './helpers/test-actions';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { runCli, type CliResult } from './helpers/cli';

// ---------------------------------------------------------------------------------------------
// Unit tests: pure computation

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const ok = (outputs: unknown) => ({ state: 'succeeded', outputs });

function drill(over: Partial<DrillInputs> = {}): DrillInputs {
  return {
    drill: 'zone-loss',
    target: 'east',
    objectiveRtoMs: 30_000,
    steadyBefore: ok({ healthy: true, at: iso(-2000) }),
    inject: ok({ injectedAt: iso(0) }),
    detect: ok({ url: 'http://east/health', startedAt: iso(100), reached: { up: 0, down: 4100 }, checks: 6, failures: 3 }),
    failover: ok({ pick: { at: iso(5000), message: 'west' }, shift: { cluster: 'east', weight: 0, at: iso(12_000) }, back: { cluster: 'west', weight: 100, at: iso(12_500) } }),
    window: ok({
      url: 'http://svc/',
      startedAt: iso(50),
      endedAt: iso(15_000),
      checks: 30,
      failures: 3,
      timeline: [
        { at: iso(1000), ms: 950, ok: false, status: 503, error: 'HTTP 503' },
        { at: iso(2000), ms: 1950, ok: true, status: 200 },
        { at: iso(3000), ms: 2950, ok: false, status: null, error: 'connection refused' },
        { at: iso(4000), ms: 3950, ok: false, status: 503 },
      ],
    }),
    restore: ok({ restoredAt: iso(16_000) }),
    failback: ok({ recovered: { verdict: 'up', endedAt: iso(16_500) }, stages: [{ weight: { cluster: 'east', weight: 100, at: iso(17_000) } }] }),
    steadyAfter: ok({ healthy: true, at: iso(18_000) }),
    ...over,
  };
}

describe('verdict and times', () => {
  test('pass: RTO from injection to the shift of the target, detection from the probe, errors from the window probe', () => {
    const f = computeDrill(drill());
    expect(f).toMatchObject({ verdict: 'pass', reasons: [], rtoMs: 12_000, detectionMs: 4200, failoverMs: 7800, shiftStep: 'shift', restored: true, steadyAfter: true });
    expect(f.errorsDuringWindow).toEqual({ count: 3, checks: 30, rate: 0.1 });
  });

  test('fail: every failed condition is a reason', () => {
    const f = computeDrill(
      drill({
        objectiveRtoMs: 10_000,
        restore: { state: 'failed', outputs: null, error: 'restore timed out' },
        steadyAfter: ok({ healthy: false, reasons: ['west: HTTP 500'] }),
      }),
    );
    expect(f.verdict).toBe('fail');
    expect(f.reasons).toEqual(['RTO 12.0 s exceeded the objective 10.0 s', 'the fault was not restored: restore timed out', 'steady state after the drill: unhealthy: west: HTTP 500']);
    // The histories show the failover failed before shifting: no failback was needed.
    const never = computeDrill(drill({ failover: { state: 'failed', outputs: null, error: 'no healthy cluster' }, failback: { state: 'skipped', outputs: null } }), { checked: true, shift: null });
    expect(never.rtoMs).toBeNull();
    expect(never.reasons).toEqual(['traffic was never shifted away from east (failover failed: no healthy cluster)']);
    expect(never.failedBack).toBeNull();
    // Meeting the objective exactly is a pass.
    expect(computeDrill(drill({ objectiveRtoMs: 12_000 })).verdict).toBe('pass');
  });

  test('skipped: the reason, and no RTO', () => {
    const f = computeDrill({ drill: 'zone-loss', target: 'east', objectiveRtoMs: 1000, skipped: 'steady state failed', steadyBefore: ok({ healthy: false, at: iso(0) }), inject: { state: 'skipped', outputs: null } });
    expect(f).toMatchObject({ verdict: 'skipped', reasons: ['drill did not run: steady state failed'], rtoMs: null, detectionMs: null });
    const refused = computeDrill({ ...drill(), skipped: 'guard refused', guard: ok({ allowed: false, reasons: ['2 target clusters'], checkedAt: iso(-1000) }), inject: null });
    expect(refused.timeline.find((e) => e.phase === 'guard')).toMatchObject({ at: iso(-1000), detail: 'refused: 2 target clusters' });
  });

  test('the shift is the target going to weight 0, or the named step; an output that only has an `at` is not a shift', () => {
    const outs = { a: { cluster: 'west', weight: 100, at: iso(1) }, grp: { shift: { cluster: 'east', weight: 0, at: iso(9) } }, b: { at: iso(0) } };
    expect(findShift(outs, 'east')?.step).toBe('grp.shift');
    expect(findShift(outs, 'east', 'a')?.at).toBe(iso(1));
    expect(findShift({ x: { at: iso(5) }, y: { at: iso(3) } }, 'east')).toBeNull();
    expect(findShift({ x: { ok: true } }, 'east')).toBeNull();
    expect(findShift({ plan: { cluster: 'east', weight: 0, dryRun: true, at: iso(2) } }, 'east')).toBeNull();
    // An unrelated timed step (the peers check) does not make a too-small RTO.
    const f = computeDrill(drill({ failover: ok({ peers: { healthy: true, checkedAt: iso(2000), at: iso(2000) } }) }));
    expect(f).toMatchObject({ rtoMs: null, shiftedAt: null, verdict: 'fail' });
    expect(f.reasons).toContain('traffic was never shifted away from east');
  });

  test('an aborted drill fails with its error', () => {
    const f = computeDrill(drill({ run: { state: 'failed', outputs: null, error: 'activity StartToClose timeout' } }));
    expect(f.verdict).toBe('fail');
    expect(f.reasons).toEqual(['drill aborted: activity StartToClose timeout']);
    expect(computeDrill(drill({ run: ok({}) })).verdict).toBe('pass');
  });

  test('failback: needed once the failover ran; missing or failed is a fail (the target may still be out of traffic)', () => {
    expect(computeDrill(drill()).failedBack).toBe(true);
    const missing = computeDrill(drill({ failback: null }));
    expect(missing).toMatchObject({ verdict: 'fail', failedBack: false, reasons: ['failback did not complete: it did not run (east may still be out of traffic)'] });
    const failed = computeDrill(drill({ failback: { state: 'failed', outputs: null, error: 'stage 50: east unhealthy' } }));
    expect(failed.reasons).toEqual(['failback did not complete: stage 50: east unhealthy (east may still be out of traffic)']);
    expect(failed.timeline.some((e) => e.phase === 'failback')).toBe(false);
    expect(computeDrill(drill()).timeline.find((e) => e.phase === 'failback')).toMatchObject({ t: 17_000, event: 'failed back', detail: 'ok' });
    // Failover failed and the histories were not read: traffic may have moved, so failback is still needed.
    const unknown = computeDrill(drill({ failover: { state: 'failed', outputs: null, error: 'x' }, failback: null }));
    expect(unknown.reasons).toContain('failback did not complete: it did not run (east may still be out of traffic)');
    // No failover (skipped): nothing to fail back.
    expect(computeDrill(drill({ failover: { state: 'skipped', outputs: null }, failback: null })).failedBack).toBeNull();
  });

  test('a failover that failed after the shift: RTO from the shift found in its history, and the verification failure as the reason', () => {
    const failover = { state: 'failed', outputs: null, error: 'verify_http: entry point still failing' };
    const without = computeDrill(drill({ failover }));
    expect(without.rtoMs).toBeNull();
    const shift = { step: 'shift', at: iso(9000), outputs: { cluster: 'east', weight: 0, at: iso(9000) }, source: 'history' as const, failedAfter: ['verify_http'] };
    const f = computeDrill(drill({ failover }), { checked: true, shift });
    expect(f).toMatchObject({ verdict: 'fail', rtoMs: 9000, shiftedAt: iso(9000), shiftStep: 'shift', shiftSource: 'history', failoverMs: 4800, failedBack: true });
    expect(f.reasons).toEqual(["the failover's verification failed after traffic was shifted away from east (verify_http): verify_http: entry point still failing"]);
    expect(f.timeline.find((e) => e.phase === 'shift')).toMatchObject({ t: 9000, detail: 'east (shift, from the failover run history)' });
    // The outputs, when there are any, win.
    expect(computeDrill(drill(), { checked: true, shift }).shiftSource).toBe('outputs');
  });

  test('timeline: sorted, t in ms since injection, window errors, failover steps', () => {
    const tl = computeDrill(drill()).timeline;
    expect(tl.map((e) => e.t)).toEqual([...tl.map((e) => e.t)].sort((a, b) => a - b));
    expect(tl[0]).toMatchObject({ t: -2000, phase: 'steady-before', event: 'steady state checked', detail: 'ok' });
    expect(tl.find((e) => e.phase === 'inject')).toMatchObject({ t: 0, at: iso(0) });
    expect(tl.find((e) => e.event === 'target detected down')?.t).toBe(4200);
    expect(tl.filter((e) => e.phase === 'window-error').map((e) => [e.t, e.detail])).toEqual([
      [1000, 'HTTP 503'],
      [3000, 'connection refused'],
      [4000, 'HTTP 503'],
    ]);
    expect(tl.find((e) => e.phase === 'shift')).toMatchObject({ t: 12_000, detail: 'east (shift)' });
    expect(tl.filter((e) => e.phase === 'failover').map((e) => e.event)).toEqual(['failover: pick', 'failover: back']);
    expect(tl[tl.length - 1]).toMatchObject({ t: 18_000, phase: 'steady-after' });
  });

  test('window errors: transitions back to answering on the timeline; the returned report keeps only transitions when there are many', () => {
    const obs = (ms: number, okv: boolean, status: number | null = okv ? 200 : 503) => ({ at: iso(ms), ms, ok: okv, status, ...(okv ? {} : { error: status === null ? 'connection refused' : `HTTP ${status}` }) });
    // 2,000 observations: 300 ok, 1,200 HTTP 503, 300 refused, 200 ok.
    const timeline = Array.from({ length: 2000 }, (_, n) => (n < 300 ? obs(n * 10, true) : n < 1500 ? obs(n * 10, false) : n < 1800 ? obs(n * 10, false, null) : obs(n * 10, true)));
    const f = computeDrill(drill({ window: ok({ url: 'http://svc/', startedAt: iso(0), endedAt: iso(20_000), checks: 2000, failures: 1500, timeline }) }));
    expect(f.timeline.filter((e) => e.phase === 'window-error')).toHaveLength(1500);
    expect(f.timeline.filter((e) => e.event === 'answering again').map((e) => e.t)).toEqual([18_000]);
    const c = compactTimeline(f.timeline, 100);
    expect(c.omitted).toBe(1498);
    expect(c.timeline.filter((e) => e.phase === 'window-error').map((e) => [e.t, e.detail])).toEqual([
      [3000, 'HTTP 503 ×1200'],
      [15_000, 'connection refused ×300'],
    ]);
    expect(c.timeline.filter((e) => e.phase !== 'window-error')).toEqual(f.timeline.filter((e) => e.phase !== 'window-error'));
    expect(JSON.stringify(c.timeline).length).toBeLessThan(JSON.stringify(f.timeline).length / 50);
    // Few errors: unchanged. Many isolated errors: bounded, first and last half kept.
    expect(compactTimeline(computeDrill(drill()).timeline, 100)).toEqual({ timeline: computeDrill(drill()).timeline, omitted: 0 });
    const alternating = Array.from({ length: 600 }, (_, n) => obs(n * 10, n % 2 === 0));
    const a = compactTimeline(computeDrill(drill({ window: ok({ startedAt: iso(0), checks: 600, failures: 300, timeline: alternating }) })).timeline, 100);
    const errs = a.timeline.filter((e) => e.phase === 'window-error');
    expect(errs).toHaveLength(100);
    expect(a.omitted).toBe(200);
    expect([errs[0].t, errs[49].t, errs[50].t, errs[99].t]).toEqual([10, 990, 5010, 5990]);
  });

  test('the shift from history: earliest traffic.shift of the target to weight 0 in a child run, not failback runs, compensations, dry runs or the drill run itself', () => {
    let n = 0;
    const run = (workflowId: string, mode: string | undefined, acts: { id: string; type?: string; outputs?: unknown; failed?: boolean }[]): RunHistory => {
      const events: HistoryEvent[] = [{ id: ++n, type: 'WorkflowExecutionStarted', timeMs: 0, started: mode ? { runbook: 'failover', mode } : { runbook: 'failover' } }];
      for (const a of acts) {
        const sch = ++n;
        events.push({ id: sch, type: 'ActivityTaskScheduled', timeMs: n, activityId: a.id, activityType: a.type ?? 'traffic.shift' });
        events.push({ id: ++n, type: a.failed ? 'ActivityTaskFailed' : 'ActivityTaskCompleted', timeMs: n, scheduledEventId: sch, result: a.failed ? undefined : { outputs: a.outputs, attempt: 1 } });
      }
      return { workflowId, events };
    };
    const sh = (cluster: string, weight: number, ms: number, extra = {}) => ({ cluster, weight, at: iso(ms), changed: true, backends: [], ...extra });
    const runs = [
      run('d', undefined, [{ id: 'early', outputs: sh('east', 0, 100) }]),
      run('d/failover', 'failover', [
        { id: 'plan', outputs: sh('east', 0, 200, { dryRun: true }) },
        { id: 'other', outputs: sh('west', 0, 300) },
        { id: 'before', outputs: sh('east', 0, -50) },
        { id: 'shift', outputs: sh('east', 0, 7000) },
        { id: 'verify_http', type: 'probe.http', failed: true },
      ]),
      run('d/failback', 'failback', [{ id: 'stages[0].weight', outputs: sh('east', 0, 5000) }]),
      run('d/other', undefined, [{ id: 'compensate:x', outputs: sh('east', 0, 6000) }]),
    ];
    expect(shiftFromHistory(runs, 'd', 'east', T0)).toMatchObject({ step: 'shift', at: iso(7000), source: 'history', workflowId: 'd/failover', failedAfter: ['verify_http'] });
    expect(shiftFromHistory(runs, 'd', 'west', T0)?.step).toBe('other');
    expect(shiftFromHistory(runs.slice(0, 1).concat(runs.slice(2)), 'd', 'east', T0)).toBeNull();
  });

  test('reportsDir stays inside the worker reports root', () => {
    const root = mkdtempSync(join(tmpdir(), 'rw-reports-root-'));
    try {
      expect(confineReportsDir(root, undefined)).toEqual({ dir: root });
      expect(confineReportsDir(root, 'team-a')).toEqual({ dir: join(root, 'team-a') });
      expect(confineReportsDir(root, 'a/../b')).toEqual({ dir: join(root, 'b') });
      expect(confineReportsDir(root, join(root, 'x'))).toEqual({ dir: join(root, 'x') });
      expect(confineReportsDir(root, '..foo')).toEqual({ dir: join(root, '..foo') });
      for (const bad of ['/etc', '..', '../x', 'a/../../x', join(root, '..', 'x'), tmpdir()]) expect(confineReportsDir(root, bad)).toEqual({ error: expect.stringContaining("is outside the worker's reports folder") });
      symlinkSync(tmpdir(), join(root, 'link'));
      expect(confineReportsDir(root, 'link/x')).toEqual({ error: expect.stringContaining('outside') });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('input: safe defaults to false, like the runbook', () => {
    const base = { drill: 'd', target: 'east', clusters: ['east'], objectiveRtoMs: '60s' };
    expect(drillReport.input.parse(base).safe).toBe(false);
    expect(drillReport.input.parse({ ...base, safe: true }).safe).toBe(true);
    expect(drillReport.input.parse({ ...base, run: { state: 'failed', error: 'x' }, failback: null })).toMatchObject({ run: { state: 'failed' }, failback: null });
  });

  test('report folder names: safe and distinct', () => {
    expect(safeId('drill-1')).toBe('drill-1');
    expect(safeId('a/b')).not.toBe(safeId('a_b'));
    expect(safeId('../x')).not.toMatch(/\//);
    expect(safeId('..')).not.toMatch(/^\./);
  });
});

/** Synthetic history: an activity scheduled at s, started at a (attempt n), closed at c. */
function act(ev: HistoryEvent[], id: string, s: number, a: number | null, c: number, opts: { attempt?: number; closed?: string; result?: unknown } = {}) {
  const sch = ev.length + 1;
  ev.push({ id: sch, type: 'ActivityTaskScheduled', timeMs: s, activityId: id, activityType: 'x' });
  if (a !== null) ev.push({ id: ev.length + 1, type: 'ActivityTaskStarted', timeMs: a, scheduledEventId: sch, attempt: opts.attempt ?? 1 });
  ev.push({ id: ev.length + 1, type: opts.closed ?? 'ActivityTaskCompleted', timeMs: c, scheduledEventId: sch, result: opts.result });
}
function timer(ev: HistoryEvent[], s: number, f: number) {
  const id = ev.length + 1;
  ev.push({ id, type: 'TimerStarted', timeMs: s, timerId: String(id) });
  ev.push({ id: id + 1, type: 'TimerFired', timeMs: f, startedEventId: id, timerId: String(id) });
}

describe('engine share of the RTO window', () => {
  test('sequential activities and a timer: the gaps are the engine', () => {
    const ev: HistoryEvent[] = [];
    act(ev, 'a', 90, 100, 400);
    act(ev, 'b', 480, 500, 800);
    timer(ev, 820, 950);
    expect(engineShare([ev], { startMs: 0, endMs: 1000 })).toMatchObject({ windowMs: 1000, activityMs: 600, waitingMs: 130, engineMs: 270, share: 0.27, activities: 2, timers: 1 });
  });

  test('parallel activities across the parent and a child history count once (union), clipped to the window', () => {
    const parent: HistoryEvent[] = [];
    const child: HistoryEvent[] = [];
    act(parent, 'inject', -500, -400, 200); // started before the window: only [0, 200] counts
    act(child, 'c1', 250, 300, 700);
    act(child, 'c2', 250, 310, 600); // inside c1
    act(child, 'shift', 750, 760, 1200); // ends after the window
    timer(child, 100, 350); // overlaps c1: only [200, 300] is waiting
    const e = engineShare([parent, child], { startMs: 0, endMs: 1000 });
    expect(e).toMatchObject({ windowMs: 1000, activityMs: 200 + 400 + 240, waitingMs: 100, histories: 2 });
    expect(e.engineMs).toBe(1000 - 840 - 100);
    expect(e.activityMs + e.waitingMs + e.engineMs).toBe(e.windowMs);
  });

  test('a retried activity counts from its schedule (earlier attempts and back-off); never-started ones count nothing', () => {
    const ev: HistoryEvent[] = [];
    act(ev, 'flaky', 100, 700, 900, { attempt: 3 });
    act(ev, 'lost', 0, null, 1000, { closed: 'ActivityTaskTimedOut' });
    expect(activitySpans(ev).map((s) => [s.activityId, s.startMs, s.endMs])).toEqual([['flaky', 100, 900]]);
    expect(engineShare([ev], { startMs: 0, endMs: 1000 })).toMatchObject({ activityMs: 800, engineMs: 200, share: 0.2 });
  });

  test('excluded activities (the window probe watching beside the failover) are not activity time', () => {
    const ev: HistoryEvent[] = [];
    act(ev, 'window', 0, 5, 1000, { result: { outputs: { startedAt: 'w' } } });
    act(ev, 'step', 200, 210, 400);
    const all = engineShare([ev], { startMs: 0, endMs: 1000 });
    expect(all.activityMs).toBe(995);
    const e = engineShare([ev], { startMs: 0, endMs: 1000 }, (s) => (s.closed.result as any)?.outputs?.startedAt === 'w');
    expect(e).toMatchObject({ activityMs: 190, engineMs: 810, excluded: ['window'], activities: 1 });
  });

  test('union of intervals', () => {
    expect(unionClipped([[5, 8], [1, 3], [2, 4], [7, 12]], 0, 10)).toEqual([[1, 4], [5, 10]]);
    expect(unionClipped([[-5, -1]], 0, 10)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Integration: real runs on the dev server

/** Decode a PNG (8-bit RGB/RGBA, non-interlaced): size and pixels, to check what was drawn. */
function decodePng(buf: Buffer): { width: number; height: number; pixel(x: number, y: number): number[] } {
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(buf.toString('latin1', 12, 16)).toBe('IHDR');
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  const depth = buf[24];
  const colorType = buf[25];
  expect(depth).toBe(8);
  expect([2, 6]).toContain(colorType);
  const bpp = colorType === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(buf.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= bpp ? px[y * stride + i - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp] : 0;
      const p = a + b - c;
      const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][f];
      px[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, pixel: (x, y) => [...px.subarray(y * stride + x * bpp, y * stride + x * bpp + 3)] };
}

const fault = defineAction({
  name: 'drilltest.fault',
  description: 'test: pretend to inject a fault, or fail to',
  input: z.strictObject({ target: z.string(), fail: z.boolean().default(false) }),
  async run({ target, fail }) {
    if (fail) throw ApplicationFailure.nonRetryable('inject refused by test', 'Planned');
    return { target, injectedAt: new Date().toISOString() };
  },
});
const restore = defineAction({
  name: 'drilltest.restore',
  description: 'test: pretend to restore a fault, or fail to',
  input: z.strictObject({ fail: z.boolean() }),
  async run({ fail }) {
    if (fail) throw ApplicationFailure.nonRetryable('restore refused by test', 'Planned');
    return { restored: true, restoredAt: new Date().toISOString() };
  },
});
// drill.report is in the registry once the drill folder is wired; otherwise the test adds it.
const EXTRA = [fault, restore, ...TEST_ACTIONS, ...(buildRegistry().has('drill.report') ? [] : [drillReport])];

// The failover runbook stand-in: in failover mode it takes the target out with the real
// traffic.shift (an Octavia pool on the OpenStack stand-in) and then verifies (which the test can
// make fail); in failback mode it puts the target back.
const CHILD = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: drilltest-failover }
spec:
  params:
    target: { type: string }
    backends: { type: array }
    mode: { type: string, default: failover }
    verifyFails: { type: boolean, default: false }
  steps:
    - id: prepare
      when: "{{ params.mode == 'failover' }}"
      action: core.sleep
      with: { ms: 300 }
    - id: settle
      when: "{{ params.mode == 'failover' }}"
      sleep: 1s
    - id: shift
      action: traffic.shift
      with: { cluster: "{{ params.target }}", weight: "{{ params.mode == 'failover' ? 0 : 100 }}", backends: "{{ params.backends }}" }
    - id: verify
      when: "{{ params.mode == 'failover' }}"
      action: test.failIf
      with: { fail: "{{ params.verifyFails }}", value: "entry point still failing" }
`;

// Shaped like runbooks/dr-drill.yaml: the drill's steps in one group that may fail (the report
// still runs), failover and failback as child runs, the report fed every step record.
const PARENT = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: drilltest }
spec:
  params:
    target: { type: string, default: east }
    backends: { type: array }
    objective: { type: string }
    reportsDir: { type: string, default: "" }
    downUrl: { type: string }
    flakyUrl: { type: string }
    windowUrl: { type: string, default: "" }
    windowInterval: { type: integer, default: 100 }
    injectFails: { type: boolean, default: false }
    verifyFails: { type: boolean, default: false }
    restoreFails: { type: boolean, default: false }
  steps:
    - id: steadyBefore
      action: core.noop
      with: { value: { healthy: true } }
    - id: drill
      onFailure: continue
      steps:
        - id: inject
          action: drilltest.fault
          with: { target: "{{ params.target }}", fail: "{{ params.injectFails }}" }
        - id: detect
          action: probe.http
          with: { url: "{{ params.downUrl }}", interval: 50, failureThreshold: 2, until: down, maxDuration: 10s }
        - id: recover
          parallel:
            - id: failover
              runbook: drilltest-failover
              onFailure: continue
              with: { target: "{{ params.target }}", backends: "{{ params.backends }}", verifyFails: "{{ params.verifyFails }}" }
            - id: window
              action: probe.http
              with:
                url: "{{ params.windowUrl != '' ? params.windowUrl : params.flakyUrl }}"
                interval: "{{ params.windowInterval }}"
                until: deadline
                maxDuration: 2500ms
                timelineLimit: 2000
        - id: restore
          action: drilltest.restore
          with: { fail: "{{ params.restoreFails }}" }
          onFailure: continue
        - id: failback
          when: "{{ steps.failover.state != 'skipped' }}"
          runbook: drilltest-failover
          onFailure: continue
          with: { target: "{{ params.target }}", backends: "{{ params.backends }}", mode: failback }
        - id: steadyAfter
          action: core.noop
          with: { value: { healthy: true } }
    - id: report
      action: drill.report
      with:
        drill: zone-loss
        target: "{{ params.target }}"
        clusters: [east, west]
        objectiveRtoMs: "{{ params.objective }}"
        fault: { kind: http-503, cluster: "{{ params.target }}" }
        safe: true
        run: "{{ steps.drill }}"
        steadyBefore: "{{ steps.steadyBefore }}"
        inject: "{{ has(steps.inject) ? steps.inject : null }}"
        detect: "{{ has(steps.detect) ? steps.detect : null }}"
        failover: "{{ has(steps.failover) ? steps.failover : null }}"
        window: "{{ has(steps.window) ? steps.window : null }}"
        restore: "{{ has(steps.restore) ? steps.restore : null }}"
        failback: "{{ has(steps.failback) ? steps.failback : null }}"
        steadyAfter: "{{ has(steps.steadyAfter) ? steps.steadyAfter : null }}"
        reportsDir: "{{ params.reportsDir }}"
    - id: verdict
      action: test.failIf
      with: { fail: "{{ steps.report.outputs.verdict == 'fail' }}", value: "{{ steps.report.outputs.reasons }}" }
`;

const SKIPPED = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: drilltest-skipped }
spec:
  params:
    reportsDir: { type: string, default: "" }
  steps:
    - id: steadyBefore
      action: core.noop
      with: { value: { healthy: false, reasons: ["west: HTTP 500"] } }
    - id: report
      action: drill.report
      with: { drill: zone-loss, target: east, clusters: [east, west], objectiveRtoMs: 30s, skipped: "steady state failed", steadyBefore: "{{ steps.steadyBefore }}", reportsDir: "{{ params.reportsDir }}", slackChannel: C0DRILL }
`;

const root = resolve(__dirname, '..');
const BOT = 'xoxb-drill-test-3f1e';
const CHANNEL = 'C0DRILL';
const ENV_KEYS = ['SLACK_BOT_TOKEN', 'RUNWRIGHT_SLACK_API_URL', 'RUNWRIGHT_SLACK_CHANNEL', 'RUNWRIGHT_REPORTS_DIR', 'OS_CLIENT_CONFIG_FILE', 'OS_CLOUD'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

let env: TestEnv;
let queue: string;
let worker: Worker;
let workerRun: Promise<void>;
let sim: SlackSim;
let os: SimEnv;
let backends: unknown[];
let http: Server;
let base: string;
let dir: string;
let reportsDir: string;
let flakyHits = 0;

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd: dir, env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_HOME: join(dir, '.runwright'), RUNWRIGHT_REPORTS_DIR: reportsDir, ...extraEnv } });
}

const children = () => ({ 'drilltest-failover': runbookFrom(CHILD, EXTRA) });

async function runDrill(id: string, params: Record<string, unknown>): Promise<{ ok: boolean; error?: string }> {
  const rb = runbookFrom(PARENT, EXTRA);
  const h = await startRun(env, queue, inputFor(rb, { backends, downUrl: `${base}/down`, flakyUrl: `${base}/flaky`, ...params }, { children: children() }), id);
  try {
    await h.result();
    return { ok: true };
  } catch (e: any) {
    let c = e;
    while (c?.cause) c = c.cause;
    return { ok: false, error: String(c?.message ?? e) };
  }
}

beforeAll(async () => {
  env = await connectTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'rw-drill-'));
  reportsDir = join(dir, 'reports');
  sim = await startSlackSim({ botToken: BOT, channels: [CHANNEL] });
  // Steering: a pool on the OpenStack stand-in whose members stand for the two clusters.
  os = await startSim();
  const pool = await makePool('cluster-a', 'drilltest');
  await osAct('openstack.member.batch', { cloud: 'cluster-a', pool: pool.poolId, addresses: ['10.0.0.201', '10.0.0.202'], protocolPort: 80, weight: 10 });
  backends = [{ kind: 'octavia', cloud: 'cluster-a', pool: pool.poolId, members: { east: ['10.0.0.201'], west: ['10.0.0.202'] } }];
  http = createServer((req, res) => {
    // /down: the injected fault; /flaky: the service entry point, failing every third request.
    const bad = req.url === '/down' || (req.url === '/flaky' && ++flakyHits % 3 === 0);
    res.writeHead(bad ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(bad ? 'unavailable' : 'ok');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  // The worker in this process reads these when it posts and writes; nothing secret enters a
  // workflow, and runs may only pick a subfolder of the reports root.
  Object.assign(process.env, { SLACK_BOT_TOKEN: BOT, RUNWRIGHT_SLACK_API_URL: sim.apiUrl, RUNWRIGHT_SLACK_CHANNEL: CHANNEL, RUNWRIGHT_REPORTS_DIR: reportsDir });
  queue = uniqueQueue('drill');
  worker = await startTestWorker(env, queue, EXTRA);
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await env?.close();
  await sim?.close();
  await os?.close();
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a passing drill: report files with a real chart, Slack message with the chart in its thread, engine share from real histories', async () => {
  const id = `drilltest-pass-${Date.now().toString(36)}`;
  const r = await runDrill(id, { objective: '60s' });
  expect(r).toEqual({ ok: true });
  const paths = reportPaths(reportsDir, id);
  expect(readdirSync(paths.dir).sort()).toEqual(['report.json', 'report.md', 'timeline.png']);
  const rep = JSON.parse(readFileSync(paths.json, 'utf8')) as DrillReport;
  expect(rep).toMatchObject({ id, drill: 'zone-loss', verdict: 'pass', reasons: [], objectiveRtoMs: 60_000, restored: true, failedBack: true, steadyAfter: true, shiftStep: 'shift', shiftSource: 'outputs', safe: true });
  expect(rep.steps).toMatchObject({ run: { state: 'succeeded' }, failover: { state: 'succeeded' }, failback: { state: 'succeeded' } });
  expect(rep.files).toEqual({ json: paths.json, markdown: paths.markdown, png: paths.png });
  // Child: 300 ms in an activity + a 1 s durable timer before the shift; detection takes at least 2 checks 50 ms apart.
  expect(rep.rtoMs).toBeGreaterThan(1300);
  expect(rep.rtoMs).toBeLessThan(20_000);
  expect(rep.detectionMs).toBeGreaterThanOrEqual(50);
  expect(rep.detectionMs!).toBeLessThan(rep.rtoMs!);
  expect(rep.errorsDuringWindow!.count).toBeGreaterThan(0);
  expect(rep.errorsDuringWindow!.rate).toBeCloseTo(rep.errorsDuringWindow!.count / rep.errorsDuringWindow!.checks, 3);
  expect(rep.timeline.filter((e) => e.phase === 'window-error').length).toBe(rep.errorsDuringWindow!.count);

  // Engine share, from the drill's and the failover child's histories.
  const e = rep.engine!;
  expect(e).not.toBeNull();
  expect(e.histories).toBe(3);
  expect(e.excluded).toEqual(['window']);
  expect(Math.abs(e.windowMs - rep.rtoMs!)).toBeLessThan(100);
  expect(e.activityMs).toBeGreaterThanOrEqual(300);
  expect(e.waitingMs).toBeGreaterThanOrEqual(900);
  expect(e.engineMs).toBeGreaterThan(0);
  expect(e.activityMs + e.waitingMs + e.engineMs).toBe(e.windowMs);
  expect(e.share).toBeCloseTo(e.engineMs / e.windowMs, 3);
  // The event times mean what the computation assumes: ActivityTaskStarted is the real start of
  // the (last) attempt, so core.sleep(300) spans at least 300 ms, and dispatch before it is short.
  const runs = await fetchRunTree(env.client, id);
  expect(runs.map((x) => x.workflowId)).toEqual([id, `${id}/failover`, `${id}/failback`]);
  expect(runs.map((x) => x.events[0].started)).toEqual([{ runbook: 'drilltest' }, { runbook: 'drilltest-failover', mode: 'failover' }, { runbook: 'drilltest-failover', mode: 'failback' }]);
  const sleepSpan = activitySpans(runs[1].events).find((s) => s.activityId === 'prepare')!;
  const scheduled = runs[1].events.find((x) => x.type === 'ActivityTaskScheduled' && x.activityId === 'prepare')!;
  expect(sleepSpan.endMs - sleepSpan.startMs).toBeGreaterThanOrEqual(300);
  expect(sleepSpan.startMs - scheduled.timeMs).toBeLessThan(300);
  expect(reportFromHistory(runs[0].events)).toMatchObject({ id, verdict: 'pass' });

  const md = readFileSync(paths.markdown, 'utf8');
  expect(md).toMatch(/^# DR drill report: zone-loss — PASS/);
  expect(md).toMatch(/\| RTO \(fault injected → traffic shifted\) \| \d+\.\d+ s \(objective 60\.0 s, met\) \|/);
  expect(md).toMatch(/\| \d+\.\d+ \| \S+ \| traffic shifted away \| east \(shift\) \|/);

  const png = readFileSync(paths.png);
  const img = decodePng(png);
  expect([img.width, img.height]).toEqual([1000, 386]);
  const colors = new Map<string, number>();
  for (let y = 0; y < img.height; y += 2) for (let x = 0; x < img.width; x += 2) {
    const k = img.pixel(x, y).join(',');
    colors.set(k, (colors.get(k) ?? 0) + 1);
  }
  expect(colors.size).toBeGreaterThan(20); // text, bars, lines: not a blank canvas
  expect(colors.get('255,255,255')! / (img.width * img.height / 4)).toBeLessThan(0.95);
  expect(colors.has('207,34,46')).toBe(true); // the red error marks / objective line

  // Slack: the summary, then the chart uploaded into its thread, byte for byte.
  expect(rep.slack).toMatchObject({ posted: true, channel: CHANNEL });
  const msg = sim.message(CHANNEL, rep.slack.ts!)!;
  expect(msg.text).toMatch(/\*DR drill zone-loss: PASS\*/);
  expect(msg.text).toContain(`run \`${id}\``);
  expect(msg.metadata).toMatchObject({ event_type: 'runwright_drill_report', event_payload: { workflow_id: id, verdict: 'pass' } });
  const file = sim.files.find((f) => f.id === rep.slack.file)!;
  expect(file).toMatchObject({ filename: 'timeline.png', completed: true, channels: [CHANNEL], title: 'DR drill zone-loss: timeline' });
  expect(file.data!.equals(png)).toBe(true);
  expect(sim.messages.find((m) => m.files?.includes(file.id))).toMatchObject({ channel: CHANNEL, thread_ts: rep.slack.ts });
  expect(sim.callsTo('files.getUploadURLExternal')[0].args).toMatchObject({ filename: 'timeline.png', length: String(png.length) });
}, 60_000);

test('a failed drill: the run fails on the verdict, and `runwright drill report ID` prints its report from history; no Slack config is reported', async () => {
  delete process.env.SLACK_BOT_TOKEN;
  const id = `drilltest-fail-${Date.now().toString(36)}`;
  let r;
  try {
    r = await runDrill(id, { objective: '1ms', restoreFails: true });
  } finally {
    process.env.SLACK_BOT_TOKEN = BOT;
  }
  expect(r.ok).toBe(false);
  expect(r.error).toMatch(/^failing for \["RTO \d+\.\d+ s exceeded the objective 1 ms","the fault was not restored: restore refused by test"\]/);
  const rep = JSON.parse(readFileSync(reportPaths(reportsDir, id).json, 'utf8')) as DrillReport;
  expect(rep.slack).toEqual({ posted: false, reason: 'Slack is not configured on the worker (SLACK_BOT_TOKEN)' });
  expect(rep.steps.restore).toEqual({ state: 'failed', error: 'restore refused by test' });

  // From the history (the reports folder is elsewhere for this CLI), no worker needed.
  const elsewhere = { RUNWRIGHT_REPORTS_DIR: join(dir, 'no-reports-here') };
  const md = await cli(['drill', 'report', id], elsewhere);
  expect(md.stderr).toBe('');
  expect(md.code).toBe(0);
  expect(md.stdout).toMatch(/^# DR drill report: zone-loss — FAIL/);
  expect(md.stdout).toContain('- the fault was not restored: restore refused by test');
  expect(md.stdout).toMatch(/- RTO \d+\.\d+ s exceeded the objective 1 ms/);
  expect(md.stdout).toContain('| restore | failed | restore refused by test |');

  const pngOut = join(dir, 'copy.png');
  const js = await cli(['drill', 'report', id, '--json', '--open-png', pngOut], elsewhere);
  expect(js.code).toBe(0);
  expect(JSON.parse(js.stdout)).toMatchObject({ id, verdict: 'fail', restored: false, rtoMs: rep.rtoMs });
  expect(js.stderr).toContain(`timeline chart written to ${pngOut}`);
  expect(decodePng(readFileSync(pngOut)).width).toBe(1000);

  // Unknown id: exit 2 with a clear message.
  const none = await cli(['drill', 'report', `${id}-nope`]);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/^no run with id "drilltest-fail-\w+-nope", and no report in /);
  expect(none.stderr).not.toMatch(/^\s+at /m);
  // A run without a drill.report step.
  const plain = runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: plain }\nspec:\n  steps:\n    - id: a\n      action: core.noop\n`, EXTRA);
  const ph = await startRun(env, queue, inputFor(plain), `${id}-plain`);
  await ph.result();
  const noReport = await cli(['drill', 'report', `${id}-plain`]);
  expect(noReport.code).toBe(2);
  expect(noReport.stderr).toMatch(/run "drilltest-fail-\w+-plain" has no drill report \(no completed drill\.report step\)/);

  // Not in Temporal, but in the reports folder: read from there.
  const offline = reportPaths(reportsDir, 'offline/drill-1');
  mkdirSync(offline.dir, { recursive: true });
  copyFileSync(reportPaths(reportsDir, id).json, offline.json);
  const fromFolder = await cli(['drill', 'report', 'offline/drill-1', '--markdown']);
  expect(fromFolder.code).toBe(0);
  expect(fromFolder.stdout).toMatch(/^# DR drill report: zone-loss — FAIL/);
  const both = await cli(['drill', 'report', id, '--json', '--markdown']);
  expect(both.code).toBe(2);
}, 90_000);

test('a skipped drill still writes its report and posts it', async () => {
  const id = `drilltest-skip-${Date.now().toString(36)}`;
  const h = await startRun(env, queue, inputFor(runbookFrom(SKIPPED, EXTRA)), id);
  const res = await h.result();
  const rep = (res.outputs as any).report as DrillReport;
  // No reportsDir: the worker's root; `safe` not given: false (as in the runbook).
  expect(rep).toMatchObject({ verdict: 'skipped', reasons: ['drill did not run: steady state failed'], rtoMs: null, engine: null, engineNote: 'no RTO window (fault not injected or traffic never shifted)', safe: false, failedBack: null });
  expect(rep.files.json).toBe(reportPaths(reportsDir, id).json);
  expect(existsSync(rep.files.png) && existsSync(rep.files.markdown) && existsSync(rep.files.json)).toBe(true);
  expect(rep.slack.posted).toBe(true);
  expect(sim.message(CHANNEL, rep.slack.ts!)?.text).toMatch(/DR drill zone-loss: SKIPPED\*/);
  expect(readFileSync(rep.files.markdown, 'utf8')).toContain('| Skipped because | steady state failed |');
}, 60_000);

test('the failover fails after shifting traffic (its verification): RTO from its history, the verification as a reason; the returned report keeps window errors as transitions, the file all of them; a relative reportsDir is a subfolder of the root', async () => {
  const id = `drilltest-verify-${Date.now().toString(36)}`;
  // The window watches an entry point that never answers, every 10 ms: many errors.
  const r = await runDrill(id, { objective: '60s', verifyFails: true, windowUrl: `${base}/down`, windowInterval: 10, reportsDir: 'team-a' });
  expect(r.ok).toBe(false);
  const runs = await fetchRunTree(env.client, id);
  const returned = reportFromHistory(runs[0].events) as DrillReport;
  expect(returned).toMatchObject({ verdict: 'fail', shiftStep: 'shift', shiftSource: 'history', failedBack: true, restored: true });
  expect(returned.steps.failover).toEqual({ state: 'failed', error: 'failing for "entry point still failing"' });
  expect(returned.reasons).toEqual(["the failover's verification failed after traffic was shifted away from east (verify): failing for \"entry point still failing\""]);
  // The shift the child's history recorded: 300 ms activity + 1 s timer after the injection.
  const shiftDone = runs[1].events.find((e) => e.type === 'ActivityTaskCompleted' && (e.result as any)?.outputs?.weight === 0)!;
  expect(returned.shiftedAt).toBe((shiftDone.result as any).outputs.at);
  expect(returned.rtoMs).toBe(Date.parse(returned.shiftedAt!) - Date.parse(returned.injectedAt!));
  expect(returned.rtoMs).toBeGreaterThan(1300);
  expect(returned.engine).toMatchObject({ histories: 3 });
  expect(Math.abs(returned.engine!.windowMs - returned.rtoMs!)).toBeLessThan(100);

  // Written under <root>/team-a; the file keeps every window error, the returned report one run of them.
  const paths = reportPaths(join(reportsDir, 'team-a'), id);
  expect(returned.files.json).toBe(paths.json);
  const file = JSON.parse(readFileSync(paths.json, 'utf8')) as DrillReport;
  const fileErrors = file.timeline.filter((e) => e.phase === 'window-error');
  expect(fileErrors.length).toBe(file.errorsDuringWindow!.count);
  expect(fileErrors.length).toBeGreaterThan(100);
  const kept = returned.timeline.filter((e) => e.phase === 'window-error');
  expect(kept).toEqual([{ ...fileErrors[0], detail: `HTTP 503 ×${fileErrors.length}` }]);
  expect(returned.windowErrorsOmitted).toBe(fileErrors.length - 1);
  expect(file.windowErrorsOmitted).toBeUndefined();
  expect(JSON.stringify(returned).length).toBeLessThan(JSON.stringify(file).length / 4);
  expect(renderMarkdown(returned)).toContain(`${fileErrors.length - 1} window errors are not listed`);
}, 60_000);

test('an aborted drill (inject failed) fails with "drill aborted"', async () => {
  const id = `drilltest-abort-${Date.now().toString(36)}`;
  const r = await runDrill(id, { objective: '60s', injectFails: true });
  expect(r.ok).toBe(false);
  const rep = JSON.parse(readFileSync(reportPaths(reportsDir, id).json, 'utf8')) as DrillReport;
  expect(rep.steps.run).toEqual({ state: 'failed', error: 'inject refused by test' });
  expect(rep.reasons[0]).toBe('drill aborted: inject refused by test');
  expect(rep).toMatchObject({ verdict: 'fail', failedBack: null, rtoMs: null });
}, 60_000);

test('a reportsDir outside the worker reports root is refused (InvalidInput, not retried) and nothing is written there', async () => {
  const outside = join(dir, 'outside');
  for (const bad of [outside, '../outside']) {
    const id = `drilltest-dir-${Date.now().toString(36)}-${bad.startsWith('..') ? 'rel' : 'abs'}`;
    const h = await startRun(env, queue, inputFor(runbookFrom(SKIPPED, EXTRA), { reportsDir: bad }), id);
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    const message = `drill.report: reportsDir "${bad}" is outside the worker's reports folder ${reportsDir} (RUNWRIGHT_REPORTS_DIR); give a subfolder name`;
    expect(String((err as any)?.cause?.message)).toBe(message);
    // The activity's own failure: InvalidInput, not retryable, failed on its first attempt.
    const events = (await h.fetchHistory()).events ?? [];
    const failed = events.map((e) => e.activityTaskFailedEventAttributes).filter(Boolean);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.failure).toMatchObject({ message, applicationFailureInfo: { type: 'InvalidInput', nonRetryable: true } });
    expect(events.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt).toBe(1);
  }
  expect(existsSync(outside)).toBe(false);
}, 60_000);
