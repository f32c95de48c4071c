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

/** The workflow bundle (workers/bundle.ts: built in a child process, cached on disk). */
export function workflowBundle(failureConverterPath?: string): Promise<{ code: string }> {
  return cachedWorkflowBundle({ failureConverterPath });
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
}

export async function createWorker(opts: RunwrightWorkerOptions): Promise<Worker> {
  const registry = opts.registry ?? buildRegistry(opts.extraActions);
  const converter = opts.dataConverter ?? dataConverter();
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? defaultTaskQueue(),
    workflowBundle: await workflowBundle(converter.failureConverterPath),
    activities: activitiesFor(registry),
    dataConverter: converter,
    // SIGTERM: stop polling, let running steps finish (RUNWRIGHT_SHUTDOWN_GRACE, default 5m).
    shutdownGraceTime: shutdownGraceTime() as WorkerOptions['shutdownGraceTime'],
    ...opts.tuning,
  });
}
