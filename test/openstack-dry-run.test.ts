/**
 * OpenStack dry runs against the stand-in (sim/openstack): read-only lookups that say create vs
 * no change, and change nothing.
 */
import { OPENSTACK_ACTIONS } from '../activities/openstack';
import { OpenStackClient } from '../activities/openstack/client';
import { act, startSim, testCtx, type SimEnv } from './helpers/openstack';

let os: SimEnv;
beforeAll(async () => {
  os = await startSim();
});
afterAll(async () => os?.close());

const effects: string[] = [];
/** The dry run's result; its `effect` (the kind of change, for plan summaries) is collected in `effects`, checked at the end. */
async function dry(name: string, input: Record<string, unknown>) {
  const a = OPENSTACK_ACTIONS.find((x) => x.name === name)!;
  const { effect, ...r } = await a.dryRun!(a.input.parse(input), testCtx());
  effects.push(`${name}:${r.changed}:${effect}:${/ exists /.test(r.summary) ? 'exists' : ''}:${r.diff?.split('\n').every((l) => l.startsWith('+ ')) ? 'adds' : ''}`);
  return r;
}
const networks = async (name: string) => (await new OpenStackClient('cluster-a').list('network', '/networks', 'networks', { query: { name } })).length;

test('network.create: "create" while absent (and nothing is created), "no change" once it exists', async () => {
  expect(await dry('openstack.network.create', { cloud: 'cluster-a', name: 'dry-net' })).toEqual({ changed: true, summary: 'create network dry-net on cluster-a', diff: '+ network dry-net' });
  expect(await networks('dry-net')).toBe(0);
  const made = await act('openstack.network.create', { cloud: 'cluster-a', name: 'dry-net' });
  expect(await dry('openstack.network.create', { cloud: 'cluster-a', name: 'dry-net' })).toEqual({ changed: false, summary: `network dry-net exists (${made.id}, adopted)` });
  // adopt: false would make another one.
  expect(await dry('openstack.network.create', { cloud: 'cluster-a', name: 'dry-net', adopt: false })).toMatchObject({ changed: true });

  expect(await dry('openstack.network.delete', { cloud: 'cluster-a', id: made.id })).toEqual({ changed: true, summary: `delete network ${made.id}`, diff: `- network ${made.id}` });
  expect(await networks('dry-net')).toBe(1);
  expect(await dry('openstack.network.delete', { cloud: 'cluster-a', id: made.id, skip: true })).toMatchObject({ changed: false });
  await act('openstack.network.delete', { cloud: 'cluster-a', id: made.id });
  expect(await dry('openstack.network.delete', { cloud: 'cluster-a', id: made.id })).toEqual({ changed: false, summary: `network ${made.id}: already gone` });
});

test('loadbalancer.delete and floating-ip.release: nothing to do when absent or skipped', async () => {
  const missing = '00000000-0000-4000-8000-000000000000';
  expect(await dry('openstack.loadbalancer.delete', { cloud: 'cluster-a', id: missing })).toEqual({ changed: false, summary: `load balancer ${missing}: already gone` });
  expect(await dry('openstack.loadbalancer.delete', { cloud: 'cluster-a', id: missing, skip: true })).toMatchObject({ changed: false });
  expect(await dry('openstack.floating-ip.release', { cloud: 'cluster-a', floatingIp: '203.0.113.250' })).toEqual({ changed: false, summary: 'floating IP 203.0.113.250: already released' });
});

test('subnet.create: create (noting a network that is not there yet), then no change', async () => {
  expect(await dry('openstack.subnet.create', { cloud: 'cluster-a', network: 'dry-net2', name: 'dry-sub', cidr: '10.77.0.0/24' })).toMatchObject({ changed: true, summary: expect.stringMatching(/network does not exist yet/) });
  await act('openstack.network.create', { cloud: 'cluster-a', name: 'dry-net2' });
  expect(await dry('openstack.subnet.create', { cloud: 'cluster-a', network: 'dry-net2', name: 'dry-sub', cidr: '10.77.0.0/24' })).toEqual({ changed: true, summary: 'create subnet dry-sub (10.77.0.0/24) on network dry-net2', diff: '+ subnet dry-sub 10.77.0.0/24' });
  const sub = await act('openstack.subnet.create', { cloud: 'cluster-a', network: 'dry-net2', name: 'dry-sub', cidr: '10.77.0.0/24' });
  expect(await dry('openstack.subnet.create', { cloud: 'cluster-a', network: 'dry-net2', name: 'dry-sub', cidr: '10.77.0.0/24' })).toEqual({ changed: false, summary: `subnet dry-sub exists (${sub.id}, 10.77.0.0/24)` });
});

test('keypair.create: import while absent; exists with this key, or with another (the run would fail)', async () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDryRunDryRunDryRunDryRunDryRunDryRunDryRun0 me@host';
  expect(await dry('openstack.keypair.create', { cloud: 'cluster-a', name: 'dry-kp', publicKey: key })).toEqual({ changed: true, summary: 'import keypair dry-kp on cluster-a', diff: '+ keypair dry-kp' });
  await act('openstack.keypair.create', { cloud: 'cluster-a', name: 'dry-kp', publicKey: key });
  expect(await dry('openstack.keypair.create', { cloud: 'cluster-a', name: 'dry-kp', publicKey: key.replace('me@host', 'other comment') })).toEqual({ changed: false, summary: 'keypair dry-kp exists with this key' });
  expect(await dry('openstack.keypair.create', { cloud: 'cluster-a', name: 'dry-kp', publicKey: 'ssh-ed25519 AAAAOTHER' })).toMatchObject({ changed: false, summary: expect.stringMatching(/different key .*the run would fail/) });
});

test('port.create: always a create without adopt; with adopt, no change once the named port exists', async () => {
  await act('openstack.network.create', { cloud: 'cluster-a', name: 'dry-net3' });
  expect(await dry('openstack.port.create', { cloud: 'cluster-a', network: 'dry-net3', name: 'dry-port' })).toEqual({ changed: true, summary: 'create port dry-port on dry-net3', diff: '+ port dry-port on dry-net3' });
  expect(await dry('openstack.port.create', { cloud: 'cluster-a', network: 'dry-net3', name: 'dry-port', adopt: true })).toMatchObject({ changed: true });
  const port = await act('openstack.port.create', { cloud: 'cluster-a', network: 'dry-net3', name: 'dry-port' });
  expect(await dry('openstack.port.create', { cloud: 'cluster-a', network: 'dry-net3', name: 'dry-port', adopt: true })).toEqual({ changed: false, summary: `port dry-port exists (${port.id})` });
  expect(await dry('openstack.port.create', { cloud: 'cluster-a', network: 'no-such-net', name: 'p', adopt: true })).toMatchObject({ changed: true, summary: expect.stringMatching(/does not exist yet/) });
});

test('server.create: would boot, boots nothing; with adopt, no change once a server of that name exists', async () => {
  const spec = { cloud: 'cluster-a', name: 'dry-vm', flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', networks: [{ network: 'private' }] };
  const servers = async () => (await new OpenStackClient('cluster-a').list('compute', '/servers', 'servers', { query: { name: '^dry-vm$' } })).length;
  expect(await dry('openstack.server.create', spec)).toEqual({ changed: true, summary: 'boot server dry-vm (m1.tiny, cirros-0.6.2-x86_64-disk) on cluster-a', diff: '+ server dry-vm' });
  expect(await servers()).toBe(0);
  await expect(dry('openstack.server.create', { ...spec, flavor: 'no-such-flavor' })).rejects.toThrow(/no-such-flavor/);
  const made = await act('openstack.server.create', spec);
  expect(await dry('openstack.server.create', { ...spec, adopt: true })).toMatchObject({ changed: false, summary: expect.stringContaining(`server dry-vm exists (${made.id}`) });
  // Without adopt a run boots another one: the dry run says so.
  expect(await dry('openstack.server.create', spec)).toMatchObject({ changed: true, summary: expect.stringMatching(/adopt: false boots another/) });
  expect(await dry('openstack.server.delete', { cloud: 'cluster-a', id: made.id })).toEqual({ changed: true, summary: 'delete 1 of 1 server(s)', diff: `- server dry-vm (${made.id})` });
  expect(await servers()).toBe(1);
});

test('security-group.create: create with its rules; then no change; a new rule is a change', async () => {
  const rules = [{ protocol: 'tcp', port: 22, remoteIpPrefix: '0.0.0.0/0' }];
  expect(await dry('openstack.security-group.create', { cloud: 'cluster-a', name: 'dry-sg', rules })).toEqual({
    changed: true,
    summary: 'create security group dry-sg with 1 rule(s) on cluster-a',
    diff: '+ security group dry-sg\n+ rule ingress tcp/22 from 0.0.0.0/0',
  });
  const sg = await act('openstack.security-group.create', { cloud: 'cluster-a', name: 'dry-sg', rules });
  expect(await dry('openstack.security-group.create', { cloud: 'cluster-a', name: 'dry-sg', rules })).toEqual({ changed: false, summary: `security group dry-sg exists (${sg.id}) with its 1 rule(s)` });
  const more = [...rules, { protocol: 'tcp', port: 443, remoteIpPrefix: '0.0.0.0/0' }];
  expect(await dry('openstack.security-group.create', { cloud: 'cluster-a', name: 'dry-sg', rules: more })).toMatchObject({ changed: true, diff: '+ rule ingress tcp/443 from 0.0.0.0/0' });
  expect(await dry('openstack.security-group-rule.create', { cloud: 'cluster-a', securityGroup: 'dry-sg', protocol: 'tcp', port: 22, remoteIpPrefix: '0.0.0.0/0' })).toMatchObject({ changed: false });
  expect(await dry('openstack.security-group-rule.create', { cloud: 'cluster-a', securityGroup: sg.id, protocol: 'udp', port: 53 })).toEqual({ changed: true, summary: `add rule ingress udp/53 to ${sg.id}`, diff: '+ rule ingress udp/53' });
});

test('loadbalancer, pool and member: create, then no change; member.update shows the weight diff and changes nothing', async () => {
  expect(await dry('openstack.loadbalancer.create', { cloud: 'cluster-a', name: 'dry-lb', vipSubnet: 'private-subnet' })).toEqual({ changed: true, summary: 'create load balancer dry-lb with its VIP on private-subnet on cluster-a', diff: '+ load balancer dry-lb' });
  const lb = await act('openstack.loadbalancer.create', { cloud: 'cluster-a', name: 'dry-lb', vipSubnet: 'private-subnet' });
  expect(await dry('openstack.loadbalancer.create', { cloud: 'cluster-a', name: 'dry-lb', vipSubnet: 'private-subnet' })).toEqual({ changed: false, summary: `load balancer dry-lb exists (${lb.id}, adopted)` });
  expect(await dry('openstack.pool.create', { cloud: 'cluster-a', name: 'dry-pool', loadbalancer: lb.id, protocol: 'HTTP' })).toMatchObject({ changed: true, diff: '+ pool dry-pool' });
  const pool = await act('openstack.pool.create', { cloud: 'cluster-a', name: 'dry-pool', loadbalancer: lb.id, protocol: 'HTTP' });
  const member = { cloud: 'cluster-a', pool: pool.id, address: '10.0.8.1', protocolPort: 80 };
  expect(await dry('openstack.member.create', member)).toMatchObject({ changed: true, diff: '+ member 10.0.8.1:80' });
  await act('openstack.member.create', member);
  expect(await dry('openstack.member.create', member)).toMatchObject({ changed: false });
  expect(await dry('openstack.member.update', { ...member, weight: 1 })).toEqual({ changed: false, summary: `member 10.0.8.1:80 in ${pool.id} is as wanted` });
  expect(await dry('openstack.member.update', { ...member, weight: 0 })).toEqual({ changed: true, summary: `update member 10.0.8.1:80 in ${pool.id}: weight`, diff: 'weight: 1 -> 0' });
  expect(await dry('openstack.member.batch', { cloud: 'cluster-a', pool: pool.id, addresses: ['10.0.8.1', '10.0.8.2'], weight: 1 })).toMatchObject({ changed: true, diff: '+ member 10.0.8.2:80' });
  expect(await dry('openstack.member.delete', member)).toMatchObject({ changed: true, summary: `remove member 10.0.8.1:80 from pool ${pool.id}` });
  const members = await new OpenStackClient('cluster-a').list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
  expect(members.map((m: any) => [m.address, m.weight])).toEqual([['10.0.8.1', 1]]);
});

test('every dry run above says what kind of change it is: create, destroy, change, or none when nothing changes', () => {
  expect(effects.length).toBeGreaterThan(10);
  for (const e of effects) {
    const [name, changed, effect, exists, adds] = e.split(':');
    if (changed === 'false') expect(`${name}: ${effect}`).toBe(`${name}: none`);
    // A create whose resource exists already changes it (a security group gets a rule); a batch that only adds members creates.
    else expect(`${name}: ${effect}`).toBe(`${name}: ${(/create/.test(name) && !exists) || (name === 'openstack.member.batch' && adds) ? 'create' : /delete|release/.test(name) ? 'destroy' : 'change'}`);
  }
});
