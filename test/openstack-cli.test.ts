/**
 * The official OpenStack command-line client (Debian's python3-openstackclient and
 * python3-octaviaclient, installed by .ci/run) against the local stand-in: authenticate, list,
 * create and delete servers and load balancers. If the stand-in drifts from the real APIs'
 * URLs, bodies, headers or status codes, these clients notice.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { startSim, type SimEnv } from './helpers/openstack';

const run = promisify(execFile);
const OPENSTACK = '/usr/bin/openstack';
let os: SimEnv;

beforeAll(async () => {
  if (!existsSync(OPENSTACK)) throw new Error(`${OPENSTACK} is missing: apt-get install python3-openstackclient python3-octaviaclient (.ci/run installs them)`);
  os = await startSim();
});
afterAll(async () => os?.close());

async function osc(cloud: string, ...args: string[]): Promise<any> {
  try {
    const { stdout } = await run(OPENSTACK, ['--os-cloud', cloud, ...args], {
      env: { PATH: '/usr/bin:/bin', HOME: os.dir, OS_CLIENT_CONFIG_FILE: os.cloudsFile, LANG: 'C.UTF-8' },
      timeout: 60_000,
    });
    return args.includes('json') ? JSON.parse(stdout) : stdout;
  } catch (e: any) {
    throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

test('openstack token issue / catalog list authenticate against the stand-in Keystone', async () => {
  const tok = await osc('cluster-a', 'token', 'issue', '-f', 'json');
  expect(tok.id).toMatch(/^gAAAAA/);
  expect(tok.project_id).toBe(os.sim.world.clouds['cluster-a'].projects.find((p) => p.name === 'admin')!.id);
  expect(Date.parse(tok.expires.replace('+0000', 'Z')) - Date.now()).toBeGreaterThan(3500_000);
  const cat = await osc('cluster-c', 'catalog', 'list', '-f', 'json');
  expect(cat.map((c: any) => c.Type).sort()).toEqual(['compute', 'identity', 'image', 'load-balancer', 'network']);
  expect(JSON.stringify(cat)).toContain('RegionTwo');
}, 120_000);

test('openstack server create --wait / list / show / delete --wait', async () => {
  const s = await osc('cluster-a', 'server', 'create', '--image', 'cirros-0.6.2-x86_64-disk', '--flavor', 'm1.tiny', '--network', 'private', '--wait', 'cli-vm', '-f', 'json');
  expect(s).toMatchObject({ name: 'cli-vm', status: 'ACTIVE', flavor: 'm1.tiny (1)' });
  expect(s.addresses.private[0]).toMatch(/^10\.0\./);
  const list = await osc('cluster-a', 'server', 'list', '-f', 'json');
  expect(list.map((x: any) => `${x.Name}:${x.Status}`)).toEqual(['cli-vm:ACTIVE']);
  const shown = await osc('cluster-a', 'server', 'show', 'cli-vm', '-f', 'json');
  expect(shown.id).toBe(s.id);
  expect(os.sim.world.clouds['cluster-a'].regions.RegionOne.servers[s.id].status).toBe('ACTIVE');
  await osc('cluster-a', 'server', 'delete', '--wait', 'cli-vm');
  expect(await osc('cluster-a', 'server', 'list', '-f', 'json')).toEqual([]);
  expect(os.sim.world.clouds['cluster-a'].regions.RegionOne.servers[s.id]).toBeUndefined();
}, 120_000);

test('openstack loadbalancer create --wait / list / listener / pool / member / delete --cascade', async () => {
  const lb = await osc('cluster-b', 'loadbalancer', 'create', '--name', 'cli-lb', '--vip-subnet-id', 'private-subnet', '--wait', '-f', 'json');
  expect(lb).toMatchObject({ name: 'cli-lb', provisioning_status: 'ACTIVE', operating_status: 'ONLINE', provider: 'amphora' });
  expect(lb.vip_address).toMatch(/^10\.0\./);
  await osc('cluster-b', 'loadbalancer', 'listener', 'create', '--name', 'cli-http', '--protocol', 'HTTP', '--protocol-port', '80', '--wait', 'cli-lb');
  await osc('cluster-b', 'loadbalancer', 'pool', 'create', '--name', 'cli-pool', '--listener', 'cli-http', '--protocol', 'HTTP', '--lb-algorithm', 'ROUND_ROBIN', '--wait');
  await osc('cluster-b', 'loadbalancer', 'member', 'create', '--address', '10.0.0.99', '--protocol-port', '80', '--weight', '5', '--wait', 'cli-pool');
  const members = await osc('cluster-b', 'loadbalancer', 'member', 'list', 'cli-pool', '-f', 'json');
  expect(members.map((m: any) => `${m.address}:${m.protocol_port}:${m.weight}:${m.provisioning_status}`)).toEqual(['10.0.0.99:80:5:ACTIVE']);
  const lbs = await osc('cluster-b', 'loadbalancer', 'list', '-f', 'json');
  expect(lbs.map((x: any) => `${x.name}:${x.provisioning_status}`)).toEqual(['cli-lb:ACTIVE']);
  await osc('cluster-b', 'loadbalancer', 'delete', '--cascade', '--wait', 'cli-lb');
  expect(await osc('cluster-b', 'loadbalancer', 'list', '-f', 'json')).toEqual([]);
  // The requests really went to the stand-in's Octavia (octaviaclient uses the /v2.0 prefix).
  expect(os.sim.calls({ cloud: 'cluster-b', service: 'load-balancer', method: 'POST' })).toBe(4);
  expect(os.sim.calls({ cloud: 'cluster-b', service: 'load-balancer', method: 'DELETE', route: '/v2.0/lbaas/loadbalancers/:id' })).toBe(1);
}, 120_000);
