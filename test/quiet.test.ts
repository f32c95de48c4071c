/**
 * Quieting what a runbook disturbs, on real Temporal: alertmanager.silence against a real
 * Alertmanager (Debian prometheus-alertmanager on loopback), and zabbix.maintenance against a
 * real Zabbix 6.0 API (Debian frontend + PostgreSQL 15, test/helpers/zabbix.ts) and, for the
 * cases cheaper to check by its requests, a stand-in that follows the documented API. Proves: a retry after a crash creates no second silence/maintenance, a
 * firing alert that matches shows as silenced, compensation (a later step fails) undoes both,
 * the inverse is idempotent, dry runs change nothing, and the Zabbix token never reaches history.
 */
import http from 'node:http';
import { existsSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { failureMessage, inputFor, runbookFrom, startRun, startSuiteWorker, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { ALERTMANAGER_BIN, ServiceGroup, type Alertmanager } from './helpers/services';
import { missingZabbix, startZabbix } from './helpers/zabbix';
import { defineAction, type ActionContext, type ActionDefinition } from '../activities/define';
import silence from '../activities/quiet/alertmanager-silence';
import unsilence from '../activities/quiet/alertmanager-unsilence';
import maintenance from '../activities/quiet/zabbix-maintenance';
import maintenanceEnd from '../activities/quiet/zabbix-maintenance-end';
import { quietMarker } from '../activities/quiet/alertmanager-common';
import { buildRegistry } from '../activities/registry';
import { applyActionContracts } from '../dsl/contract';

/** The action, except that its first attempt fails after it has done its work: a worker crash between the API call and the step's completion. */
function crashingOnce(def: ActionDefinition, name: string): ActionDefinition {
  return defineAction({
    ...def,
    name,
    async run(i, ctx) {
      const out = await def.run(i, ctx);
      if (ctx.attempt === 1) throw ApplicationFailure.retryable(`${name}: crash after the create (attempt 1)`);
      return out;
    },
  });
}

const EXTRA = [crashingOnce(silence, 'test.silence-crash-once'), crashingOnce(maintenance, 'test.maintenance-crash-once')];
const TOKEN = `zbx-token-${Date.now().toString(36)}-c0ffee`;
process.env.RW_TEST_ZBX_TOKEN = TOKEN;

let env: TestEnv;
let queue: string;
let suite: SuiteWorker | undefined;
const services = new ServiceGroup();
let am: Alertmanager;

beforeAll(async () => {
  if (!existsSync(ALERTMANAGER_BIN)) throw new Error(`missing ${ALERTMANAGER_BIN}: apt-get install prometheus-alertmanager (scripts/setup-test-env)`);
  ({ env, queue } = suite = await startSuiteWorker('quiet', EXTRA));
  am = await services.startAlertmanager();
}, 60_000);

afterAll(async () => {
  await suite?.stop();
  await services.stop();
});

const registry = buildRegistry(EXTRA);
/** As `runwright run` loads it (client/runbooks.ts): validated, then action contracts (inverses) compiled in. */
const rb = (name: string, body: string) => applyActionContracts(runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name} }\nspec:\n${body.replace(/^/gm, '  ')}`, EXTRA), (a) => registry.get(a));

function ctxFor(key: string): ActionContext {
  return { idempotencyKey: key, executionKey: key, attempt: 1, signal: new AbortController().signal, heartbeat: () => undefined, heartbeatDetails: () => undefined, log: () => undefined };
}

async function amGet<T = any>(path: string): Promise<T> {
  const r = await fetch(`${am.url}${path}`);
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return (await r.json()) as T;
}

async function fireAlert(labels: Record<string, string>): Promise<void> {
  const r = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString() }]) });
  expect(r.status).toBe(200);
}

async function alertState(host: string): Promise<{ state: string; silencedBy: string[] }> {
  const alerts = await amGet<any[]>(`/api/v2/alerts?filter=${encodeURIComponent(`host="${host}"`)}`);
  expect(alerts).toHaveLength(1);
  return alerts[0].status;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('alertmanager.silence (real Alertmanager)', () => {
  test('a crash after the create: the retry finds the silence and creates no second one; the matching alert is silenced', async () => {
    const host = `cmp-${Date.now().toString(36)}`;
    await fireAlert({ alertname: 'RwNodeDown', host });
    await fireAlert({ alertname: 'RwNodeDown', host: `${host}-other` });
    expect((await alertState(host)).state).toBe('active');

    const h = await startRun(env, queue, inputFor(rb('quiet-retry', `
steps:
  - id: quiet
    action: test.silence-crash-once
    retry: { maximumAttempts: 3, initialInterval: 100ms }
    compensate: none
    with:
      url: ${am.url}
      matchers: [{ name: host, value: ${host} }]
      duration: 10m
      comment: upgrade of ${host}
`)));
    const res = await h.result();
    const out = (res.outputs as any).quiet;
    expect(out.changed).toBe(false); // attempt 2 found what attempt 1 made
    const all = await amGet<any[]>('/api/v2/silences');
    const ours = all.filter((s) => s.comment.includes(`upgrade of ${host}`));
    expect(ours).toHaveLength(1);
    expect(ours[0].id).toBe(out.id);
    expect(ours[0].comment).toMatch(/\[runwright:[0-9a-f]{16}\]$/);
    expect(ours[0].status.state).toBe('active');

    const st = await eventually(() => alertState(host), (s) => s.state === 'suppressed');
    expect(st.state).toBe('suppressed');
    expect(st.silencedBy).toEqual([out.id]);
    // The other host's alert is not touched.
    expect((await alertState(`${host}-other`)).state).toBe('active');

    // The inverse, run twice: expires once, then has nothing to do.
    const first = await unsilence.run(unsilence.input.parse({ url: am.url, id: out.id }), ctxFor('x'));
    expect(first).toMatchObject({ changed: true, state: 'expired' });
    const second = await unsilence.run(unsilence.input.parse({ url: am.url, id: out.id }), ctxFor('x'));
    expect(second).toMatchObject({ changed: false, state: 'expired' });
    expect((await eventually(() => alertState(host), (s) => s.state === 'active')).state).toBe('active');
  }, 60_000);

  test('compensation: a later step fails and the silence is expired automatically (inverse compiled in)', async () => {
    const host = `cmp-${Date.now().toString(36)}-c`;
    await fireAlert({ alertname: 'RwNodeDown', host });
    const h = await startRun(env, queue, inputFor(rb('quiet-compensate', `
params:
  alertmanagerUrl: { type: string, default: "" }
steps:
  - id: quiet
    when: "{{ params.alertmanagerUrl != '' }}"
    action: alertmanager.silence
    with:
      url: "{{ params.alertmanagerUrl }}"
      matchers: [{ name: host, value: ${host} }, { name: alertname, value: "Rw.*", isRegex: true }]
      duration: 10m
  - id: wait_silenced
    action: core.sleep
    with: { ms: 1000 }
  - id: work
    action: core.assert
    with: { that: false, message: the upgrade broke }
`), { alertmanagerUrl: am.url }));
    const runId = h.workflowId;
    expect(await failureMessage(h.result())).toMatch(/the upgrade broke/);
    const ours = (await amGet<any[]>('/api/v2/silences')).filter((s) => s.matchers.some((m: any) => m.value === host));
    expect(ours).toHaveLength(1);
    expect(ours[0].status.state).toBe('expired');
    expect((await eventually(() => alertState(host), (s) => s.state === 'active')).state).toBe('active');
    // The compensation really ran as the step's compiled inverse.
    const hist = JSON.stringify(await env.client.workflow.getHandle(runId).fetchHistory());
    expect(hist).toContain('alertmanager.unsilence');
  }, 60_000);

  test('skipped when the URL param is empty (the shipped runbooks\' default)', async () => {
    const before = (await amGet<any[]>('/api/v2/silences')).length;
    const h = await startRun(env, queue, inputFor(rb('quiet-off', `
params:
  alertmanagerUrl: { type: string, default: "" }
steps:
  - id: quiet
    when: "{{ params.alertmanagerUrl != '' }}"
    action: alertmanager.silence
    with: { url: "{{ params.alertmanagerUrl }}", matchers: [{ name: host, value: x }] }
`)));
    const res: any = await h.result();
    expect(res.outputs?.quiet ?? null).toBeNull(); // a skipped step has no outputs
    expect((await amGet<any[]>('/api/v2/silences')).length).toBe(before);
  }, 60_000);

  test('dry run: names the firing alerts it would silence and creates nothing', async () => {
    const host = `cmp-${Date.now().toString(36)}-d`;
    await fireAlert({ alertname: 'RwDiskFull', host });
    const before = (await amGet<any[]>('/api/v2/silences')).length;
    const input = silence.input.parse({ url: am.url, matchers: [{ name: host === '' ? 'x' : 'host', value: host }], duration: '5m' });
    const dry = await silence.dryRun!(input, ctxFor(`dry-${host}`));
    expect(dry.changed).toBe(true);
    expect(dry.summary).toMatch(/1 alert\(s\) firing now/);
    expect(dry.diff).toContain(`RwDiskFull{host="${host}"}`);
    expect((await amGet<any[]>('/api/v2/silences')).length).toBe(before);
    // After the run, the dry run of the same step sees its silence and would change nothing.
    const made: any = await silence.run(input, ctxFor(`dry-${host}`));
    expect(made.changed).toBe(true);
    expect(await silence.dryRun!(input, ctxFor(`dry-${host}`))).toMatchObject({ changed: false });
    expect(quietMarker(`dry-${host}`)).not.toBe(quietMarker(`dry-${host}x`));
  }, 30_000);
});

// ------------------------------------------------------------------ Zabbix stand-in
/**
 * A stand-in for the Zabbix 6.0 frontend's api_jsonrpc.php, following the documented API:
 * `auth` in the body (6.0 does not read a Bearer header), host.get/hostgroup.get with filter,
 * maintenance.get with search/maintenanceids/selectHosts/selectGroups, maintenance.create with
 * hosts/groups objects and timeperiods (names unique), maintenance.delete by ids (error if absent).
 * It records every request, so the tests can check what was sent (auth in the body, no header).
 */
interface ZbxState { maintenances: Map<string, any>; calls: { method: string; body: any; headers: http.IncomingHttpHeaders }[]; seq: number }
function startZabbixStandIn(): Promise<{ url: string; state: ZbxState }> {
  const state: ZbxState = { maintenances: new Map(), calls: [], seq: 100 };
  const hosts = [{ hostid: '10084', host: 'cmp-1' }, { hostid: '10085', host: 'cmp-2' }];
  const groups = [{ groupid: '2', name: 'Linux servers' }, { groupid: '7', name: 'Computes' }];
  const srv = services.trackServer(http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const send = (o: object) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (req.url !== '/zabbix/api_jsonrpc.php' || req.method !== 'POST') return void res.writeHead(404).end();
      const body = JSON.parse(raw);
      state.calls.push({ method: body.method, body, headers: req.headers });
      const err = (code: number, message: string, data: string) => send({ jsonrpc: '2.0', error: { code, message, data }, id: body.id });
      const ok = (result: unknown) => send({ jsonrpc: '2.0', result, id: body.id });
      if (!/^application\/json(-rpc)?/.test(String(req.headers['content-type']))) return err(-32700, 'Parse error', 'bad content type');
      if (body.auth !== TOKEN) return err(-32602, 'Invalid params.', 'Not authorized.');
      const p = body.params;
      switch (body.method) {
        case 'host.get': return ok(hosts.filter((h) => p.filter.host.includes(h.host)));
        case 'hostgroup.get': return ok(groups.filter((g) => p.filter.name.includes(g.name)));
        case 'maintenance.get': {
          let ms = [...state.maintenances.values()];
          if (p.maintenanceids) ms = ms.filter((m) => p.maintenanceids.includes(m.maintenanceid));
          if (p.search?.name) ms = ms.filter((m) => m.name.includes(p.search.name));
          return ok(ms);
        }
        case 'maintenance.create': {
          if (!p.timeperiods?.length) return err(-32602, 'Invalid params.', 'Invalid parameter "/1": the parameter "timeperiods" is missing.');
          if (!p.hosts?.length && !p.groups?.length) return err(-32602, 'Invalid params.', 'At least one host group or host must be selected.');
          if ([...state.maintenances.values()].some((m) => m.name === p.name)) return err(-32602, 'Invalid params.', `Maintenance "${p.name}" already exists.`);
          if ((p.hosts ?? []).some((h: any) => !h.hostid) || (p.groups ?? []).some((g: any) => !g.groupid)) return err(-32602, 'Invalid params.', 'hosts/groups need hostid/groupid');
          const id = String(state.seq++);
          state.maintenances.set(id, { maintenanceid: id, name: p.name, active_since: String(p.active_since), active_till: String(p.active_till), maintenance_type: String(p.maintenance_type), hosts: (p.hosts ?? []).map((h: any) => hosts.find((x) => x.hostid === h.hostid)), groups: (p.groups ?? []).map((g: any) => groups.find((x) => x.groupid === g.groupid)), timeperiods: p.timeperiods });
          return ok({ maintenanceids: [id] });
        }
        case 'maintenance.delete': {
          if (p.some((id: string) => !state.maintenances.has(id))) return err(-32500, 'Application error.', 'No permissions to referred object or it does not exist!');
          for (const id of p) state.maintenances.delete(id);
          return ok({ maintenanceids: p });
        }
        default: return err(-32601, 'Method not found.', `Incorrect method "${body.method}".`);
      }
    });
  }));
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${(srv.address() as { port: number }).port}/zabbix`, state })));
}

describe('zabbix.maintenance (stand-in following the Zabbix 6.0 JSON-RPC API)', () => {
  test('a crash after the create makes no second maintenance; a later failure deletes it; the token is sent as auth and never recorded', async () => {
    const zbx = await startZabbixStandIn();
    const h = await startRun(env, queue, inputFor(rb('quiet-zabbix', `
params:
  zabbixUrl: { type: string, default: "" }
steps:
  - id: maint
    when: "{{ params.zabbixUrl != '' }}"
    action: test.maintenance-crash-once
    retry: { maximumAttempts: 3, initialInterval: 100ms }
    with:
      url: "{{ params.zabbixUrl }}"
      token: env:RW_TEST_ZBX_TOKEN
      hosts: [cmp-1]
      groups: [Computes]
      name: openstack upgrade
      duration: 30m
  - id: check
    action: core.assert
    with: { that: "{{ !steps.maint.outputs.changed }}", message: "the retry should have found the maintenance" }
  - id: work
    action: core.assert
    with: { that: false, message: the upgrade broke }
`), { zabbixUrl: zbx.url }));
    expect(await failureMessage(h.result())).toMatch(/the upgrade broke/);
    const creates = zbx.state.calls.filter((c) => c.method === 'maintenance.create');
    expect(creates).toHaveLength(1);
    const p = creates[0].body.params;
    expect(p.name).toMatch(/^openstack upgrade \[runwright:[0-9a-f]{16}\]$/);
    expect(p.hosts).toEqual([{ hostid: '10084' }]);
    expect(p.groups).toEqual([{ groupid: '7' }]);
    expect(p.active_till - p.active_since).toBe(1800);
    expect(p.timeperiods).toEqual([{ timeperiod_type: 0, start_date: p.active_since, period: 1800 }]);
    // Compensation deleted it.
    const hist0 = JSON.stringify(await env.client.workflow.getHandle(h.workflowId).fetchHistory());
    if (!zbx.state.calls.some((c) => c.method === 'maintenance.delete')) throw new Error(`no maintenance.delete; calls: ${zbx.state.calls.map((c) => c.method).join(', ')}; history: ${hist0.slice(-3000)}`);
    expect(zbx.state.calls.filter((c) => c.method === 'maintenance.delete').map((c) => c.body.params)).toEqual([['100']]);
    expect(zbx.state.maintenances.size).toBe(0);
    // 6.0: the token goes in the body, never as a header; and nowhere in the run's history.
    for (const c of zbx.state.calls) {
      expect(c.body.auth).toBe(TOKEN);
      expect(c.headers.authorization).toBeUndefined();
    }
    const hist = JSON.stringify(await env.client.workflow.getHandle(h.workflowId).fetchHistory());
    expect(hist).toContain('zabbix.maintenance.end');
    expect(hist).not.toContain(TOKEN);
  }, 60_000);

  test('maintenance.end is idempotent; an unknown host fails the step without retrying; the dry run creates nothing', async () => {
    const zbx = await startZabbixStandIn();
    const end = maintenanceEnd;
    const input = maintenance.input.parse({ url: zbx.url, token: 'env:RW_TEST_ZBX_TOKEN', hosts: ['cmp-2'], duration: '1h' });
    const dry = await maintenance.dryRun!(input, ctxFor('z1'));
    expect(dry).toMatchObject({ changed: true });
    expect(zbx.state.maintenances.size).toBe(0);
    const made: any = await maintenance.run(input, ctxFor('z1'));
    expect(made.changed).toBe(true);
    expect(JSON.stringify(made)).not.toContain(TOKEN);
    expect(await maintenance.run(input, ctxFor('z1'))).toMatchObject({ changed: false, id: made.id });
    expect(zbx.state.maintenances.size).toBe(1);
    const e = end.input.parse({ url: zbx.url, token: 'env:RW_TEST_ZBX_TOKEN', id: made.id });
    expect(await end.run(e, ctxFor('z2'))).toMatchObject({ changed: true });
    expect(await end.run(e, ctxFor('z2'))).toMatchObject({ changed: false });
    const bad = maintenance.input.parse({ url: zbx.url, token: 'env:RW_TEST_ZBX_TOKEN', hosts: ['nope'] });
    await expect(maintenance.run(bad, ctxFor('z3'))).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/unknown host\(s\): nope/) });
  }, 30_000);
});

describe('zabbix.maintenance (real Zabbix 6.0: Debian frontend + PostgreSQL 15)', () => {
  test('API token from a secret reference; a crash after the create makes no second maintenance; the real API shows the hosts and group; compensation deletes it', async () => {
    const missing = missingZabbix();
    if (missing.length) throw new Error(`missing ${missing.join(', ')}: apt-get install zabbix-server-pgsql zabbix-frontend-php php-pgsql postgresql (scripts/setup-test-env)`);
    const zbx = await startZabbix(services);
    const { groupids: [groupid] } = await zbx.admin<{ groupids: string[] }>('hostgroup.create', { name: 'RW computes' });
    for (const host of ['cmp-1', 'cmp-2']) await zbx.admin('host.create', { host, groups: [{ groupid }] });
    const { tokenids: [tokenid] } = await zbx.admin<{ tokenids: string[] }>('token.create', { name: 'runwright-test', userid: '1' });
    const [{ token }] = await zbx.admin<{ token: string }[]>('token.generate', [tokenid]);
    process.env.RW_TEST_ZBX_REAL_TOKEN = token;

    const h = await startRun(env, queue, inputFor(rb('quiet-zabbix-real', `
params:
  zabbixUrl: { type: string, default: "" }
steps:
  - id: maint
    when: "{{ params.zabbixUrl != '' }}"
    action: test.maintenance-crash-once
    retry: { maximumAttempts: 3, initialInterval: 100ms }
    with:
      url: "{{ params.zabbixUrl }}"
      token: env:RW_TEST_ZBX_REAL_TOKEN
      hosts: [cmp-1]
      groups: [RW computes]
      name: openstack upgrade
      duration: 30m
  - id: seen
    action: core.assert
    with: { that: "{{ !steps.maint.outputs.changed }}", message: "the retry should have found the maintenance" }
  - id: hold
    action: core.sleep
    with: { ms: 1500 }
  - id: work
    action: core.assert
    with: { that: false, message: the upgrade broke }
`), { zabbixUrl: zbx.url }));
    // While the run holds: exactly one maintenance with the step's marker, covering cmp-1 and the group.
    const during = await eventually(() => zbx.admin<any[]>('maintenance.get', { output: 'extend', selectHosts: ['host'], selectGroups: ['name'], selectTimeperiods: 'extend' }), (ms) => ms.length > 0);
    expect(during).toHaveLength(1);
    expect(during[0].name).toMatch(/^openstack upgrade \[runwright:[0-9a-f]{16}\]$/);
    expect(during[0].hosts.map((x: any) => x.host)).toEqual(['cmp-1']);
    expect(during[0].groups.map((x: any) => x.name)).toEqual(['RW computes']);
    expect(Number(during[0].active_till) - Number(during[0].active_since)).toBe(1800);
    expect(await failureMessage(h.result())).toMatch(/the upgrade broke/);
    expect(await zbx.admin<any[]>('maintenance.get', { output: ['maintenanceid'] })).toEqual([]);
    const hist = JSON.stringify(await env.client.workflow.getHandle(h.workflowId).fetchHistory());
    expect(hist).toContain('zabbix.maintenance.end');
    expect(hist).not.toContain(token);
    // The inverse again: nothing left to delete.
    const id = during[0].maintenanceid;
    expect(await maintenanceEnd.run(maintenanceEnd.input.parse({ url: zbx.url, token: 'env:RW_TEST_ZBX_REAL_TOKEN', id }), ctxFor('z'))).toMatchObject({ changed: false });
    // A wrong token is refused by Zabbix and fails the step without retrying.
    process.env.RW_TEST_ZBX_BAD_TOKEN = 'f'.repeat(64);
    await expect(maintenance.run(maintenance.input.parse({ url: zbx.url, token: 'env:RW_TEST_ZBX_BAD_TOKEN', hosts: ['cmp-2'] }), ctxFor('z4'))).rejects.toMatchObject({ nonRetryable: true });
  }, 180_000);
});
