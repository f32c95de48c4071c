/**
 * Worker wiring: the interpreter workflows plus one activity per registered action.
 * Thin on purpose; the CLI's `worker`/`dev` commands and the tests all use it.
 */
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { activitiesFor, buildRegistry, type ActionRegistry } from '../activities/registry';
import type { ActionDefinition } from '../activities/define';
import { shutdownGraceTime, taskQueue as defaultTaskQueue } from './config';

let bundle: Promise<{ code: string }> | undefined;

/** Bundle the workflow code once per process; every worker reuses it. */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
  });
  return bundle;
}

export interface RunwrightWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  registry?: ActionRegistry;
  extraActions?: ActionDefinition[];
  /** Overrides for tuning (benchmarks, tests). */
  tuning?: Partial<Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows' | 'shutdownGraceTime'>>;
}

export async function createWorker(opts: RunwrightWorkerOptions): Promise<Worker> {
  const registry = opts.registry ?? buildRegistry(opts.extraActions);
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? defaultTaskQueue(),
    workflowBundle: await workflowBundle(),
    activities: activitiesFor(registry),
    // SIGTERM: stop polling, let running steps finish (RUNWRIGHT_SHUTDOWN_GRACE, default 5m).
    shutdownGraceTime: shutdownGraceTime() as WorkerOptions['shutdownGraceTime'],
    ...opts.tuning,
  });
}
