import { NativeConnection } from '@temporalio/worker';
import { buildRegistry, loadActionModules } from '../activities/registry';
import { shutdownGraceTime, taskQueue } from './config';
import { loadConnectionConfig } from './connect';
import { createWorker } from './worker';

/** Run a worker until SIGINT/SIGTERM, against the configured Temporal server. */
export async function runWorkerProcess(opts: { actionModules?: string[]; address?: string; namespace?: string; log?: (m: string) => void }): Promise<void> {
  const cfg = loadConnectionConfig();
  const address = opts.address ?? cfg.address;
  const namespace = opts.namespace ?? cfg.namespace;
  const connection = await NativeConnection.connect({ address, tls: cfg.tls, apiKey: cfg.apiKey, metadata: cfg.metadata });
  const registry = buildRegistry(loadActionModules(opts.actionModules ?? []));
  const worker = await createWorker({ connection, namespace, taskQueue: taskQueue(), registry });
  (opts.log ?? console.log)(`runwright worker: ${registry.size} actions, task queue "${taskQueue()}", namespace "${namespace}", server ${address}; on SIGTERM running steps get ${shutdownGraceTime()} to finish`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
