/**
 * More chaos than `npm test` runs: `npm run chaos -- --trials N [--kinds worker-kill,server-kill,partition]
 * [--groups short,long] [--no-hosts] [--no-failover] [--no-drill] [--no-capi] [--no-upgrade] [--json FILE]`.
 * N rounds with a random fault each, taking the groups in turn (short: provision-vm,
 * decommission-vm, failover, configure-hosts; long: dr-drill, the four capi-cluster-* runbooks,
 * the openstack-upgrade compute phase; see test/chaos/suite.ts), every one compared with its
 * group's undisturbed baseline round. Prints the seed; CHAOS_SEED=<n> replays the same choices.
 * Exit 1 when any round differs from the baseline.
 * Needs root for the sshd test hosts (sets 181, 182), PowerDNS/HAProxy/Prometheus for failover
 * and the drill, kube-apiserver/etcd (scripts/kube-binaries) for Cluster API, like `npm test`;
 * --no-hosts skips configure-hosts, --no-failover the failover runs and the drill, --no-drill,
 * --no-capi, --no-upgrade the long group's scenarios.
 */
import { writeFileSync } from 'node:fs';
import { Rng, chaosSeed, type FaultKind, type RoundReport } from '../test/chaos/harness';
import { baselineRounds, chaosRound, setupChaos, type GroupName } from '../test/chaos/suite';

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

  const wanted = (arg('groups') ?? 'short,long').split(',') as GroupName[];
  for (const g of wanted) if (!['short', 'long'].includes(g)) throw new Error(`unknown group ${g}`);
  const flag = (name: string) => !process.argv.includes(`--no-${name}`);
  const long = wanted.includes('long');
  const suite = await setupChaos({ hosts: flag('hosts'), failover: flag('failover'), drill: long && flag('drill'), capi: long && flag('capi'), upgrade: long && flag('upgrade'), log });
  if (!wanted.includes('short')) delete suite.groups.short;
  const groups = Object.keys(suite.groups) as GroupName[];
  const reports: RoundReport[] = [];
  let bad = 0;
  try {
    const baselines = await baselineRounds(suite, rng, log);
    for (let round = 1; round <= trials; round++) {
      const group = groups[(round - 1) % groups.length];
      const { report, problems } = await chaosRound(suite, baselines, group, round, rng.pick(kinds), rng, { log });
      reports.push(report);
      if (problems.length) {
        bad++;
        log(`round ${round} (${group}) DIFFERS from the undisturbed runs (seed ${seed}):\n  ${problems.join('\n  ')}`);
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
