/** Connect tests to the shared dev server and run workers on their own task queues. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { buildRegistry } from '../../activities/registry';
import type { ActionDefinition } from '../../activities/define';
import { createWorker } from '../../workers/worker';
import { writeRecordedHistory } from './record-history';
import { dataConverter } from '../../lib/codec';
import type { ConnectionConfig } from '../../lib/connect';
import { validateRunbookText } from '../../dsl/validate';
import { resolveParams } from '../../dsl/params';
import type { Runbook } from '../../dsl/schema';
import { INTERPRETER_WORKFLOW, type RunInput, type RunResult } from '../../workflows/definitions';

// Keep test output readable: only worker warnings and errors.
if (!(globalThis as { __rwRuntime?: boolean }).__rwRuntime) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  (globalThis as { __rwRuntime?: boolean }).__rwRuntime = true;
}

/**
 * Env for a worker *process* the tests start against their server: such a worker counts as shared
 * (configured server), which by default refuses unsigned requests and refuses to start without
 * codec keys. The fixtures start runs unsigned and, unless the run's env has keys, in plaintext.
 */
export function singleUserWorkerEnv(): Record<string, string> {
  const keyed = !!(process.env.RUNWRIGHT_CODEC_KEY || process.env.RUNWRIGHT_CODEC_KEYS);
  return { RUNWRIGHT_REQUIRE_SIGNED: '0', ...(keyed ? {} : { RUNWRIGHT_CODEC: 'off' }) };
}

export function serverAddress(): string {
  const a = process.env.RUNWRIGHT_TEST_TEMPORAL_ADDRESS;
  if (!a) throw new Error('RUNWRIGHT_TEST_TEMPORAL_ADDRESS is not set: run through jest (globalSetup starts the server)');
  return a;
}

export interface TestEnv {
  client: Client;
  connection: Connection;
  native: NativeConnection;
  close(): Promise<void>;
}

/** A server address, or connection settings as lib/connect.ts reads them (TLS, namespace). */
export type TestServer = string | Pick<ConnectionConfig, 'address' | 'tls' | 'namespace'>;

export async function connectTestEnv(server: TestServer = serverAddress()): Promise<TestEnv> {
  const { address, tls, namespace = 'default' } = typeof server === 'string' ? { address: server } : server;
  const connection = await Connection.connect({ address, tls });
  const native = await NativeConnection.connect({ address, tls });
  // Same codec config as the test workers (lib/codec.ts, from env: none unless set, then the whole suite runs sealed).
  const client = new Client({ connection, namespace, dataConverter: dataConverter() });
  return {
    client,
    connection,
    native,
    close: async () => {
      await connection.close();
      await native.close();
    },
  };
}

let queueSeq = 0;
export function uniqueQueue(name: string): string {
  return `test-${name}-${process.pid}-${Date.now().toString(36)}-${queueSeq++}`;
}

export async function startTestWorker(env: TestEnv, taskQueue: string, extraActions: ActionDefinition[] = []): Promise<Worker> {
  return createWorker({ connection: env.native, taskQueue, registry: buildRegistry(extraActions), tuning: { shutdownGraceTime: '1s' } });
}

/** A test file's own worker on its own task queue, and one call that stops it all (for afterAll). */
export interface SuiteWorker {
  env: TestEnv;
  queue: string;
  worker: Worker;
  stop(): Promise<void>;
}

export async function startSuiteWorker(name: string, extraActions: ActionDefinition[] = [], server?: TestServer): Promise<SuiteWorker> {
  const env = await connectTestEnv(server);
  const queue = uniqueQueue(name);
  const worker = await startTestWorker(env, queue, extraActions);
  const running = worker.run();
  return {
    env,
    queue,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await env.close();
    },
  };
}

/** Parse + validate runbook YAML text in a test; throws with the diagnostics if invalid. */
export function runbookFrom(yamlText: string, extraActions: ActionDefinition[] = []): Runbook {
  const { runbook, diagnostics } = validateRunbookText('test.yaml', yamlText, { actions: buildRegistry(extraActions) });
  if (!runbook) throw new Error(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return runbook;
}

export function inputFor(rb: Runbook, params: Record<string, unknown> = {}, extra: Partial<RunInput> = {}): RunInput {
  const { values, errors } = resolveParams(rb, params);
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return { runbook: rb, params: values, ...extra };
}

export async function startRun(env: TestEnv, taskQueue: string, input: RunInput, workflowId = `${input.runbook.metadata.name}-${Date.now().toString(36)}-${queueSeq++}`) {
  return env.client.workflow.start<(i: RunInput) => Promise<RunResult>>(INTERPRETER_WORKFLOW, { taskQueue, workflowId, args: [input] });
}

/**
 * Record a finished run's history for the replay test (test/histories/<name>.json) when
 * RECORD_HISTORIES=1. Integration tests of shipped runbooks call this after the run ends, so
 * runbooks that need simulators or test hosts get recorded by the tests that set those up.
 */
export async function maybeRecordHistory(env: TestEnv, workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const { join } = await import('node:path');
  writeRecordedHistory(process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!, serverAddress(), workflowId, join(__dirname, '..', 'histories', `${name}.json`));
}

/** A shipped runbook (runbooks/<name>.yaml, with its child runbooks) and params, as `runwright run` would start it. */
export function shippedInput(name: string, params: Record<string, unknown> = {}, extra: Partial<RunInput> = {}, extraActions: ActionDefinition[] = []): RunInput {
  // Required lazily: client/runbooks pulls in the CLI's loader, which only these tests need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadRunbookFile } = require('../../client/runbooks') as typeof import('../../client/runbooks');
  const { join } = require('node:path') as typeof import('node:path');
  const { loaded, diagnostics } = loadRunbookFile(join(__dirname, '..', '..', 'runbooks', `${name}.yaml`), buildRegistry(extraActions));
  if (!loaded) throw new Error(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  const { values, errors } = resolveParams(loaded.runbook, params);
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return { runbook: loaded.runbook, params: values, children: loaded.children, startedBy: 'test', ...extra };
}

/**
 * The usual fixture of an integration test file: a connection to the shared dev server and a
 * worker on its own task queue, started in beforeAll and stopped in afterAll (even on failure).
 * Read `t.env` / `t.queue` inside tests.
 */
export function useTestWorker(name: string, extraActions: ActionDefinition[] = [], timeoutMs = 60_000): { env: TestEnv; queue: string; worker: Worker } {
  const t = {} as { env: TestEnv; queue: string; worker: Worker };
  let suite: SuiteWorker | undefined;
  beforeAll(async () => {
    suite = await startSuiteWorker(name, extraActions);
    Object.assign(t, { env: suite.env, queue: suite.queue, worker: suite.worker });
  }, timeoutMs);
  afterAll(async () => suite?.stop());
  return t;
}

/** The innermost failure message of a run that must fail (fails the test if it succeeds). */
export async function failureMessage(result: Promise<unknown>): Promise<string> {
  try {
    await result;
  } catch (e) {
    const { WorkflowFailedError } = require('@temporalio/client') as typeof import('@temporalio/client');
    if (!(e instanceof WorkflowFailedError)) throw e;
    let c: any = e;
    while (c.cause) c = c.cause;
    return String(c.message);
  }
  throw new Error('expected the run to fail');
}
