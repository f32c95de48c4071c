/**
 * Durability: stop the Temporal dev server (SQLite file) in the middle of a run and start it
 * again on the same file; the run resumes where it was and finishes, side effects once each.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../lib/dev-server';
import { connectTestEnv, inputFor, runbookFrom, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';

let dir: string;
let server: DevServer | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-restart-'));
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a run survives a restart of the server (SQLite persistence)', async () => {
  const cli = process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!;
  const dbFile = join(dir, 'temporal.db');
  server = await startDevServer({ cli, dbFile, headless: true });
  const port = server.port;
  const queue = uniqueQueue('restart');
  const rb = runbookFrom(
    `apiVersion: runwright/v1
kind: Runbook
metadata: { name: restart-test }
spec:
  params:
    dir: { type: string }
  steps:
    - id: before
      action: test.record
      with: { dir: "{{ params.dir }}", key: before }
    - id: nap
      sleep: 4s
    - id: after
      action: test.record
      with: { dir: "{{ params.dir }}", key: after }
`,
    TEST_ACTIONS,
  );

  const env1: TestEnv = await connectTestEnv(server.address);
  const worker1 = await startTestWorker(env1, queue, TEST_ACTIONS);
  const run1 = worker1.run();
  const h = await startRun(env1, queue, inputFor(rb, { dir }));
  const workflowId = h.workflowId;
  // Wait for the first side effect, then take the server down while the timer is pending.
  for (let i = 0; i < 100 && !readFileSafe(join(dir, 'journal.log')).includes('before'); i++) await new Promise((r) => setTimeout(r, 100));
  worker1.shutdown();
  await run1;
  await env1.close();
  await server.stop();

  server = await startDevServer({ cli, dbFile, headless: true, port });
  const env2 = await connectTestEnv(server.address);
  cleanups.push(() => env2.close());
  const worker2 = await startTestWorker(env2, queue, TEST_ACTIONS);
  const run2 = worker2.run();
  cleanups.push(async () => {
    worker2.shutdown();
    await run2;
  });
  const res = await env2.client.workflow.getHandle(workflowId).result();
  expect(Object.keys(res.outputs)).toEqual(['before', 'nap', 'after']);
  expect(readFileSafe(join(dir, 'journal.log')).trim().split('\n')).toEqual(['before', 'after']);
}, 120_000);

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
