/**
 * DR drill RTO and the engine's share of it, on the OpenStack stand-in with its default
 * latencies (scripts/drill-stand-in.ts: cluster-b's cloud goes down, the failover runbook moves
 * the global pool's weight). Runs the shipped dr-drill runbook BENCH_DRILL_RUNS times (default 5)
 * after one warm-up, on a fresh dev server and an in-process worker, and reports the medians of
 * RTO, time to detection and the engine share that drill.report computes from the run's history
 * (time in the RTO window outside activities and timers: task dispatch, workflow tasks, child
 * starts). Target: engine share < 5 % of RTO. `--check` exits 1 when the median misses it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { buildRegistry } from '../activities/registry';
import { loadRunbookFile } from '../client/runbooks';
import { resolveParams } from '../dsl/params';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { createWorker } from '../workers/worker';
import { startOpenStackSim } from '../sim/openstack/server';
import { INTERPRETER_WORKFLOW, type RunInput, type RunResult } from '../workflows/definitions';
import { prepareStandInDrill } from '../scripts/drill-stand-in';

const REPO = path.resolve(__dirname, '..');
const RUNS = Number(process.env.BENCH_DRILL_RUNS ?? 5);
const TARGET_SHARE = 0.05;
const CHECK = process.argv.includes('--check');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rw-bench-drill-'));
  const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  try {
    const server = await startDevServer({ cli: await findTemporalCli(), headless: true, logFile: path.join(dir, 'temporal.log') });
    cleanups.push(() => server.stop());
    const sim = await startOpenStackSim({ port: 0, stateFile: path.join(dir, 'sim.json') });
    cleanups.push(() => sim.close());
    sim.writeCloudsYaml(path.join(dir, 'clouds.yaml'));
    process.env.OS_CLIENT_CONFIG_FILE = path.join(dir, 'clouds.yaml');
    const native = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(async () => (await connection.close(), await native.close()));
    const client = new Client({ connection });
    const queue = 'bench-drill';
    const worker = await createWorker({ connection: native, taskQueue: queue, registry: buildRegistry() });
    const running = worker.run();
    cleanups.push(async () => (worker.shutdown(), await running));

    const { loaded } = loadRunbookFile(path.join(REPO, 'runbooks', 'dr-drill.yaml'), buildRegistry());
    process.env.RUNWRIGHT_REPORTS_DIR = path.join(dir, 'reports');
    const params = await prepareStandInDrill(sim.url);
    const { values, errors } = resolveParams(loaded!.runbook, params);
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    const input: RunInput = { runbook: loaded!.runbook, params: values, children: loaded!.children, startedBy: 'bench' };

    const rows: { rtoMs: number; detectionMs: number; failoverMs: number; engineMs: number; share: number }[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const h = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: queue, workflowId: `bench-drill-${i}-${Date.now()}`, args: [input] });
      const res = (await h.result()) as RunResult;
      const r = (res.outputs as any).report;
      if (r.verdict !== 'pass' || !r.engine) throw new Error(`drill ${i}: verdict ${r.verdict}: ${r.reasons.join('; ')}`);
      const row = { rtoMs: r.rtoMs, detectionMs: r.detectionMs, failoverMs: r.failoverMs, engineMs: r.engine.engineMs, share: r.engine.share };
      console.log(`${i === 0 ? 'warm-up' : `run ${i}  `} RTO ${row.rtoMs} ms  detection ${row.detectionMs} ms  failover ${row.failoverMs} ms  engine ${row.engineMs} ms = ${(row.share * 100).toFixed(2)} %`);
      if (i > 0) rows.push(row);
    }
    const summary = {
      runs: RUNS,
      rtoMs: median(rows.map((r) => r.rtoMs)),
      detectionMs: median(rows.map((r) => r.detectionMs)),
      failoverMs: median(rows.map((r) => r.failoverMs)),
      engineMs: median(rows.map((r) => r.engineMs)),
      engineShare: median(rows.map((r) => r.share)),
      target: TARGET_SHARE,
    };
    console.log(`median of ${RUNS}: RTO ${summary.rtoMs} ms, detection ${summary.detectionMs} ms, engine ${summary.engineMs} ms = ${(summary.engineShare * 100).toFixed(2)} % of RTO (target < ${TARGET_SHARE * 100} %)`);
    mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
    writeFileSync(path.join(REPO, 'bench', 'results', `drill-rto-${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify({ summary, rows, cpus: os.cpus().length }, null, 1));
    return CHECK && summary.engineShare >= TARGET_SHARE ? 1 : 0;
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((e) => console.error(`cleanup: ${(e as Error).message}`));
  }
}

main().then((c) => process.exit(c), (e) => (console.error(e), process.exit(70)));
