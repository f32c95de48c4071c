/**
 * `runwright snapshot` and `runwright rehearse` through the real CLI (bin/runwright, a child
 * process with its own private Temporal dev server and twin), against a "real" cloud that is a
 * stand-in of its own here (test/realstack/rehearse.test.ts does the same against the real Zed
 * control plane). The real cloud must see GETs only; the twin does the work.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli';
import { act, makePool, startSim, type SimEnv } from './helpers/openstack';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { prepareUpgradeHosts, upgradeInventory } from './helpers/upgrade-hosts';
import { OpenStackClient } from '../activities/openstack/client';

const ROOT = join(__dirname, '..');
const PROVISION = join(ROOT, 'runbooks', 'provision-vm.yaml');
let os: SimEnv;
let dir: string;

beforeAll(async () => {
  os = await startSim();
  dir = mkdtempSync(join(tmpdir(), 'rw-rehearse-'));
  await makePool('cluster-a', 'reh');
  // Something already running on the real cloud, which the twin must carry.
  const s = await act('openstack.server.create', { cloud: 'cluster-a', name: 'existing-1', flavor: 'm1.small', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto' });
  await act('openstack.server.wait', { cloud: 'cluster-a', ids: [s.id] });
}, 120_000);

afterAll(async () => {
  await os?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], timeoutMs = 180_000) => runCli(args, { cwd: dir, env: { OS_CLIENT_CONFIG_FILE: os.cloudsFile, RUNWRIGHT_HOME: join(dir, '.runwright'), OS_CLOUD: '' }, timeoutMs });

/** Calls the real cloud answered that were not reads (a token is a POST to Keystone, and allowed). */
function writesToReal(): string[] {
  return Object.entries(os.sim.counters().calls)
    .filter(([k]) => !/ GET /.test(k) && !/identity POST \/v3\/auth\/tokens/.test(k))
    .map(([k, n]) => `${k} ×${n}`);
}

const provisionArgs = ['--set', 'cloud=cluster-a', '--set', 'pool=reh-pool', '--set', 'count=2', '--set', 'namePrefix=reh'];

test('snapshot: the real cloud\'s servers, ports, pools and services in a file only its owner reads', async () => {
  const r = await cli(['snapshot', '--cloud', 'cluster-a', '--out', 'snap.json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^snapshot of cluster-a\/RegionOne: 1 servers, \d+ ports, 2 networks, 1 load balancers, 5 compute services → snap\.json$/m);
  const snap = JSON.parse(readFileSync(join(dir, 'snap.json'), 'utf8'));
  expect(statSync(join(dir, 'snap.json')).mode & 0o777).toBe(0o600);
  expect(snap.format).toBe('runwright-openstack-snapshot/1');
  expect(snap.api.servers.map((s: any) => s.name)).toEqual(['existing-1']);
  expect(snap.api.pools.map((p: any) => p.name)).toEqual(['reh-pool']);
  expect(snap.api.services.filter((s: any) => s.binary === 'nova-compute').map((s: any) => `${s.host}:${s.status}:${s.state}`)).toEqual(['compute-1:enabled:up', 'compute-2:enabled:up', 'compute-3:enabled:up']);
  expect(JSON.stringify(snap)).not.toMatch(/adminPass|password|x-auth-token/i);
}, 120_000);

test('rehearse provision-vm: the plan, the run on the twin, its end state set beside the plan; the real cloud sees reads only', async () => {
  os.sim.resetCounters();
  const r = await cli(['rehearse', PROVISION, '--from-cloud', 'cluster-a', ...provisionArgs, '--out', 'report.json']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Rehearsal of provision-vm on a twin of cluster-a/RegionOne');
  expect(r.stdout).toContain('Plan: 3 to create, 1 to change, 0 to destroy');
  expect(r.stdout).toMatch(/Run on the twin: succeeded\n {2}succeeded {2}secgroup \(openstack\.security-group\.create\)\n {2}succeeded {2}prepare/);
  expect(r.stdout).toContain('the twin changed what the plan said, and nothing else');
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  const created = report.twin.changes.filter((c: any) => c.change === 'created' && ['server', 'member', 'security group'].includes(c.kind)).map((c: any) => c.key);
  expect(created.sort()).toEqual(['member of pool reh-lb/reh-pool: reh-1:80', 'member of pool reh-lb/reh-pool: reh-2:80', 'security group web', 'server reh-1', 'server reh-2']);
  expect(report.twin.changes.filter((c: any) => c.change === 'deleted')).toEqual([]);
  expect(report.comparison.asPlanned.map((a: any) => `${a.step}: ${a.change}`).sort()).toEqual([
    'members: created member of pool reh-lb/reh-pool: reh-1:80',
    'members: created member of pool reh-lb/reh-pool: reh-2:80',
    'secgroup: created security group web',
    'servers: created server reh-1',
    'servers: created server reh-2',
  ]);
  expect(report.comparison.notInPlan).toEqual([]);
  // The real cloud: nothing was written, and it holds none of the twin's servers.
  expect(writesToReal()).toEqual([]);
  expect(os.sim.calls({ cloud: 'cluster-a', method: 'GET' })).toBeGreaterThan(10);
  const real = await new OpenStackClient('cluster-a').list('compute', '/servers/detail', 'servers', { query: { all_tenants: 1 } });
  expect(real.map((s: any) => s.name)).toEqual(['existing-1']);
}, 240_000);

test('rehearse with faults: a server that fails to build fails the run on the twin and its compensation; a fault at a step fires when that step starts', async () => {
  os.sim.resetCounters();
  const failed = await cli(['rehearse', PROVISION, '--from-cloud', 'cluster-a', ...provisionArgs, '--fault', 'serverError=^reh-2$', '--json']);
  expect(failed.code).toBe(1);
  const f = JSON.parse(failed.stdout);
  expect(f.run.state).toBe('failed');
  expect(f.run.error).toMatch(/server reh-2 \(.*\) went to ERROR/);
  expect(f.run.steps.find((s: any) => s.path === 'servers').state).toBe('failed');
  expect(f.run.steps.find((s: any) => s.path === 'secgroup').state).toBe('compensated');
  // The saga undid the twin: nothing is left over, and the report says what the plan did not get.
  expect(f.twin.changes.filter((c: any) => c.kind !== 'port')).toEqual([]);
  expect(f.comparison.notDone.map((n: any) => `${n.step}:${n.state}`)).toEqual(['secgroup:compensated', 'servers:failed', 'members:not reached']);

  const late = await cli(['rehearse', PROVISION, '--from-cloud', 'cluster-a', ...provisionArgs, '--fault', 'at=members,service=load-balancer,method=PUT,errorRate=1,status=503,times=2', '--json']);
  expect(late.code).toBe(0);
  const l = JSON.parse(late.stdout);
  expect(l.run.faults).toHaveLength(1);
  expect(l.run.faults[0].injectedAt).toEqual(expect.any(String));
  expect(l.run.faults[0].fired).toBe(2);
  expect(l.run.state).toBe('succeeded');
  expect(writesToReal()).toEqual([]);
}, 300_000);

test('rehearse from a snapshot file; bad input is a usage error (exit 2) that says what is wrong', async () => {
  const fromFile = await cli(['rehearse', PROVISION, '--snapshot', 'snap.json', ...provisionArgs, '--json']);
  expect(fromFile.code).toBe(0);
  expect(JSON.parse(fromFile.stdout).snapshot.from).toBe('file snap.json');

  writeFileSync(join(dir, 'bad.json'), '{"format": "something-else"}');
  const cases: [string[], RegExp][] = [
    [['rehearse', PROVISION, ...provisionArgs], /^runwright rehearse: give the cloud to copy \(--from-cloud NAME\) or a snapshot file \(--snapshot FILE\), one of them$/m],
    [['rehearse', PROVISION, ...provisionArgs, '--from-cloud', 'cluster-a', '--snapshot', 'snap.json'], /one of them$/m],
    [['rehearse', PROVISION, ...provisionArgs, '--snapshot', 'bad.json'], /^runwright rehearse: bad\.json: format is "something-else", expected "runwright-openstack-snapshot\/1"/m],
    [['rehearse', PROVISION, ...provisionArgs, '--snapshot', 'missing.json'], /^runwright rehearse: missing\.json: ENOENT$/m],
    [['rehearse', PROVISION, ...provisionArgs, '--from-cloud', 'no-such-cloud'], /^snapshot: Cloud no-such-cloud was not found in .*clouds\.yaml \(clouds: cluster-a, cluster-b, cluster-c\)$/m],
    [['rehearse', PROVISION, ...provisionArgs, '--from-cloud', 'cluster-a', '--fault', 'errorRate=0.5'], /^--fault errorRate=0\.5: errorRate needs status/m],
    [['rehearse', PROVISION, ...provisionArgs, '--from-cloud', 'cluster-a', '--fault', 'host'], /^--fault host: "host": expected KEY=VALUE/m],
    [['rehearse', PROVISION, ...provisionArgs, '--from-cloud', 'cluster-a', '--fault', 'colour=red'], /^--fault colour=red: fault: Unrecognized key: "colour"/m],
    [['rehearse', PROVISION, ...provisionArgs, '--from-cloud', 'cluster-a', '--fault', 'at=servers'], /says where \(at=\) but not what/m],
    [['rehearse', PROVISION, '--set', 'count=0', '--from-cloud', 'cluster-a'], /provision-vm\.yaml: error: /m],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args, 60_000);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(re) });
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }
}, 300_000);

describe('rehearse openstack-upgrade: the twin drains and upgrades computes; the real hosts are only checked', () => {
  let th: TestHosts;
  let inventory: string;
  const NAMES = ['ctl-1', 'compute-1', 'compute-2', 'compute-3'];
  beforeAll(() => {
    th = startTestHosts(47, NAMES.length);
    inventory = upgradeInventory(th, NAMES);
    prepareUpgradeHosts(th, NAMES);
  }, 600_000);
  afterAll(() => th?.down());

  test('rolling compute upgrade on the twin, a compute failing mid-upgrade, the hosts untouched', async () => {
    const PKG = 'rw-hello';
    const args = ['rehearse', join(ROOT, 'runbooks', 'openstack-upgrade.yaml'), '--from-cloud', 'cluster-a', '--set', 'cloud=cluster-a', '--set', `inventory=${inventory}`, '--set', `knownHosts=${th.knownHosts}`, '--set', 'release=2023.1'];
    for (const p of ['keystone', 'glance', 'placement', 'nova', 'neutron', 'octavia', 'compute']) args.push('--set', `${p}Packages=["${PKG}"]`);
    os.sim.resetCounters();
    const r = await cli([...args, '--json'], 600_000);
    expect({ code: r.code, stderr: r.stderr.slice(-2000) }).toEqual({ code: 0, stderr: expect.any(String) });
    const rep = JSON.parse(r.stdout);
    expect(rep.run.state).toBe('succeeded');
    // The approval gate was answered by a stand-in approver; the hosts' steps ran as dry runs.
    expect(rep.run.approvals.map((a: any) => a.step)).toEqual(['approve']);
    const modes = new Map<string, Set<string>>();
    for (const s of rep.run.steps) (modes.get(s.action) ?? modes.set(s.action, new Set()).get(s.action)!).add(s.mode);
    expect([...(modes.get('host.play') ?? [])]).toEqual(['dry-run']);
    expect([...(modes.get('openstack.compute-service.disable') ?? [])]).toEqual(['twin']);
    // Every compute was disabled and enabled again on the twin: the end state equals the start.
    expect(rep.run.steps.filter((s: any) => s.action === 'openstack.compute-service.disable' && s.state === 'succeeded')).toHaveLength(3);
    expect(rep.twin.changes.filter((c: any) => c.kind === 'compute service')).toEqual([]);
    // Nothing real changed: the hosts' package is the old one, the real cloud saw reads only.
    for (const h of th.hosts) expect(th.sh(h.name, "dpkg-query -W -f='${Version}' rw-hello")).toBe('1.0');
    expect(writesToReal()).toEqual([]);

    // A compute that goes down mid-upgrade (its nova-compute stops reporting): the run fails there
    // on the twin, and its compensation enables what it disabled.
    const bad = await cli([...args, '--fault', 'at=compute-upgrade[1].upgrade,host=compute-2', '--json'], 600_000);
    expect(bad.code).toBe(1);
    const b = JSON.parse(bad.stdout);
    expect(b.run.faults[0].injectedAt).toEqual(expect.any(String));
    expect(b.run.state).toBe('failed');
    expect(b.run.error).toMatch(/compute-2/);
    expect(b.comparison.notDone.length).toBeGreaterThan(0);
    expect(writesToReal()).toEqual([]);
  }, 1_200_000);
});
