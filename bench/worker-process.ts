/**
 * The benchmark's worker, run as its own process so its memory can be measured apart from the
 * client: `node --import tsx bench/worker-process.ts` with BENCH_ADDRESS and BENCH_TASK_QUEUE set.
 *
 * Same settings as workers/worker.ts createWorker (SDK defaults + shutdownGraceTime 10s, the bundle
 * built and cached by workers/bundle.ts), except that the workflow bundle is bench/workflows
 * (interpreter + hand-written baseline). Optional BENCH_WORKER_TUNING is JSON merged into the WorkerOptions (for experiments only).
 *
 * Talks to the parent with JSON lines on stdout; shuts down on SIGTERM/SIGINT or when stdin closes
 * (the parent died).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { activitiesFor, buildRegistry } from '../activities/registry';
import { workflowBundle } from '../workers/bundle';
import { loadConnectionConfig } from '../lib/connect';

const send = (msg: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(msg)}\n`);

async function main(): Promise<void> {
  const address = process.env.BENCH_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('BENCH_ADDRESS and BENCH_TASK_QUEUE must be set');
  const tuning = process.env.BENCH_WORKER_TUNING ? JSON.parse(process.env.BENCH_WORKER_TUNING) : {};

  Runtime.install({ logger: new DefaultLogger('WARN') });
  // TLS (a production-shaped server, BENCH_TEMPORAL=env): the standard TEMPORAL_TLS_* settings.
  const tls = process.env.BENCH_TEMPORAL === 'env' ? loadConnectionConfig().tls : undefined;
  const connection = await NativeConnection.connect({ address, tls });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle({ workflowsPath: require.resolve('./workflows'), workflowInterceptorModules: [require.resolve('../workflows/metrics')] }),
    activities: activitiesFor(buildRegistry()),
    shutdownGraceTime: '10s',
    ...tuning,
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    worker.shutdown();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();

  const o = worker.options;
  const running = worker.run();
  send({
    ready: true,
    pid: process.pid,
    settings: {
      maxCachedWorkflows: o.maxCachedWorkflows,
      // Slot suppliers: SDK defaults are 40 workflow tasks and 100 activities at a time.
      tuner: o.tuner,
      workflowThreadPoolSize: o.workflowThreadPoolSize,
      reuseV8Context: o.reuseV8Context,
      shutdownGraceTime: o.shutdownGraceTime,
      tuning,
    },
  });
  try {
    await running;
  } finally {
    await connection.close();
  }
  send({ stopped: true, memory: process.memoryUsage() });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench worker failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
