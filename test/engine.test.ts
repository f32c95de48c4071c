/**
 * Integration tests of every runbook construct, against the real dev server started by
 * globalSetup, with a real worker on a private task queue.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { inputFor, runbookFrom, startRun, startSuiteWorker, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';
import { decideUpdate, statusQuery, type RunStatus } from '../workflows/definitions';
import { waitFor as waitUntil } from './helpers/wait';

let env: TestEnv;
let queue: string;
let suite: SuiteWorker | undefined;
let dir: string;

beforeAll(async () => {
  ({ env, queue } = suite = await startSuiteWorker('engine', TEST_ACTIONS));
});

afterAll(async () => {
  await suite?.stop();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-engine-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const journal = () => (existsSync(join(dir, 'journal.log')) ? readFileSync(join(dir, 'journal.log'), 'utf8').trim().split('\n').filter(Boolean) : []);
const rb = (body: string) =>
  runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: t }\nspec:\n${body.replace(/^/gm, '  ')}`, TEST_ACTIONS);

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    return String((e as WorkflowFailedError).cause?.message);
  }
  throw new Error('expected the run to fail');
}

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 20000): Promise<T> => waitUntil(fn, what, ms, { ignoreErrors: true });

test('sequential steps pass outputs to later steps; when skips; params are typed', async () => {
  const r = rb(`
params:
  name: { type: string, default: world }
  n: { type: integer, default: 3 }
steps:
  - id: first
    action: core.noop
    with: { value: "hello {{ params.name }}" }
  - id: second
    action: core.noop
    with: { value: "{{ steps.first.outputs.value + '!' }}" }
  - id: doubled
    action: core.noop
    with: { value: "{{ params.n * 2 }}" }
  - id: skipped
    when: "{{ params.n > 10 }}"
    action: test.fail
`);
  const h = await startRun(env, queue, inputFor(r));
  const res = await h.result();
  expect(res.outputs.second).toEqual({ value: 'hello world!', changed: false });
  expect(res.outputs.doubled).toEqual({ value: 6, changed: false });
  const st = await h.query(statusQuery);
  expect(st.steps.find((s) => s.id === 'skipped')?.state).toBe('skipped');
  expect(st.state).toBe('succeeded');
});

test('retry: a step failing twice then succeeding completes with 3 attempts', async () => {
  const r = rb(`
steps:
  - id: flaky
    action: test.flaky
    with: { failTimes: 2 }
    retry: { maximumAttempts: 5, initialInterval: 100ms, backoffCoefficient: 1 }
`);
  const h = await startRun(env, queue, inputFor(r));
  const res = await h.result();
  expect(res.outputs.flaky).toEqual({ attempt: 3 });
  const st = await h.query(statusQuery);
  expect(st.steps[0].attempts).toBe(3);
});

test('retry: exhausting maximumAttempts fails the run with the cause', async () => {
  const r = rb(`
steps:
  - id: flaky
    action: test.flaky
    with: { failTimes: 5 }
    retry: { maximumAttempts: 2, initialInterval: 100ms }
`);
  expect(await failure(startRun(env, queue, inputFor(r)).then((h) => h.result()))).toMatch(/planned failure 2 of 5/);
});

test('timeout: a step longer than its timeout fails', async () => {
  const r = rb(`
steps:
  - id: slow
    action: core.sleep
    with: { ms: 5000 }
    timeout: 500ms
    retry: { maximumAttempts: 1 }
`);
  const t0 = Date.now();
  expect(await failure(startRun(env, queue, inputFor(r)).then((h) => h.result()))).toMatch(/timed out|timeout/i);
  expect(Date.now() - t0).toBeLessThan(4500);
});

test('compensation: on failure, completed steps are undone in reverse order', async () => {
  const r = rb(`
params:
  dir: { type: string }
steps:
  - id: a
    action: test.record
    with: { dir: "{{ params.dir }}", key: do-a }
    compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: "undo-{{ steps.a.outputs.key }}" } }
  - id: b
    action: test.record
    with: { dir: "{{ params.dir }}", key: do-b }
    compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: undo-b } }
  - id: nocomp
    action: core.noop
  - id: c
    action: test.record
    with: { dir: "{{ params.dir }}", key: do-c }
    compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: undo-c } }
  - id: boom
    action: test.fail
    with: { message: kaboom }
`);
  const h = await startRun(env, queue, inputFor(r, { dir }));
  expect(await failure(h.result())).toMatch(/kaboom/);
  expect(journal()).toEqual(['do-a', 'do-b', 'do-c', 'undo-c', 'undo-b', 'undo-do-a']);
  const st = await h.query(statusQuery);
  expect(st.state).toBe('failed');
  expect(st.compensations.map((c) => [c.path, c.state])).toEqual([['c', 'done'], ['b', 'done'], ['a', 'done']]);
});

test('spec.timeout: an expired run is failed, not killed: its completed steps are undone', async () => {
  const r = rb(`
params:
  dir: { type: string }
  wait: { type: string, default: 20s }
timeout: 4s
steps:
  - id: a
    action: test.record
    with: { dir: "{{ params.dir }}", key: do-a }
    compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: undo-a } }
  - id: hold
    sleep: "{{ params.wait }}"
  - id: never
    action: test.record
    with: { dir: "{{ params.dir }}", key: never }
`);
  const h = await startRun(env, queue, inputFor(r, { dir }));
  expect(await failure(h.result())).toMatch(/runbook timed out after 4s/);
  expect(journal()).toEqual(['do-a', 'undo-a']);
  const st = await h.query(statusQuery);
  expect([st.state, st.error]).toEqual(['failed', 'runbook timed out after 4s']);
  // The same runbook with time to spare completes.
  const ok = await startRun(env, queue, inputFor(r, { dir: `${dir}-ok`, wait: '10ms' }));
  expect((await ok.result()).state).toBe('succeeded');
});

test('compensation: on cancellation, completed steps are undone and the run ends cancelled', async () => {
  const r = rb(`
params:
  dir: { type: string }
steps:
  - id: a
    action: test.record
    with: { dir: "{{ params.dir }}", key: do-a }
    compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: undo-a } }
  - id: b
    action: test.record
    with: { dir: "{{ params.dir }}", key: do-b }
    compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: undo-b } }
  - id: long
    action: core.sleep
    with: { ms: 60000 }
    heartbeatTimeout: 2s
  - id: never
    action: test.record
    with: { dir: "{{ params.dir }}", key: never }
`);
  const h = await startRun(env, queue, inputFor(r, { dir }));
  await waitFor(async () => (await h.query(statusQuery)).steps.find((s) => s.id === 'long' && s.state === 'running'), 'long step');
  await h.cancel();
  await expect(h.result()).rejects.toThrow();
  const desc = await h.describe();
  expect(desc.status.name).toBe('CANCELLED');
  expect(journal()).toEqual(['do-a', 'do-b', 'undo-b', 'undo-a']);
});

test('approval: approve lets the run continue and records who and why', async () => {
  const r = rb(`
steps:
  - id: gate
    approval: { message: "Proceed with {{ run.runbook }}?", timeout: 1m }
  - id: after
    action: core.noop
    with: { value: done }
`);
  const h = await startRun(env, queue, inputFor(r));
  const pending = await waitFor(async () => (await h.query(statusQuery)).pendingApprovals[0], 'approval');
  expect(pending.message).toBe('Proceed with t?');
  const st1 = await h.query(statusQuery);
  expect(st1.state).toBe('waiting-approval');
  const ack = await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'alice', reason: 'looks good' }] });
  expect(ack).toMatchObject({ accepted: true, step: 'gate', approvals: 1, required: 1 });
  const res = await h.result();
  expect(res.outputs.after).toMatchObject({ value: 'done' });
  const st = await h.query(statusQuery);
  expect(st.decisions).toEqual([expect.objectContaining({ step: 'gate', decision: 'approve', user: 'alice', reason: 'looks good' })]);
});

test('approval: reject fails the run with the reason; reject without reason is refused', async () => {
  const r = rb(`
steps:
  - id: gate
    approval: { message: "Proceed?" }
  - id: after
    action: test.fail
`);
  const h = await startRun(env, queue, inputFor(r));
  await waitFor(async () => (await h.query(statusQuery)).pendingApprovals[0], 'approval');
  await expect(h.executeUpdate(decideUpdate, { args: [{ decision: 'reject', user: 'bob' }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/needs a reason/) } });
  await expect(h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'bob', step: 'nope' }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/not waiting for approval/) } });
  await h.executeUpdate(decideUpdate, { args: [{ decision: 'reject', user: 'bob', reason: 'change freeze' }] });
  expect(await failure(h.result())).toMatch(/rejected by bob: change freeze/);
});

test('approval: timeout with onTimeout abort fails; with approve continues', async () => {
  const abort = rb(`
steps:
  - id: gate
    approval: { message: "Proceed?", timeout: 1s, onTimeout: abort }
`);
  expect(await failure(startRun(env, queue, inputFor(abort)).then((h) => h.result()))).toMatch(/timed out after 1s/);
  const approve = rb(`
steps:
  - id: gate
    approval: { message: "Proceed?", timeout: 1s, onTimeout: approve }
`);
  const res = await (await startRun(env, queue, inputFor(approve))).result();
  expect(res.outputs.gate).toMatchObject({ approved: true, timedOut: true });
});

test('child runbook: runs as a child workflow with its own params and returns outputs', async () => {
  const child = runbookFrom(`
apiVersion: runwright/v1
kind: Runbook
metadata: { name: child }
spec:
  params:
    x: { type: integer }
  steps:
    - id: triple
      action: core.noop
      with: { value: "{{ params.x * 3 }}" }
`);
  const parent = rb(`
steps:
  - id: seven
    action: core.noop
    with: { value: 7 }
  - id: sub
    runbook: child
    with: { x: "{{ steps.seven.outputs.value }}" }
  - id: after
    action: core.noop
    with: { value: "{{ steps.sub.outputs.triple.value }}" }
`);
  const h = await startRun(env, queue, inputFor(parent, {}, { children: { child } }));
  const res = await h.result();
  expect(res.outputs.after).toMatchObject({ value: 21 });
  const kids = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = "${h.workflowId}/sub"` })) kids.push(w);
  expect(kids).toHaveLength(1);
});

test('child runbook: its completed steps are undone with the parent, unless compensateWithParent is false', async () => {
  const child = runbookFrom(`
apiVersion: runwright/v1
kind: Runbook
metadata: { name: kid }
spec:
  params:
    dir: { type: string }
    key: { type: string }
  steps:
    - id: work
      action: test.record
      with: { dir: "{{ params.dir }}", key: "do-{{ params.key }}" }
      compensate: { action: test.record, with: { dir: "{{ params.dir }}", key: "undo-{{ params.key }}" } }
`, TEST_ACTIONS);
  const parent = rb(`
params:
  dir: { type: string }
steps:
  - id: undone
    runbook: kid
    with: { dir: "{{ params.dir }}", key: a }
  - id: kept
    runbook: kid
    compensateWithParent: false
    with: { dir: "{{ params.dir }}", key: b }
  - id: boom
    action: test.fail
    with: { message: kaboom }
`);
  const h = await startRun(env, queue, inputFor(parent, { dir }, { children: { kid: child } }));
  expect(await failure(h.result())).toMatch(/kaboom/);
  expect(journal()).toEqual(['do-a', 'do-b', 'undo-a']);
});

test('parallel branches run concurrently; a failing branch cancels the others', async () => {
  const ok = rb(`
steps:
  - id: both
    parallel:
      - id: left
        action: core.sleep
        with: { ms: 1500 }
      - id: right
        action: core.sleep
        with: { ms: 1500 }
  - id: after
    action: core.noop
    with: { value: "{{ steps.left.outputs.sleptMs + steps.right.outputs.sleptMs }}" }
`);
  const t0 = Date.now();
  const res = await (await startRun(env, queue, inputFor(ok))).result();
  expect(Date.now() - t0).toBeLessThan(2900);
  expect(res.outputs.after).toMatchObject({ value: 3000 });

  const bad = rb(`
params:
  dir: { type: string }
steps:
  - id: both
    parallel:
      - id: slow
        steps:
          - id: wait
            action: core.sleep
            with: { ms: 3000 }
            heartbeatTimeout: 1s
          - id: late
            action: test.record
            with: { dir: "{{ params.dir }}", key: late }
      - id: broken
        action: test.fail
`);
  await failure(startRun(env, queue, inputFor(bad, { dir })).then((h) => h.result()));
  expect(journal()).toEqual([]);
});

test('onFailure continue records the failure and goes on; later steps can see it', async () => {
  const r = rb(`
steps:
  - id: broken
    action: test.fail
    onFailure: continue
  - id: after
    action: core.noop
    with: { value: "{{ steps.broken.state }}" }
`);
  const res = await (await startRun(env, queue, inputFor(r))).result();
  expect(res.outputs.after).toMatchObject({ value: 'failed' });
});

test('sleep is a durable timer', async () => {
  const r = rb(`
steps:
  - id: nap
    sleep: 1s
`);
  const h = await startRun(env, queue, inputFor(r));
  await h.result();
  const hist = await h.fetchHistory();
  expect(hist.events?.some((e) => e.timerStartedEventAttributes)).toBe(true);
});

test('foreach: rolling batches stop once failures exceed maxFailPercentage', async () => {
  const r = rb(`
params:
  dir: { type: string }
steps:
  - id: each
    foreach: [1, 2, 3, 4, 5, 6]
    as: n
    batch: 2
    maxFailPercentage: 0
    steps:
      - id: mark
        action: test.record
        with: { dir: "{{ params.dir }}", key: "item-{{ n }}" }
      - id: check
        action: test.failIf
        with: { fail: "{{ n == 3 }}", value: "{{ n }}" }
`);
  const msg = await failure(startRun(env, queue, inputFor(r, { dir })).then((h) => h.result()));
  expect(msg).toMatch(/1 of 6 items failed \(max 0%\), stopped after batch 2 of 3/);
  expect(journal().sort()).toEqual(['item-1', 'item-2', 'item-3', 'item-4']);
});

test('foreach: tolerated failures within maxFailPercentage; outputs per item', async () => {
  const r = rb(`
params:
  items: { type: array, default: [1, 2, 3, 4] }
steps:
  - id: each
    foreach: "{{ params.items }}"
    batch: 2
    maxFailPercentage: 30
    steps:
      - id: check
        action: test.failIf
        with: { fail: "{{ item == 4 }}", value: "{{ item * 10 }}" }
  - id: count
    action: core.noop
    with: { value: "{{ size(steps.each.outputs) }}" }
`);
  const h = await startRun(env, queue, inputFor(r));
  const res = await h.result();
  expect((res.outputs.each as unknown[]).slice(0, 3)).toEqual([{ check: { value: 10 } }, { check: { value: 20 } }, { check: { value: 30 } }]);
  expect((res.outputs.each as any[])[3].error).toMatch(/failing for 40/);
  const st: RunStatus = await h.query(statusQuery);
  expect(st.steps.find((s) => s.id === 'each')?.items).toMatchObject({ total: 4, succeeded: 3, failed: 1, batches: 2 });
});

test('foreach: 2,000 items complete, spread over child workflows within history limits', async () => {
  const r = rb(`
params:
  items: { type: array }
steps:
  - id: each
    foreach: "{{ params.items }}"
    batch: 1000
    concurrency: 200
    steps:
      - id: noop
        action: core.noop
        with: { value: "{{ item }}" }
`);
  const items = Array.from({ length: 2000 }, (_, i) => i);
  const h = await startRun(env, queue, inputFor(r, { items }));
  const res = await h.result();
  const out = res.outputs.each as { noop: { value: number } }[];
  expect(out).toHaveLength(2000);
  expect(out[1999].noop.value).toBe(1999);
  const hist = await h.fetchHistory();
  // The parent only holds child-workflow events: far below the 51,200-event limit.
  expect(hist.events!.length).toBeLessThan(200);
  expect(hist.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length).toBe(6);
}, 180_000);
