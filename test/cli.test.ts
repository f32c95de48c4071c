/**
 * End-to-end: spawn the real `runwright` CLI against the shared dev server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { freePort } from '../lib/dev-server';
import { connectTestEnv, serverAddress, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { runCli, type CliResult } from './helpers/cli';

const root = resolve(__dirname, '..');
let env: TestEnv;
let dir: string;
let queue: string;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd: dir, env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_HOME: join(dir, '.runwright'), ...extraEnv } });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const header = (name: string) => `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name} }\nspec:\n`;

beforeAll(async () => {
  env = await connectTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'rw-cli-'));
});
afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  queue = uniqueQueue('cli');
});

async function withWorker(): Promise<void> {
  worker?.shutdown();
  await workerRun;
  worker = await startTestWorker(env, queue);
  workerRun = worker.run();
}

test('validate: good file exits 0; bad file exits 2 with file:line:col and no stack trace', async () => {
  const good = file('good.yaml', `${header('good')}  steps:\n    - id: hi\n      action: core.log\n      with: { message: hi }\n`);
  const ok = await cli(['validate', good]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/ok\s+good\.yaml \(good\)/);

  const bad = file('bad.yaml', `${header('bad')}  steps:\n    - id: hi\n      action: core.lgo\n      with: { message: 1 }\n`);
  const r = await cli(['validate', bad]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^bad\.yaml:7:15: error: unknown action "core\.lgo" \(did you mean "core\.log"\?\)/m);
  expect(r.stderr).not.toMatch(/^\s+at /m);
});

test('run: a runbook runs to completion with plain progress lines when not a TTY', async () => {
  await withWorker();
  const rb = file(
    'seq.yaml',
    `${header('seq')}  params:\n    who: { type: string }\n    n: { type: integer, default: 1 }\n  steps:\n    - id: greet\n      action: core.log\n      with: { message: "hello {{ params.who }} x{{ params.n + 1 }}" }\n`,
  );
  const r = await cli(['run', rb, '--set', 'who=ops', '--set', 'n=41']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^started seq as seq-/m);
  expect(r.stdout).toMatch(/✓ greet\s+succeeded/);
  expect(r.stdout).toMatch(/run seq-\S+ succeeded/);
  const json = await cli(['run', rb, '--set', 'who=ops', '--json', '--id', 'cli-json-run']);
  expect(json.code).toBe(0);
  const parsed = JSON.parse(json.stdout);
  expect(parsed.result.outputs.greet.message).toBe('hello ops x2');
  expect(parsed.status.steps[0]).toMatchObject({ id: 'greet', state: 'succeeded', attempts: 1 });
});

test('run: a failing runbook exits 1 with the cause', async () => {
  await withWorker();
  const rb = file('fail.yaml', `${header('fail')}  steps:\n    - id: broken\n      action: http.request\n      with: { url: "http://127.0.0.1:1/" , timeout: 500ms }\n      retry: { maximumAttempts: 1 }\n`);
  const r = await cli(['run', rb]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/failed: .*connection failed/);
});

test('run: bad params exit 2 before anything starts; --plan shows the rendered steps', async () => {
  const rb = file('p.yaml', `${header('p')}  params:\n    n: { type: integer, minimum: 1 }\n  steps:\n    - id: a\n      action: core.log\n      with: { message: "n={{ params.n }}" }\n`);
  const bad = await cli(['run', rb, '--set', 'n=zero', '--set', 'typo=1']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/unknown param "typo"/);
  expect(bad.stderr).toMatch(/param "n": .*got "zero"/);
  const missing = await cli(['run', rb]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/param "n" is required/);
  const plan = await cli(['run', rb, '--set', 'n=3', '--plan']);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toMatch(/1\. a \[action\] core\.log: log "n=3"/);
  const paramsFile = file('params.yaml', 'n: 5\n');
  const planJson = await cli(['run', rb, '--params', paramsFile, '--plan', '--json']);
  expect(JSON.parse(planJson.stdout).params).toEqual({ n: 5 });
});

test('detach, status, approve, list, history: a run waits for a human and records the decision', async () => {
  await withWorker();
  const rb = file('gate.yaml', `${header('gate')}  steps:\n    - id: gate\n      approval: { message: "ship it?", timeout: 5m }\n    - id: after\n      action: core.log\n      with: { message: shipped }\n`);
  const id = `cli-gate-${Date.now()}`;
  const start = await cli(['run', rb, '--detach', '--id', id]);
  expect(start.code).toBe(0);
  expect(start.stdout).toContain(`/namespaces/default/workflows/${id}`);

  let status = await cli(['status', id, '--json']);
  for (let i = 0; i < 50 && !JSON.parse(status.stdout).status?.pendingApprovals?.length; i++) {
    await new Promise((r) => setTimeout(r, 200));
    status = await cli(['status', id, '--json']);
  }
  expect(JSON.parse(status.stdout).status.pendingApprovals[0]).toMatchObject({ step: 'gate', message: 'ship it?' });
  // A terminated run keeps its last state in the search attribute, but is not waiting any more.
  const gone = `${id}-terminated`;
  expect((await cli(['run', rb, '--detach', '--id', gone])).code).toBe(0);
  for (let i = 0; i < 50 && !JSON.parse((await cli(['status', gone, '--json'])).stdout).status?.pendingApprovals?.length; i++) await new Promise((r) => setTimeout(r, 200));
  const goneHandle = env.client.workflow.getHandle(gone);
  await goneHandle.terminate('test');
  const waiting = await cli(['list', '--json', '--state', 'waiting-approval']);
  expect(JSON.parse(waiting.stdout).map((r: { workflowId: string }) => r.workflowId)).toEqual([id]);
  const human = await cli(['status', id]);
  expect(human.stdout).toMatch(/runwright approve .* --step gate/);

  const noReason = await cli(['reject', id]);
  expect(noReason.code).toBe(2);
  const wrongStep = await cli(['approve', id, '--step', 'nope', '--as', 'carol']);
  expect(wrongStep.code).toBe(2);
  expect(wrongStep.stderr).toMatch(/refused: step "nope" is not waiting for approval/);

  const ok = await cli(['approve', id, '--as', 'carol', '--reason', 'tested in staging']);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/approved gate of .* as carol \(1\/1 approvals\)/);
  await env.client.workflow.getHandle(id).result();

  const after = await cli(['status', id, '--json']);
  expect(JSON.parse(after.stdout).status.decisions[0]).toMatchObject({ user: 'carol', reason: 'tested in staging', source: 'cli' });
  const late = await cli(['approve', id, '--as', 'dave']);
  expect(late.code).toBe(2);
  expect(late.stderr).toMatch(/refused/);

  const list = await cli(['list', '--json', '--runbook', 'gate']);
  expect(JSON.parse(list.stdout).map((r: { workflowId: string }) => r.workflowId)).toContain(id);
  const hist = await cli(['history', id]);
  expect(hist.stdout).toMatch(/WORKFLOW_EXECUTION_UPDATE_ACCEPTED/);
  expect(hist.stdout).toMatch(/ACTIVITY_TASK_SCHEDULED core\.log id=after/);
});

test('cancel: a running run is cancelled and reported as such', async () => {
  await withWorker();
  const rb = file('long.yaml', `${header('long')}  steps:\n    - id: nap\n      sleep: 10m\n`);
  const id = `cli-cancel-${Date.now()}`;
  expect((await cli(['run', rb, '--detach', '--id', id])).code).toBe(0);
  const c = await cli(['cancel', id]);
  expect(c.code).toBe(0);
  await expect(env.client.workflow.getHandle(id).result()).rejects.toThrow();
  expect((await env.client.workflow.getHandle(id).describe()).status.name).toBe('CANCELLED');
});

test('schema, actions, unknown command, unreachable server', async () => {
  const schema = await cli(['schema']);
  expect(JSON.parse(schema.stdout)).toMatchObject({ $schema: expect.stringContaining('json-schema.org'), required: expect.arrayContaining(['apiVersion', 'spec']) });
  const actions = await cli(['actions']);
  expect(actions.stdout).toMatch(/^http\.request\n/m);
  expect(actions.stdout).toMatch(/expectStatus\?/);
  const unknown = await cli(['frobnicate']);
  expect(unknown.code).toBe(2);
  const down = await cli(['list'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(down.code).toBe(3);
  expect(down.stderr).toMatch(/cannot reach Temporal at 127\.0\.0\.1:1/);
});

test('embedded default: with nothing configured, run starts a dev server (SQLite) and a worker; state survives for status', async () => {
  const port = String(await freePort());
  const home = join(dir, 'home');
  const bare: Record<string, string> = {
    TEMPORAL_ADDRESS: '',
    HOME: home,
    RUNWRIGHT_EMBEDDED_PORT: port,
    RUNWRIGHT_HOME: join(dir, 'embedded-state'),
    TEMPORAL_CLI: process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!,
  };
  const rb = file('emb.yaml', `${header('emb')}  steps:\n    - id: one\n      action: core.log\n      with: { message: embedded }\n`);
  const r = await cli(['run', rb, '--id', 'embedded-run'], bare);
  expect(r.stderr).toMatch(new RegExp(`none on localhost:${port}; starting an embedded dev server`));
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/run embedded-run succeeded/);
  // The server stopped with the CLI; a new one reopens the same SQLite file.
  const st = await cli(['status', 'embedded-run', '--json'], bare);
  expect(st.code).toBe(0);
  expect(JSON.parse(st.stdout)).toMatchObject({ execution: 'COMPLETED', status: { state: 'succeeded' } });
}, 120_000);

test('worker: a bad --site, or --sites-only without a site, is a usage error (exit 2, no stack)', async () => {
  const bad = await cli(['worker', '--site', 'Cluster_B']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/site "Cluster_B": expected a site name/);
  expect(bad.stderr).not.toMatch(/^\s+at /m);
  const none = await cli(['worker', '--sites-only']);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/--sites-only needs at least one --site/);
}, 60_000);
