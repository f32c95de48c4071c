/**
 * Two attempts of one create step running at once (a worker cut off from Temporal keeps running
 * attempt 1 while attempt 2 starts): both end on the same resource and only one is left.
 * Found by the chaos suite's 30 s partition (a second security group, orphaned).
 */
import { OPENSTACK_ACTIONS } from '../activities/openstack';
import { OpenStackClient } from '../activities/openstack/client';
import { startSim, testCtx, type SimEnv } from './helpers/openstack';

let os: SimEnv;
beforeAll(async () => {
  os = await startSim();
});
afterAll(async () => os?.close());

const action = (name: string) => OPENSTACK_ACTIONS.find((x) => x.name === name)!;
const groups = async (name: string) => (await new OpenStackClient('cluster-a').list('network', '/security-groups', 'security_groups', { query: { name } })).map((g: any) => g.id);

test('security-group.create: concurrent attempts of one step converge on one group with its rules', async () => {
  const extra = {};
  const a = action('openstack.security-group.create');
  const name = `race-sg-${Object.keys(extra).length}`;
  const input = a.input.parse({ cloud: 'cluster-a', name, rules: [{ direction: 'ingress', protocol: 'tcp', port: 22 }], ...extra });
  const first = testCtx();
  const second = { ...testCtx(), idempotencyKey: first.idempotencyKey, attempt: 2 };
  const [r1, r2] = (await Promise.all([a.run(input, first), a.run(input, second)])) as { id: string }[];
  expect(r2.id).toBe(r1.id);
  expect(await groups(name)).toEqual([r1.id]);
  // A later retry finds it and changes nothing.
  const again = (await a.run(input, { ...testCtx(), idempotencyKey: first.idempotencyKey, attempt: 3 })) as { id: string; changed: boolean };
  expect([again.id, again.changed]).toEqual([r1.id, false]);
  expect(await groups(name)).toEqual([r1.id]);
});
