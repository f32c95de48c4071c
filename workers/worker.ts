/**
 * Worker wiring: the interpreter workflows plus one activity per registered action.
 * Thin on purpose; the CLI's `worker`/`dev` commands and the tests all use it.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { workflowBundle as cachedWorkflowBundle } from './bundle';
import type { DataConverter } from '@temporalio/common';
import { activitiesFor, buildRegistry, type ActionRegistry } from '../activities/registry';
import type { ActionDefinition } from '../activities/define';
import { shutdownGraceTime, taskQueue as defaultTaskQueue } from '../lib/config';
import { dataConverter } from '../lib/codec';
import { siteTaskQueue } from '../dsl/site';
import { activityMetrics, tracingFromEnv, type Tracing } from './telemetry';

/**
 * The workflow bundle (workers/bundle.ts: built in a child process, cached on disk). With a
 * failure converter (lib/codec.ts, when history is sealed) failure messages raised in workflows
 * are sealed too.
 */
export function workflowBundle(failureConverterPath?: string, tracing?: Pick<Tracing, 'workflowInterceptorModules'>): Promise<{ code: string }> {
  // Workflow metrics (workflows/metrics.ts) always; the tracing interceptors only when tracing is on.
  const workflowInterceptorModules = [require.resolve('../workflows/metrics'), ...(tracing?.workflowInterceptorModules ?? [])];
  return cachedWorkflowBundle({ failureConverterPath, workflowInterceptorModules });
}

export interface RunwrightWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  registry?: ActionRegistry;
  extraActions?: ActionDefinition[];
  /** Payload codec and failure converter (lib/codec.ts); default: keys from the environment. */
  dataConverter?: DataConverter;
  /** Overrides for tuning (benchmarks, tests). */
  tuning?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows' | 'shutdownGraceTime'>>;
  /** OpenTelemetry tracing (workers/telemetry.ts); default: from OTEL_EXPORTER_OTLP_ENDPOINT, else none. */
  tracing?: Tracing | null;
}

export interface SiteWorkerOptions extends RunwrightWorkerOptions {
  /** Sites whose actions this process runs (dsl/site.ts): one activity-only worker each. */
  sites?: string[];
  /** Also serve the run queue (workflows and actions of steps without a site); default true. */
  runQueue?: boolean;
}

/**
 * The workers of one process: the run queue's (workflows and site-less actions) and one per site
 * it serves. A site worker polls only `<queue>@<site>` and runs only actions, so a worker next to
 * cluster B can take cluster B's steps and nothing else (`runwright worker --site b --sites-only`).
 */
export async function createWorkers(opts: SiteWorkerOptions): Promise<Worker[]> {
  const registry = opts.registry ?? buildRegistry(opts.extraActions);
  const converter = opts.dataConverter ?? dataConverter();
  const tracing = opts.tracing === null ? undefined : (opts.tracing ?? tracingFromEnv());
  const base = opts.taskQueue ?? defaultTaskQueue();
  const workers: Worker[] = [];
  if (opts.runQueue !== false) workers.push(await createWorker({ ...opts, registry, dataConverter: converter, tracing: tracing ?? null }));
  for (const site of opts.sites ?? []) {
    workers.push(
      await Worker.create({
        connection: opts.connection,
        namespace: opts.namespace ?? 'default',
        taskQueue: siteTaskQueue(base, site),
        activities: activitiesFor(registry),
        interceptors: { activity: [...(tracing?.activityInterceptors ?? []), activityMetrics] },
        dataConverter: converter,
        shutdownGraceTime: shutdownGraceTime() as WorkerOptions['shutdownGraceTime'],
        ...opts.tuning,
      }),
    );
  }
  if (!workers.length) throw new Error('a worker with --sites-only needs at least one --site');
  return workers;
}

/** Run workers together; when one stops (or fails), the others are shut down too. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  const stopAll = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled(workers.map((w) => w.run().finally(stopAll)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function createWorker(opts: RunwrightWorkerOptions): Promise<Worker> {
  const registry = opts.registry ?? buildRegistry(opts.extraActions);
  const converter = opts.dataConverter ?? dataConverter();
  const tracing = opts.tracing === null ? undefined : (opts.tracing ?? tracingFromEnv());
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? defaultTaskQueue(),
    workflowBundle: await workflowBundle(converter.failureConverterPath, tracing),
    activities: activitiesFor(registry),
    interceptors: { activity: [...(tracing?.activityInterceptors ?? []), activityMetrics] },
    ...(tracing ? { sinks: tracing.sinks } : {}),
    dataConverter: converter,
    // SIGTERM: stop polling, let running steps finish (RUNWRIGHT_SHUTDOWN_GRACE, default 5m).
    shutdownGraceTime: shutdownGraceTime() as WorkerOptions['shutdownGraceTime'],
    ...opts.tuning,
  });
}
