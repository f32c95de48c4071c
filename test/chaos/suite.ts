/**
 * The chaos suite shared by the jest test (test/chaos/chaos.test.ts) and `npm run chaos`
 * (scripts/chaos.ts): the stand-ins and test hosts, the stack, a baseline round, then rounds
 * with faults, each compared with the baseline.
 */
import { join } from 'node:path';
import { startSim, type SimEnv } from '../helpers/openstack';
import { startTestHosts, type TestHosts } from '../helpers/testhosts';
import { ChaosStack, Rng, compareToBaseline, runRound, type FaultKind, type RoundReport, type Scenario } from './harness';
import { failoverScenario, hostsScenario, openstackScenario } from './scenarios';
import { startActiveActive, type ActiveActive } from '../helpers/active-active';

/** Test-host set for the chaos suite (181–189 are reserved for it). */
export const CHAOS_HOST_SET = 181;

export interface ChaosSuite {
  stack: ChaosStack;
  scenarios: Scenario[];
  close(): Promise<void>;
}

export async function setupChaos(opts: { hosts?: boolean; failover?: boolean; log?: (m: string) => void } = {}): Promise<ChaosSuite> {
  let os: SimEnv | undefined;
  let aa: ActiveActive | undefined;
  let th: TestHosts | undefined;
  let stack: ChaosStack | undefined;
  const close = async () => {
    await stack?.close().catch(() => undefined);
    try {
      th?.down();
    } catch {
      /* best effort; the next `up` of the set cleans leftovers */
    }
    await aa?.stop().catch(() => undefined);
    await os?.close().catch(() => undefined);
  };
  try {
    const scenarios: Scenario[] = [];
    if (opts.failover ?? true) {
      // Its OpenStack stand-in serves the provision/decommission runs too (one stand-in per
      // process: the in-process OpenStack client reads OS_CLIENT_CONFIG_FILE).
      aa = await startActiveActive();
      scenarios.push(openstackScenario(aa.os, { shared: true }), failoverScenario(aa));
    } else {
      os = await startSim();
      scenarios.push(openstackScenario(os));
    }
    if (opts.hosts ?? true) {
      th = startTestHosts(CHAOS_HOST_SET, 2);
      scenarios.push(hostsScenario(th, join(th.dir, 'chaos')));
    }
    // The worker inherits this process's environment (PowerDNS key for the failover backends).
    stack = await ChaosStack.start({ workerEnv: { OS_CLIENT_CONFIG_FILE: (aa?.os ?? os)!.cloudsFile }, log: opts.log });
    return { stack, scenarios, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface RoundOutcome {
  report: RoundReport;
  problems: string[];
}

/** Run one round with `fault` and compare it with `baseline`. */
export async function chaosRound(s: ChaosSuite, baseline: RoundReport, round: number, fault: FaultKind, rng: Rng, o: { runTimeoutMs?: number; log?: (m: string) => void } = {}): Promise<RoundOutcome> {
  const report = await runRound({ stack: s.stack, scenarios: s.scenarios, round, fault, rng, runTimeoutMs: o.runTimeoutMs, log: o.log });
  return { report, problems: compareToBaseline(baseline, report) };
}

export async function baselineRound(s: ChaosSuite, rng: Rng, log?: (m: string) => void): Promise<RoundReport> {
  const report = await runRound({ stack: s.stack, scenarios: s.scenarios, round: 0, fault: 'none', rng, runTimeoutMs: 120_000, log });
  const failed = report.runs.filter((r) => r.error);
  if (failed.length) throw new Error(`the undisturbed baseline failed: ${failed.map((r) => `${r.key}: ${r.error}`).join('; ')}`);
  return report;
}
