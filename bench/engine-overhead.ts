/**
 * Engine overhead benchmark: what does running a runbook through the generic interpreter cost,
 * compared with a hand-written Temporal workflow doing the same activity calls?
 *
 *   npx tsx bench/engine-overhead.ts [--check]
 *
 * (a)/(b) a 100-step `core.noop` runbook vs bench/workflows/handwritten.ts calling `core.noop`
 *         100 times with the same activity options; one warm-up each, then 5 runs each, alternating.
 *         Also the floor: the same 100 calls as local activities (informational, not a target).
 * (c)     500 concurrent 10-step noop runbooks on one fresh worker: time to finish all and the
 *         worker process's peak RSS (read from /proc, so the client is not counted).
 *
 * Starts its own `temporal server start-dev` (headless, free port) and stops it at the end.
 * Writes bench/results/engine-<date>.json. See bench/README.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { buildRegistry } from '../activities/registry';
import { resolveParams } from '../dsl/params';
import type { Runbook } from '../dsl/schema';
import { validateRunbookText } from '../dsl/validate';
import { startDevServer, type DevServer } from '../lib/dev-server';
import { loadConnectionConfig } from '../lib/connect';
import { findTemporalCli, temporalCliVersion } from '../lib/temporal-cli';
import { INTERPRETER_WORKFLOW, type RunInput } from '../workflows/definitions';

const HANDWRITTEN_WORKFLOW = 'handwrittenNoops';
const LOCAL_WORKFLOW = 'localActivityNoops';
const REPO = path.resolve(__dirname, '..');

const num = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
};
const CFG = {
  steps: num('BENCH_STEPS', 100),
  runs: num('BENCH_RUNS', 5),
  concurrentRuns: num('BENCH_CONCURRENT', 500),
  concurrentSteps: num('BENCH_CONCURRENT_STEPS', 10),
  /** What phase (c) runs: the interpreter (default), or the hand-written baseline for comparison. */
  concurrentKind: (process.env.BENCH_CONCURRENT_KIND === 'handwritten' ? 'handwritten' : 'interpreter') as 'interpreter' | 'handwritten',
  /** Workflow starts in flight at once while launching phase (c). */
  startConcurrency: 50,
  rssSampleMs: 100,
};
/** No BENCH_* overrides (other than BENCH_OUT): the run is comparable with the committed results. */
const isDefault = !Object.keys(process.env).some((k) => k.startsWith('BENCH_') && k !== 'BENCH_OUT');
/** Runs on another server (BENCH_TEMPORAL=env) are saved beside the default ones, named for it. */
const OTHER_SERVER = process.env.BENCH_TEMPORAL === 'env';
const TARGET = { ratio: 1.15, peakRssBytes: 1024 ** 3 };
const CHECK = process.argv.includes('--check');

// ---------------------------------------------------------------------------------------------
// Cleanup: the dev server and worker processes never outlive the benchmark.

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) await fn().catch((e) => console.error(`cleanup: ${e?.message ?? e}`));
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping worker and dev server...`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// /proc readers (Linux): memory and CPU time of the worker and server processes.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function procMem(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** User + system CPU milliseconds of a process (all its threads). */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14 and 15: utime, stime
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Worker child process (bench/worker-process.ts).

interface WorkerProc {
  pid: number;
  settings: Record<string, unknown>;
  stop(): Promise<void>;
}

async function startWorker(address: string, taskQueue: string): Promise<WorkerProc> {
  // `node --import tsx` (not `npx tsx`) so the pid we sample is the worker itself, not a wrapper.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'worker-process.ts')], {
    cwd: REPO,
    env: { ...process.env, BENCH_ADDRESS: address, BENCH_TASK_QUEUE: taskQueue },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (exited) return;
    child.stdin?.end();
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exit;
    clearTimeout(t);
  };
  cleanups.push(stop);
  const hardKill = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', hardKill);

  const ready = await new Promise<{ pid: number; settings: Record<string, unknown> }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('bench worker did not start within 180s')), 180_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return void process.stderr.write(`[worker] ${line}\n`);
      }
      if (msg.ready) {
        clearTimeout(t);
        resolve(msg);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`bench worker exited with code ${code} before it was ready`));
    });
  });
  return { pid: child.pid!, settings: ready.settings, stop };
}

// ---------------------------------------------------------------------------------------------
// Runbooks and runs.

function noopRunbook(name: string, steps: number): Runbook {
  const body = Array.from({ length: steps }, (_, i) => `    - id: s${i + 1}\n      action: core.noop\n      with: { value: ${i + 1} }\n`).join('');
  const yaml = `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name} }\nspec:\n  steps:\n${body}`;
  const { runbook, diagnostics } = validateRunbookText(`${name}.yaml`, yaml, { actions: buildRegistry() });
  if (!runbook) throw new Error(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return runbook;
}

function runInput(rb: Runbook): RunInput {
  const { values, errors } = resolveParams(rb, {});
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return { runbook: rb, params: values };
}

type Kind = 'interpreter' | 'handwritten' | 'local';

interface HistoryStats {
  events: number;
  bytes: number;
  workflowTasks: number;
  activities: number;
  /** Server-side time from WorkflowExecutionStarted to the close event. */
  serverMs: number;
  /** Sum over workflow tasks of started -> completed: worker-side processing plus one RPC round trip. */
  wftProcessingMs: number;
  /** Sum over workflow tasks of scheduled -> started (queueing/poll latency). */
  wftQueueMs: number;
  /** Sum over activities of scheduled -> started. */
  activityQueueMs: number;
  /** Sum over activities of started -> completed. */
  activityRunMs: number;
}

interface RunSample {
  kind: Kind;
  wallMs: number;
  workerCpuMs: number;
  serverCpuMs: number;
  history: HistoryStats;
}

const ET = temporal.api.enums.v1.EventType;
const tsMs = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

async function historyStats(h: WorkflowHandle): Promise<HistoryStats> {
  const hist = await h.fetchHistory();
  const events = hist.events ?? [];
  const at = new Map<number, number>();
  const s: HistoryStats = { events: events.length, bytes: temporal.api.history.v1.History.encode(hist).finish().length, workflowTasks: 0, activities: 0, serverMs: 0, wftProcessingMs: 0, wftQueueMs: 0, activityQueueMs: 0, activityRunMs: 0 };
  for (const e of events) {
    const t = tsMs(e.eventTime);
    at.set(Number(e.eventId), t);
    switch (e.eventType) {
      case ET.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        s.wftQueueMs += t - at.get(Number(e.workflowTaskStartedEventAttributes!.scheduledEventId))!;
        break;
      case ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        s.workflowTasks++;
        s.wftProcessingMs += t - at.get(Number(e.workflowTaskCompletedEventAttributes!.startedEventId))!;
        break;
      case ET.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        s.activityQueueMs += t - at.get(Number(e.activityTaskStartedEventAttributes!.scheduledEventId))!;
        break;
      case ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        s.activities++;
        s.activityRunMs += t - at.get(Number(e.activityTaskCompletedEventAttributes!.startedEventId))!;
        break;
    }
  }
  if (events.length) s.serverMs = tsMs(events[events.length - 1].eventTime) - tsMs(events[0].eventTime);
  return s;
}

let seq = 0;
async function runOnce(client: Client, taskQueue: string, kind: Kind, input: RunInput, steps: number, workerPid: number, serverPid: number): Promise<RunSample> {
  const workflowId = `bench-${kind}-${Date.now().toString(36)}-${seq++}`;
  const cpu0 = procCpuMs(workerPid);
  const scpu0 = procCpuMs(serverPid);
  const t0 = performance.now();
  const h =
    kind === 'interpreter'
      ? await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue, workflowId, args: [input] })
      : await client.workflow.start(kind === 'local' ? LOCAL_WORKFLOW : HANDWRITTEN_WORKFLOW, { taskQueue, workflowId, args: [steps] });
  await h.result();
  const wallMs = performance.now() - t0;
  const workerCpuMs = procCpuMs(workerPid) - cpu0;
  const serverCpuMs = procCpuMs(serverPid) - scpu0;
  return { kind, wallMs, workerCpuMs, serverCpuMs, history: await historyStats(h) };
}

async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const mib = (b: number) => r1(b / 1024 ** 2);

function summarize(samples: RunSample[]) {
  const m = (f: (s: RunSample) => number) => r1(median(samples.map(f)));
  return {
    runs: samples.length,
    medianWallMs: m((s) => s.wallMs),
    minWallMs: r1(Math.min(...samples.map((s) => s.wallMs))),
    maxWallMs: r1(Math.max(...samples.map((s) => s.wallMs))),
    wallMs: samples.map((s) => r1(s.wallMs)),
    medianWorkerCpuMs: m((s) => s.workerCpuMs),
    medianServerCpuMs: m((s) => s.serverCpuMs),
    medianServerSideMs: m((s) => s.history.serverMs),
    medianWftProcessingMs: m((s) => s.history.wftProcessingMs),
    medianWftQueueMs: m((s) => s.history.wftQueueMs),
    medianActivityQueueMs: m((s) => s.history.activityQueueMs),
    medianActivityRunMs: m((s) => s.history.activityRunMs),
    historyEvents: samples[0].history.events,
    historyBytes: samples[0].history.bytes,
    workflowTasks: samples[0].history.workflowTasks,
    activities: samples[0].history.activities,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date();
  const tAll = performance.now();
  // Other work on the machine skews every figure here (2 cores are easily saturated): record it.
  const loadAtStart = os.loadavg().map(r1);
  if (loadAtStart[0] > os.cpus().length / 2)
    console.warn(`warning: load average ${loadAtStart.join(' ')} on ${os.cpus().length} CPUs before starting; results will be noisy`);
  const cli = await findTemporalCli();
  let server: Pick<DevServer, 'address' | 'pid'>;
  // BENCH_TEMPORAL=env: the server the TEMPORAL_* settings name, TLS included (e.g. after
  // `eval "$(scripts/prodstack env)"`), to measure the production-shaped cluster.
  const fromEnv = process.env.BENCH_TEMPORAL === 'env' ? loadConnectionConfig() : undefined;
  const external = fromEnv?.address ?? process.env.BENCH_TEMPORAL_ADDRESS;
  if (external) {
    // For experiments only (e.g. a server started with other dynamic config): its CPU/RSS are not sampled.
    server = { address: external, pid: -1 };
    console.log(`Using the Temporal server at ${external} (BENCH_TEMPORAL_ADDRESS)`);
  } else {
    const serverLog = path.join(os.tmpdir(), `runwright-bench-server-${process.pid}.log`);
    console.log(`Starting temporal dev server (${cli}, log ${serverLog})...`);
    const dev = await startDevServer({ cli, headless: true, logFile: serverLog });
    cleanups.push(() => dev.stop());
    server = dev;
    console.log(`  server ${server.address} (pid ${server.pid})`);
  }

  const connection = await Connection.connect({ address: server.address, tls: fromEnv?.tls });
  cleanups.push(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });

  // ---- (a)/(b): sequential overhead ----
  const queueAB = `bench-overhead-${process.pid}`;
  console.log(`Starting worker for (a)/(b) on ${queueAB} (bundles workflows)...`);
  const wAB = await startWorker(server.address, queueAB);
  console.log(`  worker pid ${wAB.pid}: ${JSON.stringify(wAB.settings)}`);
  const bigInput = runInput(noopRunbook(`bench-noop-${CFG.steps}`, CFG.steps));

  const run = (kind: Kind) => runOnce(client, queueAB, kind, bigInput, CFG.steps, wAB.pid, server.pid);
  console.log(`(a)/(b) ${CFG.steps} sequential core.noop steps: warm-up...`);
  const warm = { interpreter: await run('interpreter'), handwritten: await run('handwritten'), local: await run('local') };
  const samples: Record<Kind, RunSample[]> = { interpreter: [], handwritten: [], local: [] };
  for (let i = 0; i < CFG.runs; i++) {
    // Alternate which kind goes first in each pair (I H, H I, I H, ...) so drift hits both equally;
    // the local-activity floor runs last, apart from the pair being compared.
    const order: Kind[] = i % 2 === 0 ? ['interpreter', 'handwritten', 'local'] : ['handwritten', 'interpreter', 'local'];
    for (const kind of order) {
      const s = await run(kind);
      samples[kind].push(s);
      console.log(`  run ${i + 1}/${CFG.runs} ${kind.padEnd(11)} ${s.wallMs.toFixed(0).padStart(6)} ms  (worker cpu ${s.workerCpuMs.toFixed(0)} ms, ${s.history.workflowTasks} workflow tasks)`);
    }
  }
  const interp = summarize(samples.interpreter);
  const hand = summarize(samples.handwritten);
  const local = summarize(samples.local);
  const ratio = interp.medianWallMs / hand.medianWallMs;
  await wAB.stop();

  // ---- (c): many concurrent runs on one fresh worker ----
  const queueC = `bench-concurrent-${process.pid}`;
  console.log(`Starting a fresh worker for (c) on ${queueC}...`);
  const wC = await startWorker(server.address, queueC);
  await new Promise((r) => setTimeout(r, 1000)); // let startup allocations settle before the idle reading
  const idle = procMem(wC.pid);
  let peakRss = idle?.rss ?? 0;
  let serverPeakRss = procMem(server.pid)?.rss ?? 0;
  const rssSeries: number[] = [];
  const sampler = setInterval(() => {
    const m = procMem(wC.pid);
    if (m) {
      peakRss = Math.max(peakRss, m.rss);
      rssSeries.push(m.rss);
    }
    serverPeakRss = Math.max(serverPeakRss, procMem(server.pid)?.rss ?? 0);
  }, CFG.rssSampleMs);

  const smallInput = runInput(noopRunbook(`bench-noop-${CFG.concurrentSteps}`, CFG.concurrentSteps));
  console.log(`(c) ${CFG.concurrentRuns} concurrent ${CFG.concurrentKind} runs of ${CFG.concurrentSteps} noop steps...`);
  const cpuC0 = procCpuMs(wC.pid);
  const serverCpuC0 = procCpuMs(server.pid);
  const clientCpuC0 = process.cpuUsage();
  const t0 = performance.now();
  const startedAtMs: number[] = [];
  const doneAtMs: number[] = [];
  let done = 0;
  const progress = setInterval(() => process.stdout.write(`  ${done}/${CFG.concurrentRuns} finished, worker rss ${mib(procMem(wC.pid)?.rss ?? 0)} MiB\n`), 5000);
  let launchMs = 0;
  try {
    const tag = Date.now().toString(36);
    const waits: Promise<void>[] = [];
    await pool(
      Array.from({ length: CFG.concurrentRuns }, (_, i) => i),
      CFG.startConcurrency,
      async (i) => {
        const workflowId = `bench-c-${tag}-${i}`;
        const h =
          CFG.concurrentKind === 'interpreter'
            ? await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: queueC, workflowId, args: [smallInput] })
            : await client.workflow.start(HANDWRITTEN_WORKFLOW, { taskQueue: queueC, workflowId, args: [CFG.concurrentSteps] });
        startedAtMs[i] = performance.now();
        waits.push(
          h.result().then(() => {
            doneAtMs[i] = performance.now();
            done++;
          }),
        );
      },
    );
    launchMs = performance.now() - t0;
    await Promise.all(waits);
  } finally {
    clearInterval(progress);
  }
  const totalMs = performance.now() - t0;
  const workerCpuC = procCpuMs(wC.pid) - cpuC0;
  const serverCpuC = procCpuMs(server.pid) - serverCpuC0;
  const clientCpu = process.cpuUsage(clientCpuC0);
  clearInterval(sampler);
  const finalMem = procMem(wC.pid);
  peakRss = Math.max(peakRss, finalMem?.rss ?? 0);
  const vmHwm = finalMem?.hwm ?? NaN;
  await wC.stop();
  const latencies = startedAtMs.map((s, i) => doneAtMs[i] - s);

  const concurrent = {
    kind: CFG.concurrentKind,
    runs: CFG.concurrentRuns,
    stepsPerRun: CFG.concurrentSteps,
    totalMs: r1(totalMs),
    launchMs: r1(launchMs),
    runsPerSecond: r1((CFG.concurrentRuns * 1000) / totalMs),
    activitiesPerSecond: r1((CFG.concurrentRuns * CFG.concurrentSteps * 1000) / totalMs),
    runLatencyMs: { p50: r1(pct(latencies, 50)), p95: r1(pct(latencies, 95)), max: r1(Math.max(...latencies)) },
    // CPU spent during the phase by each party (2 cores = 2000 ms per second at most).
    workerCpuMs: r1(workerCpuC),
    serverCpuMs: r1(serverCpuC),
    clientCpuMs: r1((clientCpu.user + clientCpu.system) / 1000),
    worker: {
      pid: wC.pid,
      idleRssMiB: mib(idle?.rss ?? NaN),
      peakRssMiB: mib(peakRss),
      vmHwmMiB: mib(vmHwm),
      rssSamples: rssSeries.length,
      settings: wC.settings,
    },
    serverPeakRssMiB: mib(serverPeakRss),
  };
  const peakBytes = Math.max(peakRss, Number.isFinite(vmHwm) ? vmHwm : 0);

  const verdict = {
    ratio: r3(ratio),
    ratioTarget: TARGET.ratio,
    ratioOk: ratio <= TARGET.ratio,
    peakRssMiB: mib(peakBytes),
    peakRssTargetMiB: mib(TARGET.peakRssBytes),
    peakRssOk: peakBytes <= TARGET.peakRssBytes,
  };

  // ---- report ----
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log('');
  console.log(`Sequential: ${CFG.steps} core.noop steps, median of ${CFG.runs} runs (after 1 warm-up each)`);
  console.log(`  ${'kind'.padEnd(12)}${pad('median ms', 10)}${pad('min', 8)}${pad('max', 8)}${pad('wkr cpu', 9)}${pad('WFT ms', 8)}${pad('WFTs', 6)}${pad('events', 8)}${pad('hist KiB', 10)}`);
  for (const [k, s] of [['interpreter', interp], ['handwritten', hand], ['local floor', local]] as const)
    console.log(
      `  ${k.padEnd(12)}${pad(s.medianWallMs, 10)}${pad(s.minWallMs, 8)}${pad(s.maxWallMs, 8)}${pad(s.medianWorkerCpuMs, 9)}${pad(s.medianWftProcessingMs, 8)}${pad(s.workflowTasks, 6)}${pad(s.historyEvents, 8)}${pad(r1(s.historyBytes / 1024), 10)}`,
    );
  console.log(`  ratio interpreter/handwritten: ${verdict.ratio} (target <= ${TARGET.ratio}) ${verdict.ratioOk ? 'OK' : 'ABOVE TARGET'}`);
  console.log(`  per step: interpreter ${r1(interp.medianWallMs / CFG.steps)} ms, handwritten ${r1(hand.medianWallMs / CFG.steps)} ms, local-activity floor ${r1(local.medianWallMs / CFG.steps)} ms (informational)`);
  console.log('');
  console.log(`Concurrent: ${CFG.concurrentRuns} ${CFG.concurrentKind} runs x ${CFG.concurrentSteps} core.noop steps, one worker`);
  console.log(`  all finished in ${(totalMs / 1000).toFixed(1)} s (${concurrent.runsPerSecond} runs/s, ${concurrent.activitiesPerSecond} activities/s); launching took ${(launchMs / 1000).toFixed(1)} s`);
  console.log(`  run latency p50 ${(concurrent.runLatencyMs.p50 / 1000).toFixed(1)} s, p95 ${(concurrent.runLatencyMs.p95 / 1000).toFixed(1)} s`);
  console.log(`  cpu: worker ${(workerCpuC / 1000).toFixed(1)} s, dev server ${(serverCpuC / 1000).toFixed(1)} s, bench client ${(concurrent.clientCpuMs / 1000).toFixed(1)} s`);
  console.log(`  worker RSS: idle ${concurrent.worker.idleRssMiB} MiB, peak ${concurrent.worker.peakRssMiB} MiB (sampled), VmHWM ${concurrent.worker.vmHwmMiB} MiB (target <= ${verdict.peakRssTargetMiB} MiB) ${verdict.peakRssOk ? 'OK' : 'ABOVE TARGET'}`);
  console.log(`  dev server peak RSS ${concurrent.serverPeakRssMiB} MiB (informational)`);

  const results = {
    benchmark: 'engine-overhead',
    startedAt: startedAt.toISOString(),
    durationS: r1((performance.now() - tAll) / 1000),
    env: {
      commit: git(['rev-parse', '--short', 'HEAD']),
      dirty: git(['status', '--porcelain', '--', 'workflows', 'dsl', 'activities', 'lib']) !== '',
      node: process.version,
      temporalSdk: require('@temporalio/worker/package.json').version,
      temporalCli: temporalCliVersion(cli),
      server: fromEnv ? `TEMPORAL_* settings: ${external}${fromEnv.tls ? ' (TLS)' : ''}` : external ? `external ${external}` : 'temporal server start-dev (lib/dev-server.ts)',
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memTotalMiB: mib(os.totalmem()),
      /** 1/5/15-minute load averages: well above 0 at the start means something else was running. */
      loadAvgAtStart: loadAtStart,
      loadAvgAtEnd: os.loadavg().map(r1),
      platform: `${os.platform()} ${os.release()}`,
    },
    config: { ...CFG, default: isDefault },
    sequential: {
      steps: CFG.steps,
      workerSettings: wAB.settings,
      warmupWallMs: { interpreter: r1(warm.interpreter.wallMs), handwritten: r1(warm.handwritten.wallMs), local: r1(warm.local.wallMs) },
      interpreter: interp,
      handwritten: hand,
      /** Hand-written, with the calls as local activities: the floor a step could cost (informational). */
      localActivityFloor: local,
      ratio: r3(ratio),
    },
    concurrent,
    verdict,
  };
  // Only default-configuration runs land in bench/results (committed); experiments go to the temp dir.
  const day = startedAt.toISOString().slice(0, 10);
  const file = process.env.BENCH_OUT
    ? path.resolve(process.env.BENCH_OUT)
    : OTHER_SERVER && Object.keys(process.env).every((k) => !k.startsWith('BENCH_') || k === 'BENCH_TEMPORAL')
      ? path.join(__dirname, 'results', `engine-prodstack-${day}.json`)
      : isDefault
      ? path.join(__dirname, 'results', `engine-${day}.json`)
      : path.join(os.tmpdir(), `runwright-engine-${day}-custom-${process.pid}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWrote ${path.relative(process.cwd(), file)} (total ${results.durationS} s; load average at start ${loadAtStart.join(' ')}, at end ${results.env.loadAvgAtEnd.join(' ')})`);
  if (CHECK && !(verdict.ratioOk && verdict.peakRssOk)) process.exitCode = 2;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

main()
  .catch((err) => {
    console.error(err?.stack ?? err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
