/**
 * Chaos harness: shipped runbooks run on a dedicated Temporal dev server (SQLite file) and a
 * worker in its own process that reaches the server through a TCP proxy; faults hit them at
 * seeded random moments:
 * - `worker-kill`: SIGKILL the worker process (one or two times), a new one starts (as a
 *   supervisor would) after a short random pause;
 * - `server-kill`: kill -9 the Temporal server and start it again on the same SQLite file/port;
 * - `partition`: the proxy cuts the worker off from the server for 30 s (drop or blackhole).
 * A round starts several runs at once (staggered), injects one fault plan, waits for every run
 * and compares each run's final state with the same run undisturbed (the baseline round), and
 * the side effects the round caused (e.g. OpenStack resources created) with the baseline's.
 *
 * Runs that ask for approvals get them from the harness (`approve`), as an operator would give
 * them; a run can hold the fault plan back until it reaches a phase (`armed`, e.g. the compute
 * phase of openstack-upgrade), the round's other runs then start.
 *
 * Default settings only: runbooks run exactly as shipped. CHAOS_TEST_HEARTBEAT=5s (local runs
 * before the default-heartbeat change is merged, never in committed tests) gives every action
 * step without its own heartbeatTimeout that one, so a killed worker's step is retried in seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../lib/dev-server';
import { findTemporalCli } from '../../lib/temporal-cli';
import { INTERPRETER_WORKFLOW, decideUpdate, statusQuery, type RunInput, type RunResult, type RunStatus } from '../../workflows/definitions';
import { connectTestEnv, singleUserWorkerEnv, type TestEnv } from '../helpers/temporal';
import { startProxy, type ChaosProxy, type CutMode } from './proxy';

const ROOT = resolve(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------
// Seeded randomness: print the seed; CHAOS_SEED=<n> replays the same fault plan.

export function chaosSeed(): number {
  const env = process.env.CHAOS_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new Error(`CHAOS_SEED must be a non-negative integer, not ${env}`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32: small, fast, good enough to pick moments and fault kinds reproducibly. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
}

// ---------------------------------------------------------------------------------------------
// The stack: server (SQLite), proxy, worker process.

export interface StackOptions {
  /** Environment for the worker process (e.g. OS_CLIENT_CONFIG_FILE of the OpenStack stand-in). */
  workerEnv?: Record<string, string>;
  /** Extra action modules for the worker (RUNWRIGHT_ACTIONS). */
  actionModules?: string[];
  log?: (m: string) => void;
}

export class ChaosStack {
  server!: DevServer;
  proxy!: ChaosProxy;
  env!: TestEnv;
  worker?: ChildProcess;
  /** Workers that died without being killed by us (restarted by the supervisor). */
  unexpectedWorkerExits = 0;
  readonly queue = `chaos-${process.pid}-${Date.now().toString(36)}`;
  private dir = mkdtempSync(join(tmpdir(), 'rw-chaos-'));
  private cli!: string;
  private allWorkers: ChildProcess[] = [];
  private closing = false;
  private log: (m: string) => void;

  private constructor(private readonly opts: StackOptions) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
  }

  static async start(opts: StackOptions = {}): Promise<ChaosStack> {
    const s = new ChaosStack(opts);
    try {
      s.cli = process.env.RUNWRIGHT_TEST_TEMPORAL_CLI ?? (await findTemporalCli({ log: s.log }));
      s.server = await startDevServer({ cli: s.cli, dbFile: join(s.dir, 'temporal.db'), headless: true, logFile: join(s.dir, 'temporal.log') });
      s.proxy = await startProxy('127.0.0.1', s.server.port);
      s.env = await connectTestEnv(s.server.address);
      await s.startWorker();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Start a worker process and wait until it polls (its start line on stdout). */
  async startWorker(): Promise<void> {
    // node itself (not the tsx launcher, which forks a child) so SIGKILL hits the worker.
    const w = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...this.opts.workerEnv,
        TEMPORAL_ADDRESS: this.proxy.address,
        TEMPORAL_NAMESPACE: 'default',
        RUNWRIGHT_TASK_QUEUE: this.queue,
        RUNWRIGHT_ACTIONS: (this.opts.actionModules ?? []).join(','),
        // Runs are started unsigned by the harness (a single-user worker, not a shared one).
        ...singleUserWorkerEnv(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.allWorkers.push(w);
    this.worker = w;
    let stderr = '';
    w.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const ready = new Promise<void>((res, rej) => {
      let out = '';
      w.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('runwright worker:')) res();
      });
      w.once('exit', (code, sig) => rej(new Error(`worker exited (${code ?? sig}) before it was ready: ${stderr}`)));
    });
    ready.catch(() => undefined); // a later exit is the supervisor's business, not an unhandled rejection
    // A worker that dies on its own (e.g. gave up on an unreachable server) is restarted, as a
    // supervisor would; counted so a test can see it.
    w.once('exit', (code, sig) => {
      if (this.closing || (w as { chaosKilled?: boolean }).chaosKilled) return;
      this.unexpectedWorkerExits++;
      this.log(`chaos: worker ${w.pid} exited by itself (${code ?? sig}): ${stderr.trim().split('\n').slice(-3).join(' | ')}; restarting it`);
      if (this.worker === w) void this.startWorker().catch((e) => this.log(`chaos: worker restart failed: ${e.message}`));
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([ready, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('worker not ready in 120 s')), 120_000)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  async killWorker(): Promise<void> {
    const w = this.worker;
    if (!w || w.exitCode !== null || w.signalCode !== null) return;
    (w as { chaosKilled?: boolean }).chaosKilled = true;
    const exited = new Promise((r) => w.once('exit', r));
    w.kill('SIGKILL');
    await exited;
    this.worker = undefined;
  }

  /** kill -9 the server, then start it again on the same SQLite file and port. */
  async killServer(): Promise<void> {
    process.kill(this.server.pid, 'SIGKILL');
    await this.server.stop(); // resolves once it has exited
    this.server = await startDevServer({ cli: this.cli, dbFile: join(this.dir, 'temporal.db'), headless: true, port: this.server.port, logFile: join(this.dir, 'temporal.log') });
  }

  async partition(ms: number, mode: CutMode): Promise<void> {
    this.proxy.cut(mode);
    try {
      await sleep(ms);
    } finally {
      this.proxy.heal();
    }
  }

  start(input: RunInput, workflowId: string): Promise<WorkflowHandle> {
    return this.env.client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: this.queue, workflowId, args: [input] });
  }

  /**
   * The run's result. The client's own calls fail while the server is down: keep asking (the
   * run's outcome is in the server, not in this call) until `timeoutMs`.
   */
  async result(workflowId: string, timeoutMs: number): Promise<RunResult> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      // result() is a long poll that can block for as long as the run takes: bound each wait.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now()))));
      try {
        const r = await Promise.race([this.env.client.workflow.getHandle(workflowId).result() as Promise<RunResult>, timedOut]);
        if (r !== 'timeout') return r;
      } catch (e) {
        if (e instanceof WorkflowFailedError) throw e;
        lastError = (e as Error).message;
      } finally {
        clearTimeout(timer);
      }
      if (Date.now() >= deadline) throw new Error(`run ${workflowId} did not finish in ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}`);
      await sleep(500);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.allWorkers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await this.env?.close().catch(() => undefined);
    await this.proxy?.close().catch(() => undefined);
    await this.server?.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios and rounds.

/** One run of a shipped runbook, prepared for a round. */
export interface PreparedRun {
  /** e.g. "provision-vm#2": stable across rounds, so it pairs with its baseline. */
  key: string;
  input: RunInput;
  /** The final state this run left, normalised (no ids/addresses), for comparison with the baseline. */
  finalState(result: RunResult): Promise<unknown>;
  /** Approve every approval the run asks for (as an operator would), faults or not. */
  approve?: boolean;
  /**
   * Start this run first and plan the faults only once its status satisfies this (e.g. the
   * phase of a long runbook the faults are meant for has begun); the round's other runs start then.
   */
  armed?: (status: RunStatus) => boolean;
}

/** A family of runs that share outside state (an OpenStack stand-in, test hosts). */
export interface Scenario {
  name: string;
  /** Put the outside world back to the start state and prepare this round's runs. */
  prepare(round: number): Promise<PreparedRun[]>;
  /** Side effects so far (resources created, markers written): compared as a delta per round. */
  sideEffects(): Promise<Record<string, number>>;
}

export type FaultKind = 'worker-kill' | 'server-kill' | 'partition';

export interface RoundReport {
  round: number;
  fault: FaultKind | 'none';
  /** What was done, when (ms after the first run started). */
  actions: string[];
  runs: { key: string; workflowId: string; disturbed: boolean; ms: number; error?: string }[];
  finalStates: Record<string, unknown>;
  sideEffects: Record<string, number>;
  ms: number;
}

/** Apply `CHAOS_TEST_HEARTBEAT` (local, pre-merge runs only; see the file comment). */
export function withTestHeartbeat(input: RunInput): RunInput {
  const hb = process.env.CHAOS_TEST_HEARTBEAT;
  if (!hb) return input;
  const fix = (steps: any[]): any[] =>
    steps.map((s) => ({
      ...s,
      ...(s.action && !s.heartbeatTimeout ? { heartbeatTimeout: hb } : {}),
      ...(s.steps ? { steps: fix(s.steps) } : {}),
      ...(s.parallel ? { parallel: fix(s.parallel) } : {}),
    }));
  const rb = (r: any) => ({ ...r, spec: { ...r.spec, steps: fix(r.spec.steps) } });
  return { ...input, runbook: rb(input.runbook), children: input.children && Object.fromEntries(Object.entries(input.children).map(([k, v]) => [k, rb(v)])) } as RunInput;
}

export interface RoundOptions {
  stack: ChaosStack;
  scenarios: Scenario[];
  round: number;
  fault: FaultKind | 'none';
  rng: Rng;
  /** Length of a partition (default 30 s). */
  partitionMs?: number;
  /** Per-run limit (default 10 min: the slowest recovery with shipped settings is a 10-min start-to-close timeout). */
  runTimeoutMs?: number;
  log?: (m: string) => void;
}

export async function runRound(o: RoundOptions): Promise<RoundReport> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const prepared: { scenario: Scenario; run: PreparedRun }[] = [];
  for (const sc of o.scenarios) for (const run of await sc.prepare(o.round)) prepared.push({ scenario: sc, run });
  const before = await Promise.all(o.scenarios.map((sc) => sc.sideEffects()));

  const t0 = Date.now();
  const at = () => Date.now() - t0;
  const actions: string[] = [];
  const faultTimes: number[] = [];
  function note(m: string) {
    actions.push(`${(at() / 1000).toFixed(1)}s ${m}`);
    log(`chaos round ${o.round}: ${actions[actions.length - 1]}`);
  }

  // Runs with `armed` start first and the others (staggered, so one fault catches them at
  // different points) once those have reached the phase the faults are meant for.
  const startRun = async (run: PreparedRun) => {
    const id = `${run.key.replace(/[^\w-]/g, '-')}-r${o.round}-${Date.now().toString(36)}`;
    await o.stack.start(withTestHeartbeat(run.input), id);
    if (run.approve) approvers.push(answerApprovals(o.stack, id, () => roundOver || finished.has(id)));
    return { id, startedAt: at() };
  };
  const finished = new Set<string>();
  let roundOver = false; // ends the approval loops if the round fails before its runs finish
  const approvers: Promise<void>[] = [];
  const leads = new Map<PreparedRun, Promise<{ id: string; startedAt: number }>>();
  for (const { run } of prepared) if (run.armed) leads.set(run, startRun(run));
  const leadsArmed = Promise.all(
    [...leads].map(async ([run, started]) => {
      const { id } = await started;
      await waitArmed(o.stack, id, run.armed!, o.runTimeoutMs ?? 600_000);
      note(`${run.key} armed`);
    }),
  ).catch((e) => note(`arming failed: ${(e as Error).message}`)); // that run's own result reports it
  const delays = prepared.map((_, i) => (i === 0 ? 0 : o.rng.int(0, 1500)));
  const starts = prepared.map(async ({ run }, i) => {
    const lead = leads.get(run);
    if (lead) return lead;
    await leadsArmed;
    await sleep(delays[i]);
    return startRun(run);
  });

  // The fault plan: all random choices are made up front, in a fixed order (reproducible).
  // Moments count from when the last run started, so every run is in flight when the first
  // fault strikes (the runs take several seconds each).
  const allStarted = Promise.all(starts);
  const plan: (() => Promise<void>)[] = [];
  if (o.fault === 'worker-kill') {
    const kills = o.rng.int(1, 2);
    for (let k = 0; k < kills; k++) {
      // The first kill early in the runs; a second one soon after the new worker is up, while
      // the runs are still catching up.
      const wait = o.rng.int(100, k === 0 ? 2000 : 1500);
      const down = o.rng.int(0, 2000);
      plan.push(async () => {
        await sleep(wait);
        faultTimes.push(at());
        await o.stack.killWorker();
        note(`SIGKILL worker; new worker in ${down} ms`);
        await sleep(down);
        await o.stack.startWorker();
        note('worker up');
      });
    }
  } else if (o.fault === 'server-kill') {
    const wait = o.rng.int(100, 2000);
    plan.push(async () => {
      await sleep(wait);
      faultTimes.push(at());
      await o.stack.killServer();
      note(`kill -9 server; restarted on the same SQLite file`);
    });
  } else if (o.fault === 'partition') {
    const wait = o.rng.int(100, 2000);
    const mode = o.rng.pick(['drop', 'blackhole'] as const);
    const ms = o.partitionMs ?? 30_000;
    plan.push(async () => {
      await sleep(wait);
      faultTimes.push(at());
      note(`cut worker ↔ server (${mode}) for ${ms / 1000} s`);
      await o.stack.partition(ms, mode);
      note('healed');
    });
  }
  const faults = (async () => {
    await allStarted.catch(() => undefined);
    for (const p of plan) await p();
  })();

  const started = await allStarted.catch(async (e) => {
    roundOver = true;
    await faults;
    throw e;
  });
  const results = await Promise.all(
    prepared.map(async ({ run }, i) => {
      const { id, startedAt } = started[i];
      try {
        const res = await o.stack.result(id, o.runTimeoutMs ?? 600_000);
        return { key: run.key, workflowId: id, startedAt, endedAt: at(), res };
      } catch (e) {
        return { key: run.key, workflowId: id, startedAt, endedAt: at(), error: describe(e) };
      } finally {
        finished.add(id);
      }
    }),
  );
  await faults;
  await Promise.all(approvers);
  // A run that did not finish in time is terminated, so its retries cannot touch the next
  // round's world (its failure is reported below).
  for (const r of results)
    if (r.error && !/Workflow execution failed/.test(r.error)) await o.stack.env.client.workflow.getHandle(r.workflowId).terminate('chaos: timed out').catch(() => undefined);

  const finalStates: Record<string, unknown> = {};
  for (const [i, r] of results.entries()) finalStates[r.key] = r.res ? await prepared[i].run.finalState(r.res) : { failed: r.error };
  const after = await Promise.all(o.scenarios.map((sc) => sc.sideEffects()));
  const sideEffects: Record<string, number> = {};
  o.scenarios.forEach((sc, i) => {
    for (const [k, v] of Object.entries(after[i])) {
      const d = v - (before[i][k] ?? 0);
      if (d) sideEffects[`${sc.name}: ${k}`] = d;
    }
  });
  const report: RoundReport = {
    round: o.round,
    fault: o.fault,
    actions,
    // Disturbed: the run was in progress when a fault struck (started before, ended after).
    runs: results.map((r) => ({
      key: r.key,
      workflowId: r.workflowId,
      disturbed: faultTimes.some((f) => r.startedAt <= f && r.endedAt >= f),
      ms: r.endedAt - r.startedAt,
      ...(r.error ? { error: r.error } : {}),
    })),
    finalStates,
    sideEffects,
    ms: at(),
  };
  log(`chaos round ${o.round} (${o.fault}): ${report.runs.filter((r) => r.disturbed).length}/${report.runs.length} runs disturbed, ${(report.ms / 1000).toFixed(1)} s`);
  return report;
}

/** Differences between a disturbed round and the baseline: empty when the round is clean. */
export function compareToBaseline(baseline: RoundReport, r: RoundReport): string[] {
  const problems: string[] = [];
  for (const run of r.runs) if (run.error) problems.push(`${run.key} (${run.workflowId}) failed: ${run.error}`);
  for (const [key, state] of Object.entries(r.finalStates)) {
    const want = JSON.stringify(baseline.finalStates[key]);
    const got = JSON.stringify(state);
    if (want !== got) problems.push(`${key}: final state differs from the undisturbed run\n  undisturbed: ${want}\n  this run:    ${got}`);
  }
  const keys = new Set([...Object.keys(baseline.sideEffects), ...Object.keys(r.sideEffects)]);
  for (const k of keys)
    if ((baseline.sideEffects[k] ?? 0) !== (r.sideEffects[k] ?? 0)) problems.push(`side effects "${k}": ${r.sideEffects[k] ?? 0}, undisturbed ${baseline.sideEffects[k] ?? 0} (a duplicate or a missing one)`);
  return problems;
}

/** Poll the run's status (through server kills and cuts) until `armed` holds; fail if it ends first. */
async function waitArmed(stack: ChaosStack, workflowId: string, armed: (st: RunStatus) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await withTimeout(stack.env.client.workflow.getHandle(workflowId).query(statusQuery), 10_000).catch(() => undefined);
    if (st && armed(st)) return;
    if (st && ['succeeded', 'failed', 'cancelled'].includes(st.state)) throw new Error(`${workflowId} ended (${st.state}${st.error ? `: ${st.error}` : ''}) before it was armed`);
    if (Date.now() > deadline) throw new Error(`${workflowId} not armed in ${timeoutMs / 1000} s`);
    await sleep(300);
  }
}

/**
 * Approve each approval the run asks for, until `done`. Calls that fail (server down, worker cut
 * off) are simply repeated; a decision that did land is not asked again (the gate is no longer pending).
 */
async function answerApprovals(stack: ChaosStack, workflowId: string, done: () => boolean): Promise<void> {
  const h = stack.env.client.workflow.getHandle(workflowId);
  while (!done()) {
    try {
      const st = await withTimeout(h.query(statusQuery), 10_000);
      for (const p of st.pendingApprovals)
        await withTimeout(h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'chaos-operator', reason: 'chaos run', step: p.step }] }), 15_000);
    } catch {
      /* server down or worker cut off: ask again */
    }
    await sleep(500);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

function describe(e: unknown): string {
  let c: any = e;
  const parts: string[] = [];
  while (c) {
    parts.push(String(c.message ?? c));
    c = c.cause;
  }
  return parts.join(' ← ');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
