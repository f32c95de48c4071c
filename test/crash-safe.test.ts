/**
 * Crash-safe defaults on the real dev server: heartbeat timeouts every step gets without asking,
 * cancellation that waits for the step before compensating, `compensate.when`, child runbooks
 * that time out by themselves (and compensate), and a fault injected by a child runbook that
 * its parent's compensation restores.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runbook } from '../dsl/schema';
import { runDefaults } from '../lib/config';
import { IDENTITY_AUTHORIZE_ACTIVITY, statusQuery } from '../workflows/definitions';
import { failureMessage, inputFor, maybeRecordHistory, runbookFrom, startRun, useTestWorker } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';
import { startSim, type SimEnv } from './helpers/openstack';
import { waitFor } from './helpers/wait';

const t = useTestWorker('crashsafe', TEST_ACTIONS);
let dir: string;
let os: SimEnv;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-crashsafe-'));
  os = await startSim();
});
afterAll(async () => {
  await os?.close();
  rmSync(dir, { recursive: true, force: true });
});

const rb = (text: string): Runbook => runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\n${text}`, TEST_ACTIONS);

/** `key what` → epoch ms, from events.log of test.stubborn / test.stamp. */
function events(): Map<string, number> {
  let text = '';
  try {
    text = readFileSync(join(dir, 'events.log'), 'utf8');
  } catch {
    /* none yet */
  }
  return new Map(text.trim().split('\n').filter(Boolean).map((l) => {
    const [key, what, at] = l.split(' ');
    return [`${key} ${what}`, Number(at)] as [string, number];
  }));
}


/** heartbeatTimeout (seconds) of each scheduled activity, by activity id, from the run's history. */
async function heartbeatTimeouts(workflowId: string): Promise<Record<string, number | undefined>> {
  const hist = await t.env.client.workflow.getHandle(workflowId).fetchHistory();
  const out: Record<string, number | undefined> = {};
  for (const e of hist.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    // The run's own identity check (runwright.identity.authorize) is no runbook step.
    if (a && a.activityType?.name !== IDENTITY_AUTHORIZE_ACTIVITY) out[a.activityId!] = a.heartbeatTimeout?.seconds == null ? undefined : Number(a.heartbeatTimeout.seconds);
  }
  return out;
}

test('every step and compensation gets a heartbeatTimeout: 20s by default, spec.defaults for the runbook, its own when set; compensate.when skips an undo', async () => {
  const steps = `
  steps:
    - id: plain
      action: test.stamp
      with: { dir: "${dir}", key: hb-plain }
      compensate: { action: test.stamp, with: { dir: "${dir}", key: hb-plain, what: undo } }
    - id: own
      action: test.stamp
      with: { dir: "${dir}", key: hb-own }
      heartbeatTimeout: 7s
      compensate:
        action: test.stamp
        with: { dir: "${dir}", key: hb-own, what: undo }
        heartbeatTimeout: 9s
        when: "{{ steps.own.outputs.key == 'hb-own' }}"
    - id: notneeded
      action: test.stamp
      with: { dir: "${dir}", key: hb-skip }
      compensate: { action: test.stamp, with: { dir: "${dir}", key: hb-skip, what: undo }, when: "{{ steps.notneeded.outputs.key == 'other' }}" }
    - id: boom
      action: test.fail
`;
  const a = await startRun(t.env, t.queue, inputFor(rb(`metadata: { name: hb-defaults }\nspec:${steps}`)));
  expect(await failureMessage(a.result())).toBe('planned failure');
  expect(await heartbeatTimeouts(a.workflowId)).toEqual({ plain: 20, own: 7, notneeded: 20, boom: 20, 'compensate:own': 9, 'compensate:plain': 20 });
  const st = await a.query(statusQuery);
  expect(st.compensations.map((c) => [c.path, c.state])).toEqual([['notneeded', 'skipped'], ['own', 'done'], ['plain', 'done']]);
  const ev = events();
  expect(ev.has('hb-own undo')).toBe(true);
  expect(ev.has('hb-skip undo')).toBe(false);

  // spec.defaults win over the defaults the run was started with (RUNWRIGHT_DEFAULT_HEARTBEAT_TIMEOUT).
  const b = await startRun(t.env, t.queue, inputFor(rb(`metadata: { name: hb-spec-defaults }\nspec:\n  defaults: { heartbeatTimeout: 5s }${steps}`), {}, { defaults: { heartbeatTimeout: '6s' } }));
  await failureMessage(b.result());
  expect(await heartbeatTimeouts(b.workflowId)).toEqual({ plain: 5, own: 7, notneeded: 5, boom: 5, 'compensate:own': 9, 'compensate:plain': 5 });

  const c = await startRun(t.env, t.queue, inputFor(rb(`metadata: { name: hb-start-defaults }\nspec:${steps}`), {}, { defaults: { heartbeatTimeout: '6s' } }));
  await failureMessage(c.result());
  expect(await heartbeatTimeouts(c.workflowId)).toEqual({ plain: 6, own: 7, notneeded: 6, boom: 6, 'compensate:own': 9, 'compensate:plain': 6 });
  // The CLI, schedules and the Slack gateway take them from the starter's environment.
  expect(runDefaults({ RUNWRIGHT_DEFAULT_HEARTBEAT_TIMEOUT: '30s' })).toEqual({ heartbeatTimeout: '30s' });
  expect(runDefaults({})).toBeUndefined();
  expect(() => runDefaults({ RUNWRIGHT_DEFAULT_HEARTBEAT_TIMEOUT: 'soon' })).toThrow(/duration/);
}, 60_000);

test('a cancelled step ends only when its activity has stopped: compensation starts after it', async () => {
  // The step holds on 3 s after the cancel reaches it (cleaning up half-done work).
  const h = await startRun(
    t.env,
    t.queue,
    inputFor(
      rb(`metadata: { name: cancel-waits }
spec:
  steps:
    - id: arm
      action: test.stamp
      with: { dir: "${dir}", key: cw-arm }
      compensate: { action: test.stamp, with: { dir: "${dir}", key: cw-arm, what: undo } }
    - id: work
      action: test.stubborn
      with: { dir: "${dir}", key: cw-work, ignoreCancelMs: 3000 }
      heartbeatTimeout: 2s
`),
    ),
  );
  await waitFor(() => events().get('cw-work start'), 'the step to start');
  await h.cancel();
  await expect(h.result()).rejects.toThrow();
  await waitFor(() => events().get('cw-work stop'), 'the step to stop');
  const ev = events();
  const stopped = ev.get('cw-work stop')!;
  const undone = ev.get('cw-arm undo')!;
  expect(stopped).toBeGreaterThan(0);
  expect(undone).toBeGreaterThan(0);
  // Before: the undo ran as soon as the cancel was requested, while the step was still at work.
  expect(undone).toBeGreaterThanOrEqual(stopped);
  expect(stopped - ev.get('cw-work start')!).toBeGreaterThanOrEqual(3000);
  // Histories of the new code paths, so the replay test guards them too (RECORD_HISTORIES=1).
  await maybeRecordHistory(t.env, h.workflowId, 'x-cancel-waits');
}, 60_000);

test('a child runbook\'s timeout is enforced by the child: it compensates, then fails the parent (not killed by the server)', async () => {
  const child = rb(`metadata: { name: slow-child }
spec:
  steps:
    - id: change
      action: test.stamp
      with: { dir: "${dir}", key: ct-change }
      compensate: { action: test.stamp, with: { dir: "${dir}", key: ct-change, what: undo } }
    - id: hold
      sleep: 10m
`);
  const parent = rb(`metadata: { name: child-timeout }
spec:
  steps:
    - id: sub
      runbook: slow-child
      timeout: 3s
`);
  const h = await startRun(t.env, t.queue, inputFor(parent, {}, { children: { 'slow-child': child } }));
  expect(await failureMessage(h.result())).toMatch(/runbook timed out after 3s/);
  expect(events().has('ct-change undo')).toBe(true);
  const c = await t.env.client.workflow.getHandle(`${h.workflowId}/sub`).describe();
  expect(c.status.name).toBe('FAILED');
  await maybeRecordHistory(t.env, h.workflowId, 'x-child-timeout');
}, 60_000);

test('a fault injected inside a child runbook is restored by the parent\'s compensation', async () => {
  const fault = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-a', service: 'identity', down: 'unavailable' };
  const faults = async () => ((await (await fetch(`${os.sim.url}/_sim/faults`)).json()) as { faults: unknown[] }).faults;
  const child = rb(`metadata: { name: inject-child }
spec:
  steps:
    - id: inject
      action: fault.inject
      with: { fault: ${JSON.stringify(fault)} }
      compensate: { action: fault.restore, with: { fault: ${JSON.stringify(fault)} } }
`);
  const parent = rb(`metadata: { name: fault-parent }
spec:
  steps:
    - id: sub
      runbook: inject-child
    - id: check
      action: test.fail
      with: { message: "the drill found a problem" }
`);
  const h = await startRun(t.env, t.queue, inputFor(parent, {}, { children: { 'inject-child': child } }));
  expect(await failureMessage(h.result())).toBe('the drill found a problem');
  const st = await h.query(statusQuery);
  expect(st.compensations).toEqual([expect.objectContaining({ path: 'inject', state: 'done' })]);
  // Before: the restore (run in the parent) derived its label from the parent's id and found nothing.
  expect((st.compensations[0] as { input: unknown }).input).toBeDefined();
  expect(await faults()).toEqual([]);
  await maybeRecordHistory(t.env, h.workflowId, 'x-child-fault');
}, 60_000);

test('a run that outgrows its history continues as new at a step boundary, keeping outputs, step records and compensations', async () => {
  const steps = (key: string) =>
    [1, 2, 3, 4, 5]
      .map(
        (i) => `    - id: s${i}
      action: test.stamp
      with: { dir: "${dir}", key: ${i === 4 ? `"{{ steps.s1.outputs.key }}-4"` : `${key}-${i}`} }
      compensate: { action: test.stamp, with: { dir: "${dir}", key: "{{ steps.s${i}.outputs.key }}", what: undo } }`,
      )
      .join('\n');
  const book = (name: string, extra = '') => rb(`metadata: { name: ${name} }\nspec:\n  steps:\n${steps(name)}\n${extra}`);
  // A low limit instead of Temporal's own suggestion (thousands of events): a new run every step or two.
  const ok = await startRun(t.env, t.queue, inputFor(book('can-ok'), {}, { continueAsNewAfterEvents: 12 }));
  const res = await ok.result();
  expect(Object.keys(res.outputs)).toEqual(['s1', 's2', 's3', 's4', 's5']);
  expect(res.outputs.s4).toEqual({ key: 'can-ok-1-4' });
  expect(res.compensations.map((c) => c.path)).toEqual(['s1', 's2', 's3', 's4', 's5']);
  const first = await t.env.client.workflow.getHandle(ok.workflowId, ok.firstExecutionRunId).describe();
  expect(first.status.name).toBe('CONTINUED_AS_NEW');
  const st = await t.env.client.workflow.getHandle(ok.workflowId).query(statusQuery);
  expect(st.steps.map((s) => [s.id, s.state])).toEqual(['s1', 's2', 's3', 's4', 's5'].map((id) => [id, 'succeeded']));

  const bad = await startRun(t.env, t.queue, inputFor(book('can-fail', '    - id: boom\n      action: test.fail'), {}, { continueAsNewAfterEvents: 12 }));
  expect(await failureMessage(bad.result())).toBe('planned failure');
  const st2 = await t.env.client.workflow.getHandle(bad.workflowId).query(statusQuery);
  // Every compensation, including those recorded by earlier runs of the chain, newest first.
  expect(st2.compensations.map((c) => [c.path, c.state])).toEqual(['s5', 's4', 's3', 's2', 's1'].map((p) => [p, 'done']));
  const ev = events();
  for (const k of ['can-fail-1', 'can-fail-2', 'can-fail-3', 'can-fail-1-4', 'can-fail-5']) expect(ev.has(`${k} undo`)).toBe(true);
  expect((await t.env.client.workflow.getHandle(bad.workflowId, bad.firstExecutionRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
  await maybeRecordHistory(t.env, bad.workflowId, 'x-continued-as-new');
}, 60_000);

test('a step whose output is too large for Temporal fails at once, naming the step and the size', async () => {
  const h = await startRun(t.env, t.queue, inputFor(rb(`metadata: { name: big-output }
spec:
  steps:
    - id: dump
      action: test.big
      with: { bytes: 2200000 }
`)));
  expect(await failureMessage(h.result())).toMatch(/^step dump: test\.big returned 2\.10 MB of outputs, more than the 1\.5 MB a step may return/);
  const events = (await h.fetchHistory()).events!;
  const dumpScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === 'dump')!.eventId;
  const started = events.filter((e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(dumpScheduled));
  expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
}, 60_000);
