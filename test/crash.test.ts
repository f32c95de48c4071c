/**
 * Durability: SIGKILL the worker process in the middle of a runbook, start a new one; the run
 * completes and every step's side effect happened exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, startRun, uniqueQueue, type TestEnv } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';
import { statusQuery } from '../workflows/definitions';

const root = resolve(__dirname, '..');
let env: TestEnv;
let dir: string;
const procs: ChildProcess[] = [];

function startWorkerProcess(queue: string): ChildProcess {
  // node itself (not the tsx launcher, which forks a child) so SIGKILL hits the worker.
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_ACTIONS: join(root, 'test/helpers/test-actions.ts') },
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
