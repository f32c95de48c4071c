/**
 * The console's HTTP API (api/) against a real Temporal dev server and worker: catalog with
 * params schemas, starts checked like `runwright run` (same messages), plan preview, approvals
 * with plan binding recorded with who and from where, cancel, runs list filters, schedules,
 * token sign-in and cross-site refusals, the access policy, and the generated OpenAPI document.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { buildRegistry } from '../activities/registry';
import { ConsoleAuth, newToken } from '../api/auth';
import { startConsoleServer, type ConsoleServer } from '../api/server';
import { ROUTES } from '../api/app';
import { INTERPRETER_WORKFLOW, statusQuery, type RunStatus } from '../workflows/definitions';
import { SEARCH_ATTRIBUTES } from '../lib/config';
import { useTestWorker } from './helpers/temporal';
import { runCli } from './helpers/cli';
import { waitFor } from './helpers/wait';

const t = useTestWorker('console-api');
let dir: string;
let server: ConsoleServer;
let searchAttributes = false;
const savedPolicy = process.env.RUNWRIGHT_ACCESS_POLICY;

const GATED = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: gated, description: "a gate between two steps" }
spec:
  params:
    count: { type: integer, minimum: 1, maximum: 5, description: "how many" }
    token: { type: string, secret: true, default: "secret:none" }
  steps:
    - id: before
      action: core.log
      with: { message: "count {{ params.count }}" }
    - id: gate
      approval:
        message: "go on with {{ params.count }}?"
    - id: after
      action: core.noop
`;
const SLOW = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: slow }
spec:
  steps:
    - id: first
      action: core.noop
    - id: nap
      sleep: 10m
`;

async function api(path: string, init: RequestInit & { json?: unknown; base?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${init.base ?? server.url}${path}`, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body, redirect: 'manual' });
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body };
}

async function startServer(extra: Partial<Parameters<typeof startConsoleServer>[0]> = {}): Promise<ConsoleServer> {
  return startConsoleServer({
    client: t.env.client,
    namespace: 'default',
    taskQueue: t.queue,
    searchAttributes,
    registry: buildRegistry(),
    runbookPaths: [dir],
    auth: new ConsoleAuth({ localUser: 'alice' }),
    reportsDir: join(dir, 'reports'),
    port: 0,
    ...extra,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-console-api-'));
  writeFileSync(join(dir, 'gated.yaml'), GATED);
  writeFileSync(join(dir, 'slow.yaml'), SLOW);
  writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: broken }\nspec:\n  steps:\n    - id: x\n      action: no.such\n');
  const sa = await t.env.connection.operatorService.listSearchAttributes({ namespace: 'default' });
  searchAttributes = Object.values(SEARCH_ATTRIBUTES).every((n) => n in (sa.customAttributes ?? {}));
  server = await startServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (savedPolicy === undefined) delete process.env.RUNWRIGHT_ACCESS_POLICY;
  else process.env.RUNWRIGHT_ACCESS_POLICY = savedPolicy;
  rmSync(dir, { recursive: true, force: true });
});

const statusOf = async (id: string): Promise<RunStatus> => (await api(`/api/v1/runs/${id}`)).body.status;

test('catalog: valid runbooks with their params schema; a broken file is reported with file:line:column', async () => {
  const r = await api('/api/v1/runbooks');
  expect(r.status).toBe(200);
  expect(r.body.runbooks.map((x: any) => x.name)).toEqual(['gated', 'slow']);
  const gated = r.body.runbooks[0];
  expect(gated.description).toBe('a gate between two steps');
  expect(gated.paramsSchema.required).toEqual(['count']);
  expect(gated.paramsSchema.properties.count).toMatchObject({ type: 'integer', minimum: 1, maximum: 5 });
  expect(gated.paramsSchema.properties.token).toMatchObject({ writeOnly: true, format: 'password' });
  expect(gated.secretParams).toEqual(['token']);
  expect(r.body.problems.join('\n')).toMatch(/broken\.yaml:7:\d+: .*no\.such/);
  expect((await api('/api/v1/runbooks/nope')).status).toBe(404);
});

test('a start with bad params is refused with the messages `runwright run` gives', async () => {
  const r = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 'many', colour: 'red' } } });
  expect(r.status).toBe(400);
  const cli = await runCli(['run', join(dir, 'gated.yaml'), '--plan', '--set', 'count=many', '--set', 'colour=red']);
  expect(cli.code).toBe(2);
  expect(r.body.error.details.length).toBe(2);
  for (const d of r.body.error.details) expect(cli.stderr).toContain(d);
  const unknown = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'nope', params: {} } });
  expect(unknown.status).toBe(404);
  expect(unknown.body.error.message).toMatch(/no runbook named "nope"/);
  const shape = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: {}, id: '../x' } });
  expect(shape.status).toBe(400);
  expect(shape.body.error.details.join()).toMatch(/^id: /);
});

test('plan preview renders the params into the steps, secrets masked', async () => {
  const r = await api('/api/v1/plan', { method: 'POST', json: { runbook: 'gated', params: { count: '3', token: 'secret:db' } } });
  expect(r.status).toBe(200);
  expect(r.body.params).toEqual({ count: 3, token: '***' });
  expect(r.body.steps.map((s: any) => s.path)).toEqual(['before', 'gate', 'after']);
  expect(r.body.text).toContain('count 3');
});

test('live plan and apply through the API: the plan with its hash, a run bound to it; a tampered plan or changed params refused (400)', async () => {
  const p = await api('/api/v1/plans', { method: 'POST', json: { runbook: 'gated', params: { count: 2 } } });
  expect(p.status).toBe(200);
  expect(p.body.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(p.body.plan.hash).toBe(p.body.hash);
  expect(p.body.text).toContain('Live plan of gated');
  expect(p.body.text).toContain('Plan: 0 to create, 0 to change, 0 to destroy.');
  expect(p.body.plan.steps.map((s: any) => `${s.path}:${s.status}`)).toEqual(['before:not-run', 'gate:gate', 'after:not-run']);

  const tampered = await api('/api/v1/plans/apply', { method: 'POST', json: { plan: { ...p.body.plan, params: { ...p.body.plan.params, count: 5 } } } });
  expect(tampered.status).toBe(400);
  expect(tampered.body.error.message).toMatch(/was changed after it was made/);
  const changed = await api('/api/v1/plans/apply', { method: 'POST', json: { plan: p.body.plan, params: { count: 4 } } });
  expect(changed.status).toBe(400);
  expect(changed.body.error.message).toMatch(/^params count: a plan is applied with the params it was made with/);
  const notAPlan = await api('/api/v1/plans/apply', { method: 'POST', json: { plan: { format: 'x' } } });
  expect(notAPlan.status).toBe(400);

  const a = await api('/api/v1/plans/apply', { method: 'POST', json: { plan: p.body.plan } });
  expect(a.status).toBe(201);
  const h = t.env.client.workflow.getHandle(a.body.workflowId);
  try {
    const st = await waitFor(async () => {
      const x = (await h.query(statusQuery)) as RunStatus;
      return x.pendingApprovals.length ? x : undefined;
    }, 'the gate');
    expect(st.plan).toEqual({ hash: p.body.hash, drift: [] });
    expect((await h.describe()).memo).toMatchObject({ planHash: p.body.hash, via: 'console' });
  } finally {
    await h.terminate('test done');
  }
});

test('start, wait for the approval, approve on the plan reviewed (not the starter): recorded as console, with the caller address', async () => {
  const started = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 2 } } });
  expect(started.status).toBe(201);
  const id = started.body.workflowId as string;
  expect(id).toMatch(/^gated-/);
  const pending = await waitFor(async () => (await statusOf(id))?.pendingApprovals?.[0], 'the approval to open', 30_000);
  expect(pending.message).toBe('go on with 2?');
  if (searchAttributes) {
    await waitFor(async () => (await api('/api/v1/runs?state=waiting-approval&runbook=gated')).body.runs?.some((x: any) => x.workflowId === id), 'the run listed as waiting-approval', 20_000);
  }
  // Wrong plan: refused, and the refusal is in the run's status.
  // The starter may not approve their own run (the gate's default), from the console as anywhere.
  const self = await api(`/api/v1/runs/${id}/approve`, { method: 'POST', json: { planHash: pending.planHash } });
  expect(self.status).toBe(409);
  expect(self.body.error.message).toMatch(/alice started this run/);
  const bob = await startServer({ auth: new ConsoleAuth({ localUser: 'bob' }) });
  try {
    await approveAsBob(bob.url, id, pending);
  } finally {
    await bob.close();
  }
}, 60_000);

async function approveAsBob(base: string, id: string, pending: { planHash?: string }): Promise<void> {
  const stale = await api(`/api/v1/runs/${id}/approve`, { base, method: 'POST', json: { planHash: 'f'.repeat(64) } });
  expect(stale.status).toBe(409);
  expect(stale.body.error.message).toMatch(/plan/);
  const noReason = await api(`/api/v1/runs/${id}/reject`, { base, method: 'POST', json: {} });
  expect(noReason.status).toBe(400);
  const ok = await api(`/api/v1/runs/${id}/approve`, { base, method: 'POST', json: { planHash: pending.planHash, reason: 'looks right' } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ status: 'accepted' });
  expect(ok.body.message).toMatch(/approved gate of .* as bob/);
  await t.env.client.workflow.getHandle(id).result();
  const st = await t.env.client.workflow.getHandle(id).query(statusQuery);
  const d = st.decisions.find((x) => x.decision === 'approve')!;
  expect(d).toMatchObject({ user: 'bob', source: 'console', reason: 'looks right' });
  expect(d.actor).toMatch(/^console:bob@(::ffff:)?127\.0\.0\.1$/);
  const view = await api(`/api/v1/runs/${id}`);
  expect(view.body).toMatchObject({ execution: 'COMPLETED', runbook: 'gated', startedBy: 'alice' });
  expect(view.body.status.steps.map((s: any) => `${s.path}:${s.state}`)).toEqual(['before:succeeded', 'gate:succeeded', 'after:succeeded']);
  const memo = (await t.env.client.workflow.getHandle(id).describe()).memo;
  expect(memo).toMatchObject({ startedBy: 'alice', via: 'console' });
  const hist = await api(`/api/v1/runs/${id}/history`);
  expect(hist.body.events[0].type).toBe('WORKFLOW_EXECUTION_STARTED');
  expect(hist.body.events.some((e: any) => /update decide/.test(e.detail))).toBe(true);
  const again = await api(`/api/v1/runs/${id}/approve`, { base, method: 'POST', json: {} });
  expect(again.status).toBe(409);
  expect(again.body.error.message).toMatch(/already ended/);
}

test('cancel: authorized by the run, recorded with who and why; a second cancel is refused', async () => {
  const started = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'slow', params: {} } });
  const id = started.body.workflowId;
  await waitFor(async () => (await statusOf(id))?.steps?.some((s) => s.path === 'nap'), 'the run to sleep', 20_000);
  const r = await api(`/api/v1/runs/${id}/cancel`, { method: 'POST', json: { reason: 'wrong window' } });
  expect(r.status).toBe(200);
  await expect(t.env.client.workflow.getHandle(id).result()).rejects.toThrow();
  const st = await statusOf(id);
  expect(st.cancelledBy).toMatchObject({ user: 'alice', reason: 'wrong window' });
  expect((await api(`/api/v1/runs/${id}/cancel`, { method: 'POST', json: {} })).status).toBe(409);
  expect((await api('/api/v1/runs/no-such-run')).status).toBe(404);
}, 60_000);

test('runs list: filters by runbook and starter; a bad state is a 400 naming the states', async () => {
  const all = await api('/api/v1/runs?runbook=gated&limit=10');
  expect(all.status).toBe(200);
  expect(all.body.runs.length).toBeGreaterThan(0);
  expect(all.body.runs.every((r: any) => r.runbook === 'gated' && r.startedBy === 'alice')).toBe(true);
  expect((await api('/api/v1/runs?startedBy=nobody')).body.runs).toEqual([]);
  const bad = await api('/api/v1/runs?state=sleepy');
  expect(bad.status).toBe(400);
  expect(bad.body.error.message).toMatch(/waiting-approval/);
});

test('schedules: listed with next runs; pause needs a reason; trigger starts a run', async () => {
  const id = `console-sched-${Date.now().toString(36)}`;
  const h = await t.env.client.schedule.create({
    scheduleId: id,
    spec: { cronExpressions: ['0 3 * * *'] },
    action: { type: 'startWorkflow', workflowType: INTERPRETER_WORKFLOW, taskQueue: t.queue, args: [{ runbook: { apiVersion: 'runwright/v1', kind: 'Runbook', metadata: { name: 'slow' }, spec: { steps: [{ id: 'a', action: 'core.noop' }] } }, params: {}, startedBy: 'alice' }] },
    memo: { runbook: 'slow', cron: '0 3 * * *' },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  });
  try {
    const list = await api('/api/v1/schedules');
    const mine = list.body.schedules.find((s: any) => s.id === id);
    expect(mine).toMatchObject({ runbook: 'slow', cron: ['0 3 * * *'], paused: false });
    expect(mine.nextRuns.length).toBeGreaterThan(0);
    expect(new Date(mine.nextRuns[0]).getUTCHours()).toBe(3);
    expect((await api(`/api/v1/schedules/${id}/pause`, { method: 'POST', json: {} })).status).toBe(400);
    expect((await api(`/api/v1/schedules/${id}/pause`, { method: 'POST', json: { reason: 'maintenance' } })).status).toBe(200);
    const paused = (await h.describe()).state;
    expect(paused.paused).toBe(true);
    expect(paused.note).toMatch(/^maintenance \(by alice via console from (::ffff:)?127\.0\.0\.1 at 20\d\d-/);
    expect((await api(`/api/v1/schedules/${id}/trigger`, { method: 'POST', json: {} })).status).toBe(200);
    await waitFor(async () => (await h.describe()).info.recentActions.length > 0, 'the triggered run', 20_000);
    expect((await api('/api/v1/schedules/nope/pause', { method: 'POST', json: { reason: 'x' } })).status).toBe(404);
  } finally {
    await h.delete();
  }
}, 60_000);

test('the access policy refuses early with the CLI wording (403)', async () => {
  const policy = join(dir, 'access.yaml');
  writeFileSync(policy, 'default:\n  start: [bob]\n');
  process.env.RUNWRIGHT_ACCESS_POLICY = policy;
  try {
    const r = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 1 } } });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe(`refused: alice may not start runbook gated (access policy ${policy} default.start: bob)`);
  } finally {
    delete process.env.RUNWRIGHT_ACCESS_POLICY;
  }
});

test('token mode: no token 401; bearer and the sign-in cookie work; cross-site and non-JSON posts refused', async () => {
  const a = newToken('carol');
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `users:\n  - user: carol\n    tokenSha256: ${a.entry.tokenSha256}\n`);
  const s = await startServer({ auth: new ConsoleAuth({ tokensFile: tokens, localUser: 'ignored' }) });
  try {
    expect((await api('/api/v1/me', { base: s.url })).status).toBe(401);
    expect((await api('/api/v1/me', { base: s.url, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await api('/api/v1/me', { base: s.url, headers: { authorization: `Bearer ${a.token}` } })).body).toEqual({ user: 'carol', mode: 'token', signing: 'none' });
    const page = await fetch(`${s.url}/`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
    const bad = await fetch(`${s.url}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
    expect(bad.status).toBe(401);
    const login = await fetch(`${s.url}/login`, { method: 'POST', body: new URLSearchParams({ token: a.token }), redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const cookieHeader = cookie.split(';')[0];
    expect((await api('/api/v1/me', { base: s.url, headers: { cookie: cookieHeader } })).body.user).toBe('carol');
    const cross = await api('/api/v1/runs', { base: s.url, method: 'POST', json: { runbook: 'gated', params: { count: 1 } }, headers: { cookie: cookieHeader, origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    const form = await api('/api/v1/runs', { base: s.url, method: 'POST', body: 'runbook=gated', headers: { cookie: cookieHeader, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
  } finally {
    await s.close();
  }
});

test('local mode (acts as its user) listens on loopback only', async () => {
  await expect(startServer({ host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
});

test('OpenAPI: every route, generated from the zod schemas', async () => {
  const r = await api('/api/v1/openapi.json');
  expect(r.status).toBe(200);
  expect(r.body.openapi).toBe('3.1.0');
  for (const route of ROUTES) expect(r.body.paths[`/api/v1${route.path}`]?.[route.method]).toBeDefined();
  const start = r.body.paths['/api/v1/runs'].post;
  expect(start.requestBody.content['application/json'].schema.required).toEqual(['runbook']);
  expect(start.responses['201']).toBeDefined();
  expect(r.body.paths['/api/v1/runs'].get.parameters.map((p: any) => p.name)).toEqual(['runbook', 'state', 'startedBy', 'limit']);
  expect((await api('/api/v1/nothing-here')).status).toBe(404);
});

test('hardening: DNS-rebinding Host refused in local mode; opaque origins, prototype names and broken cookies get JSON answers', async () => {
  const port = new URL(server.url).port;
  // fetch() will not send another Host; a raw request does (as a rebound browser would).
  const withHost = (host: string) =>
    new Promise<{ status: number; body: string }>((ok, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port: Number(port), path: '/api/v1/me', headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', fail);
      req.end();
    });
  const rebound = await withHost(`evil.example:${port}`);
  expect(rebound.status).toBe(403);
  expect(JSON.parse(rebound.body).error.message).toMatch(/not this console's address/);
  expect((await withHost(`localhost:${port}`)).status).toBe(200);
  const opaque = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 1 } }, headers: { origin: 'null' } });
  expect(opaque.status).toBe(403);
  expect((await fetch(`${server.url}/vendor/__proto__`)).status).toBe(404);
  expect((await fetch(`${server.url}/vendor/toString`)).status).toBe(404);
  const a = newToken('dave');
  const tokens = join(dir, 'tokens-dave.yaml');
  writeFileSync(tokens, `users:\n  - user: dave\n    tokenSha256: ${a.entry.tokenSha256}\n`);
  const s = await startServer({ auth: new ConsoleAuth({ tokensFile: tokens, localUser: 'x' }) });
  try {
    expect((await api('/api/v1/me', { base: s.url, headers: { cookie: 'runwright_token=%E0%A4%A' } })).status).toBe(401);
  } finally {
    await s.close();
  }
});

test('an explicit run id is never reused: a second start with it is refused (409)', async () => {
  const id = `explicit-${Date.now().toString(36)}`;
  expect((await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 1 }, id } })).status).toBe(201);
  await t.env.client.workflow.getHandle(id).terminate('test');
  const again = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 1 }, id } });
  expect(again.status).toBe(409);
  expect(again.body.error.message).toMatch(/already exists/);
});

test('secret params are masked in every part of the status: step outputs and errors too', async () => {
  writeFileSync(
    join(dir, 'leaky.yaml'),
    `apiVersion: runwright/v1
kind: Runbook
metadata: { name: leaky }
spec:
  params:
    pw: { type: string, secret: true }
  steps:
    - id: say
      action: core.log
      with: { message: "token is {{ params.pw }}" }
    - id: check
      action: core.assert
      with: { that: false, message: "failing with {{ params.pw }}" }
`,
  );
  const started = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'leaky', params: { pw: 's3cr3tvalue' } } });
  expect(started.status).toBe(201);
  await t.env.client.workflow.getHandle(started.body.workflowId).result().catch(() => undefined);
  const view = await api(`/api/v1/runs/${started.body.workflowId}`);
  const text = JSON.stringify(view.body);
  expect(view.body.status.state).toBe('failed');
  expect(text).toContain('token is ***');
  expect(text).not.toContain('s3cr3tvalue');
}, 60_000);

test('set-params through the console records who and from where', async () => {
  const started = await api('/api/v1/runs', { method: 'POST', json: { runbook: 'gated', params: { count: 1 } } });
  const id = started.body.workflowId;
  await waitFor(async () => (await statusOf(id))?.pendingApprovals?.[0], 'the approval', 30_000);
  const r = await api(`/api/v1/runs/${id}/params`, { method: 'POST', json: { params: { count: '3' }, reason: 'bigger' } });
  expect(r.status).toBe(200);
  const st = await statusOf(id);
  expect(st.paramChanges?.[0]).toMatchObject({ user: 'alice', source: 'console', reason: 'bigger', changed: { count: { from: 1, to: 3 } } });
  expect(st.paramChanges?.[0].actor).toMatch(/^console:alice@(::ffff:)?127\.0\.0\.1$/);
  await t.env.client.workflow.getHandle(id).terminate('test');
}, 60_000);

test("schedules: the access policy's label rules apply to trigger, pause and unpause", async () => {
  const id = `console-prod-${Date.now().toString(36)}`;
  const h = await t.env.client.schedule.create({
    scheduleId: id,
    spec: { cronExpressions: ['0 3 * * *'] },
    action: { type: 'startWorkflow', workflowType: INTERPRETER_WORKFLOW, taskQueue: t.queue, args: [{ runbook: { apiVersion: 'runwright/v1', kind: 'Runbook', metadata: { name: 'prodjob', labels: { env: 'prod' } }, spec: { steps: [{ id: 'a', action: 'core.noop' }] } }, params: {}, startedBy: 'alice' }] },
    memo: { runbook: 'prodjob' },
  });
  const policy = join(dir, 'access-labels.yaml');
  writeFileSync(policy, 'rules:\n  - labels: { env: prod }\n    start: [sre-lead]\n    cancel: [sre-lead]\ndefault:\n  start: ["*"]\n  cancel: ["*"]\n');
  process.env.RUNWRIGHT_ACCESS_POLICY = policy;
  try {
    for (const verb of ['trigger', 'pause', 'unpause']) {
      const r = await api(`/api/v1/schedules/${id}/${verb}`, { method: 'POST', json: { reason: 'x' } });
      expect(r.status).toBe(403);
      expect(r.body.error.message).toMatch(/alice may not (start|cancel) runbook prodjob .*rules\[0\]/);
    }
  } finally {
    delete process.env.RUNWRIGHT_ACCESS_POLICY;
    await h.delete();
  }
});
