/**
 * runbooks/failover.yaml end to end on the real Temporal dev server, against three clusters with
 * real steering in front (test/helpers/active-active.ts): PowerDNS, HAProxy and Octavia member
 * weights on the OpenStack stand-in, with Prometheus scraping the clusters. Checked from the
 * outside: real DNS answers, real HTTP through the proxy, the stand-in's member weights. Last, the
 * live plan of a failover and an apply that meets drift (a member weight changed by hand).
 */
import { WorkflowFailedError } from '@temporalio/client';
import { readServer } from '../activities/traffic/haproxy-client';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenStackClient } from '../activities/openstack/client';
import { runCli } from './helpers/cli';
import { sendDecision } from '../client/decide';
import type { StepPrediction } from '../dsl/live-plan';
import { appliedPlan, makePlanFile } from '../lib/plan-file';
import { PLAN_WORKFLOW, statusQuery, type RunResult } from '../workflows/definitions';
import { failureMessage, maybeRecordHistory, shippedInput, startRun, useTestWorker } from './helpers/temporal';
import { startActiveActive, type ActiveActive } from './helpers/active-active';
import { CLUSTER_ADDRESSES } from './helpers/services';

const A = CLUSTER_ADDRESSES['cluster-a'];
const B = CLUSTER_ADDRESSES['cluster-b'];
const C = CLUSTER_ADDRESSES['cluster-c'];

let aa: ActiveActive;
const t = useTestWorker('failover');

beforeAll(async () => {
  aa = await startActiveActive();
}, 90_000);

afterAll(async () => {
  await aa?.stop();
});

afterEach(async () => {
  await aa?.reset();
});

const input = (params: Record<string, unknown>) => shippedInput('failover', aa.params(params));

async function run(params: Record<string, unknown>, record = false): Promise<Record<string, any>> {
  const h = await startRun(t.env, t.queue, input(params));
  const res = (await h.result()) as RunResult;
  if (record) await maybeRecordHistory(t.env, h.workflowId, 'failover');
  return res.outputs as Record<string, any>;
}

const failure = async (params: Record<string, unknown>) => failureMessage(startRun(t.env, t.queue, input(params)).then((h) => h.result()));

const haproxyState = async (server: string) => readServer({ socket: aa.lb.socket, timeoutMs: 5000 }, 'app', server);

test('a flapping health check does not move traffic: the failure is not confirmed', async () => {
  aa.clusters['cluster-b'].failNext(2); // two bad answers, then healthy again: below the threshold of 3
  const msg = await failure({ cluster: 'cluster-b', confirmFailures: 3, confirmWithin: '3s' });
  expect(msg).toMatch(/probe\.http.*(up|inconclusive)|expected down/i);
  expect(await aa.resolve()).toEqual([A, B, C]);
  expect((await haproxyState('cluster-b')).admin).toBe('ready');
  expect((await aa.memberWeights())[B]).toBe(10);
}, 60_000);

test('cluster-b fails: traffic leaves it on DNS, HAProxy and Octavia, healthy clusters take the load; failback restores it in stages', async () => {
  aa.clusters['cluster-b'].healthStatus = 503;
  const out = await run({ cluster: 'cluster-b' }, true);
  expect(out.confirm.verdict).toBe('down');
  expect(out.peers.healthyClusters).toEqual(['cluster-a', 'cluster-c']);
  expect(out.shift.changed).toBe(true);
  expect(out.shift.backends.map((b: any) => [b.kind, b.changed])).toEqual([['dns', true], ['haproxy', true], ['octavia', true]]);
  // Seen from outside, not read back from our own writes:
  expect(await aa.resolve()).toEqual([A, C]);
  const hits = await aa.throughProxy(30);
  expect(hits['cluster-b']).toBeUndefined();
  expect((hits['cluster-a'] ?? 0) + (hits['cluster-c'] ?? 0)).toBe(30);
  expect((await haproxyState('cluster-b')).admin).toBe('drain');
  expect(await aa.memberWeights()).toEqual({ [A]: 10, [B]: 0, [C]: 10 });
  // Prometheus saw the load go to a and c and leave b (the verify_load branch asserted it).
  expect(out.verify.verify_load.peers_load.healthy).toBe(true);
  expect(out.verify.verify_load.drained_load.healthy).toBe(true);

  // Running it again changes nothing.
  const again = await run({ cluster: 'cluster-b' });
  expect(again.shift.changed).toBe(false);

  // cluster-b recovers: failback in two stages.
  aa.clusters['cluster-b'].healthStatus = 200;
  const back = await run({ cluster: 'cluster-b', mode: 'failback', stages: [50, 100], stageWait: '500ms' });
  expect(back.stages.map((s: any) => s.weight.weight)).toEqual([50, 100]);
  expect(back.stages[0].weight.backends.find((b: any) => b.kind === 'haproxy').after['cluster-b']).toEqual({ admin: 'ready', weight: 50 });
  expect(back.stages[0].weight.backends.find((b: any) => b.kind === 'octavia').after).toEqual({ [`${B}:80`]: 5 });
  expect(await aa.resolve()).toEqual([A, B, C]);
  const s = await haproxyState('cluster-b');
  expect([s.admin, s.weight]).toEqual(['ready', 100]);
  expect((await aa.memberWeights())[B]).toBe(10);
  const after = await aa.throughProxy(30);
  expect(after['cluster-b']).toBeGreaterThan(0);
}, 180_000);

test('planned drain of a healthy cluster (force): only the steering moves traffic, HAProxy health checks would not', async () => {
  const out = await run({ cluster: 'cluster-b', force: true });
  expect(out.checks.confirm).toBeNull(); // skipped: nothing to confirm
  expect(await aa.resolve()).toEqual([A, C]);
  const hits = await aa.throughProxy(30);
  expect(hits['cluster-b']).toBeUndefined();
  expect((hits['cluster-a'] ?? 0) + (hits['cluster-c'] ?? 0)).toBe(30);
  expect((await aa.memberWeights())[B]).toBe(0);
}, 120_000);

test('a backend that does not know the cluster fails before anything moves (dry run first)', async () => {
  const p = aa.params();
  const backends = (p.backends as any[]).map((b) => (b.kind === 'haproxy' ? { ...b, servers: { 'cluster-a': ['cluster-a'], 'cluster-c': ['cluster-c'] } } : b));
  aa.clusters['cluster-b'].healthStatus = 503;
  const msg = await failure({ cluster: 'cluster-b', backends });
  expect(msg).toMatch(/haproxy backend lists no entry for cluster "cluster-b"/);
  expect(await aa.resolve()).toEqual([A, B, C]);
  expect((await aa.memberWeights())[B]).toBe(10);
}, 60_000);

test('failback whose check fails takes the cluster out again (compensation)', async () => {
  aa.clusters['cluster-b'].healthStatus = 503;
  await run({ cluster: 'cluster-b' });
  // Healthy for the recovery check, then failing again during the first stage.
  aa.clusters['cluster-b'].healthStatus = 200;
  const h = await startRun(t.env, t.queue, input({ cluster: 'cluster-b', mode: 'failback', stages: [50, 100], stageWait: '2s' }));
  await new Promise((r) => setTimeout(r, 1500));
  aa.clusters['cluster-b'].healthStatus = 503;
  await expect(h.result()).rejects.toThrow(WorkflowFailedError);
  // The first stage really ran and was undone (not a failure before any stage).
  const st = await h.query(statusQuery);
  expect(st.compensations.map((c) => [c.path, c.state])).toEqual([['stages[0].weight', 'done']]);
  expect(await aa.resolve()).toEqual([A, C]);
  expect((await haproxyState('cluster-b')).admin).toBe('drain');
  expect((await aa.memberWeights())[B]).toBe(0);
}, 120_000);

test('no healthy peer: nothing moves', async () => {
  for (const n of ['cluster-a', 'cluster-b', 'cluster-c']) aa.clusters[n].healthStatus = 503;
  const msg = await failure({ cluster: 'cluster-b' });
  expect(msg).toMatch(/no healthy cluster to take the traffic of cluster-b/);
  expect(await aa.resolve()).toEqual([A, B, C]);
}, 60_000);

test('plan and apply: the plan shows each backend\'s change; an Octavia member weight changed after the plan is drift at the shift', async () => {
  const planned = input({ cluster: 'cluster-b', force: true });
  const ph = await t.env.client.workflow.start(PLAN_WORKFLOW, { taskQueue: t.queue, workflowId: `plan-failover-${Date.now().toString(36)}`, args: [{ runbook: planned.runbook, params: planned.params, startedBy: 'planner' }] });
  const { steps } = (await ph.result()) as { steps: StepPrediction[] };
  const plan = makePlanFile(planned.runbook, planned.children ?? {}, planned.params, steps);
  const shift = plan.steps.find((s) => s.path === 'shift')!;
  expect(shift).toMatchObject({ status: 'planned', changed: true, effect: 'change' });
  expect(shift.summary).toMatch(/cluster-b/);
  expect(shift.diff).toMatch(/octavia/);
  expect(shift.diff).toContain(B);
  // The preflight is a dry run itself: it changes nothing, and the plan counts one change.
  expect(plan.steps.find((s) => s.path === 'preflight')).toMatchObject({ changed: false, effect: 'none' });
  expect(plan.summary).toMatchObject({ create: 0, change: 1, destroy: 0 });
  // The plan moved nothing.
  expect((await aa.memberWeights())[B]).toBe(10);

  // Someone halves cluster-b's member weight by hand before the apply.
  const octavia = (aa.params().backends as any[]).find((b) => b.kind === 'octavia');
  const c = new OpenStackClient(octavia.cloud);
  const pools = await c.list('load-balancer', '/lbaas/pools', 'pools');
  const pool = pools.find((p: any) => p.id === octavia.pool || p.name === octavia.pool);
  const member = (await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members')).find((m: any) => m.address === B);
  await c.put('load-balancer', `/lbaas/pools/${pool.id}/members/${member.id}`, { member: { weight: 5 } });

  const h = await startRun(t.env, t.queue, shippedInput('failover', plan.params, { startedBy: 'operator', plan: appliedPlan(plan) }));
  let st = await h.query(statusQuery);
  for (let i = 0; i < 200 && !st.pendingApprovals[0]?.planHash; i++) {
    await new Promise((r) => setTimeout(r, 250));
    st = await h.query(statusQuery);
  }
  expect(st.pendingApprovals.map((p) => p.step)).toEqual(['drift:shift']);
  const drift = st.plan!.drift[0];
  expect(drift.live.diff).not.toBe(drift.planned.diff);
  expect(drift.live.diff).toMatch(/5/);
  expect(await aa.resolve()).toEqual([A, B, C]);
  expect((await sendDecision(t.env.client, h.workflowId, { decision: 'approve', user: 'reviewer', source: 'cli', planHash: drift.planHash })).status).toBe('accepted');
  await h.result();
  expect(await aa.memberWeights()).toEqual({ [A]: 10, [B]: 0, [C]: 10 });
  expect(await aa.resolve()).toEqual([A, C]);
}, 120_000);

test('rehearse a failover on a twin of the cloud: Octavia weights move on the twin, DNS and HAProxy are dry runs, nothing real moves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-failover-rehearse-'));
  try {
    // The verification probes look at the real steering, which a rehearsal does not move: off.
    writeFileSync(join(dir, 'params.json'), JSON.stringify(aa.params({ cluster: 'cluster-b', force: true, entrypoint: '', dnsServer: '', prometheus: '' })));
    const octavia = (aa.params().backends as any[]).find((b) => b.kind === 'octavia');
    const r = await runCli(['rehearse', join(__dirname, '..', 'runbooks', 'failover.yaml'), '--from-cloud', octavia.cloud, '--params', join(dir, 'params.json'), '--json'], { cwd: dir, env: { RUNWRIGHT_HOME: join(dir, '.runwright') }, timeoutMs: 180_000 });
    expect({ code: r.code, stderr: r.code ? r.stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
    const rep = JSON.parse(r.stdout);
    expect(rep.run.state).toBe('succeeded');
    expect(rep.run.steps.find((s: any) => s.path === 'shift')).toMatchObject({ state: 'succeeded', mode: 'mixed' });
    const weights = rep.twin.changes.filter((c: any) => c.kind === 'member').map((c: any) => `${c.key}: ${JSON.stringify(c.fields.weight)}`);
    expect(weights).toEqual([expect.stringMatching(new RegExp(`${B.replace(/\./g, '\\.')}:\\d+: \\[10,0\\]$`))]);
    expect(rep.comparison.notInPlan).toEqual([]);
    // Nothing real moved.
    expect(await aa.memberWeights()).toEqual({ [A]: 10, [B]: 10, [C]: 10 });
    expect(await aa.resolve()).toEqual([A, B, C]);
    expect((await haproxyState('cluster-b')).admin).toBe('ready');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
