/**
 * Codec overhead: the engine benchmark's 100-step `core.noop` runbook (bench/engine-overhead.ts
 * (a)) with the payload codec (lib/codec.ts: AES-256-GCM on every payload, failure text sealed)
 * on vs off, in the same run against the same dev server.
 *
 *   npx tsx bench/codec-overhead.ts [--check]      # BENCH_RUNS (default 3), BENCH_STEPS (100)
 *
 * One worker per mode, in this process (workers/worker.ts createWorker, as `runwright worker` makes
 * it), each on its own task queue with a client of the same mode. One warm-up run per mode, then
 * BENCH_RUNS runs per mode, alternating; reports medians and the ratio on/off (target <= 1.10).
 * Writes bench/results/codec-<date>.json. --check exits 1 when the ratio misses the target.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { buildRegistry } from '../activities/registry';
import { resolveParams } from '../dsl/params';
import { validateRunbookText } from '../dsl/validate';
import { dataConverter, keyId, type Keyring } from '../lib/codec';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { createWorker } from '../workers/worker';
import { INTERPRETER_WORKFLOW, type RunInput } from '../workflows/definitions';

const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] || dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const STEPS = num('BENCH_STEPS', 100);
const RUNS = num('BENCH_RUNS', 3);
const TARGET = 1.1;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

function input(): RunInput {
  const body = Array.from({ length: STEPS }, (_, i) => `    - id: s${i + 1}\n      action: core.noop\n      with: { value: ${i + 1} }\n`).join('');
  const { runbook, diagnostics } = validateRunbookText('codec-bench.yaml', `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: codec-bench }\nspec:\n  steps:\n${body}`, { actions: buildRegistry() });
  if (!runbook) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return { runbook, params: resolveParams(runbook, {}).values };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const load = os.loadavg().map(r1);
  const server = await startDevServer({ cli: await findTemporalCli(), headless: true });
  const stops: (() => Promise<unknown>)[] = [() => server.stop()];
  try {
    const key = randomBytes(32);
    const k = { id: keyId(key), name: 'bench', key };
    const modes: Record<'off' | 'on', Keyring> = { off: { keys: [], source: 'off' }, on: { active: k, keys: [k], source: 'bench' } };
    const connection = await Connection.connect({ address: server.address });
    const native = await NativeConnection.connect({ address: server.address });
    stops.unshift(() => connection.close(), () => native.close());
    const lanes: Record<string, { client: Client; queue: string; worker: Worker; running: Promise<void> }> = {};
    for (const [mode, ring] of Object.entries(modes)) {
      const queue = `codec-bench-${mode}`;
      const worker = await createWorker({ connection: native, taskQueue: queue, registry: buildRegistry(), dataConverter: dataConverter(ring) });
      lanes[mode] = { client: new Client({ connection, dataConverter: dataConverter(ring) }), queue, worker, running: worker.run() };
      stops.unshift(async () => {
        worker.shutdown();
        await lanes[mode].running;
      });
    }
    const inp = input();
    let seq = 0;
    const once = async (mode: string) => {
      const { client, queue } = lanes[mode];
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const h = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: queue, workflowId: `codec-bench-${mode}-${seq++}`, args: [inp] });
      await h.result();
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const bytes = temporal.api.history.v1.History.encode(await h.fetchHistory()).finish().length;
      return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, historyBytes: bytes };
    };
    console.log(`codec overhead: ${STEPS}-step noop runbook, ${RUNS} runs per mode after a warm-up (load ${load.join(' ')})`);
    await once('off');
    await once('on');
    const samples: Record<string, Awaited<ReturnType<typeof once>>[]> = { off: [], on: [] };
    for (let i = 0; i < RUNS; i++)
      for (const mode of i % 2 ? ['on', 'off'] : ['off', 'on']) {
        const s = await once(mode);
        samples[mode].push(s);
        console.log(`  ${mode.padEnd(3)} ${r1(s.wallMs)} ms wall, ${r1(s.cpuMs)} ms CPU (client + worker), history ${s.historyBytes} B`);
      }
    const sum = (mode: string) => ({
      medianWallMs: r1(median(samples[mode].map((s) => s.wallMs))),
      medianCpuMs: r1(median(samples[mode].map((s) => s.cpuMs))),
      wallMs: samples[mode].map((s) => r1(s.wallMs)),
      historyBytes: samples[mode][0].historyBytes,
    });
    const off = sum('off');
    const on = sum('on');
    const ratio = Math.round((on.medianWallMs / off.medianWallMs) * 1000) / 1000;
    const cpuRatio = Math.round((on.medianCpuMs / off.medianCpuMs) * 1000) / 1000;
    console.log(`codec off: median ${off.medianWallMs} ms; codec on: median ${on.medianWallMs} ms; ratio ${ratio} (target <= ${TARGET}); CPU ratio ${cpuRatio}; history ${off.historyBytes} -> ${on.historyBytes} B`);
    const out = { startedAt: new Date().toISOString(), steps: STEPS, runs: RUNS, loadAtStart: load, cpus: os.cpus().length, off, on, ratio, cpuRatio, target: TARGET, pass: ratio <= TARGET };
    const dir = path.join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `codec-${out.startedAt.slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
    if (process.argv.includes('--check') && !out.pass) process.exitCode = 1;
  } finally {
    for (const s of stops) await s().catch(() => undefined);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
