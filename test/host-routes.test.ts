/**
 * Route reconciliation at scale on real test hosts: 5,000 declared routes against ~2,000
 * hand-made ones (some right, some wrong, some undeclared), through the shipped
 * reconcile-routes runbook: audit in check mode, an approval gate showing the diff, then the
 * purge. Each host's routes live in its own network namespace.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { inputFor, maybeRecordHistory, runbookFrom, startRun, startSuiteWorker, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { collectPlayOutputs } from '../activities/host/recap';
import { decideUpdate, statusQuery } from '../workflows/definitions';

const root = resolve(__dirname, '..');
let env: TestEnv;
let queue: string;
let suite: SuiteWorker | undefined;
let th: TestHosts;
let inventory: string;

beforeAll(async () => {
  th = startTestHosts(24, 2);
  inventory = th.writeInventory(
    'routers.ini',
    `[routers]
${th.hosts.map((h) => `${h.name} ansible_host=${h.address}`).join('\n')}

[routers:vars]
ansible_user=deploy
ansible_ssh_private_key_file=${th.key}
`,
  );
  // The routes files live in the test hosts' folder: the worker's operator allows it.
  process.env.RUNWRIGHT_PLAY_FILE_DIRS = th.dir;
  ({ env, queue } = suite = await startSuiteWorker('routes'));
}, 300_000);

afterAll(async () => {
  delete process.env.RUNWRIGHT_PLAY_FILE_DIRS;
  await suite?.stop();
  th?.down();
});

/** i-th /32 inside 10.213.128.0/17 (32,768 addresses, all inside the host's own namespace). */
const addr = (i: number) => `10.213.${128 + Math.floor(i / 256)}.${i % 256}`;

test('5,000 routes: audit shows the diff at an approval gate, then one batched apply; a second run changes nothing', async () => {
  const gw = th.gateway;
  const other = `10.213.${th.set}.200`; // another on-link gateway, for the "wrong" routes
  // Hand-made state on each host: 1,500 right, 300 with the wrong gateway, 200 undeclared.
  const handMade: string[] = [];
  for (let i = 0; i < 1500; i++) handMade.push(`route add ${addr(i)} via ${gw}`);
  for (let i = 1500; i < 1800; i++) handMade.push(`route add ${addr(i)} via ${other}`);
  for (let i = 9000; i < 9200; i++) handMade.push(`route add ${addr(i)} via ${gw}`);
  for (const h of th.hosts) th.sh(h.name, 'ip -batch -', `${handMade.join('\n')}\n`);
  const declared = Array.from({ length: 5000 }, (_, i) => ({ dest: addr(i), via: gw }));
  const routesFile = join(th.dir, 'routes.yaml');
  writeFileSync(routesFile, `# declared static routes\nroutes:\n${declared.map((r) => `  - { dest: ${r.dest}, via: ${r.via} }`).join('\n')}\n`);

  const rb = runbookFrom(readFileSync(join(root, 'runbooks/reconcile-routes.yaml'), 'utf8'));
  const h = await startRun(env, queue, inputFor(rb, { inventory, routes: routesFile, become: true, knownHosts: th.knownHosts }));
  let st = await h.query(statusQuery);
  for (let i = 0; i < 600 && !st.pendingApprovals.length && st.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    st = await h.query(statusQuery);
  }
  expect(st.pendingApprovals).toHaveLength(1);
  const msg = st.pendingApprovals[0].message;
  expect(msg).toMatch(/^Reconcile static routes \(purging undeclared routes\) on 2 host\(s\)\?\n/);
  expect(msg).toContain('h1: changed — would change: static routes');
  expect(msg).toContain(`- ${addr(9000)} via ${gw} dev eth0`);
  // Nothing changed yet.
  expect(Number(th.sh('h1', 'ip -4 route show proto boot | wc -l').trim())).toBe(2000);

  await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'netops', reason: 'reviewed the diff' }] });
  await h.result();
  const ps = await collectPlayOutputs(h, (id) => env.client.workflow.getHandle(id));
  const audit = ps[0].hosts.h1.tasks[0];
  expect(audit.status).toBe('changed');
  const apply = ps[1];
  expect(apply.recap.h1).toMatchObject({ changed: 1, failed: 0 });

  for (const host of th.hosts) {
    const live = th.sh(host.name, 'ip -4 route show').trim().split('\n');
    const statics = live.filter((l) => l.startsWith('10.213.1') || l.startsWith('10.213.2')).filter((l) => !l.includes('proto kernel'));
    expect(statics).toHaveLength(5000);
    // Right hand-made routes were left alone (ip shows no proto for those); fixed and added ones are proto static.
    expect(statics.map((l) => l.trim().replace(/ proto (boot|static)$/, '')).sort()).toEqual(declared.map((r) => `${r.dest} via ${gw} dev eth0`).sort());
    expect(statics.filter((l) => !l.includes('proto static'))).toHaveLength(1500);
    expect(live.some((l) => l.startsWith(`${addr(9000)} `))).toBe(false);
    expect(live.some((l) => l.includes('proto kernel'))).toBe(true); // the connected route stays
  }

  // Timing of the batched apply: one activity for both hosts, 3,500 changes each (in seconds, not minutes).
  const hist = await h.fetchHistory();
  const ev = hist.events ?? [];
  const scheduled = ev.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'host.play');
  const applyId = String(scheduled[scheduled.length - 1].eventId);
  const started = ev.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === applyId)!;
  const done = ev.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === applyId)!;
  const ms = (Number(done.eventTime!.seconds) - Number(started.eventTime!.seconds)) * 1000 + (done.eventTime!.nanos! - started.eventTime!.nanos!) / 1e6;
  expect(ms).toBeLessThan(10_000);

  // Converged: the audit finds nothing, so there is no approval and no apply.
  const again = await startRun(env, queue, inputFor(rb, { inventory, routes: routesFile, become: true, knownHosts: th.knownHosts }));
  const res = await again.result();
  expect((res.outputs.audit as { changed: boolean }).changed).toBe(false);
  const st2 = await again.query(statusQuery);
  expect(st2.steps.find((s) => s.id === 'gate')?.state).toBe('skipped');
  expect(st2.steps.find((s) => s.id === 'apply')?.state).toBe('skipped');
}, 180_000);

test('a small reconciliation, approved, for the replay test (recorded with RECORD_HISTORIES=1)', async () => {
  const routesFile = join(th.dir, 'small-routes.yaml');
  writeFileSync(routesFile, `- { dest: 10.213.200.0/24, via: ${th.gateway} }\n- { dest: 10.213.201.0/24, type: blackhole }\n`);
  for (const h of th.hosts) th.sh(h.name, `ip route flush proto static; ip route flush proto boot; ip route add 10.213.202.0/24 via ${th.gateway}`);
  const rb = runbookFrom(readFileSync(join(root, 'runbooks/reconcile-routes.yaml'), 'utf8'));
  const h = await startRun(env, queue, inputFor(rb, { inventory, routes: routesFile, become: true, serial: '1', knownHosts: th.knownHosts }));
  let st = await h.query(statusQuery);
  for (let i = 0; i < 300 && !st.pendingApprovals.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    st = await h.query(statusQuery);
  }
  expect(st.pendingApprovals[0].message).toContain(`[h2] static routes:\n- 10.213.202.0/24 via ${th.gateway} dev eth0\n+ 10.213.200.0/24 via ${th.gateway}\n+ blackhole 10.213.201.0/24`);
  await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'netops', reason: 'ok' }] });
  await h.result();
  for (const x of th.hosts) expect(th.sh(x.name, 'ip -4 route show proto static')).toBe(`10.213.200.0/24 via ${th.gateway} dev eth0 \nblackhole 10.213.201.0/24 \n`);
  await maybeRecordHistory(env, h.workflowId, 'reconcile-routes');
}, 60_000);
