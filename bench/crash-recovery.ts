/**
 * Crash recovery: time from a worker SIGKILL to the interrupted step running again (its
 * activity's attempt 2 starts), with default settings. Target: median ≤ 35 s.
 *
 *   npx tsx bench/crash-recovery.ts [--trials 20] [--check] [--heartbeat 5s] [--limit-s 900] [--json FILE]
 *
 * Setup per run of the benchmark: a dedicated Temporal dev server, two worker processes
 * (workers/main.ts, the shipped worker) on one task queue. Per trial: a runbook with one step,
 * `core.sleep` for 5 minutes with no timeout/heartbeatTimeout of its own (the defaults); once
 * its activity has started, the worker running it (the pending activity's worker identity,
 * pid@host) is SIGKILLed and the other one stays up, so the number is the engine's recovery,
 * not a worker's start-up. The moment attempt 2 starts is the server's own record
 * (pendingActivities[].lastStartedTime with attempt 2), compared with the time of the kill; the
 * killed worker is replaced before the next trial.
 *
 * `--heartbeat 5s` gives the step a heartbeatTimeout: only to check the harness before the
 * engine has a default one (without it, today's default is the 10-minute start-to-close timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { validateRunbookText } from '../dsl/validate';
import { buildRegistry } from '../activities/registry';
import { INTERPRETER_WORKFLOW, type RunInput } from '../workflows/definitions';

const ROOT = resolve(__dirname, '..');

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const trials = Number(arg('trials', '20'));
  const heartbeat = arg('heartbeat');
  const jsonOut = arg('json');
  const perTrialLimitMs = Number(arg('limit-s', '900')) * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'rw-crash-bench-'));
  const queue = `crash-bench-${process.pid}`;
  const workers: ChildProcess[] = [];
  let server: DevServer | undefined;
  let conn: Connection | undefined;

  const startWorker = async (address: string): Promise<ChildProcess> => {
    // node itself (not the tsx launcher) so that SIGKILL hits the worker.
    const w = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: address, RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_REQUIRE_SIGNED: '0', ...(process.env.RUNWRIGHT_CODEC_KEY || process.env.RUNWRIGHT_CODEC_KEYS ? {} : { RUNWRIGHT_CODEC: 'off' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.push(w);
    // The worker's own log is noise here; keep its last lines for an early exit.
    let errTail = '';
    w.stderr!.on('data', (d) => (errTail = (errTail + d).slice(-2000)));
    await new Promise<void>((res, rej) => {
      let out = '';
      w.stdout!.on('data', (d) => ((out += d), out.includes('runwright worker:') && res()));
      w.once('exit', (c, s) => rej(new Error(`worker exited early (${c ?? s}): ${errTail}`)));
    });
    return w;
  };
  const cleanup = async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await conn?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const cli = await findTemporalCli({ log: (m) => console.error(m) });
    server = await startDevServer({ cli, headless: true, dbFile: join(dir, 'temporal.db') });
    conn = await Connection.connect({ address: server.address });
    const client = new Client({ connection: conn, namespace: 'default' });
    const yaml = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: crash-recovery }
spec:
  steps:
    - id: work
      action: core.sleep
      with: { ms: 300000 }
${heartbeat ? `      heartbeatTimeout: ${heartbeat}\n` : ''}`;
    const { runbook, diagnostics } = validateRunbookText('crash-recovery.yaml', yaml, { actions: buildRegistry() });
    if (!runbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
    const input: RunInput = { runbook, params: {}, startedBy: 'bench' };

    const pool = new Map<number, ChildProcess>();
    for (let i = 0; i < 2; i++) {
      const w = await startWorker(server.address);
      pool.set(w.pid!, w);
    }
    console.error(`crash-recovery: ${trials} trials, step ${heartbeat ? `heartbeatTimeout ${heartbeat} (test override)` : 'with default settings'}`);

    const samples: number[] = [];
    for (let t = 1; t <= trials; t++) {
      const h = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: queue, workflowId: `crash-recovery-${t}-${Date.now().toString(36)}`, args: [input] });
      // Wait until attempt 1 runs on a worker; that worker is the one to kill.
      let pid: number | undefined;
      for (let i = 0; i < 600 && pid === undefined; i++) {
        const pa = (await h.describe()).raw.pendingActivities?.find((a) => a.activityId === 'work'); // the step, not the run's identity check
        if (pa?.lastStartedTime && pa.attempt === 1 && pa.lastWorkerIdentity) pid = Number(pa.lastWorkerIdentity.split('@')[0]);
        else await sleep(100);
      }
      const victim = pid !== undefined ? pool.get(pid) : undefined;
      if (!victim) throw new Error(`trial ${t}: the step did not start on a known worker (pid ${pid})`);
      await sleep(1000); // mid-step, with a heartbeat or two behind it
      const killedAt = Date.now();
      victim.kill('SIGKILL');
      pool.delete(pid!);

      let startedAt: number | undefined;
      while (startedAt === undefined) {
        if (Date.now() - killedAt > perTrialLimitMs) throw new Error(`trial ${t}: attempt 2 did not start within ${perTrialLimitMs / 1000} s`);
        const pa = (await h.describe()).raw.pendingActivities?.find((a) => a.activityId === 'work'); // the step, not the run's identity check
        if (pa && (pa.attempt ?? 0) >= 2 && pa.lastStartedTime) {
          const s = pa.lastStartedTime;
          startedAt = Number(s.seconds ?? 0) * 1000 + Math.floor((s.nanos ?? 0) / 1e6);
        } else await sleep(200);
      }
      const ms = startedAt - killedAt;
      samples.push(ms);
      console.error(`trial ${t}: attempt 2 started ${(ms / 1000).toFixed(2)} s after the SIGKILL`);
      await h.terminate('benchmark trial done');
      if (t === trials) break;
      const w = await startWorker(server.address);
      pool.set(w.pid!, w);
    }

    const sorted = [...samples].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    const result = {
      benchmark: 'crash-recovery',
      settings: heartbeat ? { heartbeatTimeout: heartbeat, note: 'test override, not the defaults' } : 'defaults',
      trials,
      medianS: +(median / 1000).toFixed(2),
      maxS: +(sorted[sorted.length - 1] / 1000).toFixed(2),
      samplesS: samples.map((x) => +(x / 1000).toFixed(2)),
      targetMedianS: 35,
      meetsTarget: median <= 35_000,
      at: new Date().toISOString(),
    };
    console.log(JSON.stringify(result, null, 2));
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2));
    // --check: exit 2 when the median misses the target (like bench/engine-overhead.ts).
    if (process.argv.includes('--check') && !result.meetsTarget) process.exitCode = 2;
  } finally {
    await cleanup();
  }
}

main().catch((e) => {
  console.error(`crash-recovery: ${e?.stack ?? e}`);
  process.exitCode = 1;
});
