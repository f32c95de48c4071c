/**
 * `runwright schedule` against the real dev server: create, list (next runs), trigger (a real
 * run), pause/unpause with reason, describe, delete, and the mistakes that exit 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { connectTestEnv, serverAddress, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';

const root = resolve(__dirname, '..');
let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let dir: string;
const queue = uniqueQueue('schedule');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/runwright'), ...args], {
    cwd: dir,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  env = await connectTestEnv();
  worker = await startTestWorker(env, queue);
  running = worker.run();
  dir = mkdtempSync(join(tmpdir(), 'rw-sched-'));
  writeFileSync(
    join(dir, 'drill.yaml'),
    'apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: drill }\nspec:\n  params:\n    target: { type: string }\n  steps:\n    - id: say\n      action: core.log\n      with: { message: "drill {{ params.target }}" }\n',
  );
});
afterAll(async () => {
  for await (const s of env.client.schedule.list()) if (/^(drill-|bad-cron)/.test(s.scheduleId)) await env.client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
  worker?.shutdown();
  await running;
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('schedule lifecycle on Temporal Schedules', async () => {
  const id = `drill-${Date.now()}`;
  const created = cli('schedule', 'create', 'drill.yaml', '--id', id, '--cron', '0 3 * * 1', '--set', 'target=cluster-b', '--jitter', '10m', '--overlap', 'skip');
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(new RegExp(`created schedule ${id} for drill; next runs: \\d{4}-`));

  const d = await env.client.schedule.getHandle(id).describe();
  expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 600_000, pauseOnFailure: false });
  expect(d.spec.jitter).toBe(600_000);
  expect(d.info.nextActionTimes[0].getUTCDay()).toBe(1);

  const list = JSON.parse(cli('schedule', 'list', '--json').stdout);
  expect(list.find((r: { scheduleId: string }) => r.scheduleId === id)).toMatchObject({ runbook: 'drill', paused: false });

  expect(cli('schedule', 'trigger', id).code).toBe(0);
  let wfId: string | undefined;
  for (let i = 0; i < 100 && !wfId; i++) {
    wfId = (await env.client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (!wfId) await new Promise((r) => setTimeout(r, 100));
  }
  const res = await env.client.workflow.getHandle(wfId!).result();
  expect(res.outputs.say).toMatchObject({ message: 'drill cluster-b' });

  expect(cli('schedule', 'pause', id).code).toBe(2);
  expect(cli('schedule', 'pause', id, '--reason', 'change freeze').code).toBe(0);
  const paused = JSON.parse(cli('schedule', 'describe', id).stdout);
  expect(paused).toMatchObject({ paused: true, note: expect.stringContaining('change freeze') });
  expect(cli('schedule', 'unpause', id).code).toBe(0);
  expect((await env.client.schedule.getHandle(id).describe()).state.paused).toBe(false);

  expect(cli('schedule', 'create', 'drill.yaml', '--id', id, '--cron', '0 3 * * 1', '--set', 'target=x').code).toBe(2);
  expect(cli('schedule', 'delete', id).code).toBe(0);
  expect(cli('schedule', 'describe', id).code).toBe(2);
}, 120_000);

test('schedule mistakes exit 2 before anything is created', () => {
  const badCron = cli('schedule', 'create', 'drill.yaml', '--cron', 'every tuesday', '--set', 'target=x', '--id', 'bad-cron');
  expect(badCron.code).toBe(2);
  expect(badCron.stderr).toMatch(/--cron every tuesday/);
  const badParams = cli('schedule', 'create', 'drill.yaml', '--cron', '0 3 * * *');
  expect(badParams.code).toBe(2);
  expect(badParams.stderr).toMatch(/param "target" is required/);
  const badOverlap = cli('schedule', 'create', 'drill.yaml', '--cron', '0 3 * * *', '--set', 'target=x', '--overlap', 'sometimes');
  expect(badOverlap.code).toBe(2);
});
