/**
 * Approval gates against a real Temporal server: policy (groups from the approvers file the
 * worker reads, N-of-M, self-approval, reasons), synchronous refusals recorded in history,
 * plan binding (setParams re-renders the plan; earlier approvals stop counting), timeouts with
 * escalation, late decisions, decisions queued while no worker is up, and the CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { sendDecision, sendSetParams, type DecisionOutcome } from '../client/decide';
import { followingSteps } from '../workflows/approval';
import { statusQuery, type DecisionInput, type RunStatus } from '../workflows/definitions';
import { connectTestEnv, inputFor, maybeRecordHistory, runbookFrom, serverAddress, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { runCli, type CliResult } from './helpers/cli';
import { waitFor as waitUntil } from './helpers/wait';

const root = resolve(__dirname, '..');
let env: TestEnv;
let dir: string;
let queue: string;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
const savedApprovers = process.env.RUNWRIGHT_APPROVERS_FILE;

beforeAll(async () => {
  env = await connectTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'rw-approval-'));
  const file = join(dir, 'approvers.yaml');
  writeFileSync(file, 'groups:\n  sre: [alice, bob, carol]\n  leads: [dave]\n  all: [group:sre, group:leads]\n');
  // The worker (in this process) reads it when a gate opens.
  process.env.RUNWRIGHT_APPROVERS_FILE = file;
  queue = uniqueQueue('approval');
  await startWorker();
});
afterAll(async () => {
  await stopWorker();
  await env?.close();
  if (savedApprovers === undefined) delete process.env.RUNWRIGHT_APPROVERS_FILE;
  else process.env.RUNWRIGHT_APPROVERS_FILE = savedApprovers;
  rmSync(dir, { recursive: true, force: true });
});

async function startWorker(): Promise<void> {
  worker = await startTestWorker(env, queue);
  workerRun = worker.run();
}
async function stopWorker(): Promise<void> {
  worker?.shutdown();
  await workerRun;
  worker = undefined;
}

const rb = (steps: string, params = '') =>
  runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: t }\nspec:\n${params}  steps:\n${steps.replace(/^/gm, '    ').replace(/^\s+$/gm, '')}\n`);

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 20_000): Promise<T> => waitUntil(fn, what, ms, { ignoreErrors: true });

const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<RunStatus>;
const pending = (h: WorkflowHandle, pred: (s: RunStatus) => boolean = () => true) =>
  waitFor(async () => {
    const s = await status(h);
    return s.pendingApprovals[0]?.planHash && pred(s) ? s : undefined;
  }, 'a prepared approval gate');
const decide = (h: WorkflowHandle, d: Partial<DecisionInput> & Pick<DecisionInput, 'user'>, timeoutMs?: number): Promise<DecisionOutcome> =>
  sendDecision(env.client, h.workflowId, { decision: 'approve', source: 'cli', ...d }, { timeoutMs: timeoutMs ?? 60_000 });
const refusedWith = (o: DecisionOutcome) => (o.status === 'refused' ? o.reason : `not refused: ${JSON.stringify(o)}`);
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e: any) {
    let c = e;
    while (c?.cause) c = c.cause;
    return String(c?.message ?? e);
  }
  throw new Error('expected the run to fail');
}
async function signalsIn(h: WorkflowHandle, name: string): Promise<number> {
  const hist = await h.fetchHistory();
  return (hist.events ?? []).filter(
    (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && e.workflowExecutionSignaledEventAttributes?.signalName === name,
  ).length;
}

const deploySteps = (approval: string) => `- id: gate
  approval: ${approval}
- id: deploy
  action: core.log
  with: { message: "deploying to {{ params.target }}" }
- id: verify
  action: core.noop
  with: { value: "{{ steps.deploy.outputs.message }}" }`;
const targetParam = '  params:\n    target: { type: string, default: staging }\n';

test('following steps: the rest of the list, then of enclosing lists; parallel siblings excluded', () => {
  const r = rb(`- id: a
  action: core.noop
- id: p
  parallel:
    - id: other
      action: core.noop
    - id: branch
      steps:
        - id: gate
          approval: { message: ok }
        - id: after
          action: core.noop
- id: last
  action: core.noop`);
  expect(followingSteps(r.spec.steps, 'gate')?.map((s) => s.id)).toEqual(['after', 'last']);
  expect(followingSteps(r.spec.steps, 'a')?.map((s) => s.id)).toEqual(['p', 'last']);
  expect(followingSteps(r.spec.steps, 'nope')).toBeUndefined();
});

test('policy: group approvers, 2-of-3 quorum; unauthorised, self, duplicate, wrong-step, stale-plan, reason-less decisions refused and recorded', async () => {
  const r = rb(deploySteps(`{ message: "deploy to {{ params.target }}?", approvers: ["group:sre"], required: 2, timeout: 2m }`), targetParam);
  const h = await startRun(env, queue, inputFor(r, {}, { startedBy: 'alice' }));
  const st = await pending(h);
  const gate = st.pendingApprovals[0];
  expect(gate).toMatchObject({ step: 'gate', message: 'deploy to staging?', required: 2, eligible: ['alice', 'bob', 'carol'], allowSelfApproval: false, phase: 'waiting' });
  expect(gate.planHash).toMatch(/^[0-9a-f]{64}$/);
  // The plan shows what runs next, with params applied and the action's own dry-run text.
  expect(gate.plan).toMatch(/deploy \[action\] core\.log: log "deploying to staging"/);
  expect(gate.plan).toMatch(/verify \[action\]/);
  expect(gate.plan).not.toMatch(/gate \[approval\]/);

  expect(refusedWith(await decide(h, { user: 'mallory' }))).toMatch(/^mallory is not an approver for gate \(approvers: group:sre = alice, bob, carol\)/);
  expect(refusedWith(await decide(h, { user: 'alice' }))).toMatch(/alice started this run and cannot approve it/);
  expect(refusedWith(await decide(h, { user: 'bob', decision: 'reject' }))).toMatch(/a rejection needs a reason/);
  expect(refusedWith(await decide(h, { user: 'bob', step: 'deploy' }))).toMatch(/step "deploy" is not waiting for approval \(waiting: gate\)/);
  expect(refusedWith(await decide(h, { user: 'bob', planHash: 'f'.repeat(64) }))).toMatch(/plan of gate changed since you reviewed it/);

  const first = await decide(h, { user: 'bob', reason: 'staging looked fine', planHash: gate.planHash });
  expect(first).toMatchObject({ status: 'accepted', result: { step: 'gate', approvals: 1, required: 2, planHash: gate.planHash } });
  expect((await status(h)).state).toBe('waiting-approval');
  expect(refusedWith(await decide(h, { user: 'bob' }))).toMatch(/bob already approved gate at .* \(via cli\); a decision counts once/);
  expect(await decide(h, { user: 'carol', source: 'slack' })).toMatchObject({ status: 'accepted', result: { approvals: 2 } });

  const res = await h.result();
  expect(res.outputs.gate).toMatchObject({ approved: true, timedOut: false, planHash: gate.planHash });
  expect((res.outputs.gate as any).decisions.map((d: any) => d.user)).toEqual(['bob', 'carol']);
  const end = await status(h);
  expect(end.decisions).toEqual([
    expect.objectContaining({ step: 'gate', user: 'bob', source: 'cli', reason: 'staging looked fine', planHash: gate.planHash, counted: true }),
    expect.objectContaining({ step: 'gate', user: 'carol', source: 'slack', counted: true }),
  ]);
  expect(end.approvals).toEqual([expect.objectContaining({ step: 'gate', outcome: 'approved', planHash: gate.planHash })]);
  // Validators write no history; each refusal came back as a Signal and is in the status and the history.
  expect(end.refusals?.map((x) => x.user)).toEqual(['mallory', 'alice', 'bob', 'bob', 'bob', 'bob']);
  expect(end.refusals?.[0]).toMatchObject({ decision: 'approve', source: 'cli', reason: expect.stringMatching(/not an approver/) });
  expect(await signalsIn(h, 'approvalRefused')).toBe(6);
  await maybeRecordHistory(env, h.workflowId, 'approval-v2');
});

test('plan binding: changed params re-render the plan and earlier approvals stop counting', async () => {
  const r = rb(deploySteps(`{ message: "deploy?", approvers: [bob, carol, dave], required: 2, timeout: 2m }`), targetParam);
  const h = await startRun(env, queue, inputFor(r, {}, { startedBy: 'alice' }));
  const before = (await pending(h)).pendingApprovals[0];
  expect(await decide(h, { user: 'bob', planHash: before.planHash })).toMatchObject({ status: 'accepted', result: { approvals: 1 } });

  await expect(sendSetParams(env.client, h.workflowId, { user: 'mallory', params: { target: 'production' } })).rejects.toMatchObject({
    cause: { message: expect.stringMatching(/mallory may not change params/) },
  });
  await expect(sendSetParams(env.client, h.workflowId, { user: 'alice', params: { nope: 1 } })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/unknown param "nope"/) } });
  const changed = await sendSetParams(env.client, h.workflowId, { user: 'alice', params: { target: 'production' }, reason: 'ship it', source: 'cli' });
  expect(changed.changed).toEqual(['target']);

  const after = await pending(h, (s) => s.pendingApprovals[0].planHash !== before.planHash);
  const gate = after.pendingApprovals[0];
  expect(gate.plan).toMatch(/deploying to production/);
  expect(gate.decisions).toEqual([expect.objectContaining({ user: 'bob', planHash: before.planHash, counted: false })]);
  expect(after.paramChanges).toEqual([expect.objectContaining({ user: 'alice', reason: 'ship it', changed: { target: { from: 'staging', to: 'production' } } })]);

  // Approving what one saw before the change is refused; the old approval no longer counts.
  expect(refusedWith(await decide(h, { user: 'carol', planHash: before.planHash }))).toMatch(/changed since you reviewed it/);
  expect(await decide(h, { user: 'carol', planHash: gate.planHash })).toMatchObject({ status: 'accepted', result: { approvals: 1, required: 2 } });
  // bob's approval of the old plan did not count, so he may approve the new one.
  expect(await decide(h, { user: 'bob', planHash: gate.planHash })).toMatchObject({ status: 'accepted', result: { approvals: 2 } });
  const res = await h.result();
  expect(res.outputs.deploy).toMatchObject({ message: 'deploying to production' });
  expect((res.outputs.gate as any).decisions.map((d: any) => d.user)).toEqual(['carol', 'bob']);
});

test('timeout -> escalate -> final action: escalation approvers may decide only after escalating; abort or approve at the end', async () => {
  const gate = (final: string) =>
    `{ message: "go?", approvers: [bob], timeout: 2s, onTimeout: escalate, escalate: { approvers: ["group:leads"], timeout: 2s, onTimeout: ${final} } }`;
  const [decided, aborted, approved] = await Promise.all([
    startRun(env, queue, inputFor(rb(deploySteps(gate('abort')), targetParam), {}, { startedBy: 'alice' })),
    startRun(env, queue, inputFor(rb(deploySteps(gate('abort')), targetParam), {}, { startedBy: 'alice' })),
    startRun(env, queue, inputFor(rb(deploySteps(gate('approve')), targetParam), {}, { startedBy: 'alice' })),
  ]);
  await pending(decided);
  expect(refusedWith(await decide(decided, { user: 'dave' }))).toMatch(/dave is not an approver for gate .*; dave may decide once the approval escalates/);
  const esc = await pending(decided, (s) => s.pendingApprovals[0].phase === 'escalated');
  expect(esc.pendingApprovals[0]).toMatchObject({ eligible: ['bob', 'dave'], approvers: ['bob', 'group:leads'] });
  expect(await decide(decided, { user: 'dave', reason: 'covering for bob' })).toMatchObject({ status: 'accepted' });
  const res = await decided.result();
  expect(res.outputs.gate).toMatchObject({ approved: true, timedOut: false, escalated: true });

  expect(await failure(aborted.result())).toMatch(/approval gate timed out after 2s and again 2s after escalating with 0 of 1 approvals/);
  expect((await status(aborted)).approvals).toEqual([expect.objectContaining({ outcome: 'timed-out', escalated: true })]);
  const ok = await approved.result();
  expect(ok.outputs.gate).toMatchObject({ approved: true, timedOut: true, escalated: true });
  expect(ok.outputs.deploy).toMatchObject({ message: 'deploying to staging' });
});

test('late decisions get a clear answer: gate already decided, run ended, no such run', async () => {
  const r = rb(`- id: gate
  approval: { message: "go?", approvers: [bob, carol] }
- id: nap
  sleep: 2s`);
  const h = await startRun(env, queue, inputFor(r, {}, { startedBy: 'alice' }));
  await pending(h);
  expect(await decide(h, { user: 'bob' })).toMatchObject({ status: 'accepted' });
  await waitFor(async () => (await status(h)).approvals?.length, 'the gate to finish');
  expect(refusedWith(await decide(h, { user: 'carol', step: 'gate' }))).toMatch(/^too late: approval gate has already ended \(approved: approved by bob at /);
  expect(refusedWith(await decide(h, { user: 'carol' }))).toMatch(/^too late: approval gate has already ended/);
  await h.result();
  expect(await decide(h, { user: 'carol' })).toMatchObject({ status: 'ended', execution: 'completed' });
  expect(await sendDecision(env.client, 'no-such-run-xyz', { decision: 'approve', user: 'bob' })).toEqual({ status: 'not-found' });
});

test('a gate that can never be approved, or names an unknown group, fails at once', async () => {
  const selfOnly = rb(`- id: gate\n  approval: { message: "go?", approvers: [alice, bob], required: 2 }`);
  expect(await failure((await startRun(env, queue, inputFor(selfOnly, {}, { startedBy: 'alice' }))).result())).toMatch(
    /approval gate can never be approved: it needs 2 approval\(s\) but only 1 approver\(s\) can decide \(bob\); alice started the run and may not approve it/,
  );
  const unknown = rb(`- id: gate\n  approval: { message: "go?", approvers: ["group:nope"] }`);
  expect(await failure((await startRun(env, queue, inputFor(unknown, {}, { startedBy: 'alice' }))).result())).toMatch(/group "nope" is not defined in the approvers file/);
});

// ---------------------------------------------------------------- CLI

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, {
    cwd: dir,
    env: {
      TEMPORAL_ADDRESS: serverAddress(),
      RUNWRIGHT_TASK_QUEUE: queue,
      RUNWRIGHT_HOME: join(dir, '.runwright'),
      // A live worker on a loaded machine may take a while; only the no-worker test wants the fallback quickly.
      RUNWRIGHT_DECISION_TIMEOUT: '60s',
      ...extraEnv,
    },
  });
}

test('CLI: approve --as under the same policy; identity from RUNWRIGHT_USER; set-params; status shows who, when, where, why', async () => {
  const r = rb(deploySteps(`{ message: "deploy?", approvers: ["group:sre"], timeout: 2m }`), targetParam);
  const h = await startRun(env, queue, inputFor(r, {}, { startedBy: 'alice' }));
  const first = (await pending(h)).pendingApprovals[0];
  const id = h.workflowId;

  const outsider = await cli(['approve', id, '--as', 'mallory']);
  expect(outsider.code).toBe(2);
  expect(outsider.stderr).toMatch(/refused: mallory is not an approver for gate/);
  // No --as: the identity comes from RUNWRIGHT_USER (else the OS user); alice started the run.
  const self = await cli(['approve', id], { RUNWRIGHT_USER: 'alice' });
  expect(self.code).toBe(2);
  expect(self.stderr).toMatch(/refused: alice started this run and cannot approve it/);

  const setp = await cli(['set-params', id, 'target=production', '--as', 'alice', '--reason', 'wrong target']);
  expect(setp.code).toBe(0);
  expect(setp.stdout).toMatch(/changed target of .*approvals of the previous plan no longer count/);
  await pending(h, (s) => s.pendingApprovals[0].planHash !== first.planHash);
  const stale = await cli(['approve', id, '--as', 'bob', '--plan-hash', first.planHash!]);
  expect(stale.code).toBe(2);
  expect(stale.stderr).toMatch(/refused: the plan of gate changed since you reviewed it/);

  const human = await cli(['status', id]);
  expect(human.stdout).toMatch(/approvers: group:sre = alice, bob, carol/);
  expect(human.stdout).toMatch(/plan for gate \(hash [0-9a-f]{12}\):\n\s+After this approval, t runs:/);
  expect(human.stdout).toMatch(/deploying to production/);
  expect(human.stdout).toMatch(/refused approve gate by mallory via cli at \S+: mallory is not an approver/);
  expect(human.stdout).toMatch(/params changed by alice via cli at \S+: target "staging" → "production" \(wrong target\)/);

  const ok = await cli(['approve', id, '--as', 'bob', '--reason', 'checked the plan']);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/approved gate of .* as bob \(1\/1 approvals\)/);
  await h.result();
  const js = JSON.parse((await cli(['status', id, '--json'])).stdout);
  expect(js.status.decisions).toEqual([
    expect.objectContaining({ user: 'bob', source: 'cli', reason: 'checked the plan', actor: expect.stringMatching(/^cli:.+@.+/), at: expect.stringMatching(/^\d{4}-/) }),
  ]);
  const after = await cli(['status', id]);
  expect(after.stdout).toMatch(/approved gate by bob via cli at \S+: checked the plan \[cli:/);
  expect(after.stdout).toMatch(/approval gate: approved at/);
}, 240_000); // eight CLI processes; each start is slow on a loaded 2-core machine

test('no worker up: the decision is queued by Signal, the user is told, and it is validated when a worker resumes', async () => {
  const r = rb(deploySteps(`{ message: "deploy?", approvers: [bob], timeout: 5m }`), targetParam);
  const h = await startRun(env, queue, inputFor(r, {}, { startedBy: 'alice' }));
  await pending(h);
  await stopWorker();
  try {
    const q = await cli(['approve', h.workflowId, '--as', 'bob', '--reason', 'while the worker was down'], { RUNWRIGHT_DECISION_TIMEOUT: '1500ms' });
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/no worker answered in time, so your approve was queued \(request cli:[\w-]+\); it is checked against the approval policy when a worker resumes/);
    const bad = await decide(h, { user: 'mallory' }, 1500);
    expect(bad.status).toBe('queued');
  } finally {
    await startWorker();
  }
  const res = await h.result();
  expect(res.outputs.gate).toMatchObject({ approved: true });
  const st = await status(h);
  // Counted exactly once. Usually through the queued Signal; on a slow machine the Update the CLI
  // gave up on can still be delivered when the worker resumes and win (the Signal is then a duplicate).
  expect(st.decisions).toEqual([expect.objectContaining({ user: 'bob', reason: 'while the worker was down' })]);
  expect(st.refusals).toEqual([expect.objectContaining({ user: 'mallory', queued: true, reason: expect.stringMatching(/not an approver|already ended/) })]);
  expect(await signalsIn(h, 'decideQueued')).toBe(2);
}, 180_000);
