/**
 * The real services' answers to the scenario of shapes.ts match the fixtures in
 * test/fixtures/openstack-real (status codes, contract headers, keys and value types), which
 * the stand-in is checked against in test/openstack-fixtures.test.ts. With REALSTACK_CAPTURE=1
 * the fixtures are written from this run first (scrubbed of ids, tokens and secrets).
 */
import { compareAll, readFixtures, runScenario, writeFixtures } from './shapes';
import { CLOUD, runPrefix, useRealstack } from './helpers';

beforeAll(() => useRealstack());

test('the real OpenStack answers as the recorded fixtures say', async () => {
  const got = await runScenario(CLOUD, runPrefix('shape'));
  if (process.env.REALSTACK_CAPTURE === '1') writeFixtures(got);
  const fixtures = readFixtures();
  expect(Object.keys(fixtures).sort()).toEqual(Object.keys(got).sort());
  expect(compareAll(fixtures, got)).toEqual([]);
}, 300_000);
