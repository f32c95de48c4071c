/**
 * The live plan and apply of the shipped configure-hosts runbook on real sshd test hosts: the
 * plan walks each batch (host.inventory predicts) and shows, per host, the files and lines that
 * would change with their diffs (host.play's dry run: check mode with diff); apply re-checks each
 * batch; a host whose file was edited between plan and apply is drift, and the run stops there.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { sendDecision } from '../client/decide';
import { countChanges, formatLivePlan, type StepPrediction } from '../dsl/live-plan';
import { appliedPlan, makePlanFile, type PlanFile } from '../lib/plan-file';
import { PLAN_WORKFLOW, statusQuery, type PlanRunInput, type RunStatus } from '../workflows/definitions';
import { shippedInput, startRun, startSuiteWorker, type SuiteWorker } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { waitFor } from './helpers/wait';

let suite: SuiteWorker | undefined;
let th: TestHosts;
let params: Record<string, unknown>;
let seq = 0;

beforeAll(async () => {
  th = startTestHosts(48, 2);
  const [h1, h2] = th.hosts;
  const inventory = th.writeInventory('hosts.ini', `[web]\nh1 ansible_host=${h1.address}\nh2 ansible_host=${h2.address}\n\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=${th.key}\n`);
  const play = join(th.dir, 'web.yaml');
  writeFileSync(
    play,
    `name: web
hosts: web
serial: 1
tasks:
  - name: app config
    copy: { dest: /etc/app.conf, content: "listen 8080\\nname {{ inventory_hostname }}\\n" }
  - name: tuning
    lineinfile: { path: /etc/sysctl.d/90-app.conf, line: "net.core.somaxconn = 4096", create: true }
`,
  );
  params = { inventory, play, knownHosts: th.knownHosts };
  suite = await startSuiteWorker('live-plan-hosts');
}, 300_000);

afterAll(async () => {
  await suite?.stop();
  th?.down();
});

async function livePlan(): Promise<PlanFile> {
  const input = shippedInput('configure-hosts', params);
  const arg: PlanRunInput = { runbook: input.runbook, params: input.params, startedBy: 'planner' };
  const h = await suite!.env.client.workflow.start(PLAN_WORKFLOW, { taskQueue: suite!.queue, workflowId: `plan-hosts-${Date.now().toString(36)}-${seq++}`, args: [arg] });
  const { steps } = (await h.result()) as { steps: StepPrediction[] };
  return makePlanFile(input.runbook, input.children ?? {}, input.params, steps);
}

const apply = (plan: PlanFile): Promise<WorkflowHandle> => startRun(suite!.env, suite!.queue, shippedInput('configure-hosts', plan.params, { startedBy: 'operator', plan: appliedPlan(plan) }));
const step = (p: PlanFile, path: string) => p.steps.find((s) => s.path === path)!;
const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<RunStatus>;
const file = (host: string, path: string) => th.sh(host, `cat ${path} 2>/dev/null || echo MISSING`).replace(/\n$/, '');

test('plan: one batch per host (serial 1), each with the files and lines it would change and their diffs; nothing changes', async () => {
  const plan = await livePlan();
  expect(step(plan, 'inventory')).toMatchObject({ status: 'read' });
  expect(step(plan, 'play').summary).toBe('2 item(s)');
  const h1 = step(plan, 'play[0].apply');
  expect(h1).toMatchObject({ status: 'planned', changed: true, effect: 'change' });
  expect(h1.diff).toContain('~ h1: app config');
  expect(h1.diff).toMatch(/~ h1: app config\n(?: {4}.*\n)*? {4}\+name h1/);
  expect(h1.diff).toContain('~ h1: tuning');
  expect(h1.diff).toContain('+net.core.somaxconn = 4096');
  expect(h1.diff).not.toContain('h2');
  expect(step(plan, 'play[1].apply').diff).toMatch(/\+name h2/);
  expect(countChanges(plan.steps)).toEqual({ create: 0, change: 2, destroy: 0, afterApply: 0 });
  expect(formatLivePlan('configure-hosts', plan.steps)).toContain('Plan: 0 to create, 2 to change, 0 to destroy.');
  // Check mode changed nothing on the hosts.
  expect(file('h1', '/etc/app.conf')).toBe('MISSING');
}, 180_000);

test('apply without drift configures both hosts; a plan of the converged hosts changes nothing', async () => {
  const plan = await livePlan();
  const h = await apply(plan);
  await h.result();
  expect((await status(h)).plan).toEqual({ hash: plan.hash, drift: [] });
  expect(file('h1', '/etc/app.conf')).toBe('listen 8080\nname h1');
  expect(file('h2', '/etc/app.conf')).toBe('listen 8080\nname h2');
  const again = await livePlan();
  expect(step(again, 'play[0].apply')).toMatchObject({ changed: false, effect: 'none' });
  expect(countChanges(again.steps)).toEqual({ create: 0, change: 0, destroy: 0, afterApply: 0 });
}, 180_000);

test('drift on a host: a file edited after the plan stops the run at that host\'s batch with the diff; approved, the run finishes', async () => {
  const plan = await livePlan();
  expect(step(plan, 'play[1].apply').changed).toBe(false);
  // Someone edits h2's config by hand between plan and apply.
  th.sh('h2', "printf 'listen 9090\\nname h2\\n' > /etc/app.conf");

  const h = await apply(plan);
  const st = await waitFor(async () => {
    const s = await status(h);
    return s.pendingApprovals[0]?.planHash ? s : undefined;
  }, 'the drift gate');
  expect(st.pendingApprovals.map((p) => p.step)).toEqual(['drift:play[1].apply']);
  const drift = st.plan!.drift[0];
  expect(drift).toMatchObject({ step: 'play[1].apply', outcome: 'pending' });
  expect(drift.live.diff).toMatch(/~ h2: app config\n(?: {4}.*\n)*? {4}-listen 9090\n {4}\+listen 8080/);
  // h1's batch had no drift and ran; h2's is held.
  expect(st.steps.find((s) => s.path === 'play[0].apply')?.state).toBe('succeeded');
  expect(file('h2', '/etc/app.conf')).toBe('listen 9090\nname h2');

  const ok = await sendDecision(suite!.env.client, h.workflowId, { decision: 'approve', user: 'reviewer', source: 'cli', planHash: drift.planHash });
  expect(ok.status).toBe('accepted');
  await h.result();
  expect(file('h2', '/etc/app.conf')).toBe('listen 8080\nname h2');
  expect((await status(h)).plan!.drift.map((d) => `${d.step}:${d.outcome}`)).toEqual(['play[1].apply:approved']);
}, 240_000);
