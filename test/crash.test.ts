/**
 * Durability: SIGKILL the worker process in the middle of a runbook, start a new one; the run
 * completes and every step's side effect happened exactly once. With default settings (no
 * heartbeatTimeout anywhere) recovery takes the default heartbeat timeout, not the step timeout.
 * SIGTERM lets the running step finish within the shutdown grace time; a step that cannot
 * finish in time fails retryably and says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectTestEnv, failureMessage, inputFor, runbookFrom, serverAddress, singleUserWorkerEnv, startRun, uniqueQueue, type TestEnv } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';
import { IDENTITY_AUTHORIZE_ACTIVITY, statusQuery } from '../workflows/definitions';

const root = resolve(__dirname, '..');
let env: TestEnv;
let dir: string;
const procs: ChildProcess[] = [];

function startWorkerProcess(queue: string, extraEnv: Record<string, string | undefined> = {}): ChildProcess {
  // node itself (not the tsx launcher, which forks a child) so SIGKILL hits the worker.
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_ACTIONS: join(root, 'test/helpers/test-actions.ts'), ...singleUserWorkerEnv(), ...extraEnv },
    stdio: 'ignore',
  });
  procs.push(p);
  return p;
}

beforeAll(async () => {
  env = await connectTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'rw-crash-'));
});
afterAll(async () => {
  await Promise.all(
    procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))) : undefined)),
  );
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('worker SIGKILLed mid-run: a new worker finishes the run, each side effect exactly once', async () => {
  const queue = uniqueQueue('crash');
  const rb = runbookFrom(readFileSync(join(__dirname, 'fixtures/crash.yaml'), 'utf8'), TEST_ACTIONS);
  const first = startWorkerProcess(queue);
  const h = await startRun(env, queue, inputFor(rb, { dir }));

  // Wait until the third item's activity is in flight, then kill the worker without warning.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const st = await h.query(statusQuery).catch(() => undefined);
    const each = st?.steps.find((s) => s.id === 'each');
    if (each?.items && each.items.succeeded >= 2 && each.items.running > 0) break;
    if (Date.now() > deadline) throw new Error('run did not reach item 3');
    await new Promise((r) => setTimeout(r, 50));
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  expect(first.signalCode).toBe('SIGKILL');

  const second = startWorkerProcess(queue);
  const res = await h.result();
  expect((res.outputs.each as unknown[]).length).toBe(6);

  const journal = readFileSync(join(dir, 'journal.log'), 'utf8').trim().split('\n');
  expect(journal).toEqual(['s1', 's2', 's3', 's4', 's5', 's6']);
  // The interrupted step really was retried by the second worker.
  const attempts = readFileSync(join(dir, 'attempts.log'), 'utf8').trim().split('\n');
  expect(attempts.filter((l) => / [2-9]$/.test(l))).toEqual([expect.stringMatching(/^s[34] [2-9]$/)]);

  // SIGTERM is a graceful shutdown: the worker drains and exits 0.
  const exited = new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
  second.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 120_000);

test('defaults only: 20 plain http.request steps, worker SIGKILLed mid-step; a new worker finishes within a minute, each request once (the interrupted one twice)', async () => {
  // The side effects: a local HTTP server counts the requests per path and answers after 200 ms.
  const counts = new Map<string, number>();
  let onRequest: (path: string) => void = () => undefined;
  const server: Server = createServer((req, res) => {
    counts.set(req.url!, (counts.get(req.url!) ?? 0) + 1);
    onRequest(req.url!);
    setTimeout(() => res.end('ok'), 200);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const steps = Array.from({ length: 20 }, (_, i) => `    - id: s${i + 1}\n      action: http.request\n      with: { url: "${base}/s${i + 1}", method: POST }`).join('\n');
    // No heartbeatTimeout, timeout or retry anywhere: what a runbook author writes.
    const rb = runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: http-crash }\nspec:\n  steps:\n${steps}\n`);
    const queue = uniqueQueue('httpcrash');
    const first = startWorkerProcess(queue);
    // Killed the moment the 5th request arrives, before it is answered.
    const fifth = new Promise<void>((r) => (onRequest = (p) => p === '/s5' && r()));
    const h = await startRun(env, queue, inputFor(rb));
    await fifth;
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const restarted = Date.now();
    startWorkerProcess(queue);
    const res = await Promise.race([h.result(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('run not finished 60 s after the restart')), 60_000))]);
    expect(Date.now() - restarted).toBeLessThan(60_000);
    expect(Object.keys(res.outputs)).toHaveLength(20);
    const expected = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`/s${i + 1}`, i === 4 ? 2 : 1]));
    expect(Object.fromEntries(counts)).toEqual(expected);
  } finally {
    server.close();
  }
}, 120_000);

/** Wait until the step's activity has started on a worker (not the run's identity check before it). */
async function activityStarted(h: { describe(): Promise<{ raw: any }> }, activityId = 'long'): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pa = (await h.describe()).raw.pendingActivities ?? [];
    if (pa.some((a: any) => a.activityId === activityId && (a.state === 'PENDING_ACTIVITY_STATE_STARTED' || a.state === 2))) return;
    if (Date.now() > deadline) throw new Error('no activity started');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const termRunbook = (name: string, delayMs: number) =>
  runbookFrom(
    `apiVersion: runwright/v1
kind: Runbook
metadata: { name: ${name} }
spec:
  params:
    dir: { type: string }
  steps:
    - id: long
      action: test.record
      with: { dir: "{{ params.dir }}", key: ${name}, delayMs: ${delayMs} }
    - id: after
      action: test.record
      with: { dir: "{{ params.dir }}", key: ${name}-after }
`,
    TEST_ACTIONS,
  );

const attemptsOf = (key: string) =>
  readFileSync(join(dir, 'attempts.log'), 'utf8').trim().split('\n').filter((l) => l.split(' ')[0] === key);

test('SIGTERM mid-step: the worker stops taking work, lets the step finish (grace from RUNWRIGHT_SHUTDOWN_GRACE), then exits; the step ran once', async () => {
  const queue = uniqueQueue('term');
  // 12 s: longer than the 10 s grace the worker used to have.
  const first = startWorkerProcess(queue, { RUNWRIGHT_SHUTDOWN_GRACE: '60s' });
  const h = await startRun(env, queue, inputFor(termRunbook('term-finish', 12_000), { dir }));
  await activityStarted(h);
  const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
  first.kill('SIGTERM');
  expect(await exited).toBe(0);
  const exitAt = Date.now();
  // The step finished on the stopping worker, before it exited, in its first attempt.
  expect(attemptsOf('term-finish')).toEqual(['term-finish 1']);
  expect(statSync(join(dir, 'markers', 'term-finish')).mtimeMs).toBeLessThanOrEqual(exitAt);
  // It took no new work: the next step waits for another worker (none here: a worker start is slow).
  expect(existsSync(join(dir, 'markers', 'term-finish-after'))).toBe(false);
  // Runbook steps only: the run's identity check (runwright.identity.authorize) is an activity too.
  const all = (await h.fetchHistory()).events ?? [];
  const authorizeIds = new Set(all.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === IDENTITY_AUTHORIZE_ACTIVITY).map((e) => String(e.eventId)));
  const events = all.filter((e) => !authorizeIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? e.activityTaskStartedEventAttributes?.scheduledEventId)));
  expect(events.filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(1);
  expect(events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
  await h.terminate('test done');
}, 120_000);

test('SIGTERM with a step that outlasts the grace time: it fails retryably, saying the worker is shutting down, and is retried (attempt 2 waits for the next worker)', async () => {
  const queue = uniqueQueue('termgrace');
  const first = startWorkerProcess(queue, { RUNWRIGHT_SHUTDOWN_GRACE: '1s' });
  const h = await startRun(env, queue, inputFor(termRunbook('term-grace', 8_000), { dir }));
  await activityStarted(h);
  const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
  first.kill('SIGTERM');
  expect(await exited).toBe(0);
  const pa = ((await h.describe()).raw.pendingActivities ?? [])[0];
  expect(pa?.activityId).toBe('long');
  expect(pa?.lastFailure?.message).toMatch(/worker shutting down; the step will be retried/);
  // Waiting for the next worker to run attempt 2 (the failure was retryable, not a cancel).
  expect(pa?.attempt).toBe(2);
  expect(existsSync(join(dir, 'attempts.log')) ? attemptsOf('term-grace') : []).toEqual([]);
  await h.terminate('test done');
}, 120_000);

test('a standalone worker on a configured server refuses unsigned starts by default (fails closed), before any step', async () => {
  const queue = uniqueQueue('shared');
  const w = startWorkerProcess(queue, { RUNWRIGHT_REQUIRE_SIGNED: undefined, RUNWRIGHT_ALLOWED_SIGNERS: undefined });
  try {
    const rb = runbookFrom(
      `apiVersion: runwright/v1
kind: Runbook
metadata: { name: shared-worker }
spec:
  params:
    dir: { type: string }
  steps:
    - id: mark
      action: test.record
      with: { dir: "{{ params.dir }}", key: shared-unsigned }
`,
      TEST_ACTIONS,
    );
    const h = await startRun(env, queue, inputFor(rb, { dir }, { startedBy: 'alice' }));
    expect(await failureMessage(h.result())).toMatch(/^start refused: RUNWRIGHT_REQUIRE_SIGNED is set but RUNWRIGHT_ALLOWED_SIGNERS is not/);
    expect(existsSync(join(dir, 'markers', 'shared-unsigned'))).toBe(false);
  } finally {
    w.kill('SIGKILL');
  }
}, 120_000);

test('a standalone worker on a configured server without codec keys does not start (it would write plaintext history)', async () => {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: uniqueQueue('nokeys'), RUNWRIGHT_CODEC: undefined, RUNWRIGHT_CODEC_KEY: undefined, RUNWRIGHT_CODEC_KEYS: undefined },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(p);
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  expect(code).toBe(2);
  expect(stderr).toMatch(/no codec key: this worker would write params, outputs and decisions to Temporal in plain text\. Set RUNWRIGHT_CODEC_KEY/);
  expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
}, 120_000);
