/**
 * Worker-side cost of the interpreter, without the server in the way: record one real history per
 * variant, then replay each history many times in this process and time it. Replay runs exactly
 * the workflow code (sandbox, activations, the interpreter's bookkeeping) with no network waits,
 * so it shows what the interpreter costs per workflow task on a fast server.
 *
 *   npx tsx bench/replay-overhead.ts            # timings only (~1 min)
 *   npx tsx bench/replay-overhead.ts --profile  # plus a CPU profile of the interpreter replays
 *
 * --profile runs the workflows in the main thread (TEMPORAL_DEBUG) so node:inspector sees them,
 * prints the hottest functions (self and inclusive time) and writes the .cpuprofile to the temp
 * dir (open it in Chrome DevTools). Nothing is written to bench/results.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { activitiesFor, buildRegistry } from '../activities/registry';
import { workflowBundle } from '../workers/bundle';
import { resolveParams } from '../dsl/params';
import { validateRunbookText } from '../dsl/validate';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { INTERPRETER_WORKFLOW } from '../workflows/definitions';

const STEPS = Number(process.env.BENCH_STEPS ?? 100);
const REPLAYS = Number(process.env.BENCH_REPLAYS ?? 20);
const PROFILE = process.argv.includes('--profile');
if (PROFILE) process.env.TEMPORAL_DEBUG = '1'; // workflows in the main thread, visible to the profiler

interface Variant {
  name: string;
  workflow: string;
  args: unknown[];
}

function runbookInput(name: string, step: (i: number) => string) {
  const body = Array.from({ length: STEPS }, (_, i) => step(i + 1)).join('');
  const yaml = `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name} }\nspec:\n  steps:\n${body}`;
  const { runbook, diagnostics } = validateRunbookText(`${name}.yaml`, yaml, { actions: buildRegistry() });
  if (!runbook) throw new Error(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return { runbook, params: resolveParams(runbook, {}).values };
}

const VARIANTS: Variant[] = [
  { name: 'handwritten', workflow: 'handwrittenNoops', args: [STEPS] },
  {
    name: 'interpreter',
    workflow: INTERPRETER_WORKFLOW,
    args: [runbookInput('plain', (i) => `    - id: s${i}\n      action: core.noop\n      with: { value: ${i} }\n`)],
  },
  {
    // Every step renders one expression that reads the previous step's output.
    name: 'interpreter+expr',
    workflow: INTERPRETER_WORKFLOW,
    args: [
      runbookInput('expr', (i) =>
        i === 1 ? `    - id: s1\n      action: core.noop\n      with: { value: 1 }\n` : `    - id: s${i}\n      action: core.noop\n      with: { value: "{{ steps.s${i - 1}.outputs.value }}" }\n`,
      ),
    ],
  },
];

async function record(): Promise<Map<string, temporal.api.history.v1.IHistory>> {
  const cli = await findTemporalCli();
  const server = await startDevServer({ cli, headless: true });
  const out = new Map<string, temporal.api.history.v1.IHistory>();
  try {
    const native = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = `bench-replay-${process.pid}`;
    const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: await bundle(), activities: activitiesFor(buildRegistry()) });
    await worker.runUntil(async () => {
      for (const v of VARIANTS) {
        const h = await client.workflow.start(v.workflow, { taskQueue, workflowId: `replay-${v.name}-${Date.now().toString(36)}`, args: v.args });
        await h.result();
        out.set(v.name, await h.fetchHistory());
        console.log(`  recorded ${v.name}: ${out.get(v.name)!.events!.length} events`);
      }
    });
    await connection.close();
    await native.close();
  } finally {
    await server.stop();
  }
  return out;
}

const bundle = () => workflowBundle({ workflowsPath: require.resolve('./workflows') });

/** Replay `history` REPLAYS times with one replay worker; returns ms per replay. */
async function replay(name: string, history: temporal.api.history.v1.IHistory): Promise<number> {
  const histories = Array.from({ length: REPLAYS }, (_, i) => ({ workflowId: `${name}-${i}`, history }));
  const t0 = performance.now();
  for await (const r of Worker.runReplayHistories({ workflowBundle: await bundle(), replayName: name }, histories)) {
    if (r.error) throw r.error;
  }
  return (performance.now() - t0) / REPLAYS;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

function summarizeProfile(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url || '') || '(native)'}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const n = byId.get(id)!;
    self.set(key(n), (self.get(key(n)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (!seen.has(k)) {
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + dt);
      }
    }
  });
  const show = (title: string, m: Map<string, number>, filter: (k: string) => boolean, n: number) => {
    console.log(`\n${title}`);
    for (const [k, v] of [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, n))
      console.log(`  ${((v * 100) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  };
  const boring = /^\((root|program|idle|garbage collector)\)/;
  show('Top self time:', self, (k) => !/^\((root|idle)\)/.test(k), 25);
  show('Inclusive time of interpreter / DSL functions:', incl, (k) => !boring.test(k) && /interpreter|expr|Interpreter|runStep|render|track|snapshot|toCel|fromCel|evaluate|exprScope|toRetry|scheduleActivity|action |execute /.test(k), 25);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  console.log(`Recording one live run per variant (${STEPS} core.noop steps)...`);
  const histories = await record();

  console.log(`Replaying each history ${REPLAYS} times (warm-up round first, then 3 alternating rounds)...`);
  for (const v of VARIANTS) await replay(v.name, histories.get(v.name)!);
  const times = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  for (let round = 0; round < 3; round++) {
    const order = round % 2 ? [...VARIANTS].reverse() : VARIANTS;
    for (const v of order) times.get(v.name)!.push(await replay(v.name, histories.get(v.name)!));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = med(times.get('handwritten')!);
  console.log(`\n  ${'variant'.padEnd(18)}${'ms/replay'.padStart(10)}${'ms/WFT'.padStart(9)}${'vs handwritten'.padStart(16)}`);
  for (const v of VARIANTS) {
    const m = med(times.get(v.name)!);
    const wfts = histories.get(v.name)!.events!.filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length;
    console.log(`  ${v.name.padEnd(18)}${m.toFixed(1).padStart(10)}${(m / wfts).toFixed(2).padStart(9)}${`${(m / base).toFixed(2)}x`.padStart(16)}`);
  }

  if (PROFILE) {
    const session = new Session();
    session.connect();
    const post = <T>(method: string, params?: object) =>
      new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
    for (const name of ['handwritten', 'interpreter', 'interpreter+expr']) {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 100 });
      await post('Profiler.start');
      await replay(name, histories.get(name)!);
      const { profile } = await post<{ profile: any }>('Profiler.stop');
      const file = path.join(os.tmpdir(), `runwright-replay-${name.replace(/\W/g, '_')}-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      console.log(`\n=== ${name}: CPU profile of ${REPLAYS} replays (${file}) ===`);
      summarizeProfile(profile);
    }
    session.disconnect();
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exitCode = 1;
});
