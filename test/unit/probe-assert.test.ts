/** Every probe defaults `assert` the same way: a failed check fails the step (activities/probe/assert.ts). */
import { PROBE_ACTIONS } from '../../activities/probe';
import { PROBE_ASSERT_DEFAULT } from '../../activities/probe/assert';

const minimal: Record<string, unknown> = {
  'probe.http': { url: 'http://example.test/health' },
  'probe.prometheus': { url: 'http://prom.test', query: 'up', threshold: { op: '>', value: 0 } },
  'probe.dns': { server: '127.0.0.1', name: 'example.test', expect: { empty: false } },
  'probe.steady-state': { clusters: ['a'], health: { a: 'http://a.test/health' } },
};

test('the one default is: assert', () => {
  expect(PROBE_ASSERT_DEFAULT).toBe(true);
});

test('every probe is listed here', () => {
  expect(PROBE_ACTIONS.map((a) => a.name).sort()).toEqual(Object.keys(minimal).sort());
});

test.each(PROBE_ACTIONS.map((a) => [a.name, a] as const))('%s defaults assert to true, and takes assert: false', (name, a) => {
  const parsed = a.input.parse(minimal[name]) as { assert: boolean };
  expect(parsed.assert).toBe(true);
  expect((a.input.parse({ ...(minimal[name] as object), assert: false }) as { assert: boolean }).assert).toBe(false);
});
