/**
 * Load and faults on the production-shaped cluster (issue 18, item 3):
 *
 *   npx tsx bench/cluster-load.ts [--runs 2000] [--approvals 50]
 *
 * The same load twice in one run, first on the two-node Temporal cluster of scripts/prodstack
 * (PostgreSQL, mTLS), then on the dev server (SQLite), each with three `runwright worker`
 * processes (the product's own worker, as a user starts it):
 *   - RUNS runbook runs of 10 core.noop steps; APPROVALS of them wait at an approval gate after
 *     step 5, answered with `runwright approve` (the CLI, as a user types it);
 *   - once a third of the runs have finished: a server process is killed with -9 (prodstack node2;
 *     the dev server, restarted on the same SQLite file) and a worker with SIGKILL; both are
 *     started again 5 s later.
 * Then every run's history is read: each must have succeeded, with each step's activity completed
 * exactly once. Reported: throughput, p50/p99 step latency (one step's activity completed to the
 * next one's, from the histories), worker peak RSS (sampled from /proc), for both servers.
 * Writes bench/results/cluster-load-<date>.json. Brings prodstack up if it is not.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { buildRegistry } from '../activities/registry';
import { validateRunbookText } from '../dsl/validate';
import { freePort, startDevServer, type DevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { INTERPRETER_WORKFLOW, statusQuery, type RunInput } from '../workflows/definitions';
import { nodeConnection, nodeEnv, prodstack, stackPid, stackRuns } from '../test/prodstack/helpers';

const REPO = path.resolve(__dirname, '..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 2000);
const APPROVALS = arg('approvals', 50);
const STEPS = 10;
const START_CONCURRENCY = 40;

const cleanups: (() => unknown)[] = [];
const cleanup = async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().then(() => process.exit(130)));

function runbook(gate: boolean) {
  const steps = Array.from({ length: STEPS }, (_, i) => `    - id: s${i + 1}\n      action: core.noop\n      with: { value: ${i + 1} }\n`);
  if (gate) steps.splice(5, 0, `    - id: gate\n      approval: { message: "load test gate", timeout: 30m }\n`);
  const yaml = `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: load-${gate ? 'gated' : 'plain'} }\nspec:\n  steps:\n${steps.join('')}`;
  const r = validateRunbookText('load.yaml', yaml, { actions: buildRegistry() });
  if (!r.runbook) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return r.runbook;
}

/** `runwright worker` as a process, with the env a user would give it. */
function startWorker(env: Record<string, string>): { proc: ChildProcess; peak: () => number; stop: () => Promise<void> } {
  const proc = spawn(process.execPath, [path.join(REPO, 'bin', 'runwright'), 'worker'], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let peak = 0;
  const t = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* exited */
    }
  }, 200);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    clearInterval(t);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const k = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(k);
  };
  cleanups.push(stop);
  return { proc, peak: () => peak, stop };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const ET = temporal.api.enums.v1.EventType;
const ms = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

interface Target {
  name: string;
  /** Env for workers and the CLI; the first worker and the client use the first. */
  workerEnvs: Record<string, string>[];
  connect(): Promise<Connection>;
  killServer(): Promise<void>;
  restartServer(): Promise<void>;
}

async function drive(t: Target) {
  const queue = `load-${t.name}-${process.pid}`;
  const common = { RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_CODEC: 'off', RUNWRIGHT_REQUIRE_SIGNED: '0', RUNWRIGHT_SHUTDOWN_GRACE: '5s' };
  const envOf = (i: number) => ({ ...t.workerEnvs[i % t.workerEnvs.length], ...common });
  const workers = [0, 1, 2].map((i) => startWorker(envOf(i)));
  const peaks: number[] = [0, 0, 0];
  const connection = await t.connect();
  const client = new Client({ connection, namespace: 'default' });
  const plain = runbook(false);
  const gated = runbook(true);
  const ids = Array.from({ length: RUNS }, (_, i) => `load-${t.name}-${process.pid}-${i}`);
  const gatedIds = new Set(ids.filter((_, i) => i % Math.max(1, Math.floor(RUNS / Math.max(1, APPROVALS))) === 0).slice(0, APPROVALS));
  const actions: string[] = [];
  const t0 = performance.now();
  const note = (m: string) => (actions.push(`${((performance.now() - t0) / 1000).toFixed(1)}s ${m}`), console.log(`  [${t.name}] ${m}`));
  let finished = 0;
  let faulted = false;
  const results = new Map<string, 'ok' | string>();

  // Approvals: once a run waits at its gate (status query), `runwright approve` as a user types
  // it; two CLI processes at a time, so the CLI's start-up does not crowd out the load itself.
  let cliSlots = 2;
  const approve = async (id: string) => {
    const h = client.workflow.getHandle(id);
    for (let attempt = 0; attempt < 600; attempt++) {
      await sleep(1000);
      const st = await h.query(statusQuery).catch(() => undefined);
      if (!st?.pendingApprovals?.length) continue;
      while (cliSlots === 0) await sleep(100);
      cliSlots--;
      const ok = await promisify(execFile)(process.execPath, [path.join(REPO, 'bin', 'runwright'), 'approve', id, '--step', 'gate', '--as', 'bench'], { cwd: REPO, env: { ...process.env, ...envOf(0) }, timeout: 60_000 })
        .then(() => true, () => false)
        .finally(() => cliSlots++);
      if (ok) return;
    }
    throw new Error(`could not approve ${id}`);
  };

  const fault = async () => {
    faulted = true;
    note(`kill -9 server (${t.name}); SIGKILL worker 3`);
    workers[2].proc.kill('SIGKILL');
    peaks[2] = Math.max(peaks[2], workers[2].peak());
    await t.killServer();
    await sleep(5000);
    await t.restartServer();
    workers[2] = startWorker(envOf(2));
    note('server and worker 3 started again');
  };

  let next = 0;
  const faultDone: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: START_CONCURRENCY }, async () => {
      while (next < ids.length) {
        const id = ids[next++];
        const input: RunInput = { runbook: gatedIds.has(id) ? gated : plain, params: {} };
        for (;;) {
          try {
            const h = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: queue, workflowId: id, args: [input] });
            if (gatedIds.has(id)) void approve(id).catch((e) => results.set(id, String(e)));
            const res = (await h.result()) as { state?: string };
            results.set(id, res.state === 'succeeded' ? 'ok' : `state ${res.state}`);
            break;
          } catch (e: any) {
            // The server we talk to may be the one restarting: an already-started run is not restarted.
            if (/already started|AlreadyStarted/i.test(String(e?.message ?? e))) {
              const res = (await client.workflow.getHandle(id).result()) as { state?: string };
              results.set(id, res.state === 'succeeded' ? 'ok' : `state ${res.state}`);
              break;
            }
            if (/UNAVAILABLE|DEADLINE|ECONNREFUSED|Connection|transport/i.test(String(e?.message ?? e))) {
              await sleep(1000);
              continue;
            }
            results.set(id, String(e?.message ?? e));
            break;
          }
        }
        finished++;
        if (!faulted && finished >= RUNS / 3) faultDone.push(fault());
      }
    }),
  );
  await Promise.all(faultDone);
  const wallS = (performance.now() - t0) / 1000;
  for (const [i, w] of workers.entries()) peaks[i] = Math.max(peaks[i], w.peak());

  // Every run's history: succeeded, each step's activity completed exactly once.
  const gaps: number[] = [];
  const problems: string[] = [];
  for (const [id, r] of results) if (r !== 'ok') problems.push(`${id}: ${r}`);
  let k = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (k < ids.length) {
        const id = ids[k++];
        const hist = await client.workflow.getHandle(id).fetchHistory();
        const scheduled = new Map<number, string>();
        const completedIds: string[] = [];
        const times: number[] = [];
        for (const e of hist.events ?? []) {
          if (e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) scheduled.set(Number(e.eventId), e.activityTaskScheduledEventAttributes!.activityId!);
          if (e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
            const aid = scheduled.get(Number(e.activityTaskCompletedEventAttributes!.scheduledEventId))!;
            if (/^s\d+$/.test(aid)) completedIds.push(aid), times.push(ms(e.eventTime));
          }
        }
        const expected = Array.from({ length: STEPS }, (_, i) => `s${i + 1}`);
        if (JSON.stringify(completedIds) !== JSON.stringify(expected)) problems.push(`${id}: steps completed ${JSON.stringify(completedIds)}`);
        // Step latency: a step's completion to the next's, leaving out the wait at the gate.
        for (let i = 1; i < times.length; i++) if (!(gatedIds.has(id) && i === 5)) gaps.push(times[i] - times[i - 1]);
      }
    }),
  );
  await connection.close();
  for (const w of workers) await w.stop();
  return {
    target: t.name,
    runs: RUNS,
    approvals: gatedIds.size,
    wallS: r1(wallS),
    runsPerSecond: r1(RUNS / wallS),
    stepsPerSecond: r1((RUNS * STEPS) / wallS),
    stepLatencyMs: { p50: r1(pct(gaps, 50)), p99: r1(pct(gaps, 99)), samples: gaps.length },
    workerPeakRssMiB: peaks.map((p) => r1(p / 1024 ** 2)),
    actions,
    problems: problems.slice(0, 20),
    problemCount: problems.length,
  };
}

async function main(): Promise<void> {
  const load0 = os.loadavg().map(r1);
  // ---- the two-node cluster ----
  if (!stackRuns()) {
    console.log('scripts/prodstack up ...');
    prodstack(['up']);
  }
  const cluster: Target = {
    name: 'prodstack',
    workerEnvs: [nodeEnv('node1'), nodeEnv('node2'), nodeEnv('node1')],
    connect: () => Connection.connect(nodeConnection('node1')),
    killServer: async () => void process.kill(stackPid('node2'), 'SIGKILL'),
    restartServer: async () => void prodstack(['up']),
  };
  console.log(`${RUNS} runs x ${STEPS} steps (${APPROVALS} with an approval gate) on the two-node cluster, 3 workers...`);
  const a = await drive(cluster);
  console.log(JSON.stringify(a, null, 1));

  // ---- the dev server, same load and faults ----
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rw-load-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = await findTemporalCli();
  const port = await freePort();
  const dbFile = path.join(dir, 'temporal.db');
  let dev: DevServer = await startDevServer({ cli, port, dbFile, headless: true });
  cleanups.push(() => dev.stop());
  const devTarget: Target = {
    name: 'dev-server',
    workerEnvs: [{ TEMPORAL_ADDRESS: dev.address, TEMPORAL_NAMESPACE: 'default' }],
    connect: () => Connection.connect({ address: dev.address }),
    killServer: async () => void process.kill(dev.pid, 'SIGKILL'),
    restartServer: async () => {
      dev = await startDevServer({ cli, port, dbFile, headless: true });
    },
  };
  console.log(`the same on the dev server (SQLite file, restarted on it)...`);
  const b = await drive(devTarget);
  console.log(JSON.stringify(b, null, 1));
  await cleanup();

  const ok = a.problemCount === 0 && b.problemCount === 0;
  const out = {
    benchmark: 'cluster-load',
    startedAt: new Date().toISOString(),
    env: { node: process.version, cpus: os.cpus().length, loadAvgAtStart: load0, loadAvgAtEnd: os.loadavg().map(r1) },
    cluster: a,
    devServer: b,
    ratio: { throughput: r1((a.runsPerSecond / b.runsPerSecond) * 100) / 100, p50StepLatency: r1((a.stepLatencyMs.p50 / b.stepLatencyMs.p50) * 100) / 100 },
    verdict: { everyRunOnceAndSucceeded: ok },
  };
  const file = path.join(REPO, 'bench', 'results', `cluster-load-${new Date().toISOString().slice(0, 10)}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\ncluster: ${a.runsPerSecond} runs/s, step p50 ${a.stepLatencyMs.p50} ms p99 ${a.stepLatencyMs.p99} ms, worker peak RSS ${a.workerPeakRssMiB.join('/')} MiB, problems ${a.problemCount}`);
  console.log(`dev server: ${b.runsPerSecond} runs/s, step p50 ${b.stepLatencyMs.p50} ms p99 ${b.stepLatencyMs.p99} ms, worker peak RSS ${b.workerPeakRssMiB.join('/')} MiB, problems ${b.problemCount}`);
  console.log(`wrote ${file}`);
  if (!ok) process.exitCode = 1;
}

main().catch(async (e) => {
  console.error(e?.stack ?? e);
  await cleanup();
  process.exit(1);
});
