/**
 * Fault injection for DR drills (fault.inject / fault.restore), as steps of runbooks on the real
 * Temporal dev server: against the OpenStack stand-in (its admin API, checked with real HTTP
 * requests to the cloud), Octavia on the stand-in, and real sshd test hosts (services stopped
 * and started, network cuts checked with real TCP connections from inside the host). Includes
 * restore by compensation after a failed step and after a cancelled run.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { OpenStackClient } from '../activities/openstack/client';
import { FaultActionInput, simFaultLabel, type FaultSpecInput } from '../activities/fault';
import { OpenStackSimFault } from '../activities/fault/openstack-sim';
import faultInject from '../activities/fault/inject';
import { connectHost } from '../lib/ssh';
import { statusQuery, type RunResult } from '../workflows/definitions';
import { connectTestEnv, inputFor, runbookFrom, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { act, startSim, type SimEnv } from './helpers/openstack';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

const HOST_SET = 57;
let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let queue: string;
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
  env = await connectTestEnv();
  queue = uniqueQueue('fault');
  worker = await startTestWorker(env, queue);
  running = worker.run();
}, 300_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
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
  const h = await startRun(env, queue, inputFor(runbook(name, steps)));
  return ((await h.result()) as RunResult).outputs as Record<string, any>;
}

const inject = async (fault: FaultSpecInput) => (await run('fault-inject', [step('inject', 'fault.inject', fault)])).inject;
const restore = async (fault: FaultSpecInput) => (await run('fault-restore', [step('restore', 'fault.restore', fault)])).restore;

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    let c: any = e;
    while (c.cause) c = c.cause;
    return String(c.message);
  }
  throw new Error('expected the run to fail');
}

async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
  const refuse: FaultSpecInput = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-b' };
  const unavailable: FaultSpecInput = { kind: 'openstack-sim', endpoint: os.sim.url, cloud: 'cluster-c', service: 'identity', down: 'unavailable', label: 'drill-c' };
  expect(await probe('cluster-b')).toBe(200);
  expect(await probe('cluster-c')).toBe(200);

  const first = await inject(refuse);
  expect(first).toMatchObject({ kind: 'openstack-sim', changed: true, dryRun: false, target: expect.stringContaining('cluster-b') });
  expect(first.injectedAt).toBe(first.at);
  expect(await probe('cluster-b')).toBe('refused');
  expect(await probe('cluster-a')).toBe(200);

  // Another run (another idempotency key) finds the fault by its label: still one fault.
  const again = await inject(refuse);
  expect(again.changed).toBe(false);
  expect(again.injectedAt).toBe(first.injectedAt);
  const label = simFaultLabel(OpenStackSimFault.parse(refuse));
  expect((await simFaults()).filter((f) => f.label === label)).toHaveLength(1);

  // The same step retried inside one run (the answer to its first attempt lost) adds nothing either.
  const u = FaultActionInput.parse({ fault: unavailable });
  const ctx = { idempotencyKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat: () => undefined, heartbeatDetails: () => undefined, log: () => undefined };
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
  const label = simFaultLabel(OpenStackSimFault.parse(fault));
  const withRestore = `
    compensate: { action: fault.restore, with: { fault: ${JSON.stringify(fault)} } }`;
  const mine = async () => (await simFaults()).filter((f) => f.label === label);

  // The step after the injection fails (a 404 that http.request refuses at once).
  const h = await startRun(env, queue, inputFor(runbook('fault-fails', [
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
  const c = await startRun(env, queue, inputFor(runbook('fault-cancel', [step('inject', 'fault.inject', fault, withRestore), '  - id: hold\n    sleep: 10m'])));
  await waitFor(async () => (await c.query(statusQuery)).steps.find((s) => s.id === 'hold' && s.state === 'running'), 'the hold step');
  expect(await mine()).toHaveLength(1);
  expect(await probe('cluster-a')).toBe(503);
  await c.cancel();
  await expect(c.result()).rejects.toThrow();
  expect((await c.describe()).status.name).toBe('CANCELLED');
  expect(await mine()).toEqual([]);
  expect(await probe('cluster-a')).toBe(200);
}, 60_000);

// ------------------------------------------------------------------------------- octavia-lb

test('octavia-lb: inject disables the load balancer (OFFLINE), restore enables it (ONLINE); both idempotent', async () => {
  const lb = await act('openstack.loadbalancer.create', { cloud: 'cluster-a', name: 'drill-lb', vipSubnet: 'private-subnet' });
  const client = new OpenStackClient('cluster-a');
  const read = async () => (await client.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer;
  expect(await read()).toMatchObject({ admin_state_up: true, operating_status: 'ONLINE', provisioning_status: 'ACTIVE' });
  const fault: FaultSpecInput = { kind: 'octavia-lb', cloud: 'cluster-a', loadbalancer: 'drill-lb' };

  // A listener change in flight holds the load balancer in PENDING_UPDATE: inject waits its turn.
  await client.post('load-balancer', '/lbaas/listeners', { listener: { loadbalancer_id: lb.id, name: 'drill-http', protocol: 'HTTP', protocol_port: 80 } });
  expect((await read()).provisioning_status).toBe('PENDING_UPDATE');
  const off = await inject(fault);
  expect(off).toMatchObject({ changed: true, details: { id: lb.id, adminStateUp: false, operatingStatus: 'OFFLINE', provisioningStatus: 'ACTIVE', before: { adminStateUp: true } } });
  expect(await read()).toMatchObject({ admin_state_up: false, operating_status: 'OFFLINE', provisioning_status: 'ACTIVE' });
  expect((await inject(fault)).changed).toBe(false);

  const on = await restore({ ...fault, loadbalancer: lb.id });
  expect(on).toMatchObject({ changed: true, details: { adminStateUp: true, operatingStatus: 'ONLINE', provisioningStatus: 'ACTIVE' } });
  expect(await read()).toMatchObject({ admin_state_up: true, operating_status: 'ONLINE' });
  expect((await restore(fault)).changed).toBe(false);
  // Restore of a load balancer that does not exist (never injected, or deleted since): nothing to do.
  expect(await restore({ ...fault, loadbalancer: 'no-such-lb' })).toMatchObject({ changed: false, details: { missing: true } });
  // Inject needs the load balancer to exist.
  expect(await failure(run('fault-inject', [step('inject', 'fault.inject', { ...fault, loadbalancer: 'no-such-lb' })]))).toMatch(/load balancer "no-such-lb" not found/);
}, 60_000);

// ------------------------------------------------------------------------------- ssh-service

const WEB = "[h]ttp.server 8099"; // [h]: the pattern does not match the shell running it
const webFault = (hosts: string): FaultSpecInput => ({
  kind: 'ssh-service',
  inventory,
  hosts,
  become: true,
  ssh: hostSsh(),
  service: 'web',
  check: `pgrep -f '${WEB}'`,
  stop: `pkill -f '${WEB}'`,
  start: 'cd /tmp && nohup python3 -m http.server 8099 >/tmp/web.log 2>&1 &',
});

async function httpUp(host: string, port: number): Promise<boolean> {
  const a = th.hosts.find((x) => x.name === host)!.address;
  try {
    return (await fetch(`http://${a}:${port}/`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

test('ssh-service: inject stops a running service on the selected hosts only, restore starts it again; both idempotent', async () => {
  for (const h of th.hosts) th.sh(h.name, 'cd /tmp && nohup python3 -m http.server 8099 >/tmp/web.log 2>&1 &');
  await waitFor(async () => (await httpUp('h1', 8099)) && (await httpUp('h2', 8099)), 'the web services');
  const running = async (host: string) => (await ssh(host, `pgrep -f '${WEB}'`)).code === 0;

  const off = await inject(webFault('h1'));
  expect(off).toMatchObject({ kind: 'ssh-service', changed: true, target: 'service web on hosts h1', details: { hosts: { h1: { before: 'running', after: 'stopped', changed: true, manager: 'command' } }, diff: ['h1: web running -> stopped'] } });
  expect(await running('h1')).toBe(false);
  expect(await httpUp('h1', 8099)).toBe(false);
  expect(await running('h2')).toBe(true);
  expect((await inject(webFault('h1'))).changed).toBe(false);

  // Both hosts: only h1 needs starting.
  const on = await restore(webFault('drill'));
  expect(on.details.hosts).toMatchObject({ h1: { before: 'stopped', after: 'running', changed: true }, h2: { before: 'running', changed: false } });
  expect(on.details.diff).toEqual(['h1: web stopped -> running']);
  expect(await running('h1')).toBe(true);
  await waitFor(() => httpUp('h1', 8099), 'h1 serving again');
  expect((await restore(webFault('drill'))).changed).toBe(false);
  await inject(webFault('drill'));
  expect([await running('h1'), await running('h2')]).toEqual([false, false]);
}, 60_000);

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
  const fault: FaultSpecInput = { kind: 'ssh-service', inventory, hosts: 'h2', become: true, ssh: hostSsh(), service: 'rwweb' };
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

  const back = await restore(fault);
  expect(back).toMatchObject({ changed: true, details: { hosts: { h1: { removed: [h2.address, '192.0.2.0/24'], rule: 'removed' } } } });
  expect(await connectFrom('h1', h2.address, 22)).toBe('ok');
  expect(await routes()).toBe(before);
  expect(before).toContain('198.51.100.0/24 via');
  expect(before).toContain('unreachable 203.0.113.0/24 proto openr'); // protocol 99
  expect((await restore(fault)).changed).toBe(false);
  // Restore where nothing was ever injected (h2): succeeds, changes nothing.
  expect((await restore({ ...fault, hosts: 'h2' })).details.hosts.h2).toMatchObject({ removed: [], rule: 'absent' });
}, 60_000);
