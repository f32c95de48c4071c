/**
 * The console in a real browser: headless Chromium (Debian's, through playwright-core) against
 * `runwright console` (api/server.ts) on the test Temporal dev server with a worker of this
 * process. A runbook is started from the catalog form (plan first, bad params refused next to
 * their field), waits for approval, its plan changes under the approver (the stale decision is
 * refused, the API's message shown), is approved with the keyboard and finishes; a failing run
 * shows its error and compensations; the runs list filters; a drill report renders with its
 * chart; the run page of a 2,000-item foreach renders fast and stays live (time to first render
 * and the longest main-thread task are written to test-output/console/perf.json). Any console
 * error, page error or failed request fails the test it happens in. Screenshots go to
 * test-output/console/*.png.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { buildRegistry } from '../activities/registry';
import { ConsoleAuth } from '../api/auth';
import { startConsoleServer, type ConsoleServer } from '../api/server';
import { SEARCH_ATTRIBUTES } from '../lib/config';
import { INTERPRETER_WORKFLOW, statusQuery, type RunStatus } from '../workflows/definitions';
import { launchBrowser, longTasks, OUTPUT_DIR, type TestBrowser } from './helpers/browser';
import { startSuiteWorker, type SuiteWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';

const DEPLOY = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: console-deploy, description: "Deploy a version behind an approval (console browser test)" }
spec:
  params:
    version: { type: string, description: "the version to deploy" }
    target: { type: string, enum: [staging, prod], default: staging }
    hosts: { type: array, items: { type: string }, default: [web-1, web-2] }
    batch: { type: integer, default: 1, minimum: 1 }
    canary: { type: boolean, default: false }
    apiToken: { type: string, secret: true, default: "secret:deploy-token" }
  steps:
    - id: prepare
      action: core.log
      with: { message: "preparing {{ params.version }} for {{ size(params.hosts) }} hosts" }
    - id: gate
      approval: { message: "Deploy {{ params.version }} to {{ params.target }}?", allowSelfApproval: true, timeout: 10m }
    - id: deploy
      action: core.log
      with: { message: "deploying {{ params.version }} to {{ params.target }}" }
    - id: verify
      action: core.noop
      with: { value: "{{ steps.deploy.outputs.message }}" }
`;

const FAIL = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: console-fail, description: "Fails after two steps that have undo actions" }
spec:
  steps:
    - id: create
      action: core.log
      with: { message: "create the thing" }
      compensate: { action: core.log, with: { message: "undo create" } }
    - id: configure
      action: core.noop
      with: { value: 1 }
      compensate: { action: core.log, with: { message: "undo configure" } }
    - id: check
      action: core.assert
      with: { that: false, message: "planned failure: health check answered 503" }
`;

const BIG = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: console-big, description: "A foreach over many items" }
spec:
  params:
    items: { type: array }
  steps:
    - id: prepare
      action: core.noop
    - id: each
      foreach: "{{ params.items }}"
      batch: 100
      concurrency: 100
      steps:
        - id: check
          action: core.sleep
          with: { ms: 800 }
`;

// Step records as a drill's steps leave them (the report is computed from them alone).
const T = (s: number) => new Date(Date.parse('2025-03-01T10:00:00.000Z') + s * 1000).toISOString();
const DRILL = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: console-drill, description: "A drill report from recorded step records", labels: { runwright.dev/kind: drill } }
spec:
  steps:
    - id: report
      action: drill.report
      with:
        drill: zone-loss
        target: east
        clusters: [east, west]
        objectiveRtoMs: 30s
        fault: { kind: http-503, cluster: east }
        safe: true
        engine: false
        steadyBefore: { state: succeeded, outputs: { healthy: true, at: "${T(-2)}" } }
        inject: { state: succeeded, outputs: { injectedAt: "${T(0)}" } }
        detect: { state: succeeded, outputs: { url: "http://east/health", startedAt: "${T(0.1)}", reached: { up: 0, down: 4100 }, checks: 6, failures: 3 } }
        failover: { state: succeeded, outputs: { pick: { at: "${T(5)}", message: west }, shift: { cluster: east, weight: 0, at: "${T(12)}" } } }
        window:
          state: succeeded
          outputs:
            url: "http://svc/"
            startedAt: "${T(0.05)}"
            endedAt: "${T(15)}"
            checks: 30
            failures: 2
            timeline:
              - { at: "${T(1)}", ms: 950, ok: false, status: 503, error: "HTTP 503" }
              - { at: "${T(2)}", ms: 1950, ok: true, status: 200 }
              - { at: "${T(3)}", ms: 2950, ok: false, status: 503, error: "HTTP 503" }
        restore: { state: succeeded, outputs: { restoredAt: "${T(16)}" } }
        failback: { state: succeeded, outputs: { stages: [ { weight: { cluster: east, weight: 100, at: "${T(17)}" } } ] } }
        steadyAfter: { state: succeeded, outputs: { healthy: true, at: "${T(18)}" } }
`;

const ITEMS = 2000;

let dir: string;
let suite: SuiteWorker | undefined;
let server: ConsoleServer | undefined;
let tb: TestBrowser | undefined;
let me: { user: string; mode: string; signing: string };
const USER = 'oncall-olga';
const started: string[] = [];
const savedReports = process.env.RUNWRIGHT_REPORTS_DIR;
const savedFreeze = process.env.RUNWRIGHT_FREEZE_FILE;

/** The console's API from the test itself (Node's fetch). */
async function call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server!.url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function startViaApi(runbook: string, params: Record<string, unknown> = {}): Promise<string> {
  const r = await call<{ workflowId: string }>('POST', '/runs', { runbook, params });
  if (r.status !== 201) throw new Error(`POST /runs ${runbook}: ${r.status} ${JSON.stringify(r.body)}`);
  started.push(r.body.workflowId);
  return r.body.workflowId;
}

const status = (id: string) => suite!.env.client.workflow.getHandle(id).query(statusQuery) as Promise<RunStatus>;

/** Page problems so far must be none; they are cleared for the next test. */
function expectNoProblems(): void {
  const p = tb!.problems.splice(0);
  expect(p).toEqual([]);
}

const page = (): Page => tb!.page;
const stateText = () => page().locator('.state-line .badge').textContent();
const waitState = (state: string, ms = 30_000) => page().locator('.state-line .badge', { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout: ms });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-console-'));
  const books = join(dir, 'runbooks');
  mkdirSync(books);
  writeFileSync(join(books, 'console-deploy.yaml'), DEPLOY);
  writeFileSync(join(books, 'console-fail.yaml'), FAIL);
  writeFileSync(join(books, 'console-big.yaml'), BIG);
  writeFileSync(join(books, 'console-drill.yaml'), DRILL);
  process.env.RUNWRIGHT_REPORTS_DIR = join(dir, 'reports');
  suite = await startSuiteWorker('console');
  const sa = await suite.env.connection.operatorService.listSearchAttributes({ namespace: 'default' });
  server = await startConsoleServer({
    client: suite.env.client,
    namespace: 'default',
    taskQueue: suite.queue,
    searchAttributes: Object.values(SEARCH_ATTRIBUTES).every((n) => n in (sa.customAttributes ?? {})),
    registry: buildRegistry(),
    runbookPaths: [books],
    auth: new ConsoleAuth({ localUser: USER }),
    reportsDir: join(dir, 'reports'),
    uiLink: (id) => `http://temporal-ui.invalid/namespaces/default/workflows/${encodeURIComponent(id)}`,
    port: 0,
  });
  tb = await launchBrowser();
  me = (await call('GET', '/me')).body;
  expect(me).toMatchObject({ user: USER, mode: 'local' });
}, 60_000);

afterAll(async () => {
  try {
    await tb?.close();
  } finally {
    try {
      for (const id of started)
        await suite?.env.client.workflow
          .getHandle(id)
          .terminate('console test cleanup')
          .catch(() => undefined);
      await server?.close();
    } finally {
      await suite?.stop();
      if (savedReports === undefined) delete process.env.RUNWRIGHT_REPORTS_DIR;
      else process.env.RUNWRIGHT_REPORTS_DIR = savedReports;
      if (savedFreeze === undefined) delete process.env.RUNWRIGHT_FREEZE_FILE;
      else process.env.RUNWRIGHT_FREEZE_FILE = savedFreeze;
      rmSync(dir, { recursive: true, force: true });
    }
  }
}, 30_000);

afterEach(() => {
  // Whatever the test did, the next one starts with a clean record.
  tb?.problems.splice(0);
});

test('catalog → plan → start; waits for approval; a changed plan refuses the stale decision; approved with the keyboard; finishes', async () => {
  const p = page();
  await p.goto(`${server!.url}/#/catalog`);
  await p.getByRole('link', { name: 'console-deploy' }).click();
  await p.getByRole('heading', { name: 'Start console-deploy' }).waitFor();
  // The form from the JSON Schema: required marked, defaults filled in, enum as a select, secret hidden.
  await expect(p.getByLabel(/^version/).getAttribute('aria-required')).resolves.toBe('true');
  await expect(p.getByLabel(/^batch/).inputValue()).resolves.toBe('1');
  await expect(p.getByLabel(/^hosts/).inputValue()).resolves.toBe('web-1, web-2');
  await expect(p.getByLabel(/^target/).evaluate((e) => e.tagName)).resolves.toBe('SELECT');
  await expect(p.getByLabel(/^apiToken/).getAttribute('type')).resolves.toBe('password');
  await expect(p.getByLabel(/^canary/).getAttribute('type')).resolves.toBe('checkbox');

  // A bad param: the API's message next to its field (the 400 in the console is expected).
  const allow400 = tb!.allow(/status of 400/);
  await p.getByLabel(/^version/).fill('v7');
  await p.getByLabel(/^batch/).fill('0');
  await p.getByRole('button', { name: 'Start' }).click();
  const batchError = p.locator('#p-batch-err');
  await batchError.waitFor();
  expect(await batchError.textContent()).toMatch(/batch.*>= 1/);
  allow400();
  await p.getByLabel(/^batch/).fill('2');

  await p.getByRole('button', { name: 'Plan' }).click();
  const plan = p.locator('pre.plan');
  await plan.waitFor();
  expect(await plan.textContent()).toMatch(/deploying v7 to staging/);
  await tb!.screenshot('catalog-form');

  await p.getByRole('button', { name: 'Start' }).click();
  await p.waitForURL(/#\/runs\/[^/]+$/);
  const id = decodeURIComponent(p.url().split('#/runs/')[1]);
  started.push(id);

  // The approval card: message, plan and hash, approvals so far.
  const card = p.locator('section.approval');
  await card.getByRole('heading', { name: 'Approval needed: gate' }).waitFor({ timeout: 20_000 });
  await card.locator('pre.plan').waitFor();
  expect(await card.locator('.message').textContent()).toBe('Deploy v7 to staging?');
  expect(await card.locator('pre.plan').textContent()).toMatch(/deploy \[action\] core\.log: log "deploying v7 to staging"/);
  const first = (await status(id)).pendingApprovals[0];
  expect(await card.locator('dd code').first().textContent()).toBe(first.planHash!.slice(0, 12));
  expect(await card.textContent()).toMatch(/0 of 1/);
  expect(await stateText()).toBe('waiting-approval');
  await tb!.screenshot('run-waiting-approval');

  // The plan changes under the approver: told so, and the decision on the old plan is refused.
  const changed = await call('POST', `/runs/${encodeURIComponent(id)}/params`, { params: { target: 'prod' } });
  expect(changed.status).toBe(200);
  await card.getByText(/The plan changed since you opened it/).waitFor();
  expect(await card.locator('ul.changes').textContent()).toMatch(/target\s*staging → prod/);
  const allow409 = tb!.allow(/status of 409/);
  await card.getByRole('button', { name: 'Approve' }).click();
  const refused = card.locator('.decide .error-box');
  await refused.waitFor();
  expect(await refused.textContent()).toMatch(/plan .*changed/i);
  allow409();
  expect((await status(id)).pendingApprovals[0].decisions).toEqual([]);

  await card.getByRole('button', { name: 'Show the new plan' }).click();
  expect(await card.locator('pre.plan').textContent()).toMatch(/deploying v7 to prod/);
  const second = (await status(id)).pendingApprovals[0];
  expect(second.planHash).not.toBe(first.planHash);

  // Keyboard only: type the reason, Tab to Approve, Enter.
  await card.getByLabel(/^Reason/).focus();
  await p.keyboard.type('prod window open');
  await p.keyboard.press('Tab');
  expect(await p.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe('Approve');
  await p.keyboard.press('Enter');
  await waitState('succeeded');
  const st = await status(id);
  expect(st.decisions).toHaveLength(1);
  expect(st.decisions[0]).toMatchObject({ decision: 'approve', user: me.user, reason: 'prod window open', planHash: second.planHash });
  expect(st.steps.find((s) => s.id === 'deploy')?.outputs).toMatchObject({ message: 'deploying v7 to prod' });
  await p.locator('#audit-h').waitFor();
  expect(await p.getByRole('button', { name: 'Cancel…' }).count()).toBe(0);
  expect(await p.locator('section.approval').count()).toBe(0);
  await tb!.screenshot('run-finished');
  expectNoProblems();
}, 60_000);

test('a failing run shows its error and the compensations that ran; the runs list filters by state', async () => {
  const p = page();
  const id = await startViaApi('console-fail');
  await p.goto(`${server!.url}/#/runs/${encodeURIComponent(id)}`);
  await waitState('failed');
  expect(await p.locator('.run-error pre').textContent()).toMatch(/planned failure: health check answered 503/);
  const failedRow = p.locator('tr[data-path="check"]');
  expect(await failedRow.locator('.badge').textContent()).toBe('failed');
  expect(await failedRow.locator('pre.step-error').textContent()).toMatch(/health check answered 503/);
  const comps = p.locator('table.compensations tbody tr');
  await waitFor(async () => (await comps.count()) === 2, 'two compensations on the page', 10_000);
  // Newest first: configure's undo, then create's.
  expect(await comps.locator('td:first-child').allTextContents()).toEqual(['configure', 'create']);
  expect(await comps.locator('.badge').allTextContents()).toEqual(['done', 'done']);
  await tb!.screenshot('run-failed-compensations');

  // Live updates poll every second, and not while the tab is hidden.
  const polls: number[] = [];
  const onRequest = (r: { url(): string }) => {
    if (r.url().endsWith(`/api/v1/runs/${encodeURIComponent(id)}`)) polls.push(Date.now());
  };
  p.on('request', onRequest);
  try {
    await p.waitForTimeout(2500);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    const setHidden = (hidden: boolean) =>
      p.evaluate((h) => {
        const d = (globalThis as any).document;
        Object.defineProperty(d, 'hidden', { configurable: true, get: () => h });
        Object.defineProperty(d, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
        d.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await p.waitForTimeout(1200); // a poll already in flight may still land
    const whileHidden = polls.length;
    await p.waitForTimeout(3000);
    expect(polls.length).toBe(whileHidden);
    await setHidden(false);
    await waitFor(() => polls.length > whileHidden, 'a poll as soon as the tab is shown again', 2000);
  } finally {
    p.off('request', onRequest);
  }

  // The list: every run of this test; the state filter keeps only the failed one.
  await p.goto(`${server!.url}/#/runs`);
  const rows = p.locator('table.runs tbody tr');
  await p.getByRole('link', { name: id }).waitFor();
  await tb!.screenshot('runs-list');
  await p.getByLabel('State').selectOption('failed');
  await p.waitForURL(/#\/runs\?state=failed$/);
  await waitFor(async () => {
    const ids = await rows.locator('td:first-child').allTextContents();
    const states = await rows.locator('.badge').allTextContents();
    return ids.includes(id) && states.every((s) => s === 'failed');
  }, 'only failed runs, this one among them', 10_000);
  await p.getByRole('link', { name: id }).click();
  await waitState('failed');
  expectNoProblems();
}, 40_000);

test('a drill report renders: verdict, RTO, timeline and the chart image', async () => {
  const p = page();
  const id = await startViaApi('console-drill');
  await suite!.env.client.workflow.getHandle(id).result();
  await p.goto(`${server!.url}/#/runs/${encodeURIComponent(id)}`);
  await waitState('succeeded');
  await p.getByRole('link', { name: 'Drill report' }).click();
  await p.getByRole('heading', { name: /DR drill report: zone-loss — PASS/ }).waitFor();
  const summary = await p.locator('table.facts-table').textContent();
  expect(summary).toMatch(/RTO \(fault injected → traffic shifted\)12\.0 s \(objective 30\.0 s, met\)/);
  expect(summary).toMatch(/Errors during window2 of 30 checks/);
  expect(await p.locator('table.timeline tbody tr').count()).toBeGreaterThan(3);
  const img = p.locator('figure.chart img');
  await waitFor(() => img.evaluate((e: any) => e.complete && e.naturalWidth > 0), 'the chart image to load', 10_000);
  expect(await img.evaluate((e: any) => e.naturalWidth)).toBeGreaterThan(300);
  await tb!.screenshot('drill-report');
  expectNoProblems();
}, 40_000);

test('schedules: next runs, pause (a reason is required) and unpause, trigger; the active change freeze', async () => {
  const p = page();
  const day = 86_400_000;
  const freeze = join(dir, 'freeze.yaml');
  writeFileSync(
    freeze,
    `freezes:\n  - name: incident-4711\n    start: ${new Date(Date.now() - day).toISOString()}\n    end: ${new Date(Date.now() + day).toISOString()}\n    reason: database migration\n  - name: year-end\n    start: 2099-12-20\n    end: 2100-01-03\n`,
  );
  process.env.RUNWRIGHT_FREEZE_FILE = freeze;
  const id = `console-sched-${Date.now().toString(36)}`;
  const h = await suite!.env.client.schedule.create({
    scheduleId: id,
    spec: { cronExpressions: ['0 3 * * *'] },
    action: { type: 'startWorkflow', workflowType: INTERPRETER_WORKFLOW, taskQueue: suite!.queue, args: [{ runbook: { apiVersion: 'runwright/v1', kind: 'Runbook', metadata: { name: 'console-fail' }, spec: { steps: [{ id: 'a', action: 'core.noop' }] } }, params: {}, startedBy: USER }] },
    memo: { runbook: 'console-fail', cron: '0 3 * * *' },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  });
  try {
    await p.goto(`${server!.url}/#/schedules`);
    const row = p.locator('table.schedules tbody tr', { has: p.getByRole('rowheader', { name: id }) });
    await row.waitFor();
    expect(await row.locator('.badge').textContent()).toBe('active');
    expect(await row.locator('code').first().textContent()).toBe('0 3 * * *');
    expect(await row.locator('td').nth(3).textContent()).toMatch(/03:00:00|\d\d:00:00/);
    // The freeze calendar: the active window is announced, the future one listed.
    expect(await p.locator('p.warn-box').textContent()).toMatch(/Change freeze now: incident-4711 \(database migration\)/);
    expect(await p.locator('#freeze-h + p + .table-wrap tbody tr').count()).toBe(2);

    // Pause needs a reason: said on the page, nothing sent.
    await row.getByRole('button', { name: 'Pause' }).click();
    expect(await row.locator('.error-box').textContent()).toMatch(/needs a reason/);
    await row.getByLabel(`Reason for pausing ${id}`).fill('maintenance');
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.locator('.badge', { hasText: /^paused$/ }).waitFor();
    expect(await row.locator('.note').first().textContent()).toMatch(new RegExp(`^maintenance \\(by ${USER} via console from (::ffff:)?127\\.0\\.0\\.1 at 20`));
    await tb!.screenshot('schedules');
    await row.getByRole('button', { name: 'Unpause' }).click();
    await row.locator('.badge', { hasText: /^active$/ }).waitFor();
    await row.getByRole('button', { name: 'Trigger now' }).click();
    await row.locator('.ok-text', { hasText: /^triggered / }).waitFor();
    // The triggered run appears among the recent runs, a link to its page.
    const recent = row.locator('td').nth(4).getByRole('link');
    await recent.first().waitFor({ timeout: 20_000 });
    started.push(...(await h.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
    expectNoProblems();
  } finally {
    await h.delete().catch(() => undefined);
    delete process.env.RUNWRIGHT_FREEZE_FILE;
  }
}, 40_000);

test(`the run page of a ${ITEMS.toLocaleString('en-US')}-item foreach renders quickly and stays live`, async () => {
  const p = page();
  const id = await startViaApi('console-big', { items: Array.from({ length: ITEMS }, (_, i) => `host-${i}`) });
  await waitFor(async () => ((await status(id)).steps.find((s) => s.id === 'each')?.items?.succeeded ?? 0) > 0, 'the foreach to be under way', 30_000, { ignoreErrors: true });

  /** Load the page; then 10 s of live updates: long tasks, and the progress moving. */
  async function measure(label: string) {
    await p.goto('about:blank');
    const t0 = Date.now();
    await p.goto(`${server!.url}/#/runs/${encodeURIComponent(id)}`);
    await p.locator('tr[data-path="each"] .items').waitFor({ timeout: 15_000 });
    const firstRenderMs = Date.now() - t0;
    const progress = async () => (await p.locator('tr[data-path="each"] .items span').textContent())?.replace(/\s+/g, ' ').trim();
    const before = await progress();
    const since = await p.evaluate(() => (globalThis as any).performance.now());
    await p.waitForTimeout(10_000);
    const after = await progress();
    const lt = await longTasks(p, since);
    const dom = await p.evaluate(() => (globalThis as any).document.getElementsByTagName('*').length);
    return { label, firstRenderMs, longTaskMaxMs: Math.round(lt.maxMs), longTasks: lt.count, longTaskTotalMs: Math.round(lt.totalMs), domElements: dom, progressBefore: before, progressAfter: after };
  }

  const real = await measure('status as the API returns it');
  const stepsReal = (await status(id)).steps.length;
  await tb!.screenshot('run-big-foreach');

  // The same page when every item's step is in the status (2,000+ entries): the item rows are
  // collapsed (first 50, "show more", a state filter), so the DOM stays small.
  await p.route(`**/api/v1/runs/${encodeURIComponent(id)}`, async (route) => {
    // A reload while a poll is in flight cancels it: then there is nothing left to answer.
    const res = await route.fetch().catch(() => undefined);
    if (!res) return;
    const body = await res.json();
    const each = body.status?.steps?.find((s: { id: string }) => s.id === 'each');
    if (each?.items) {
      const { succeeded, running } = each.items;
      const at = each.startedAt;
      for (let i = 0; i < ITEMS; i++) {
        const state = i < succeeded ? 'succeeded' : i < succeeded + running ? 'running' : 'pending';
        body.status.steps.push({ path: `each[${i}].check`, id: 'check', kind: 'action', state, attempts: state === 'pending' ? undefined : 1, startedAt: state === 'pending' ? undefined : at, endedAt: state === 'succeeded' ? at : undefined, outputs: state === 'succeeded' ? { sleptMs: 300, changed: false } : undefined });
      }
    }
    await route.fulfill({ response: res, json: body }).catch(() => undefined);
  });
  const expanded = await measure(`status with ${ITEMS.toLocaleString('en-US')} item step entries`);
  const perf = { items: ITEMS, stepEntriesFromApi: stepsReal, real, expanded, at: new Date().toISOString() };
  writeFileSync(join(OUTPUT_DIR, 'perf.json'), `${JSON.stringify(perf, null, 2)}\n`);
  console.log(`console perf: ${JSON.stringify(perf, null, 2)}`);

  // Collapsed: 50 item rows, more on request, filtered by state.
  const itemRows = p.locator('tr.step[data-path^="each["]');
  expect(await p.locator('tr.items-bar select option').first().textContent()).toBe(`all (${ITEMS.toLocaleString('en-US')})`);
  expect(await itemRows.count()).toBe(50);
  await p.getByRole('button', { name: /Show 200 more/ }).click();
  expect(await itemRows.count()).toBe(250);
  await p.getByLabel(/Item steps of each/).selectOption('pending');
  await waitFor(async () => (await itemRows.locator('.badge').allTextContents()).every((x) => x === 'pending'), 'only pending item rows', 5000);
  expect(await itemRows.count()).toBe(50);
  await tb!.screenshot('run-big-foreach-items');
  await p.unroute(`**/api/v1/runs/${encodeURIComponent(id)}`);
  for (const m of [real, expanded]) {
    expect(m.firstRenderMs).toBeLessThan(5000);
    expect(m.longTaskMaxMs).toBeLessThan(250);
    expect(m.domElements).toBeLessThan(3000);
    // Live: the foreach's progress moved during the 10 s without a reload.
    expect(m.progressAfter).not.toBe(m.progressBefore);
  }

  // Cancel from the page, with a reason.
  await p.getByRole('button', { name: 'Cancel…' }).click();
  await p.getByLabel('Reason for cancelling').fill('enough measured');
  await p.getByRole('button', { name: 'Cancel the run' }).click();
  await waitState('cancelled', 30_000);
  expect((await status(id)).cancelledBy).toMatchObject({ user: me.user, reason: 'enough measured' });
  expectNoProblems();
}, 90_000);
