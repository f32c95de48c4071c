import { NativeConnection } from '@temporalio/worker';
import { buildRegistry, loadActionModules } from '../activities/registry';
import { taskQueue } from './config';
import { loadConnectionConfig } from './connect';
import { createWorker } from './worker';
import { ALLOWED_SIGNERS_ENV, REQUIRE_SIGNED_ENV, identityMode } from './identity/authorize';

/** Run a worker until SIGINT/SIGTERM, against the configured Temporal server. */
export async function runWorkerProcess(opts: { actionModules?: string[]; address?: string; namespace?: string; log?: (m: string) => void }): Promise<void> {
  const cfg = loadConnectionConfig();
  const address = opts.address ?? cfg.address;
  const namespace = opts.namespace ?? cfg.namespace;
  const connection = await NativeConnection.connect({ address, tls: cfg.tls, apiKey: cfg.apiKey, metadata: cfg.metadata });
  const registry = buildRegistry(loadActionModules(opts.actionModules ?? []));
  const worker = await createWorker({ connection, namespace, taskQueue: taskQueue(), registry });
  (opts.log ?? console.log)(`runwright worker: ${registry.size} actions, task queue "${taskQueue()}", namespace "${namespace}", server ${address}`);
  const mode = identityMode();
  (opts.log ?? console.log)(
    mode.signed
      ? `runwright worker: signed requests required (allowed signers: ${mode.allowedSigners ?? 'NONE: every request is refused'})`
      : `runwright worker: WARNING: local mode, identities are unverified claims; set ${ALLOWED_SIGNERS_ENV} (or ${REQUIRE_SIGNED_ENV}=1) on a shared worker (SECURITY.md)`,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
