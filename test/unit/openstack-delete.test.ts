/** The OpenStack delete factory (activities/openstack/delete.ts): same inputs, plans and skip outputs as the hand-written deletes. Pure. */
import { OPENSTACK_ACTIONS } from '../../activities/openstack';
import type { ActionContext } from '../../activities/define';

const byName = new Map(OPENSTACK_ACTIONS.map((a) => [a.name, a]));
const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;

const cases: Array<[string, string, 'id' | 'name', boolean, string, string]> = [
  ['openstack.network.delete', 'n1', 'id', false, 'delete network n1', '(skip) keep network n1'],
  ['openstack.port.delete', 'p1', 'id', false, 'delete port p1', '(skip) keep port p1'],
  ['openstack.subnet.delete', 's1', 'id', false, 'delete subnet s1', '(skip) keep subnet s1'],
  ['openstack.security-group.delete', 'g1', 'id', false, 'delete security group g1', '(skip) keep security group g1'],
  ['openstack.security-group-rule.delete', 'r1', 'id', false, 'delete security group rule r1', '(skip) keep rule r1'],
  ['openstack.keypair.delete', 'kp', 'name', false, 'delete keypair kp', '(skip) keep keypair kp'],
  ['openstack.listener.delete', 'l1', 'id', true, 'delete listener l1', '(skip) keep listener l1'],
  ['openstack.pool.delete', 'po1', 'id', true, 'delete pool po1', '(skip) keep pool po1'],
  ['openstack.healthmonitor.delete', 'h1', 'id', true, 'delete health monitor h1', '(skip) keep health monitor h1'],
];

test.each(cases)('%s: input, plan and the deprecated skip', async (name, ref, by, lb, plan, skipPlan) => {
  const a = byName.get(name)!;
  expect(a).toBeDefined();
  const parsed = a.input.parse({ cloud: 'c', [by]: ref });
  expect(parsed).toEqual({ cloud: 'c', region: expect.any(String), [by]: ref, ...(lb ? { timeout: '10m' } : {}), skip: false });
  expect(a.input.safeParse({ cloud: 'c' }).success).toBe(false);
  expect(a.input.safeParse({ cloud: 'c', [by]: ref, extra: 1 }).success).toBe(false);
  if (lb) expect((a.input.parse({ cloud: 'c', [by]: ref, timeout: '1h30m' }) as { timeout: unknown }).timeout).toBe('1h30m');
  else expect(a.input.safeParse({ cloud: 'c', [by]: ref, timeout: '1m' }).success).toBe(false);
  expect(a.plan!(parsed)).toBe(plan);
  const skipped = a.input.parse({ cloud: 'c', [by]: ref, skip: true });
  expect(a.plan!(skipped)).toBe(skipPlan);
  await expect(a.run(skipped, ctx)).resolves.toEqual({ [by]: ref, deleted: false, skipped: true, changed: false });
});
