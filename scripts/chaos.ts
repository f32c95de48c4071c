/**
 * More chaos than `npm test` runs: `npm run chaos -- --trials N [--kinds worker-kill,server-kill,partition] [--no-hosts] [--no-failover] [--json FILE]`.
 * N rounds with a random fault each (six runs of shipped runbooks per round, see
 * test/chaos/harness.ts), every one compared with an undisturbed baseline round. Prints the seed;
 * CHAOS_SEED=<n> replays the same choices. Exit 1 when any round differs from the baseline.
 * Needs root for the sshd test hosts (set 181) and PowerDNS/HAProxy/Prometheus for failover, like
 * `npm test`; --no-hosts skips configure-hosts, --no-failover the failover runs.
 */
import { writeFileSync } from 'node:fs';
import { Rng, chaosSeed, type FaultKind, type RoundReport } from '../test/chaos/harness';
import { baselineRound, chaosRound, setupChaos } from '../test/chaos/suite';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const trials = Number(arg('trials') ?? '5');
  if (!Number.isInteger(trials) || trials < 1) throw new Error('--trials N: a positive integer');
  const kinds = (arg('kinds') ?? 'worker-kill,server-kill,partition').split(',') as FaultKind[];
  for (const k of kinds) if (!['worker-kill', 'server-kill', 'partition'].includes(k)) throw new Error(`unknown fault kind ${k}`);
  const seed = chaosSeed();
  const rng = new Rng(seed);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  log(`chaos seed ${seed} (replay with CHAOS_SEED=${seed}); ${trials} rounds of ${kinds.join('/')}`);
  if (process.env.CHAOS_TEST_HEARTBEAT) log(`CHAOS_TEST_HEARTBEAT=${process.env.CHAOS_TEST_HEARTBEAT}: steps without a heartbeatTimeout get one (not the shipped settings)`);

  const suite = await setupChaos({ hosts: !process.argv.includes('--no-hosts'), failover: !process.argv.includes('--no-failover'), log });
  const reports: RoundReport[] = [];
  let bad = 0;
  try {
    const baseline = await baselineRound(suite, rng, log);
    for (let round = 1; round <= trials; round++) {
      const { report, problems } = await chaosRound(suite, baseline, round, rng.pick(kinds), rng, { log });
      reports.push(report);
      if (problems.length) {
        bad++;
        log(`round ${round} DIFFERS from the undisturbed runs (seed ${seed}):\n  ${problems.join('\n  ')}`);
      }
    }
  } finally {
    await suite.close();
  }
  const disturbed = reports.flatMap((r) => r.runs).filter((r) => r.disturbed).length;
  const runs = reports.flatMap((r) => r.runs).length;
  log(`chaos: ${trials} rounds, ${runs} runs, ${disturbed} disturbed, ${bad} round(s) with differences; seed ${seed}`);
  const json = arg('json');
  if (json) writeFileSync(json, JSON.stringify({ seed, reports }, null, 2));
  return bad ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`chaos: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
