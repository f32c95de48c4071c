/**
 * The chaos suite shared by the jest test (test/chaos/chaos.test.ts) and `npm run chaos`
 * (scripts/chaos.ts): the stand-ins and test hosts, the stack, a baseline round per group, then
 * rounds with faults, each compared with its group's baseline.
 *
 * Two groups of scenarios, each round runs one: `short` (provision-vm, decommission-vm,
 * failover, configure-hosts: runs of seconds) and `long` (dr-drill, the Cluster API lifecycle,
 * the openstack-upgrade compute phase). They cannot share a round: the drill takes cluster-b's
 * cloud down and steers the same DNS/HAProxy/Octavia as the failover runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimEnv } from '../helpers/openstack';
import { startTestHosts, type TestHosts } from '../helpers/testhosts';
import { startKube, type KubeEnv } from '../helpers/kube';
import { CapiTestController } from '../helpers/capi-controller';
import { ChaosStack, Rng, compareToBaseline, runRound, type FaultKind, type RoundReport, type Scenario } from './harness';
import { failoverScenario, hostsScenario, openstackScenario } from './scenarios';
import { UPGRADE_HOST_NAMES, capiScenario, drillScenario, upgradeScenario } from './long-scenarios';
import { startActiveActive, type ActiveActive } from '../helpers/active-active';

/** Test-host sets for the chaos suite (181–189 are reserved for it): configure-hosts, openstack-upgrade. */
export const CHAOS_HOST_SET = 181;
export const CHAOS_UPGRADE_HOST_SET = 182;

export type GroupName = 'short' | 'long';

export interface ChaosSuite {
  stack: ChaosStack;
  groups: Partial<Record<GroupName, Scenario[]>>;
  close(): Promise<void>;
}

export interface ChaosOptions {
  /** configure-hosts (default true). */
  hosts?: boolean;
  /** failover on the active-active stand-ins (default true); dr-drill needs them too. */
  failover?: boolean;
  /** The long group's scenarios (default true each). */
  drill?: boolean;
  capi?: boolean;
  upgrade?: boolean;
  log?: (m: string) => void;
}

export async function setupChaos(opts: ChaosOptions = {}): Promise<ChaosSuite> {
  let os: SimEnv | undefined;
  let aa: ActiveActive | undefined;
  const hostSets: TestHosts[] = [];
  let kube: KubeEnv | undefined;
  let ctl: CapiTestController | undefined;
  let stack: ChaosStack | undefined;
  const reports = mkdtempSync(join(tmpdir(), 'rw-chaos-reports-'));
  const close = async () => {
    await stack?.close().catch(() => undefined);
    for (const th of hostSets) {
      try {
        th.down();
      } catch {
        /* best effort; the next `up` of the set cleans leftovers */
      }
    }
    await ctl?.stop().catch(() => undefined);
    await kube?.stop().catch(() => undefined);
    await aa?.stop().catch(() => undefined);
    await os?.close().catch(() => undefined);
    rmSync(reports, { recursive: true, force: true });
  };
  try {
    const short: Scenario[] = [];
    const long: Scenario[] = [];
    if (opts.failover ?? true) {
      // Its OpenStack stand-in serves the provision/decommission runs too (one stand-in per
      // process: the in-process OpenStack client reads OS_CLIENT_CONFIG_FILE).
      aa = await startActiveActive();
      short.push(openstackScenario(aa.os, { shared: true }), failoverScenario(aa));
      if (opts.drill ?? true) long.push(drillScenario(aa));
    } else {
      os = await startSim();
      short.push(openstackScenario(os));
    }
    if (opts.hosts ?? true) {
      const th = startTestHosts(CHAOS_HOST_SET, 2);
      hostSets.push(th);
      short.push(hostsScenario(th, join(th.dir, 'chaos')));
    }
    if (opts.capi ?? true) {
      kube = await startKube();
      // Machines ready after half a second each, so rollouts are under way when faults strike.
      ctl = new CapiTestController(kube.kc, { tickMs: 100, readyTicks: 5 }).start();
      long.push(capiScenario(kube, ctl));
    }
    if (opts.upgrade ?? true) {
      const th = startTestHosts(CHAOS_UPGRADE_HOST_SET, UPGRADE_HOST_NAMES.length);
      hostSets.push(th);
      long.push(upgradeScenario((aa?.os ?? os)!, th));
    }
    // The worker inherits this process's environment (PowerDNS key for the failover backends).
    stack = await ChaosStack.start({ workerEnv: { OS_CLIENT_CONFIG_FILE: (aa?.os ?? os)!.cloudsFile, RUNWRIGHT_REPORTS_DIR: reports }, log: opts.log });
    return { stack, groups: { short, ...(long.length ? { long } : {}) }, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface RoundOutcome {
  report: RoundReport;
  problems: string[];
}

export type Baselines = Partial<Record<GroupName, RoundReport>>;

/** Run one round of `group` with `fault` and compare it with that group's baseline. */
export async function chaosRound(
  s: ChaosSuite,
  baselines: Baselines,
  group: GroupName,
  round: number,
  fault: FaultKind,
  rng: Rng,
  o: { runTimeoutMs?: number; log?: (m: string) => void } = {},
): Promise<RoundOutcome> {
  const baseline = baselines[group];
  if (!baseline) throw new Error(`no baseline for the ${group} group`);
  const report = await runRound({ stack: s.stack, scenarios: s.groups[group]!, round, fault, rng, runTimeoutMs: o.runTimeoutMs, log: o.log });
  return { report, problems: compareToBaseline(baseline, report) };
}

/** An undisturbed round (round 0) of each group; throws if any run fails. */
export async function baselineRounds(s: ChaosSuite, rng: Rng, log?: (m: string) => void): Promise<Baselines> {
  const out: Baselines = {};
  for (const [group, scenarios] of Object.entries(s.groups) as [GroupName, Scenario[]][]) {
    const report = await runRound({ stack: s.stack, scenarios, round: 0, fault: 'none', rng, runTimeoutMs: 300_000, log });
    const failed = report.runs.filter((r) => r.error);
    if (failed.length) throw new Error(`the undisturbed ${group} baseline failed: ${failed.map((r) => `${r.key}: ${r.error}`).join('; ')}`);
    out[group] = report;
  }
  return out;
}
