/**
 * `runwright schedule` against the real dev server: create with jitter/overlap/catch-up/pause on
 * failure, list (next runs, paused state and note), describe (spec, policies, params, recent runs
 * with status), pause/unpause, trigger (a real run on a test worker), delete; change freezes
 * (a drill's schedule skips the windows of the calendar file, `freeze sync` re-applies an edited
 * file, list/describe say when a schedule is inside one); run workflow ids per schedule; trigger
 * keeps the schedule's overlap policy; cron expressions checked locally in Temporal's grammar
 * (agreeing with the server); and the mistakes that exit 2.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { cronProblem } from '../cli/schedule';
import { windowsFromSkip } from '../lib/freeze';
import { connectTestEnv, serverAddress, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { runCli, type CliResult } from './helpers/cli';

const root = resolve(__dirname, '..');
let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let dir: string;
const queue = uniqueQueue('schedule');
const prefix = `rwt-sched-${process.pid}-${Date.now().toString(36)}`;
const created = new Set<string>();

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(args, { cwd: opts.cwd ?? dir, env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_FREEZE_FILE: '', ...opts.env } });
}

/** `schedule create` that records the id for cleanup. */
async function create(id: string, file: string, args: string[], opts?: { cwd?: string }): Promise<CliResult> {
  created.add(id);
  return cli(['schedule', 'create', file, '--id', id, ...args], opts);
}

const describeJson = async (id: string) => {
  const r = await cli(['schedule', 'describe', id, '--json']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
};

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const runbook = (name: string, labels = '') =>
  `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name}${labels} }\nspec:\n  params:\n    target: { type: string }\n  steps:\n    - id: say\n      action: core.log\n      with: { message: "drill {{ params.target }}" }\n`;

beforeAll(async () => {
  env = await connectTestEnv();
  worker = await startTestWorker(env, queue);
  running = worker.run();
  dir = mkdtempSync(join(tmpdir(), 'rw-sched-'));
  writeFileSync(join(dir, 'drill.yaml'), runbook('drill'));
});
afterAll(async () => {
  for (const id of created) await env.client.schedule.getHandle(id).delete().catch(() => undefined);
  worker?.shutdown();
  await running;
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('create with jitter, overlap, catch-up window and pause on failure; list, describe, pause, unpause, trigger, delete', async () => {
  const id = `${prefix}-life`;
  const c = await create(id, 'drill.yaml', ['--cron', '0 3 * * 1', '--set', 'target=cluster-b', '--jitter', '10m', '--overlap', 'buffer-one', '--catchup-window', '1h', '--pause-on-failure']);
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  expect(c.stdout).toMatch(new RegExp(`^created schedule ${id} for drill; next runs: \\d{4}-\\S+Z, \\d{4}-\\S+Z, \\d{4}-\\S+Z\\n$`));

  // What Temporal holds.
  const d = await env.client.schedule.getHandle(id).describe();
  expect(d.policies).toMatchObject({ overlap: 'BUFFER_ONE', catchupWindow: 3_600_000, pauseOnFailure: true });
  expect(d.spec.jitter).toBe(600_000);
  expect(d.spec.skip ?? []).toEqual([]); // not a drill: no freezes
  expect(d.action).toMatchObject({ type: 'startWorkflow', workflowId: id }); // Temporal appends each run's time
  const next = d.info.nextActionTimes;
  expect(next.length).toBeGreaterThanOrEqual(3);
  for (const t of next) {
    expect(t.getUTCDay()).toBe(1);
    expect(t.getUTCHours()).toBe(3);
    expect(t.getUTCMinutes()).toBeLessThan(10); // 03:00 plus up to 10m of jitter
  }

  // describe: human and JSON.
  const text = (await cli(['schedule', 'describe', id])).stdout;
  expect(text).toContain(`schedule    ${id}\n`);
  expect(text).toContain('runbook     drill (drill.yaml)\n');
  expect(text).toContain('spec        cron "0 3 * * 1" in UTC; jitter 10m\n');
  expect(text).toContain('policies    overlap BUFFER_ONE; catch-up window 1h; pause on failure yes\n');
  expect(text).toContain('params      target="cluster-b"\n');
  expect(text).toContain(`next runs   ${next.map((t) => t.toISOString()).join(', ')}\n`);
  expect(text).toContain('recent runs -\n');
  const j = await describeJson(id);
  expect(j).toMatchObject({ scheduleId: id, runbook: 'drill', paused: false, params: { target: 'cluster-b' }, policies: { overlap: 'BUFFER_ONE', catchupWindow: 3_600_000, pauseOnFailure: true } });
  expect(j.spec).toMatchObject({ cron: '0 3 * * 1', timezone: 'UTC', jitter: 600_000 });

  // list: next run times, state.
  const listed = await cli(['schedule', 'list']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(`${id}  runbook drill  cron "0 3 * * 1"  active  note: created by `);
  expect(listed.stdout).toMatch(new RegExp(`${id} .*\\n  next runs: ${next[0].toISOString()}, ${next[1].toISOString()}, ${next[2].toISOString()}\\n`));
  const row = JSON.parse((await cli(['schedule', 'list', '--json'])).stdout).find((r: { scheduleId: string }) => r.scheduleId === id);
  expect(row).toMatchObject({ runbook: 'drill', paused: false, nextRuns: next.map((t) => t.toISOString()) });

  // pause needs a reason, which becomes the note; unpause.
  expect((await cli(['schedule', 'pause', id])).code).toBe(2);
  expect((await cli(['schedule', 'pause', id, '--reason', 'change freeze'])).code).toBe(0);
  const pausedList = (await cli(['schedule', 'list'])).stdout;
  expect(pausedList).toMatch(new RegExp(`${id}  runbook drill  cron "0 3 \\* \\* 1"  PAUSED  note: change freeze \\(by \\S+\\)\\n  next runs: none while paused \\(on the schedule: ${next[0].toISOString()}, ${next[1].toISOString()}, ${next[2].toISOString()}\\)\\n`));
  expect(await describeJson(id)).toMatchObject({ paused: true, note: expect.stringMatching(/^change freeze \(by /) });
  expect((await cli(['schedule', 'describe', id])).stdout).toMatch(/state {7}PAUSED; note: change freeze \(by /);
  expect((await cli(['schedule', 'unpause', id])).code).toBe(0);
  expect((await env.client.schedule.getHandle(id).describe()).state.paused).toBe(false);
  const again = await cli(['schedule', 'unpause', id]);
  expect(again).toMatchObject({ code: 2, stderr: `schedule "${id}" is not paused\n` });

  // trigger: a real run on the test worker; describe shows it with its status.
  expect(await cli(['schedule', 'trigger', id])).toMatchObject({ code: 0, stdout: `triggered ${id} (overlap BUFFER_ONE, the schedule's policy)\n` });
  const wfId = await until('the triggered run', async () => (await env.client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId);
  expect(wfId.startsWith(`${id}-`)).toBe(true);
  const res = await env.client.workflow.getHandle(wfId).result();
  expect(res.outputs.say).toMatchObject({ message: 'drill cluster-b' });
  const recent = (await describeJson(id)).recentRuns;
  expect(recent).toEqual([expect.objectContaining({ workflowId: wfId, status: 'COMPLETED' })]);
  expect((await cli(['schedule', 'describe', id])).stdout).toMatch(new RegExp(`recent runs\\n {12}\\S+Z  ${wfId}  COMPLETED\\n`));

  // An id that exists; delete; gone.
  const dup = await create(id, 'drill.yaml', ['--cron', '0 3 * * 1', '--set', 'target=x']);
  expect(dup).toMatchObject({ code: 2, stderr: `a schedule with id "${id}" already exists (delete it first, or pass --id)\n` });
  expect(await cli(['schedule', 'delete', id])).toMatchObject({ code: 0, stdout: `deleted ${id}\n` });
  for (const cmd of [['describe', id], ['delete', id], ['trigger', id], ['pause', id, '--reason', 'x'], ['unpause', id]]) {
    expect(await cli(['schedule', ...cmd])).toMatchObject({ code: 2, stderr: `no schedule with id "${id}"\n` });
  }
}, 180_000);

test('a drill schedule skips the change-freeze windows; freeze sync applies an edited calendar; list and describe show an active freeze', async () => {
  const cwd = join(dir, 'freeze');
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'chaos.yaml'), runbook('chaos', ', labels: { runwright.dev/kind: drill }'));
  writeFileSync(join(cwd, 'audit.yaml'), runbook('audit'));
  const hour = 3_600_000;
  const top = Math.floor(Date.now() / hour) * hour;
  type Span = { start: number; end: number };
  /** The first n runs of "0 * * * *" after t outside the windows: what Temporal computes with those skips. */
  const hourlyAfter = (t: number, windows: Span[], n: number) => {
    const runs: number[] = [];
    for (let h = Math.floor(t / hour) * hour + hour; runs.length < n; h += hour) if (!windows.some((w) => h >= w.start && h <= w.end)) runs.push(h);
    return runs;
  };
  /**
   * The schedule's next runs, checked against the runs expected from the time just before and just
   * after describe() (an hour may begin in between; no waiting for a quiet moment).
   */
  const nextRunsOf = async (id: string, windows: Span[]) => {
    const before = Date.now();
    const d = await env.client.schedule.getHandle(id).describe();
    const after = Date.now();
    const next = d.info.nextActionTimes.slice(0, 3).map((t) => t.getTime());
    expect([hourlyAfter(before, windows, 3), hourlyAfter(after, windows, 3)]).toContainEqual(next);
    for (const w of windows) expect(next.filter((t) => t >= w.start && t <= w.end)).toEqual([]);
    return { d, next };
  };
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000', '');
  // Hourly runs; the freeze covers the runs 2, 3 and 4 hours from now.
  const w1 = { start: top + 2 * hour - 60_000, end: top + 4 * hour + 60_000 };
  const freezeFile = join(cwd, 'runwright.freeze.yaml');
  writeFileSync(freezeFile, `freezes:\n  - name: soon\n    start: ${iso(w1.start)}\n    end: ${iso(w1.end)}\n    reason: release week\n`);

  const drill = `${prefix}-drill`;
  const c = await create(drill, 'chaos.yaml', ['--cron', '0 * * * *', '--set', 'target=cluster-b'], { cwd });
  expect(c.stderr).toBe('');
  expect(c.stdout).toContain(`change freezes (drill): no runs during 'soon' (${iso(w1.start)}..${iso(w1.end)}) [runwright.freeze.yaml]\n`);
  let { d, next } = await nextRunsOf(drill, [w1]); // Temporal itself skips the runs in the window
  expect(windowsFromSkip(d.spec.skip).map((w) => w.name)).toEqual(['soon']);
  if (Date.now() < top + hour) expect(next.slice(0, 2)).toEqual([top + hour, top + 5 * hour]); // in the same hour as the test's start: skips 2, 3 and 4 hours from then

  // Not a drill, or a drill with --no-freeze: no skips. A non-drill with --freeze: skips.
  const audit = `${prefix}-audit`;
  const nofreeze = `${prefix}-nofreeze`;
  const forced = `${prefix}-forced`;
  expect((await create(audit, 'audit.yaml', ['--cron', '0 * * * *', '--set', 'target=x'], { cwd })).code).toBe(0);
  expect((await create(nofreeze, 'chaos.yaml', ['--cron', '0 * * * *', '--set', 'target=x', '--no-freeze'], { cwd })).code).toBe(0);
  const f = await create(forced, 'audit.yaml', ['--cron', '0 * * * *', '--set', 'target=x', '--freeze'], { cwd });
  expect(f.stdout).toContain("change freezes (--freeze): no runs during 'soon'");
  expect((await env.client.schedule.getHandle(audit).describe()).spec.skip ?? []).toEqual([]);
  expect((await env.client.schedule.getHandle(nofreeze).describe()).spec.skip ?? []).toEqual([]);
  expect(windowsFromSkip((await env.client.schedule.getHandle(forced).describe()).spec.skip).map((w) => w.name)).toEqual(['soon']);
  expect((await cli(['schedule', 'describe', drill])).stdout).toContain(`freezes     follows the change-freeze calendar; skips 'soon' (${iso(w1.start)}..${iso(w1.end)})\n`);
  expect((await cli(['schedule', 'describe', audit])).stdout).toContain('freezes     not managed\n');

  // Edit the calendar: the window now covers the present and a second one is added; sync.
  const w2 = { start: top - hour, end: top + 3 * hour + 60_000 };
  writeFileSync(freezeFile, `freezes:\n  - name: now\n    start: ${iso(w2.start)}\n    end: ${iso(w2.end)}\n    reason: incident\n  - name: later\n    start: 2099-12-20\n    end: 2099-12-31\n`);
  const show = await cli(['schedule', 'freeze', 'show'], { cwd });
  expect(show.stdout).toBe(
    `runwright.freeze.yaml: 2 freeze windows\nACTIVE now  ${new Date(w2.start).toISOString()} .. ${new Date(w2.end).toISOString()}  (${iso(w2.start)}..${iso(w2.end)})  incident\n` +
      `       later  2099-12-20T00:00:00.000Z .. 2099-12-31T23:59:59.999Z  (2099-12-20..2099-12-31)\n`,
  );
  const dry = await cli(['schedule', 'freeze', 'sync', drill, audit, '--dry-run'], { cwd });
  expect(dry.stdout).toBe(`would update ${drill}: freezes soon -> now, later\nskipped ${audit}: it does not follow the freeze calendar (only drills and schedules created with --freeze do)\n1 schedule follows the freeze calendar (runwright.freeze.yaml); 1 would change\n`);
  expect(windowsFromSkip((await env.client.schedule.getHandle(drill).describe()).spec.skip).map((w) => w.name)).toEqual(['soon']);

  const sync = await cli(['schedule', 'freeze', 'sync'], { cwd });
  expect(sync.stderr).toBe('');
  expect(sync.stdout).toContain(`updated ${drill}: freezes soon -> now, later\n`);
  expect(sync.stdout).toContain(`updated ${forced}: freezes soon -> now, later\n`);
  expect(sync.stdout).not.toContain(audit);
  expect(sync.stdout).not.toContain(nofreeze);
  ({ d, next } = await nextRunsOf(drill, [w2]));
  expect(windowsFromSkip(d.spec.skip).map((w) => w.name)).toEqual(['now', 'later']);
  expect(next[0]).toBe(top + 4 * hour); // the runs before the end of "now" are skipped, the ones after it are back
  expect((await cli(['schedule', 'freeze', 'sync', drill], { cwd })).stdout).toContain(`unchanged ${drill}: freezes now, later\n`);

  const endsAt = new Date(w2.end).toISOString();
  expect((await cli(['schedule', 'list'])).stdout).toMatch(new RegExp(`${drill} .*\\n  next runs: .*\\n  in change freeze 'now' \\(${iso(w2.start)}\\.\\.${iso(w2.end)}\\) until ${endsAt}: incident\\n`));
  expect((await cli(['schedule', 'describe', drill])).stdout).toContain(`in change freeze 'now' (${iso(w2.start)}..${iso(w2.end)}) until ${endsAt}: incident\n`);
  expect(await describeJson(drill)).toMatchObject({ freezeManaged: true, inFreeze: { name: 'now', reason: 'incident' } });
  expect(await describeJson(audit)).toMatchObject({ freezeManaged: false, inFreeze: null, freezeWindows: [] });
  // A manual trigger still starts the run (the drill's guard refuses it); it says so.
  expect((await cli(['schedule', 'trigger', drill])).stdout).toBe(
    `triggered ${drill} (overlap SKIP, the schedule's policy)\nnote: in change freeze 'now' (${iso(w2.start)}..${iso(w2.end)}) until ${endsAt}: incident; drill.guard refuses every drill during it\n`,
  );

  // A broken calendar: create and sync exit 2 with file:line:column, and change nothing.
  writeFileSync(freezeFile, 'freezes:\n  - name: now\n    start: 2026-13-01\n    end: 2026-12-31\n');
  const bad = await create(`${prefix}-badfreeze`, 'chaos.yaml', ['--cron', '0 * * * *', '--set', 'target=x'], { cwd });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe(`runwright.freeze.yaml:3:12: error: start 2026-13-01: no such date or time\n(change-freeze calendar; fix it or point RUNWRIGHT_FREEZE_FILE elsewhere)\n`);
  const badSync = await cli(['schedule', 'freeze', 'sync'], { cwd });
  expect(badSync.code).toBe(2);
  expect(badSync.stderr).toContain(`runwright.freeze.yaml:3:12: error: start 2026-13-01: no such date or time`);
  expect(windowsFromSkip((await env.client.schedule.getHandle(drill).describe()).spec.skip).map((w) => w.name)).toEqual(['now', 'later']);
  // RUNWRIGHT_FREEZE_FILE wins over the file in the working directory.
  const other = join(cwd, 'other.yaml');
  writeFileSync(other, 'freezes: []\n');
  expect((await cli(['schedule', 'freeze', 'show'], { cwd, env: { RUNWRIGHT_FREEZE_FILE: other } })).stdout).toBe('other.yaml: 0 freeze windows\n');
}, 180_000);

test('runs are named after their schedule, so two schedules of one runbook never collide; trigger keeps the overlap policy unless --overlap', async () => {
  // The same runbook scheduled for two clusters: each run's workflow id is its schedule id plus the run's time.
  const a = `${prefix}-wf-a`;
  const b = `${prefix}-wf-b`;
  for (const [id, target] of [[a, 'cluster-a'], [b, 'cluster-b']]) expect((await create(id, 'drill.yaml', ['--cron', '0 3 * * 1', '--set', `target=${target}`])).code).toBe(0);
  for (const id of [a, b]) expect((await env.client.schedule.getHandle(id).describe()).action).toMatchObject({ workflowId: id });
  await Promise.all([a, b].map((id) => cli(['schedule', 'trigger', id])));
  const runs = await Promise.all(
    [a, b].map(async (id) => {
      const wfId = await until(`the run of ${id}`, async () => (await env.client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId);
      return { id, wfId, result: await env.client.workflow.getHandle(wfId).result() };
    }),
  );
  for (const r of runs) expect(r.wfId).toMatch(new RegExp(`^${r.id}-\\S+$`));
  expect(runs.map((r) => r.result.outputs.say)).toEqual([{ message: 'drill cluster-a' }, { message: 'drill cluster-b' }].map((m) => expect.objectContaining(m)));

  // A run that waits (an approval) under overlap "skip": a second trigger is skipped, as a scheduled run would be.
  writeFileSync(
    join(dir, 'slow.yaml'),
    `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: slow }\nspec:\n  steps:\n    - id: wait\n      approval: { message: "go on?", timeout: 1h }\n`,
  );
  const slow = `${prefix}-slow`;
  expect((await create(slow, 'slow.yaml', ['--cron', '0 3 * * 1', '--overlap', 'skip'])).code).toBe(0);
  const info = async () => (await env.client.schedule.getHandle(slow).describe()).info;
  try {
    expect(await cli(['schedule', 'trigger', slow])).toMatchObject({ code: 0, stdout: `triggered ${slow} (overlap SKIP, the schedule's policy)\n` });
    await until('the first run', async () => ((await info()).runningActions.length === 1 ? true : undefined));
    expect((await cli(['schedule', 'trigger', slow])).code).toBe(0);
    await until('the second trigger to be skipped', async () => ((await info()).numActionsSkippedOverlap === 1 ? true : undefined));
    expect((await info()).runningActions).toHaveLength(1);
    // --overlap overrides it for this run.
    expect(await cli(['schedule', 'trigger', slow, '--overlap', 'allow-all'])).toMatchObject({ code: 0, stdout: `triggered ${slow} (overlap ALLOW_ALL)\n` });
    // (Temporal does not track ALLOW_ALL starts among runningActions: count the starts and ask the runs.)
    const both = await until('a second run', async () => {
      const i = await info();
      return i.recentActions.length === 2 ? i.recentActions.map((r) => r.action.workflow) : undefined;
    });
    expect(new Set(both.map((w) => w.workflowId)).size).toBe(2);
    for (const w of both) expect((await env.client.workflow.getHandle(w.workflowId, w.firstExecutionRunId).describe()).status.name).toBe('RUNNING');
    expect((await info()).numActionsSkippedOverlap).toBe(1);
  } finally {
    const started = (await info().catch(() => undefined))?.recentActions.map((r) => r.action.workflow) ?? [];
    await env.client.schedule.getHandle(slow).delete().catch(() => undefined);
    for (const w of started) await env.client.workflow.getHandle(w.workflowId, w.firstExecutionRunId).terminate('test cleanup').catch(() => undefined);
  }
}, 120_000);

test('--pause-on-failure: a failed run pauses the schedule (a broken drill stops repeating)', async () => {
  writeFileSync(
    join(dir, 'broken.yaml'),
    `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: broken }\nspec:\n  steps:\n    - id: fail\n      action: core.assert\n      with: { that: false, message: "drill failed" }\n`,
  );
  const paused = `${prefix}-pof`;
  const steady = `${prefix}-nopof`;
  expect((await create(paused, 'broken.yaml', ['--cron', '0 3 * * 1', '--pause-on-failure'])).code).toBe(0);
  expect((await create(steady, 'broken.yaml', ['--cron', '0 3 * * 1'])).code).toBe(0);
  for (const id of [paused, steady]) expect((await cli(['schedule', 'trigger', id])).code).toBe(0);
  for (const id of [paused, steady]) {
    const wfId = await until(`the run of ${id}`, async () => (await env.client.schedule.getHandle(id).describe()).info.recentActions[0]?.action.workflow.workflowId);
    await expect(env.client.workflow.getHandle(wfId).result()).rejects.toThrow();
  }
  await until('the schedule to pause', async () => ((await env.client.schedule.getHandle(paused).describe()).state.paused ? true : undefined));
  expect((await env.client.schedule.getHandle(steady).describe()).state.paused).toBe(false);
  const listed = await cli(['schedule', 'list']);
  expect(listed.stdout).toMatch(new RegExp(`^${paused}  runbook broken  cron "0 3 \\* \\* 1"  PAUSED`, 'm'));
  expect(listed.stdout).toMatch(new RegExp(`^${steady}  runbook broken  cron "0 3 \\* \\* 1"  active`, 'm'));
}, 60_000);

test('cron expressions are checked locally in Temporal\'s grammar, and agree with the server', async () => {
  const good = [
    '0 3 * * 1',
    '0 3 * * MON-FRI',
    '0 3 * * monday',
    '0 3 * * tu,th',
    '0 3 * * 7',
    '0 3 * * 3-7',
    '0 0 1 JAN *',
    '0 0 1 sept *',
    '*/15 * * * *',
    '5/15 * * * *',
    '1-5/2,8 * * * *',
    '0 3 * * * 2030', // 6 fields: the sixth is the year
    '30 0 3 * * * 2030-2040', // 7 fields: second first, year last
    '@hourly',
    '@daily',
    '@midnight',
    '@weekly',
    '@monthly',
    '@yearly',
    '@annually',
    '@every 90m',
    '@every 1d/6h',
    '0 3 * * 1 # weekly drill',
  ];
  const bad: [string, string][] = [
    ['every tuesday', '2 fields instead of 5-7'],
    ['0 3 * *', '4 fields instead of 5-7'],
    ['0 0 0 3 * * * 2030', '8 fields instead of 5-7'],
    ['0 25 * * *', 'hour 25 is out of range 0-23'],
    ['60 * * * *', 'minute 60 is out of range 0-59'],
    ['0 3 0 * *', 'day of month 0 is out of range 1-31'],
    ['0 3 * 13 *', 'month 13 is out of range 1-12'],
    ['0 3 * * 8', 'day of week 8 is out of range 0-7'],
    ['0 3 * * * 1999', 'year 1999 is out of range 2000-2100'],
    ['0 3 * * 5-2', 'day of week range "5-2" ends before it starts'],
    ['0 3 * * m', 'day of week "m" is not a number or a weekday name'],
    ['0 3 * ja *', 'month "ja" is not a number or a month name'],
    ['0 3 * * MON-FUN', 'day of week "FUN" is not a number or a weekday name'],
    ['*/0 * * * *', 'minute "*/0": the step after "/" must be a whole number of at least 1'],
    ['1/2/3 * * * *', 'minute "1/2/3" has more than one "/"'],
    ['1-2-3 * * * *', 'minute "1-2-3" has more than one "-"'],
    ['0 3 * * L', 'day of week "L" is not a number or a weekday name'],
    ['@fortnightly', 'unknown macro @fortnightly'],
    ['@every soon', '@every soon: expected a duration such as 90m, 1h30m or 1d (optionally /phase, e.g. 1d/6h)'],
    ['@every 500ms', '@every 500ms: the interval must be at least 1s'],
    ['@every 1h/2h', '@every 1h/2h: the phase must be at least 0 and less than the interval'],
  ];
  for (const c of good) expect({ c, problem: cronProblem(c) }).toEqual({ c, problem: undefined });
  for (const [c, problem] of bad) expect({ c, problem: cronProblem(c) }).toEqual({ c, problem });
  // Stricter than the server on purpose: "1#2" would silently mean every Monday (# starts Temporal's comment); TZ= conflicts with --timezone.
  expect(cronProblem('0 3 * * 1#2')).toMatch(/^"#" starts a comment/);
  expect(cronProblem('TZ=Europe/Berlin 0 3 * * *')).toBe('a time zone prefix is not taken here: use --timezone');

  // The dev server agrees on every one of them.
  const verdicts = await Promise.all(
    [...good, ...bad.map(([c]) => c)].map(async (c, i) => {
      const id = `${prefix}-cron-${i}`;
      try {
        await env.client.schedule.create({
          scheduleId: id,
          spec: { cronExpressions: [c], timezone: 'UTC' },
          action: { type: 'startWorkflow', workflowType: 'runbook', taskQueue: queue, workflowId: id, args: [] },
          state: { paused: true },
        });
        await env.client.schedule.getHandle(id).delete();
        return { c, server: true, local: cronProblem(c) === undefined };
      } catch (e) {
        return { c, server: false, local: cronProblem(c) === undefined, error: String((e as Error).message).split('\n')[0] };
      }
    }),
  );
  for (const v of verdicts) expect({ c: v.c, local: v.local }).toEqual({ c: v.c, local: v.server });

  // The CLI: a bad cron exits 2 with the reason without reaching for the server (unreachable here); a good one gets as far as connecting (exit 3).
  const down = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
  const r = await runCli(['schedule', 'create', 'drill.yaml', '--cron', '0 25 * * 1', '--set', 'target=x'], { cwd: dir, env: down });
  expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/^--cron 0 25 \* \* 1: hour 25 is out of range 0-23\n\(expected 5-7 fields "\[second\] minute hour day-of-month month day-of-week \[year\]"/) });
  const several = await runCli(['schedule', 'create', 'drill.yaml', '--cron', '0 3 * * 1; 0 3 * * 1#2', '--set', 'target=x'], { cwd: dir, env: down });
  expect(several).toMatchObject({ code: 2, stderr: expect.stringMatching(/^--cron 0 3 \* \* 1#2: "#" starts a comment/) });
  const reachable = await runCli(['schedule', 'create', 'drill.yaml', '--cron', '0 3 * * MON', '--set', 'target=x', '--id', `${prefix}-never`], { cwd: dir, env: down });
  expect(reachable).toMatchObject({ code: 3, stderr: expect.stringMatching(/cannot reach Temporal at 127\.0\.0\.1:1/) });
}, 120_000);

test('schedule mistakes exit 2 before anything is created', async () => {
  const id = `${prefix}-bad`;
  const attempts: [string[], RegExp][] = [
    [['--cron', 'every tuesday', '--set', 'target=x'], /^--cron every tuesday: /],
    [['--cron', '0 3 * * *'], /param "target" is required/],
    [['--cron', '0 3 * * *', '--set', 'target=x', '--overlap', 'sometimes'], /^--overlap sometimes: expected one of skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all\n$/],
    [['--cron', '0 3 * * *', '--set', 'target=x', '--jitter', 'ten minutes'], /^--jitter ten minutes: expected a duration such as "30s", "10m", "4h" or "1h30m"\n$/],
    [['--cron', '0 3 * * *', '--set', 'target=x', '--catchup-window', '1 hour'], /^--catchup-window 1 hour: expected a duration/],
    // 0 would mean Temporal's default of one year; its minimum is 10s.
    [['--cron', '0 3 * * *', '--set', 'target=x', '--catchup-window', '0s'], /^--catchup-window 0s: at least 10s \(Temporal's minimum; 0 would mean its default of one year\)\n$/],
    [['--cron', '0 3 * * *', '--set', 'target=x', '--catchup-window', '9s'], /^--catchup-window 9s: at least 10s/],
    [['--cron', '0 3 * * *', '--set', 'target=x', '--catchup-window', '9999ms'], /^--catchup-window 9999ms: at least 10s/],
    [['--cron', '0 3 * 13 *', '--set', 'target=x'], /^--cron 0 3 \* 13 \*: month 13 is out of range 1-12\n/],
    [['--cron', '0 3 * * *', '--set', 'target=x', '--timezone', 'Mars/Olympus'], /^--timezone Mars\/Olympus: unknown time zone/],
    [['--cron', ' ; ', '--set', 'target=x'], /^--cron " ; ": expected a cron expression/],
  ];
  for (const [args, message] of attempts) {
    const r = await create(id, 'drill.yaml', args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) });
  }
  expect((await cli(['schedule', 'describe', id])).code).toBe(2); // none of them created it
  // The smallest catch-up window Temporal takes is accepted as given.
  expect((await create(id, 'drill.yaml', ['--cron', '0 3 * * *', '--set', 'target=x', '--catchup-window', '10s'])).code).toBe(0);
  expect((await env.client.schedule.getHandle(id).describe()).policies.catchupWindow).toBe(10_000);
  expect((await cli(['schedule', 'delete', id])).code).toBe(0);
  expect(await cli(['schedule', 'trigger', id, '--overlap', 'sometimes'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^--overlap sometimes: expected one of/) });
  expect(await cli(['schedule', 'freeze', 'show', '--at', 'tomorrow'])).toMatchObject({ code: 2, stderr: '--at tomorrow: expected an ISO time such as 2026-12-24T12:00:00Z\n' });
  const missing = await cli(['schedule', 'freeze', 'show', '--file', 'nope.yaml']);
  expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/nope\.yaml:1:1: error: cannot read freeze calendar \(ENOENT\)/) });
}, 120_000);
