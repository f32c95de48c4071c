/**
 * Worker wiring: the interpreter workflows plus one activity per registered action.
 * Thin on purpose; the CLI's `worker`/`dev` commands and the tests all use it.
 */
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { activitiesFor, buildRegistry, type ActionRegistry } from '../activities/registry';
import type { ActionDefinition } from '../activities/define';
import { shutdownGraceTime, taskQueue as defaultTaskQueue } from '../lib/config';
import { dataConverter } from '../lib/codec';
import { activityMetrics, tracingFromEnv, type Tracing } from './telemetry';

const bundles = new Map<string, Promise<{ code: string }>>();

/**
 * Bundle the workflow code once per process; every worker reuses it. With a failure converter
 * (lib/codec.ts, when history is sealed) failure messages raised in workflows are sealed too.
 */
export function workflowBundle(failureConverterPath?: string, tracing?: Pick<Tracing, 'workflowInterceptorModules'>): Promise<{ code: string }> {
  // Workflow metrics (workflows/metrics.ts) always; the tracing interceptors only when tracing is on.
  const workflowInterceptorModules = [require.resolve('../workflows/metrics'), ...(tracing?.workflowInterceptorModules ?? [])];
  const key = `${failureConverterPath ?? ''}|${workflowInterceptorModules.join(',')}`;
  let b = bundles.get(key);
  if (!b) {
    b = bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      workflowInterceptorModules,
      failureConverterPath,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
    });
    bundles.set(key, b);
  }
  return b;
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
