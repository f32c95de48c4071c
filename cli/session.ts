/**
 * A CLI session's Temporal: the configured server, or, with nothing configured and nothing on
 * localhost:7233, an embedded dev server (SQLite under the data folder) plus an in-process worker.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { ActionDefinition } from '../activities/define';
import { buildRegistry } from '../activities/registry';
import { SEARCH_ATTRIBUTES, embeddedPort, taskQueue, uiBaseUrl } from '../lib/config';
import { dataDir, loadConnectionConfig, type ConnectionConfig } from '../lib/connect';
import { isListening, startDevServer, type DevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { createWorker } from '../workers/worker';
import { CodecConfigError, dataConverter, loadKeyring, SealCodec, type Keyring } from '../lib/codec';
import { startCodecServer, type CodecServer } from '../lib/codec-server';

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface Session {
  client: Client;
  connection: Connection;
  namespace: string;
  taskQueue: string;
  uiUrl: string;
  embedded: boolean;
  /** Whether the server has Runwright's search attributes (only then are they set). */
  searchAttributes: boolean;
  /** The payload codec's keys (lib/codec.ts). */
  keyring: Keyring;
  close(): Promise<void>;
}

export interface SessionOptions {
  /**
   * Start an in-process worker: with the embedded server (nothing else can run one), or when
   * the server lists no poller on the task queue. (A worker that just exited is still listed
   * for a while, so `run` does not rely on that; it warns when nobody picks the run up.)
   */
  worker?: 'never' | 'if-embedded' | 'if-no-poller';
  extraActions?: ActionDefinition[];
  log?: (m: string) => void;
  /** Keep the embedded server's UI on (runwright dev). */
  ui?: boolean;
}

/**
 * The codec keys for a CLI process. With no server configured (the local default), the data
 * folder's key is used, and created when this process starts the embedded server.
 */
export function cliKeyring(explicitServer: boolean, createLocal: boolean): Keyring {
  try {
    return loadKeyring({ local: explicitServer ? undefined : { dir: dataDir(), create: createLocal } });
  } catch (e) {
    if (e instanceof CodecConfigError) throw new CliError(`codec: ${e.message}`, EXIT.usage);
    throw e;
  }
}

async function connectTo(cfg: ConnectionConfig): Promise<Connection> {
  try {
    return await Connection.connect({ address: cfg.address, tls: cfg.tls, apiKey: cfg.apiKey, metadata: cfg.metadata, connectTimeout: 5000 });
  } catch (e: any) {
    throw new CliError(
      `cannot reach Temporal at ${cfg.address}: ${String(e?.message ?? e).split('\n')[0]}\n` +
        `Start a local server with \`runwright dev\`, or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*) for yours.`,
      EXIT.unreachable,
    );
  }
}

async function hasSearchAttributes(conn: Connection, namespace: string): Promise<boolean> {
  try {
    const r = await conn.operatorService.listSearchAttributes({ namespace });
    const custom = r.customAttributes ?? {};
    return Object.values(SEARCH_ATTRIBUTES).every((n) => n in custom);
  } catch {
    return false;
  }
}

async function hasPoller(client: Client, namespace: string, queue: string): Promise<boolean> {
  try {
    const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: queue }, taskQueueType: 1 });
    return (r.pollers ?? []).length > 0;
  } catch {
    return false;
  }
}

export async function openSession(opts: SessionOptions = {}): Promise<Session> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const cfg = loadConnectionConfig();
  let server: DevServer | undefined;
  let uiCodec: CodecServer | undefined;
  const port = embeddedPort();
  const uiPort = port + 1000;
  const startEmbedded = !cfg.explicit && !(await isListening('127.0.0.1', port));
  // Before starting anything: a bad codec config is a usage error (exit 2).
  const keyring = cliKeyring(cfg.explicit, startEmbedded);
  const converter = dataConverter(keyring);
  if (!cfg.explicit && !startEmbedded) cfg.address = `127.0.0.1:${port}`;
  else if (startEmbedded) {
    const cli = await findTemporalCli({ log }).catch((e) => {
      throw new CliError(e.message, EXIT.unreachable);
    });
    const dir = dataDir();
    log(`runwright: no Temporal server configured and none on localhost:${port}; starting an embedded dev server (state in ${join(dir, 'temporal.db')})`);
    // The embedded web UI opens sealed payloads through a codec server on loopback. No token: the
    // browser has none to send; only this machine reaches it, and only while `runwright dev` runs.
    if (opts.ui && keyring.active) {
      const origins = [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`];
      uiCodec = await startCodecServer({ codec: new SealCodec(keyring), host: '127.0.0.1', port: uiPort + 1, corsOrigins: origins }).catch((e) => {
        log(`runwright: no codec server for the web UI (${e.code ?? e.message}); it will show sealed payloads (see \`runwright codec serve\`)`);
        return undefined;
      });
    }
    server = await startDevServer({
      uiCodecEndpoint: uiCodec?.url,
      cli,
      port,
      ip: '127.0.0.1',
      uiPort: opts.ui ? uiPort : undefined,
      headless: !opts.ui,
      dbFile: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
    });
    cfg.address = server.address;
  }
  const connection = await connectTo(cfg);
  const client = new Client({ connection, namespace: cfg.namespace, dataConverter: converter });
  const queue = taskQueue();
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let native: NativeConnection | undefined;
  const want = opts.worker ?? 'never';
  const needWorker = want === 'if-embedded' ? !!server : want === 'if-no-poller' ? !!server || !(await hasPoller(client, cfg.namespace, queue)) : false;
  if (needWorker) {
    native = await NativeConnection.connect({ address: cfg.address, tls: cfg.tls, apiKey: cfg.apiKey, metadata: cfg.metadata });
    worker = await createWorker({ connection: native, namespace: cfg.namespace, taskQueue: queue, registry: buildRegistry(opts.extraActions), dataConverter: converter, tuning: { shutdownGraceTime: '2s' } });
    workerRun = worker.run();
    if (!server) log(`runwright: no worker is polling task queue "${queue}"; running one in this process`);
  }
  return {
    client,
    connection,
    namespace: cfg.namespace,
    taskQueue: queue,
    uiUrl: server ? `http://localhost:${uiPort}` : uiBaseUrl(),
    embedded: !!server,
    searchAttributes: await hasSearchAttributes(connection, cfg.namespace),
    keyring,
    close: async () => {
      if (worker) {
        // On SIGINT/SIGTERM the SDK may already be shutting the worker down (runwright dev).
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await workerRun?.catch(() => undefined);
      }
      await native?.close();
      await connection.close();
      await server?.stop();
      await uiCodec?.close();
    },
  };
}
