import { NativeConnection } from '@temporalio/worker';
import { buildRegistry, loadActionModules } from '../activities/registry';
import { shutdownGraceTime, taskQueue } from './config';
import { dataDir, loadConnectionConfig } from './connect';
import { createWorker } from './worker';
import { dataConverter, describeKeyring, loadKeyring } from './codec';

/** Run a worker until SIGINT/SIGTERM, against the configured Temporal server. */
export async function runWorkerProcess(opts: { actionModules?: string[]; address?: string; namespace?: string; log?: (m: string) => void }): Promise<void> {
  const cfg = loadConnectionConfig();
  const address = opts.address ?? cfg.address;
  const namespace = opts.namespace ?? cfg.namespace;
  // Checked before connecting: a bad key is a config error, not a crash loop. With no server
  // configured (the local default), the data folder's key is the one `runwright dev` made.
  const keyring = loadKeyring({ local: cfg.explicit || opts.address ? undefined : { dir: dataDir(), create: false } });
  const connection = await NativeConnection.connect({ address, tls: cfg.tls, apiKey: cfg.apiKey, metadata: cfg.metadata });
  const registry = buildRegistry(loadActionModules(opts.actionModules ?? []));
  const worker = await createWorker({ connection, namespace, taskQueue: taskQueue(), registry, dataConverter: dataConverter(keyring) });
  (opts.log ?? console.log)(`runwright worker: ${registry.size} actions, task queue "${taskQueue()}", namespace "${namespace}", server ${address}; ${describeKeyring(keyring)}; on SIGTERM running steps get ${shutdownGraceTime()} to finish`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
