/**
 * The CLI tells the truth (issue 13, item 6):
 * - output into a pipe is complete even when the reader is slow (process.exit used to drop
 *   whatever the pipe had not taken yet: `actions --json | wc -c` stopped at 131,072 bytes);
 * - when Temporal goes away while `run` watches, the CLI says so and exits 3 with the run id
 *   instead of calling the run failed; the run itself carries on once the server is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDevServer, type DevServer } from '../lib/dev-server';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, singleUserWorkerEnv, startRun, uniqueQueue, useTestWorker, type TestEnv } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';
import { runCli } from './helpers/cli';

const root = resolve(__dirname, '..');
const BIN = join(root, 'bin', 'runwright');
const TEST_ACTIONS_FILE = join(root, 'test/helpers/test-actions.ts');
let dir: string;
const procs: ChildProcess[] = [];
const groups: ChildProcess[] = [];
const killGroup = (p: ChildProcess) => {
  try {
    process.kill(-p.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
};
const servers: DevServer[] = [];
const closers: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-cli-truth-'));
});
afterAll(async () => {
  // Everything this file started goes, even when a test failed half way.
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const p of groups) killGroup(p);
  for (const c of closers.reverse()) await c().catch(() => undefined);
  for (const s of servers) await s.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Run the CLI with stdout into a real pipe (a shell pipeline, as users do: Node's own child
 * stdio is a socket with a bigger buffer) whose reader sleeps `stallMs` first, so the pipe fills
 * and the CLI has to wait for it. Returns the CLI's own exit code.
 */
function runCliSlowReader(args: string[], env: Record<string, string>, stallMs = 1500): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((done, reject) => {
    const script = `"$0" "$@" | (sleep ${stallMs / 1000}; cat); exit \${PIPESTATUS[0]}`;
    // Its own process group, so a hung pipeline is killed whole (bash, the CLI and cat).
    const p = spawn('bash', ['-c', script, process.execPath, BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    groups.push(p);
    const chunks: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => killGroup(p), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      done({ code, stdout: Buffer.concat(chunks), stderr });
    });
  });
}

describe('output into a pipe is complete', () => {
  const t = useTestWorker('cli-truth', TEST_ACTIONS);

  test('actions --json to a slow reader: every byte, valid JSON, exit 0', async () => {
    const r = await runCliSlowReader(['actions', '--json'], {});
    expect(r.code).toBe(0);
    // Bigger than the 128 KiB that used to get through, so this test fails on the old CLI.
    expect(r.stdout.length).toBeGreaterThan(131_072);
    const list = JSON.parse(r.stdout.toString('utf8'));
    expect(list.length).toBeGreaterThan(50);
    // The same bytes as a fast reader gets.
    const fast = await runCli(['actions', '--json']);
    expect(r.stdout.length).toBe(Buffer.byteLength(fast.stdout));
  }, 90_000);

  test('history --json and status --json of a big run to a slow reader', async () => {
    // 150 activities with a long input and output each: history and status far above 128 KiB.
    const items = JSON.stringify(Array.from({ length: 150 }, (_, i) => `item-${i}-${'p'.repeat(1000)}`));
    const rb = runbookFrom(
      `apiVersion: runwright/v1
kind: Runbook
metadata: { name: big-history }
spec:
  steps:
    - id: each
      foreach: ${items}
      as: i
      steps:
        - id: rec
          action: core.noop
          with: { value: "{{ i }}" }
`,
      TEST_ACTIONS,
    );
    const h = await startRun(t.env, t.queue, inputFor(rb));
    await h.result();
    const env = { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: t.queue };
    for (const cmd of ['history', 'status']) {
      const r = await runCliSlowReader([cmd, h.workflowId, '--json'], env);
      expect({ cmd, code: r.code, stderr: r.stderr }).toEqual({ cmd, code: 0, stderr: '' });
      // More than got through before the fix (128 KiB), so the slow reader really holds the CLI up.
      expect(r.stdout.length).toBeGreaterThan(131_072);
      const parsed = JSON.parse(r.stdout.toString('utf8'));
      if (cmd === 'history') expect(parsed.events.length).toBeGreaterThan(450);
      else expect(parsed.status.steps.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([['each', 'succeeded']]);
      const fast = await runCli([cmd, h.workflowId, '--json'], { env });
      expect(r.stdout.length).toBe(Buffer.byteLength(fast.stdout));
    }
  }, 120_000);
});

test('Temporal goes away while `run` watches: exit 3 with the run id, not "failed"; the run completes after a restart', async () => {
  const cli = process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!;
  const dbFile = join(dir, 'temporal.db');
  let server = await startDevServer({ cli, dbFile, headless: true });
  servers.push(server);
  const port = server.port;
  const queue = uniqueQueue('cli-unreachable');
  const work = join(dir, 'unreachable');
  const rbFile = join(dir, 'unreachable.yaml');
  writeFileSync(
    rbFile,
    `apiVersion: runwright/v1
kind: Runbook
metadata: { name: unreachable-test }
spec:
  params:
    dir: { type: string }
  steps:
    - id: before
      action: test.record
      with: { dir: "{{ params.dir }}", key: before }
    - id: nap
      sleep: 8s
    - id: after
      action: test.record
      with: { dir: "{{ params.dir }}", key: after }
`,
  );
  const envFor = (address: string) => ({ ...process.env, TEMPORAL_ADDRESS: address, RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_ACTIONS: TEST_ACTIONS_FILE, ...singleUserWorkerEnv() });
  const startWorker = (address: string) => {
    // node itself (not the tsx launcher) so that a kill reaches the worker.
    const w = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], { cwd: root, env: envFor(address), stdio: 'ignore' });
    procs.push(w);
    return w;
  };
  startWorker(server.address);

  const runId = 'unreachable-run-1';
  const cliProc = spawn(process.execPath, [BIN, 'run', rbFile, '--actions', TEST_ACTIONS_FILE, '--set', `dir=${work}`, '--id', runId], {
    env: { ...envFor(server.address), RUNWRIGHT_UNREACHABLE_GIVE_UP_MS: '5000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(cliProc);
  let stdout = '';
  let stderr = '';
  cliProc.stdout!.on('data', (d) => (stdout += d));
  cliProc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => cliProc.once('close', (code) => r(code)));

  // The first side effect happened and the run sits in its timer: take the server down hard.
  for (let i = 0; i < 300 && !readSafe(join(work, 'journal.log')).includes('before'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(readSafe(join(work, 'journal.log'))).toBe('before\n');
  process.kill(server.pid, 'SIGKILL');

  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 60_000)))]);
  clearTimeout(timer);
  expect({ code, stderr }).toEqual({ code: 3, stderr: expect.stringContaining(runId) });
  expect(stderr).toMatch(/lost contact with Temporal/);
  expect(stderr + stdout).not.toMatch(/\bfailed:/);

  // Back on the same SQLite file and port: the run finishes (a fresh worker, in case the old one gave up).
  server = await startDevServer({ cli, dbFile, headless: true, port });
  servers.push(server);
  startWorker(server.address);
  const env: TestEnv = await connectTestEnv(server.address);
  closers.push(() => env.close());
  const res = await env.client.workflow.getHandle(runId).result();
  expect(Object.keys(res.outputs)).toEqual(['before', 'nap', 'after']);
  expect(readSafe(join(work, 'journal.log'))).toBe('before\nafter\n');
}, 180_000);

function readSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
