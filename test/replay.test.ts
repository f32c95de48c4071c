/**
 * Determinism guard: histories recorded from the shipped runbooks (scripts/record-histories.ts,
 * committed under test/histories/) must replay against the current workflow code. A change
 * that would break runs already in flight fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { workflowBundle } from '../workers/worker';
import { TRACING_WORKFLOW_MODULES } from '../workers/telemetry';
import { dataConverter, FAILURE_CONVERTER_PATH, keyId } from '../lib/codec';

const dir = join(__dirname, 'histories');
const histories = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      // Replay needs the recorded workflow id (child ids derive from it); the recorders store it
      // beside the events as `workflowId`.
      const { workflowId, ...history } = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      return { workflowId: workflowId ?? `replay-${f.replace(/\.json$/, '')}`, history };
    });

test('every shipped runbook history is recorded', () => {
  const recorded = new Set(readdirSync(dir).map((f) => f.replace(/\.json$/, '')));
  const shipped = readdirSync(join(__dirname, '../runbooks')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));
  expect(shipped.length).toBeGreaterThan(0);
  expect(shipped.filter((s) => !recorded.has(s))).toEqual([]);
});

test('recorded histories replay against the current interpreter', async () => {
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories())) results.push(r);
  expect(results.length).toBeGreaterThanOrEqual(3);
  expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
}, 120_000);

test('recorded (plaintext) histories replay on a worker with the payload codec on: runs from before the codec go on', async () => {
  const key = Buffer.alloc(32, 7);
  const k = { id: keyId(key), name: 'test', key };
  const sealing = { workflowBundle: await workflowBundle(FAILURE_CONVERTER_PATH), dataConverter: dataConverter({ active: k, keys: [k], source: 'test' }) };
  const results = [];
  for await (const r of Worker.runReplayHistories(sealing, histories())) results.push(r);
  expect(results.length).toBeGreaterThanOrEqual(3);
  expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
}, 120_000);

test('recorded histories replay on a worker with tracing on (OpenTelemetry interceptors add no commands)', async () => {
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle(undefined, { workflowInterceptorModules: TRACING_WORKFLOW_MODULES }) }, histories())) results.push(r);
  expect(results.length).toBeGreaterThanOrEqual(3);
  expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
}, 120_000);

test('a non-deterministic change to the interpreter is caught', async () => {
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/nondeterministic'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories())) results.push(r);
  const demo = results.find((r) => r.workflowId.endsWith('demo'));
  expect(demo?.error?.message).toMatch(/[Nn]ondeterminism/);
}, 120_000);
