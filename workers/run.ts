import { NativeConnection } from '@temporalio/worker';
import { buildRegistry, loadActionModules } from '../activities/registry';
import { shutdownGraceTime, taskQueue, workerSites } from '../lib/config';
import { siteTaskQueue } from '../dsl/site';
import { dataDir, loadConnectionConfig } from '../lib/connect';
import { createWorkers, runWorkers } from './worker';
import { CODEC_ENV, CodecConfigError, dataConverter, describeKeyring, loadKeyring } from '../lib/codec';
import { installMetricsRuntime, metricsAddress, tracingFromEnv } from './telemetry';
import { ALLOWED_SIGNERS_ENV, REQUIRE_SIGNED_ENV, identityMode } from '../lib/identity/authorize';

/** Run a worker until SIGINT/SIGTERM, against the configured Temporal server. */
export async function runWorkerProcess(opts: { actionModules?: string[]; address?: string; namespace?: string; log?: (m: string) => void; metricsPort?: string; sites?: string[]; sitesOnly?: boolean }): Promise<void> {
  const cfg = loadConnectionConfig();
  const sites = workerSites(opts.sites);
  // Prometheus endpoint (off unless asked): the runtime is installed before any connection.
  const metrics = metricsAddress(opts.metricsPort);
  if (metrics) installMetricsRuntime(metrics);
  const tracing = tracingFromEnv();
  const address = opts.address ?? cfg.address;
  const namespace = opts.namespace ?? cfg.namespace;
  // Checked before connecting: a bad key is a config error, not a crash loop. With no server
  // configured (the local default), the data folder's key is the one `runwright dev` made.
  const keyring = loadKeyring({ local: cfg.explicit || opts.address ? undefined : { dir: dataDir(), create: false } });
  // A shared worker (configured server) never writes plaintext history by accident: without keys
  // it does not start, unless the operator says RUNWRIGHT_CODEC=off.
  if ((cfg.explicit || opts.address) && !keyring.active && keyring.source === 'no codec key configured') {
    throw new CodecConfigError(`no codec key: this worker would write params, outputs and decisions to Temporal in plain text. Set ${CODEC_ENV.key} (env:NAME or file:PATH of 32 random bytes; \`runwright codec keygen\`) or ${CODEC_ENV.keys}, the same on every worker and CLI; or ${CODEC_ENV.mode}=off to keep history plaintext`);
  }
  // A worker on a configured server is shared: with no identity settings it refuses unverified
  // claims (fails closed) instead of trusting whatever name a client sends. The embedded local
  // default (no server configured) stays in local mode; RUNWRIGHT_REQUIRE_SIGNED=0 opts out.
  if ((cfg.explicit || opts.address) && process.env[ALLOWED_SIGNERS_ENV] === undefined && process.env[REQUIRE_SIGNED_ENV] === undefined) {
    process.env[REQUIRE_SIGNED_ENV] = '1';
  }
  const connection = await NativeConnection.connect({ address, tls: cfg.tls, apiKey: cfg.apiKey, metadata: cfg.metadata });
  const registry = buildRegistry(loadActionModules(opts.actionModules ?? []));
  const workers = await createWorkers({ connection, namespace, taskQueue: taskQueue(), registry, dataConverter: dataConverter(keyring), sites, runQueue: !opts.sitesOnly });
  if (metrics || tracing) (opts.log ?? console.log)(`runwright worker: ${metrics ? `metrics on http://${metrics}/metrics` : 'no metrics endpoint'}; ${tracing ? `traces over OTLP to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : 'no traces'}`);
  (opts.log ?? console.log)(`runwright worker: ${registry.size} actions, ${opts.sitesOnly ? '' : `task queue "${taskQueue()}"`}${sites.length ? `${opts.sitesOnly ? '' : ' and '}sites ${sites.map((x) => `${x} ("${siteTaskQueue(taskQueue(), x)}")`).join(', ')}` : ''}, namespace "${namespace}", server ${address}; ${describeKeyring(keyring)}; on SIGTERM running steps get ${shutdownGraceTime()} to finish`);
  const mode = identityMode();
  (opts.log ?? console.log)(
    mode.signed
      ? `runwright worker: signed requests required (allowed signers: ${mode.allowedSigners ?? `NONE: every request is refused until ${ALLOWED_SIGNERS_ENV} names an allowed_signers file; ${REQUIRE_SIGNED_ENV}=0 accepts unverified claims (single-user only)`})`
      : `runwright worker: WARNING: local mode, identities are unverified claims; set ${ALLOWED_SIGNERS_ENV} (or ${REQUIRE_SIGNED_ENV}=1) on a shared worker (SECURITY.md)`,
  );
  try {
    await runWorkers(workers);
  } finally {
    await connection.close();
    await tracing?.shutdown();
  }
}
