/**
 * Fault injection for DR drills (fault.inject / fault.restore), as steps of runbooks on the real
 * Temporal dev server: against the OpenStack stand-in (its admin API, checked with real HTTP
 * requests to the cloud), Octavia on the stand-in, and real sshd test hosts (services stopped
 * and started, network cuts checked with real TCP connections from inside the host). Includes
 * restore by compensation after a failed step and after a cancelled run.
 */
import { OpenStackClient } from '../activities/openstack/client';
import { FaultActionInput, simFaultLabel, type FaultSpecInput } from '../activities/fault';
import { OpenStackSimFault } from '../activities/fault/openstack-sim';
import faultInject from '../activities/fault/inject';
import faultRestore from '../activities/fault/restore';
import { workflowOf } from '../activities/fault/label';
import { createServer, type Server } from 'node:http';
import { connectHost } from '../activities/host/ssh';
import { statusQuery, type RunResult } from '../workflows/definitions';
import { failureMessage as failure, inputFor, runbookFrom, startRun, useTestWorker } from './helpers/temporal';
import { act, startSim, type SimEnv } from './helpers/openstack';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { waitFor } from './helpers/wait';

const HOST_SET = 57;
let os: SimEnv;
let th: TestHosts;
let inventory: string;

beforeAll(async () => {
  os = await startSim();
  th = startTestHosts(HOST_SET, 2);
  // A sudoer, not root: the scripts run through sudo (become), as on real fleets.
  inventory = th.writeInventory(
    'fault.ini',
    `[drill]
${th.hosts.map((h) => `${h.name} ansible_host=${h.address}`).join('\n')}

[drill:vars]
ansible_user=deploy
ansible_ssh_private_key_file=${th.key}
`,
  );
}, 300_000);
const t = useTestWorker('fault');

afterAll(async () => {
  await os?.close();
  th?.down();
});

// ------------------------------------------------------------------------------- helpers

const step = (id: string, action: string, fault: FaultSpecInput, extra = '') => `  - id: ${id}
    action: ${action}
    with: { fault: ${JSON.stringify(fault)} }${extra}`;

function runbook(name: string, steps: string[]) {
  return runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: ${name} }
spec:
  steps:
${steps.join('\n')}
`);
}

async function run(name: string, steps: string[]): Promise<Record<string, any>> {
  const h = await startRun(t.env, t.queue, inputFor(runbook(name, steps)));
  return ((await h.result()) as RunResult).outputs as Record<string, any>;
}

const inject = async (fault: FaultSpecInput) => (await run('fault-inject', [step('inject', 'fault.inject', fault)])).inject;
const restore = async (fault: FaultSpecInput) => (await run('fault-restore', [step('restore', 'fault.restore', fault)])).restore;



/** A real request to the stand-in's cloud: 'refused' when the connection is closed, else the status. */
async function probe(cloud: string): Promise<number | 'refused'> {
  try {
    return (await fetch(`${os.sim.url}/${cloud}/identity/v3`, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 'refused';
  }
}

async function simFaults(): Promise<any[]> {
  return ((await (await fetch(`${os.sim.url}/_sim/faults`)).json()) as { faults: any[] }).faults;
}

/** Run a command on a test host over SSH (root, the harness key): what a human would check. */
async function ssh(host: string, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const h = th.hosts.find((x) => x.name === host)!;
  const c = await connectHost({ name: host, host: h.address, user: 'root', privateKeyFile: th.key, knownHostsFile: th.knownHosts });
  try {
    return await c.exec(script);
  } finally {
    c.close();
  }
}

/** TCP connect from inside a host: "ok" or the error (errno name). */
async function connectFrom(host: string, addr: string, port: number): Promise<string> {
  const r = await ssh(
    host,
    `python3 -c 'import socket,errno,sys
s=socket.socket(); s.settimeout(2)
try:
  s.connect(("${addr}", ${port})); print("ok")
except OSError as e:
  print(errno.errorcode.get(e.errno, str(e)))'`,
  );
  return r.stdout.trim();
}

const hostSsh = () => ({ knownHostsFile: th.knownHosts });

// ------------------------------------------------------------------------------- openstack-sim

test('openstack-sim: inject makes the cloud refuse connections / answer 503; a repeated inject adds nothing; restore (twice) brings it back', async () => {
  // Inject and restore run as separate runs here: an explicit label ties them together.
  const refuse: FaultSpecInput = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-b', label: 'drill-b' };
  const unavailable: FaultSpecInput = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-c', service: 'identity', down: 'unavailable', label: 'drill-c' };
  expect(await probe('cluster-b')).toBe(200);
  expect(await probe('cluster-c')).toBe(200);

  const first = await inject(refuse);
  expect(first).toMatchObject({ kind: 'openstack-sim', changed: true, dryRun: false, target: expect.stringContaining('cluster-b') });
  expect(first.injectedAt).toBe(first.at);
  expect(await probe('cluster-b')).toBe('refused');
  expect(await probe('cluster-a')).toBe(200);

  // Another run (another workflow) finds the fault by its explicit label: still one fault.
  const again = await inject(refuse);
  expect(again.changed).toBe(false);
  expect(again.injectedAt).toBe(first.injectedAt);
  expect(simFaultLabel(OpenStackSimFault.parse(refuse), 'any-run:inject')).toBe('drill-b');
  expect((await simFaults()).filter((f) => f.label === 'drill-b')).toHaveLength(1);

  // The same step retried inside one run (the answer to its first attempt lost) adds nothing either.
  const u = FaultActionInput.parse({ fault: unavailable });
  const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat: () => undefined, heartbeatDetails: () => undefined, log: () => undefined };
  expect((await faultInject.run(u, ctx)).changed).toBe(true);
  expect((await faultInject.run(u, { ...ctx, attempt: 2 })).changed).toBe(false);
  expect((await simFaults()).filter((f) => f.label === 'drill-c')).toHaveLength(1);
  expect(await probe('cluster-c')).toBe(503);

  // Dry run: says it would restore, restores nothing.
  const dry = await run('fault-restore-dry', [`  - id: restore
    action: fault.restore
    with: { fault: ${JSON.stringify(refuse)}, dryRun: true }`]);
  expect(dry.restore).toMatchObject({ changed: true, dryRun: true });
  expect(await probe('cluster-b')).toBe('refused');

  const back = await restore(refuse);
  expect(back).toMatchObject({ changed: true, restoredAt: expect.any(String) });
  expect(back.details.removed).toHaveLength(1);
  expect(await probe('cluster-b')).toBe(200);
  expect((await restore(refuse)).changed).toBe(false);
  expect((await restore(unavailable)).changed).toBe(true);
  expect(await probe('cluster-c')).toBe(200);
  expect(await simFaults()).toEqual([]);
}, 60_000);

test('compensation: a failed run restores the fault it injected; so does a run cancelled while the fault is on', async () => {
  const fault: FaultSpecInput = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-a', service: 'identity', down: 'unavailable' };
  // Default label: the content hash plus the workflow's (both runs here are other workflows).
  const label = simFaultLabel(OpenStackSimFault.parse(fault));
  const withRestore = `
    compensate: { action: fault.restore, with: { fault: ${JSON.stringify(fault)} } }`;
  const mine = async () => (await simFaults()).filter((f) => f.label.startsWith(`${label}-`));

  // The step after the injection fails (a 404 that http.request refuses at once).
  const h = await startRun(t.env, t.queue, inputFor(runbook('fault-fails', [
    step('inject', 'fault.inject', fault, withRestore),
    `  - id: observe
    action: http.request
    with: { url: "${os.sim.url}/cluster-a/identity/v3", expectStatus: 200, timeoutMs: 2000 }
    retry: { maximumAttempts: 1 }`,
  ])));
  expect(await failure(h.result())).toMatch(/503/);
  const st = await h.query(statusQuery);
  expect(st.compensations.map((c) => [c.path, c.state])).toEqual([['inject', 'done']]);
  expect(await mine()).toEqual([]);
  expect(await probe('cluster-a')).toBe(200);

  // Cancelled while the fault is on (a durable sleep after the injection).
  const c = await startRun(t.env, t.queue, inputFor(runbook('fault-cancel', [step('inject', 'fault.inject', fault, withRestore), '  - id: hold\n    sleep: 10m'])));
  await waitFor(async () => (await c.query(statusQuery)).steps.find((s) => s.id === 'hold' && s.state === 'running'), 'the hold step');
  expect(await mine()).toHaveLength(1);
  expect(await probe('cluster-a')).toBe(503);
  await c.cancel();
  await expect(c.result()).rejects.toThrow();
  expect((await c.describe()).status.name).toBe('CANCELLED');
  expect(await mine()).toEqual([]);
  expect(await probe('cluster-a')).toBe(200);
}, 60_000);

test('openstack-sim: two drills at once with the same fault each get their own; one drill\'s restore leaves the other\'s fault in place', async () => {
  const fault: FaultSpecInput = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-b', service: 'identity', down: 'unavailable' };
  const content = simFaultLabel(OpenStackSimFault.parse(fault));
  const same = async () => (await simFaults()).filter((f) => f.label === content || f.label.startsWith(`${content}-`));
  // As runbooks/dr-drill.yaml does: the restore is armed (as a compensation) before the injection.
  const drill = (name: string) => runbook(name, [
    `  - id: arm_restore
    action: core.noop
    compensate: { action: fault.restore, with: { fault: ${JSON.stringify(fault)} } }`,
    step('inject', 'fault.inject', fault),
    '  - id: hold\n    sleep: 10m',
  ]);
  const a = await startRun(t.env, t.queue, inputFor(drill('fault-drill-a')));
  const b = await startRun(t.env, t.queue, inputFor(drill('fault-drill-b')));
  try {
    for (const h of [a, b]) await waitFor(async () => (await h.query(statusQuery)).steps.find((x) => x.id === 'hold' && x.state === 'running'), 'the hold step');
    const both = await same();
    expect(both).toHaveLength(2);
    expect(new Set(both.map((f) => f.label)).size).toBe(2);
    expect(await probe('cluster-b')).toBe(503);

    // Drill A ends (cancelled: its compensation restores): B's fault stays, the cloud stays down.
    await a.cancel();
    await expect(a.result()).rejects.toThrow();
    const left = await same();
    expect(left).toHaveLength(1);
    expect(left[0].label).toBe(simFaultLabel(OpenStackSimFault.parse(fault), `${b.workflowId}:inject`));
    expect(await probe('cluster-b')).toBe(503);

    // A restore from yet another run finds nothing of its own: changes nothing and says whose faults it left.
    const other = await restore(fault);
    expect(other).toMatchObject({ changed: false, details: { removed: [], others: [{ label: left[0].label }], note: expect.stringMatching(/1 fault\(s\) with the same content from other runs left in place/) } });
    expect(await same()).toHaveLength(1);

    await b.cancel();
    await expect(b.result()).rejects.toThrow();
    expect(await same()).toEqual([]);
    expect(await probe('cluster-b')).toBe(200);
  } finally {
    for (const h of [a, b]) await h.cancel().catch(() => undefined);
    for (const f of await same()) await fetch(`${os.sim.url}/_sim/faults/${f.id}`, { method: 'DELETE' });
  }

  // Inject and restore as steps of one run pair up by the workflow id (restore is another activity).
  const pair = await run('fault-pair', [step('inject', 'fault.inject', fault), step('restore', 'fault.restore', fault)]);
  expect(pair.inject.details.label).toBe(pair.restore.details.label);
  expect(pair.restore).toMatchObject({ changed: true, details: { removed: [{ id: pair.inject.details.faults[0].id }] } });
  expect(await same()).toEqual([]);
}, 60_000);

test('fault labels: the workflow id comes from the idempotency key (even with ":" in it, and for compensations); standalone use pairs by content', async () => {
  expect(workflowOf('dr-drill-x:drill.inject')).toBe('dr-drill-x');
  expect(workflowOf('dr-drill-x:compensate:drill.arm_restore')).toBe('dr-drill-x');
  expect(workflowOf('team:drill:7:each[2].inject')).toBe('team:drill:7');
  expect(workflowOf('team:drill:7:compensate:each[2].inject')).toBe('team:drill:7');
  expect(workflowOf('standalone:inject')).toBeUndefined();
  expect(workflowOf('k')).toBeUndefined();
  const spec = OpenStackSimFault.parse({ kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-c', down: 'refuse' });
  expect(simFaultLabel(spec, 'wf-1:inject')).toBe(simFaultLabel(spec, 'wf-1:compensate:arm'));
  expect(simFaultLabel(spec, 'wf-1:inject')).not.toBe(simFaultLabel(spec, 'wf-2:inject'));
  expect(simFaultLabel(spec, 'wf-1:inject').startsWith(`${simFaultLabel(spec)}-`)).toBe(true);
  expect(simFaultLabel({ ...spec, label: 'mine' }, 'wf-1:inject')).toBe('mine');

  // Without a workflow (the action called directly, any key): inject and restore find each other.
  const input = FaultActionInput.parse({ fault: spec });
  const ctx = (key: string) => ({ idempotencyKey: key, executionKey: key, attempt: 1, signal: new AbortController().signal, heartbeat: () => undefined, heartbeatDetails: () => undefined, log: () => undefined });
  expect((await faultInject.run(input, ctx('setup-1'))).changed).toBe(true);
  expect(await probe('cluster-c')).toBe('refused');
  expect((await faultInject.run(input, ctx('standalone:inject'))).changed).toBe(false);
  const back = await faultRestore.run(input, ctx('teardown-2'));
  expect(back).toMatchObject({ changed: true, details: { label: simFaultLabel(spec), removed: [expect.anything()] } });
  expect(await probe('cluster-c')).toBe(200);
}, 30_000);

test('heartbeats: a fault step with heartbeatTimeout 1s succeeds although each stand-in call takes 1.5 s', async () => {
  // A slow stand-in: a proxy in front of it that holds every request 1.5 s.
  const target = new URL(os.sim.url);
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => setTimeout(async () => {
      const r = await fetch(`${os.sim.url}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: chunks.length ? Buffer.concat(chunks) : undefined });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    }, 1500));
  });
  await new Promise<void>((r) => proxy.listen(0, target.hostname, () => r()));
  try {
    const port = (proxy.address() as { port: number }).port;
    const fault: FaultSpecInput = { kind: 'openstack-sim', endpoint: `http://${target.hostname}:${port}`, cloud: 'cluster-c', down: 'unavailable' };
    const opts = '\n    heartbeatTimeout: 1s\n    retry: { maximumAttempts: 1 }';
    const out = await run('fault-slow', [step('inject', 'fault.inject', fault, opts), step('restore', 'fault.restore', fault, opts)]);
    expect(out.inject.changed).toBe(true);
    expect(out.restore.changed).toBe(true);
    expect(await simFaults()).toEqual([]);
  } finally {
    await new Promise((r) => proxy.close(r));
  }
}, 60_000);

// ------------------------------------------------------------------------------- octavia-lb

test('octavia-lb: inject disables the load balancer (OFFLINE), restore enables it (ONLINE); both idempotent', async () => {
  const lb = await act('openstack.loadbalancer.create', { cloud: 'cluster-a', name: 'drill-lb', vipSubnet: 'private-subnet' });
  const client = new OpenStackClient('cluster-a');
  const read = async () => (await client.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer;
  expect(await read()).toMatchObject({ admin_state_up: true, operating_status: 'ONLINE', provisioning_status: 'ACTIVE' });
  // Separate runs inject and restore: an explicit label ties them (the tag inject leaves).
  const fault: FaultSpecInput = { kind: 'octavia-lb', cloud: 'cluster-a', loadbalancer: 'drill-lb', label: 'drill-lb' };
  await client.put('load-balancer', `/lbaas/loadbalancers/${lb.id}`, { loadbalancer: { tags: ['team:web'] } });
  await waitFor(async () => (await read()).provisioning_status === 'ACTIVE', 'the load balancer ACTIVE');

  // A listener change in flight holds the load balancer in PENDING_UPDATE: inject waits its turn.
  await client.post('load-balancer', '/lbaas/listeners', { listener: { loadbalancer_id: lb.id, name: 'drill-http', protocol: 'HTTP', protocol_port: 80 } });
  expect((await read()).provisioning_status).toBe('PENDING_UPDATE');
  const off = await inject(fault);
  expect(off).toMatchObject({ changed: true, details: { id: lb.id, adminStateUp: false, operatingStatus: 'OFFLINE', provisioningStatus: 'ACTIVE', before: { adminStateUp: true } } });
  expect(await read()).toMatchObject({ admin_state_up: false, operating_status: 'OFFLINE', provisioning_status: 'ACTIVE', tags: ['team:web', 'runwright-fault:drill-lb'] });
  expect(await inject(fault)).toMatchObject({ changed: false, details: { marked: true, note: expect.stringMatching(/already disabled by this drill/) } });
  // Dry run of the restore: says it would enable and untag, changes nothing.
  const dry = await run('fault-restore-dry', [`  - id: restore
    action: fault.restore
    with: { fault: ${JSON.stringify(fault)}, dryRun: true }`]);
  expect(dry.restore).toMatchObject({ changed: true, dryRun: true, details: { diff: ['load balancer drill-lb: admin_state_up false -> true', 'load balancer drill-lb: - tag runwright-fault:drill-lb'] } });
  expect((await read()).admin_state_up).toBe(false);

  const on = await restore({ ...fault, loadbalancer: lb.id });
  expect(on).toMatchObject({ changed: true, details: { adminStateUp: true, operatingStatus: 'ONLINE', provisioningStatus: 'ACTIVE' } });
  expect(await read()).toMatchObject({ admin_state_up: true, operating_status: 'ONLINE', tags: ['team:web'] });
  expect((await restore(fault)).changed).toBe(false);
  // Restore of a load balancer that does not exist (never injected, or deleted since): nothing to do.
  expect(await restore({ ...fault, loadbalancer: 'no-such-lb' })).toMatchObject({ changed: false, details: { missing: true } });
  // Inject needs the load balancer to exist.
  expect(await failure(run('fault-inject', [step('inject', 'fault.inject', { ...fault, loadbalancer: 'no-such-lb' })]))).toMatch(/load balancer "no-such-lb" not found/);
}, 60_000);

test('octavia-lb: a load balancer an operator disabled before the drill stays disabled after restore; one run pairs inject and restore by its tag', async () => {
  const lb = await act('openstack.loadbalancer.create', { cloud: 'cluster-a', name: 'drill-lb-2', vipSubnet: 'private-subnet' });
  const client = new OpenStackClient('cluster-a');
  const read = async () => (await client.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer;
  const active = () => waitFor(async () => (await read()).provisioning_status === 'ACTIVE', 'the load balancer ACTIVE');
  const fault: FaultSpecInput = { kind: 'octavia-lb', cloud: 'cluster-a', loadbalancer: 'drill-lb-2' };
  const createdTags = (await read()).tags; // the create step's marker
  const dry = (op: string) => `  - id: ${op}_dry
    action: fault.${op}
    with: { fault: ${JSON.stringify(fault)}, dryRun: true }`;

  // Disabled by an operator: inject changes nothing and leaves no tag; the restore of the same run leaves it disabled.
  await client.put('load-balancer', `/lbaas/loadbalancers/${lb.id}`, { loadbalancer: { admin_state_up: false } });
  await active();
  const off = await run('fault-lb-off', [dry('inject'), step('inject', 'fault.inject', fault), dry('restore'), step('restore', 'fault.restore', fault)]);
  expect(off.inject_dry).toMatchObject({ changed: false, details: { marked: false } });
  expect(off.inject).toMatchObject({ changed: false, details: { adminStateUp: false, marked: false, note: expect.stringMatching(/already disabled before the drill.*restore will leave it disabled/) } });
  expect(off.restore_dry).toMatchObject({ changed: false, details: { marked: false } });
  expect(off.restore).toMatchObject({ changed: false, details: { adminStateUp: false, note: expect.stringMatching(/this drill did not disable it, left as it is/) } });
  expect(await read()).toMatchObject({ admin_state_up: false, tags: createdTags });

  // Enabled: the run's inject disables and tags it (default label: the workflow's), its restore finds the tag.
  await client.put('load-balancer', `/lbaas/loadbalancers/${lb.id}`, { loadbalancer: { admin_state_up: true } });
  await active();
  const on = await run('fault-lb-on', [dry('inject'), step('inject', 'fault.inject', fault), dry('restore'), step('restore', 'fault.restore', fault)]);
  expect(on.inject_dry).toMatchObject({ changed: true, details: { adminStateUp: true } });
  expect(on.inject).toMatchObject({ changed: true, details: { adminStateUp: false, marked: true, tag: expect.stringMatching(/^runwright-fault:rw-fault-[0-9a-f]{16}-[0-9a-f]{12}$/) } });
  expect(on.restore_dry).toMatchObject({ changed: true, details: { adminStateUp: false, marked: true } });
  expect(on.restore).toMatchObject({ changed: true, details: { adminStateUp: true, marked: false, tag: on.inject.details.tag } });
  expect(await read()).toMatchObject({ admin_state_up: true, tags: createdTags });
}, 60_000);

// ------------------------------------------------------------------------------- ssh-service

const WEB = "[h]ttp.server 8099"; // [h]: the pattern does not match the shell running it
const webFault = (hosts: string, extra: Record<string, unknown> = { label: 'web-drill' }): FaultSpecInput => ({
  kind: 'ssh-service',
  inventory,
  hosts,
  become: true,
  ssh: hostSsh(),
  service: 'web',
  check: `pgrep -f '${WEB}'`,
  stop: `pkill -f '${WEB}'`,
  start: 'cd /tmp && nohup python3 -m http.server 8099 >/tmp/web.log 2>&1 &',
  ...extra,
}) as FaultSpecInput;

async function httpUp(host: string, port: number): Promise<boolean> {
  const a = th.hosts.find((x) => x.name === host)!.address;
  try {
    return (await fetch(`http://${a}:${port}/`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

test('ssh-service: inject stops a running service on the selected hosts only, restore starts it again where inject stopped it; both idempotent', async () => {
  for (const h of th.hosts) th.sh(h.name, 'cd /tmp && nohup python3 -m http.server 8099 >/tmp/web.log 2>&1 &');
  await waitFor(async () => (await httpUp('h1', 8099)) && (await httpUp('h2', 8099)), 'the web services');
  const running = async (host: string) => (await ssh(host, `pgrep -f '${WEB}'`)).code === 0;

  const off = await inject(webFault('h1'));
  expect(off).toMatchObject({ kind: 'ssh-service', changed: true, target: 'service web on hosts h1', details: { hosts: { h1: { before: 'running', after: 'stopped', changed: true, manager: 'command' } }, diff: ['h1: web running -> stopped'] } });
  expect(await running('h1')).toBe(false);
  expect(await httpUp('h1', 8099)).toBe(false);
  expect(await running('h2')).toBe(true);
  expect(await inject(webFault('h1'))).toMatchObject({ changed: false, details: { hosts: { h1: { marker: 'present', note: expect.stringMatching(/already stopped by this drill/) } } } });
  expect((await ssh('h1', 'cat /run/runwright-fault-web-drill')).stdout).toMatch(/runwright fault web-drill: web stopped/);

  // Both hosts: only h1 needs starting (h2 has no marker: left as it is).
  const on = await restore(webFault('drill'));
  expect(on.details.hosts).toMatchObject({ h1: { before: 'stopped', after: 'running', changed: true }, h2: { before: 'running', changed: false } });
  expect(on.details.diff).toEqual(['h1: web stopped -> running']);
  expect(on.details.hosts.h2).toMatchObject({ marker: 'absent', note: expect.stringMatching(/this drill did not stop web, left as it is \(running\)/) });
  expect((await ssh('h1', 'ls /run/runwright-fault-web-drill')).code).not.toBe(0);
  expect(await running('h1')).toBe(true);
  await waitFor(() => httpUp('h1', 8099), 'h1 serving again');
  expect((await restore(webFault('drill'))).changed).toBe(false);
}, 60_000);

test('ssh-service: a service already stopped before the drill stays stopped after restore; markers pair inject and restore of one run; heartbeats while a slow stop runs', async () => {
  const running = async (host: string) => (await ssh(host, `pgrep -f '${WEB}'`)).code === 0;
  th.sh('h1', 'cd /tmp && nohup python3 -m http.server 8099 >/tmp/web.log 2>&1 &'); // exits at once if one runs already
  th.sh('h2', `pkill -f '${WEB}'; true`);
  await waitFor(async () => (await running('h1')) && !(await running('h2')), 'web running on h1 only');
  // Default label (the workflow's); a stop that takes 2.5 s under heartbeatTimeout 1s.
  const fault = webFault('drill', { stop: `sleep 2.5; pkill -f '${WEB}'` });
  const dry = (op: string) => `  - id: ${op}_dry
    action: fault.${op}
    with: { fault: ${JSON.stringify(fault)}, dryRun: true }`;
  const opts = '\n    heartbeatTimeout: 1s\n    retry: { maximumAttempts: 1 }';
  const out = await run('fault-web', [
    dry('inject'),
    step('inject', 'fault.inject', fault, opts),
    dry('restore'),
    step('restore', 'fault.restore', fault, opts),
  ]);
  expect(out.inject_dry).toMatchObject({ changed: true, details: { hosts: { h1: { before: 'running', after: 'stopped', changed: true, marker: 'would-write' }, h2: { before: 'stopped', changed: false, marker: 'absent' } } } });
  expect(out.inject).toMatchObject({ changed: true, details: { diff: ['h1: web running -> stopped'], hosts: { h1: { marker: 'written' }, h2: { before: 'stopped', after: 'stopped', changed: false, marker: 'absent' } } } });
  expect(out.inject.details.hosts.h2.note).toMatch(/web was already stopped before the drill: nothing to do, no marker left, restore will leave it stopped/);
  expect(out.inject.details.label).toMatch(/^rw-fault-[0-9a-f]{16}-[0-9a-f]{12}$/);
  expect(out.restore_dry).toMatchObject({ changed: true, details: { diff: ['h1: web stopped -> running'], hosts: { h1: { marker: 'would-remove', after: 'running' }, h2: { marker: 'absent', changed: false, after: 'stopped' } } } });
  expect(out.restore).toMatchObject({ changed: true, details: { label: out.inject.details.label, diff: ['h1: web stopped -> running'], hosts: { h1: { marker: 'removed', after: 'running' }, h2: { marker: 'absent', changed: false, after: 'stopped' } } } });
  expect(await running('h1')).toBe(true);
  expect(await running('h2')).toBe(false);
  // No marker left behind on either host.
  const m = `runwright-fault-${out.inject.details.label}`;
  for (const h of ['h1', 'h2']) expect((await ssh(h, `ls /run/${m} /var/tmp/${m} 2>/dev/null`)).stdout).toBe('');

  // Another run's restore (another workflow, default label) finds no marker of its own: starts nothing.
  th.sh('h1', `pkill -f '${WEB}'; true`);
  await waitFor(async () => !(await running('h1')), 'web stopped on h1');
  expect((await restore(webFault('drill', {}))).changed).toBe(false);
  expect([await running('h1'), await running('h2')]).toEqual([false, false]);
}, 90_000);

test('ssh-service: a SysV init script when no commands are given; a host with neither fails clearly', async () => {
  th.sh('h2', `cat > /etc/init.d/rwweb <<'EOF'
#!/bin/sh
P=/run/rwweb.pid
case "$1" in
start) exec start-stop-daemon --start --background --make-pidfile --pidfile $P --chdir /tmp --exec /usr/bin/python3 -- -m http.server 8098 ;;
stop) exec start-stop-daemon --stop --pidfile $P --retry 5 --remove-pidfile ;;
status) exec start-stop-daemon --status --pidfile $P ;;
esac
EOF
chmod 755 /etc/init.d/rwweb; /etc/init.d/rwweb start`);
  await waitFor(() => httpUp('h2', 8098), 'rwweb');
  const fault: FaultSpecInput = { kind: 'ssh-service', inventory, hosts: 'h2', become: true, ssh: hostSsh(), service: 'rwweb', label: 'rwweb-drill' };
  const off = await inject(fault);
  expect(off.details.hosts.h2).toMatchObject({ manager: 'sysv', before: 'running', after: 'stopped' });
  expect(await httpUp('h2', 8098)).toBe(false);
  expect((await restore(fault)).details.hosts.h2).toMatchObject({ before: 'stopped', after: 'running' });
  await waitFor(() => httpUp('h2', 8098), 'rwweb again');

  const msg = await failure(run('fault-inject', [step('inject', 'fault.inject', { ...fault, hosts: 'h1' })]));
  expect(msg).toMatch(/h1: .*no systemd and no \/etc\/init.d\/rwweb on this host: give check, stop and start commands/);
}, 60_000);

// ------------------------------------------------------------------------------- network-cut

test('network-cut: blackhole routes cut the host from destinations; restore removes only ours; a cut that would lock out SSH is refused', async () => {
  const [h1, h2] = th.hosts;
  const gw = th.gateway;
  // Routes that are not ours: one in main, one in the cut table with another protocol.
  th.sh('h1', `ip route add 198.51.100.0/24 via ${gw} proto static && ip route add unreachable 203.0.113.0/24 table 147 proto 99`);
  const routes = () => ssh('h1', 'ip -4 route show table main; echo --; ip -4 route show table 147; echo --; ip -4 rule show').then((r) => r.stdout);
  const before = await routes();
  expect(await connectFrom('h1', h2.address, 22)).toBe('ok');
  const fault: FaultSpecInput = { kind: 'network-cut', inventory, hosts: 'h1', become: true, ssh: hostSsh(), destinations: [h2.address, '192.0.2.0/24'] };

  // Table 147 holds a route runwright did not add: the rule would put it in force too. Refused (also as a dry run), nothing changed.
  for (const dryRun of [true, false]) {
    const msg = await failure(run('fault-inject', [`  - id: inject
    action: fault.inject
    with: { fault: ${JSON.stringify(fault)}, dryRun: ${dryRun} }`]));
    expect(msg).toMatch(/h1: .*routing table 147 holds 1 route\(s\) runwright did not add \(not protocol 147\): unreachable 203\.0\.113\.0\/24 proto openr;/);
  }
  expect(await routes()).toBe(before);
  expect(await connectFrom('h1', h2.address, 22)).toBe('ok');
  th.sh('h1', 'ip route del unreachable 203.0.113.0/24 table 147 proto 99');

  const cut = await inject(fault);
  expect(cut).toMatchObject({ changed: true, details: { hosts: { h1: { added: [h2.address, '192.0.2.0/24'], rule: 'added', peer: gw } } } });
  expect(cut.details.diff).toEqual([`h1: + blackhole ${h2.address} (table 147)`, 'h1: + blackhole 192.0.2.0/24 (table 147)', 'h1: + rule priority 147 lookup 147']);
  // A real connection from h1 to h2 now fails (EINVAL: blackhole), in h1 only.
  expect(await connectFrom('h1', h2.address, 22)).toBe('EINVAL');
  expect(await connectFrom('h2', h1.address, 22)).not.toBe('ok'); // replies from h1 to h2 are dropped too
  expect(await connectFrom('h2', gw, 22)).not.toBe('EINVAL'); // h2 itself has no cut
  expect((await ssh('h1', `ip route get ${h2.address} 2>&1`)).stdout).toMatch(/Invalid argument/);
  expect((await inject(fault)).changed).toBe(false);

  // Cutting the subnet the worker connects from would make restore impossible: refused, nothing added.
  const refused = await failure(run('fault-inject', [step('inject', 'fault.inject', { ...fault, destinations: [`10.213.${th.set}.0/24`] })]));
  expect(refused).toMatch(new RegExp(`refusing to cut 10.213.${th.set}.0/24: it covers ${gw.replace(/\./g, '\\.')}`));

  // A route someone adds to the table while the cut is on: restore leaves it.
  th.sh('h1', 'ip route add unreachable 203.0.113.0/24 table 147 proto 99');
  const back = await restore(fault);
  expect(back).toMatchObject({ changed: true, details: { hosts: { h1: { removed: [h2.address, '192.0.2.0/24'], rule: 'removed' } } } });
  expect(await connectFrom('h1', h2.address, 22)).toBe('ok');
  expect(await routes()).toBe(before);
  expect(before).toContain('198.51.100.0/24 via');
  expect(before).toContain('unreachable 203.0.113.0/24 proto openr'); // protocol 99: not ours, kept
  expect((await restore(fault)).changed).toBe(false);
  // Restore where nothing was ever injected (h2): succeeds, changes nothing.
  expect((await restore({ ...fault, hosts: 'h2' })).details.hosts.h2).toMatchObject({ removed: [], rule: 'absent' });
}, 60_000);
