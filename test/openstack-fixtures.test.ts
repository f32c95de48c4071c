/**
 * The stand-in (sim/openstack) answers like the real services: the scenario of
 * test/realstack/shapes.ts run against it must give the status codes, contract headers, keys
 * and value types recorded from a real Zed control plane (test/fixtures/openstack-real,
 * captured with scripts/realstack; see docs/realstack.md).
 */
import { compareAll, readFixtures, runScenario } from './realstack/shapes';
import { startSim, type SimEnv } from './helpers/openstack';

let os: SimEnv;

beforeAll(async () => {
  os = await startSim();
});

afterAll(async () => {
  await os?.close();
});

test('every recorded real answer has a stand-in answer of the same shape', async () => {
  const fixtures = readFixtures();
  expect(Object.keys(fixtures).length).toBeGreaterThan(30);
  const got = await runScenario('cluster-a', 'shape');
  expect(compareAll(fixtures, got)).toEqual([]);
}, 120_000);
