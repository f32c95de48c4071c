/** `timeout` is the canonical name of an action's own time limit; `timeoutMs` is its deprecated alias. */
import { z } from 'zod';
import { timeoutFields, timeoutOf } from '../../activities/define';
import { buildRegistry } from '../../activities/registry';
import { runtimeApi } from '../../activities/traffic/haproxy-common';
import probePrometheus from '../../activities/probe/prometheus';

const schema = z.strictObject({ ...timeoutFields(1, 60_000, 5_000, 'Per call.') });

test('timeout takes milliseconds or a duration; timeoutMs still validates; the default applies', () => {
  expect(timeoutOf(schema.parse({ timeout: '2s' }), 5_000)).toBe(2_000);
  expect(timeoutOf(schema.parse({ timeout: 1500 }), 5_000)).toBe(1_500);
  expect(timeoutOf(schema.parse({ timeoutMs: 700 }), 5_000)).toBe(700);
  expect(timeoutOf(schema.parse({}), 5_000)).toBe(5_000);
  expect(timeoutOf(schema.parse({ timeout: '1s', timeoutMs: 700 }), 5_000)).toBe(1_000);
  expect(schema.safeParse({ timeout: '2m' }).success).toBe(false);
  expect(schema.safeParse({ timeoutMs: '2s' }).success).toBe(false);
});

test('the traffic and probe actions read either name', () => {
  const reg = buildRegistry();
  const state = reg.get('lb.haproxy.state')!.input;
  expect(runtimeApi(state.parse({ socket: '/run/h.sock', backend: 'app', timeoutMs: 1234 }) as never).timeoutMs).toBe(1234);
  expect(runtimeApi(state.parse({ socket: '/run/h.sock', backend: 'app', timeout: '3s' }) as never).timeoutMs).toBe(3000);
  expect(runtimeApi(state.parse({ socket: '/run/h.sock', backend: 'app' }) as never).timeoutMs).toBe(5000);
  const get = reg.get('dns.records.get')!.input;
  const t = { api: 'http://pdns:8081', apiKey: 'secret:pdns', zone: 'example.com', name: 'app' };
  expect(timeoutOf(get.parse({ ...t, timeoutMs: 900 }) as never, 10_000)).toBe(900);
  expect(timeoutOf(get.parse({ ...t, timeout: '1200ms' }) as never, 10_000)).toBe(1200);
  const base = { url: 'http://prom', query: 'up', threshold: { op: '>', value: 0 } };
  expect(timeoutOf(probePrometheus.input.parse({ ...base, timeoutMs: 800 }) as never, 10_000)).toBe(800);
  expect(timeoutOf(probePrometheus.input.parse({ ...base, timeout: '5s' }) as never, 10_000)).toBe(5_000);
});

test('outside the other team\'s folders, no action input names a field timeoutMs without timeout', () => {
  const owned = /^(openstack|capi|http|notify|drill)\./;
  const offenders = [...buildRegistry().values()]
    .filter((a) => !owned.test(a.name))
    .filter((a) => JSON.stringify(z.toJSONSchema(a.input, { io: 'input', unrepresentable: 'any' })).match(/"timeoutMs"/) && !JSON.stringify(z.toJSONSchema(a.input, { io: 'input', unrepresentable: 'any' })).match(/"timeout"/))
    .map((a) => a.name);
  expect(offenders).toEqual([]);
});
