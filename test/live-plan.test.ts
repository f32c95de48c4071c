/**
 * `runwright plan` / `apply` on a real Temporal dev server and worker, against the OpenStack
 * stand-in: the live plan of provision-vm (creates, "(known after apply)", the summary line, a
 * stable hash), an apply without drift that runs straight through, and an apply after the world
 * changed: it stops at the drifted step with the planned and live diff, refuses the old plan's
 * hash, and finishes once the live plan's hash is approved. The CLI's plan-file errors at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { OpenStackClient } from '../activities/openstack/client';
import { sendDecision } from '../client/decide';
import { countChanges, formatLivePlan, type StepPrediction } from '../dsl/live-plan';
import { appliedPlan, makePlanFile, type PlanFile } from '../lib/plan-file';
import { PLAN_WORKFLOW, statusQuery, type PlanRunInput, type RunResult, type RunStatus } from '../workflows/definitions';
import { serverAddress, shippedInput, startRun, startSuiteWorker, type SuiteWorker } from './helpers/temporal';
import { makePool, startSim, type SimEnv } from './helpers/openstack';
import { waitFor } from './helpers/wait';
import { runCli } from './helpers/cli';

let suite: SuiteWorker | undefined;
let os: SimEnv | undefined;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-plan-'));
  os = await startSim();
  suite = await startSuiteWorker('live-plan');
}, 120_000);

afterAll(async () => {
  await suite?.stop();
  await os?.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = () => new OpenStackClient('cluster-a');
let seq = 0;

async function livePlan(params: Record<string, unknown>): Promise<PlanFile> {
  const input = shippedInput('provision-vm', params);
  const arg: PlanRunInput = { runbook: input.runbook, params: input.params, startedBy: 'planner' };
  const h = await suite!.env.client.workflow.start(PLAN_WORKFLOW, { taskQueue: suite!.queue, workflowId: `plan-test-${Date.now().toString(36)}-${seq++}`, args: [arg] });
  const { steps } = (await h.result()) as { steps: StepPrediction[] };
  return makePlanFile(input.runbook, input.children ?? {}, input.params, steps);
}

function apply(plan: PlanFile): Promise<WorkflowHandle> {
  const input = shippedInput('provision-vm', plan.params, { startedBy: 'operator', plan: appliedPlan(plan) });
  return startRun(suite!.env, suite!.queue, input);
}

const step = (p: PlanFile, path: string) => p.steps.find((s) => s.path === path)!;
const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<RunStatus>;

test('plan of provision-vm: creates with the summary line, "(known after apply)" where ids come from creates, and a stable hash', async () => {
  const { poolId } = await makePool('cluster-a', 'plan-pool');
  const params = { cloud: 'cluster-a', pool: poolId, count: 2, namePrefix: 'pl', securityGroup: 'pl-sg' };
  const plan = await livePlan(params);

  expect(step(plan, 'secgroup')).toMatchObject({ status: 'planned', changed: true, effect: 'create' });
  expect(step(plan, 'secgroup').diff).toBe('+ security group pl-sg\n+ rule ingress tcp/80');
  // The read that names the servers ran, and its outputs fed the boot step's input.
  expect(step(plan, 'prepare')).toMatchObject({ status: 'read' });
  const servers = step(plan, 'servers');
  expect(servers).toMatchObject({ status: 'known-after-apply', effect: 'create' });
  expect((servers.input as any).names).toEqual(['pl-1', 'pl-2']);
  expect((servers.input as any).securityGroups).toEqual(['(known after apply)']);
  expect(step(plan, 'members')).toMatchObject({ status: 'known-after-apply', effect: 'change' });
  expect((step(plan, 'members').input as any).addresses).toBe('(known after apply)');
  expect(step(plan, 'fips')).toMatchObject({ status: 'skipped' });
  expect(countChanges(plan.steps)).toEqual({ create: 3, change: 1, destroy: 0, afterApply: 2 });
  const text = formatLivePlan('provision-vm', plan.steps);
  expect(text).toContain('Plan: 3 to create, 1 to change, 0 to destroy (2 of them with values known after apply).');
  expect(text).toMatch(/\+ +servers \[openstack\.server\.create-batch\] \(known after apply\)/);

  // The same world planned again: the same hash (createdAt is outside it).
  const again = await livePlan(params);
  expect(again.hash).toBe(plan.hash);
  expect(again.hash).toMatch(/^[0-9a-f]{64}$/);
  // Nothing was created by planning.
  expect(await client().list('network', '/security-groups', 'security_groups', { query: { name: 'pl-sg' } })).toEqual([]);
  expect(await client().list('compute', '/servers', 'servers', { query: { name: '^pl-' } })).toEqual([]);
}, 120_000);

test('a worker that requires signed requests refuses an unsigned plan before any dry run', async () => {
  const before = process.env.RUNWRIGHT_REQUIRE_SIGNED;
  process.env.RUNWRIGHT_REQUIRE_SIGNED = '1';
  try {
    const input = shippedInput('provision-vm', { cloud: 'cluster-a', pool: 'p', securityGroup: 'unsigned-sg' });
    const h = await suite!.env.client.workflow.start(PLAN_WORKFLOW, { taskQueue: suite!.queue, workflowId: `plan-unsigned-${Date.now().toString(36)}`, args: [{ runbook: input.runbook, params: input.params, startedBy: 'mallory' }] });
    await expect(h.result()).rejects.toThrow();
    const hist = await h.fetchHistory();
    const scheduled = (hist.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityId).filter(Boolean);
    expect(scheduled).toEqual(['identity:plan']);
    const failed = (hist.events ?? []).find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure?.message;
    expect(failed).toMatch(/^plan refused: /);
  } finally {
    if (before === undefined) delete process.env.RUNWRIGHT_REQUIRE_SIGNED;
    else process.env.RUNWRIGHT_REQUIRE_SIGNED = before;
  }
}, 60_000);

test('apply without drift runs straight through: every planned step re-checked, no stop', async () => {
  const { poolId } = await makePool('cluster-a', 'apply-pool');
  const plan = await livePlan({ cloud: 'cluster-a', pool: poolId, count: 1, namePrefix: 'ap', securityGroup: 'ap-sg' });
  const h = await apply(plan);
  const res = (await h.result()) as RunResult;
  expect((res.outputs.prepare as any).names).toEqual(['ap-1']);
  const st = await status(h);
  expect(st.plan).toEqual({ hash: plan.hash, drift: [] });
  expect(st.approvals ?? []).toEqual([]);
  // The re-check ran as its own activity before the step.
  const hist = await h.fetchHistory();
  const ids = (hist.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityId).filter(Boolean);
  expect(ids).toContain('recheck:secgroup');
  expect(ids.indexOf('recheck:secgroup')).toBeLessThan(ids.indexOf('secgroup'));
}, 120_000);

test('drift: the world changed between plan and apply; the run stops at that step with the drift, and finishes once the live plan is approved', async () => {
  const { poolId } = await makePool('cluster-a', 'drift-pool');
  const plan = await livePlan({ cloud: 'cluster-a', pool: poolId, count: 1, namePrefix: 'dr', securityGroup: 'dr-sg' });
  expect(step(plan, 'secgroup').effect).toBe('create');

  // Someone creates the security group (without its rule) before the apply.
  await client().request('network', 'POST', '/security-groups', { body: { security_group: { name: 'dr-sg' } } });

  const h = await apply(plan);
  const st = await waitFor(async () => {
    const s = await status(h);
    return s.pendingApprovals[0]?.planHash ? s : undefined;
  }, 'the drift gate');
  expect(st.state).toBe('waiting-approval');
  expect(st.pendingApprovals.map((p) => p.step)).toEqual(['drift:secgroup']);
  const drift = st.plan!.drift;
  expect(drift).toHaveLength(1);
  expect(drift[0]).toMatchObject({ step: 'secgroup', outcome: 'pending', planned: { diff: '+ security group dr-sg\n+ rule ingress tcp/80' }, live: { diff: '+ rule ingress tcp/80' } });
  expect(drift[0].live.summary).toMatch(/^security group dr-sg exists \(.*\); add 1 rule/);
  expect(st.pendingApprovals[0].planHash).toBe(drift[0].planHash);
  expect(drift[0].planHash).not.toBe(plan.hash);
  expect(st.pendingApprovals[0].plan).toContain('planned: create security group dr-sg');
  // Nothing ran past the drifted step.
  expect(st.steps.find((s) => s.path === 'servers')).toBeUndefined();
  expect(await client().list('compute', '/servers', 'servers', { query: { name: '^dr-' } })).toEqual([]);

  // A decision on the old plan does not count.
  const old = await sendDecision(suite!.env.client, h.workflowId, { decision: 'approve', user: 'reviewer', source: 'cli', planHash: plan.hash });
  expect(old.status === 'refused' ? old.reason : JSON.stringify(old)).toMatch(/plan of drift:secgroup changed since you reviewed it/);
  const ok = await sendDecision(suite!.env.client, h.workflowId, { decision: 'approve', user: 'reviewer', source: 'cli', planHash: drift[0].planHash });
  expect(ok.status).toBe('accepted');

  const res = (await h.result()) as RunResult;
  expect((res.outputs.secgroup as any).created).toBe(false);
  const end = await status(h);
  expect(end.plan!.drift[0].outcome).toBe('approved');
  expect(end.approvals?.map((a) => `${a.step}:${a.outcome}:${a.planHash}`)).toEqual([`drift:secgroup:approved:${drift[0].planHash}`]);
  expect((await client().list('compute', '/servers', 'servers', { query: { name: '^dr-' } })).map((s: any) => s.name)).toEqual(['dr-1']);
}, 180_000);

test('runwright apply: a bad or tampered plan file is refused with a clear message and exit 2', async () => {
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, 'not json at all');
  const bad = await runCli(['apply', junk]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/is not a plan file \(not JSON/);
  expect(bad.stderr).not.toMatch(/\n\s+at /);

  const missing = await runCli(['apply', join(dir, 'nope.json')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/cannot read plan file .*ENOENT/);

  const input = shippedInput('provision-vm', { cloud: 'cluster-a', pool: 'p', securityGroup: 'x' });
  const plan = makePlanFile(input.runbook, {}, input.params, [{ path: 'secgroup', depth: 0, kind: 'action', title: 'secgroup', status: 'planned', changed: true, effect: 'create', summary: 'create', hash: 'a'.repeat(64) }]);
  const f = join(dir, 'plan.json');
  writeFileSync(f, JSON.stringify({ ...plan, params: { ...plan.params, count: 40 } }, null, 2));
  const tampered = await runCli(['apply', f]);
  expect(tampered.code).toBe(2);
  expect(tampered.stderr).toMatch(/was changed after it was made: its hash is [0-9a-f]{12}…, its content hashes to [0-9a-f]{12}…/);
  expect(tampered.stderr).not.toMatch(/\n\s+at /);
  // The untouched file passes the check (it fails later, on params it may not change).
  writeFileSync(f, JSON.stringify(plan));
  const extra = await runCli(['apply', f, '--set', 'count=3']);
  expect(extra.code).toBe(2);
  expect(extra.stderr).toMatch(/a plan is applied with the params it was made with/);
  expect(JSON.parse(readFileSync(f, 'utf8')).hash).toBe(plan.hash);
}, 120_000);

test('runwright plan --out then runwright apply: text with the summary line and hash, a plan file, a run bound to it', async () => {
  const { poolId } = await makePool('cluster-a', 'cli-pool');
  const env = { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: suite!.queue, RUNWRIGHT_HOME: join(dir, '.runwright'), OS_CLIENT_CONFIG_FILE: os!.cloudsFile, RUNWRIGHT_CODEC: 'off' };
  const f = join(dir, 'cli-plan.json');
  const rb = join(__dirname, '..', 'runbooks', 'provision-vm.yaml');
  const planned = await runCli(['plan', rb, '--set', 'cloud=cluster-a', '--set', `pool=${poolId}`, '--set', 'count=2', '--set', 'namePrefix=cl', '--set', 'securityGroup=cl-sg', '--out', f], { env });
  expect(planned.stderr).toBe('');
  expect(planned.code).toBe(0);
  expect(planned.stdout).toContain('Live plan of provision-vm:');
  expect(planned.stdout).toContain('+ security group cl-sg');
  expect(planned.stdout).toContain('Plan: 3 to create, 1 to change, 0 to destroy (2 of them with values known after apply).');
  const file = JSON.parse(readFileSync(f, 'utf8')) as PlanFile;
  expect(planned.stdout).toContain(`Plan hash: ${file.hash}`);
  expect(file.summary).toEqual({ create: 3, change: 1, destroy: 0, afterApply: 2 });

  const applied = await runCli(['apply', f, '--json', '--id', `apply-cli-${Date.now().toString(36)}`], { env, timeoutMs: 120_000 });
  expect(applied.code).toBe(0);
  const res = JSON.parse(applied.stdout);
  expect(res.state).toBe('succeeded');
  expect(res.status.plan).toEqual({ hash: file.hash, drift: [] });
  expect((await client().list('compute', '/servers', 'servers', { query: { name: '^cl-' } })).map((s: any) => s.name).sort()).toEqual(['cl-1', 'cl-2']);
}, 180_000);
