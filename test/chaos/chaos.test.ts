/**
 * Chaos (issue 13, item 7): shipped runbooks with the settings they ship with, disturbed at
 * seeded random moments by a worker SIGKILL, a kill -9 of the Temporal server (restarted on the
 * same SQLite file) and a 30 s cut between worker and server; every run must end in the state
 * of the same run undisturbed, with no duplicate side effects. More trials: `npm run chaos -- --trials N`.
 * The seed is printed; CHAOS_SEED=<n> replays the same fault plan.
 */
import { Rng, chaosSeed, type FaultKind, type RoundReport } from './harness';
import { baselineRounds, chaosRound, setupChaos, type Baselines, type ChaosSuite, type GroupName } from './suite';

const seed = chaosSeed();
const rng = new Rng(seed);
// eslint-disable-next-line no-console
console.log(`chaos seed ${seed} (replay with CHAOS_SEED=${seed})`);

// Two groups (test/chaos/suite.ts). short: six runs a round (provision-vm ×2, decommission-vm ×2,
// failover, configure-hosts); long: six runs (dr-drill, capi-cluster-create/-scale/-upgrade/-delete,
// openstack-upgrade with its faults in the compute phase). Every runbook is disturbed at least
// once; at least 20 runs must really be disturbed. Server kills are cheap (seconds); a worker kill
// costs a worker start plus up to a step's heartbeat timeout, the cut 30 s plus that. More: `npm run chaos`.
const ROUNDS: [GroupName, FaultKind][] = [
  ['short', 'worker-kill'],
  ['short', 'server-kill'],
  ['short', 'partition'],
  ['short', 'server-kill'],
  ['long', 'server-kill'],
];
// The slowest shipped recovery is a step's own heartbeatTimeout (openstack-upgrade's drain: 2m)
// after a worker kill, or a 30 s cut plus that; a run still unfinished after this has lost a step.
const RUN_TIMEOUT_MS = 240_000;

let suite: ChaosSuite;
let baselines: Baselines;
const reports: RoundReport[] = [];
const log = (m: string) => process.stderr.write(`${m}\n`);

beforeAll(async () => {
  suite = await setupChaos({ log });
}, 300_000);
afterAll(async () => {
  await suite?.close();
}, 60_000);

test('baseline: every run succeeds undisturbed', async () => {
  baselines = await baselineRounds(suite, rng, log);
  const runs = Object.values(baselines).flatMap((b) => b!.runs);
  expect(runs.map((r) => r.error ?? 'ok')).toEqual(runs.map(() => 'ok'));
}, 600_000);

describe.each(ROUNDS.map(([g, f], i) => [i + 1, g, f] as const))('round %i: %s, %s', (round, group, fault) => {
  test('every run ends as it does undisturbed, no duplicate side effects', async () => {
    if (!baselines) throw new Error('no baseline (the baseline test failed)');
    const { report, problems } = await chaosRound(suite, baselines, group, round, fault, rng, { runTimeoutMs: RUN_TIMEOUT_MS, log });
    reports.push(report);
    expect({ seed, actions: report.actions, problems }).toEqual({ seed, actions: report.actions, problems: [] });
  }, RUN_TIMEOUT_MS + 120_000);
});

test('at least 20 runs were disturbed (in progress when a fault struck), every runbook at least once', () => {
  const disturbed = reports.flatMap((r) => r.runs.filter((x) => x.disturbed));
  expect(disturbed.length).toBeGreaterThanOrEqual(20);
  const runbooks = (runs: { key: string }[]) => [...new Set(runs.map((r) => r.key.split('#')[0]))].sort();
  expect(runbooks(disturbed)).toEqual(runbooks(Object.values(baselines).flatMap((b) => b!.runs)));
});
