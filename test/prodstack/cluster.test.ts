/**
 * Runwright on the production-shaped stack (scripts/prodstack): two real Temporal server processes
 * forming one cluster on PostgreSQL, reached over mTLS with the settings `scripts/prodstack env`
 * prints, read by Runwright's own lib/connect.ts (worker) and CLI.
 */
import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { statusQuery, type RunStatus } from '../../workflows/definitions';
import { runCli } from '../helpers/cli';
import { inputFor, runbookFrom, startRun, startSuiteWorker, connectTestEnv, type SuiteWorker, type TestEnv } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { isAlive, nodeConnection, nodeEnv, prodstack, shardOf, shardsOwnedBy, stackPid } from './helpers';

let suite: SuiteWorker; // worker + client through node1
let viaNode2: TestEnv; // a second client, through node2

beforeAll(async () => {
  suite = await startSuiteWorker('prodstack', [], nodeConnection('node1'));
  viaNode2 = await connectTestEnv(nodeConnection('node2'));
}, 120_000);
afterAll(async () => {
  await viaNode2?.close();
  await suite?.stop();
});

const rb = (name: string, steps: string) =>
  runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name} }\nspec:\n  steps:\n${steps.replace(/^/gm, '    ')}\n`);

/** The CLI as a user runs it after `eval "$(scripts/prodstack env node2)"`. */
const cliViaNode2 = (args: string[]) =>
  runCli(args, { env: { ...nodeEnv('node2'), RUNWRIGHT_TASK_QUEUE: suite.queue, RUNWRIGHT_CODEC: 'off', RUNWRIGHT_DECISION_TIMEOUT: '60s' }, timeoutMs: 120_000 });

test('the settings printed by `scripts/prodstack env` are mTLS settings for the node asked for', () => {
  const [n1, n2] = [nodeConnection('node1'), nodeConnection('node2')];
  expect(n1.address).not.toEqual(n2.address);
  for (const c of [n1, n2]) {
    expect(c.explicit).toBe(true);
    expect(c.tls).toEqual(expect.objectContaining({ serverRootCACertificate: expect.anything(), clientCertPair: expect.objectContaining({ crt: expect.anything(), key: expect.anything() }) }));
  }
});

test('a runbook with an approval gate runs through node 1 and is watched and approved through node 2 (CLI)', async () => {
  const runbook = rb('prodstack-approval', [
    '- { id: before, action: core.log, with: { message: "before the gate" } }',
    '- { id: gate, approval: { message: "go on?", approvers: [bob], timeout: 10m } }',
    '- { id: after, action: core.log, with: { message: "after the gate" } }',
  ].join('\n'));
  const h = await startRun(suite.env, suite.queue, inputFor(runbook, {}, { startedBy: 'alice' }));
  const onNode2 = viaNode2.client.workflow.getHandle(h.workflowId);
  const waiting = await waitFor(async () => {
    const s = await onNode2.query<RunStatus>(statusQuery);
    return s.pendingApprovals.length > 0 && s;
  }, 'the gate to open, seen through node 2', 60_000, { ignoreErrors: true });
  expect(waiting.pendingApprovals[0]).toEqual(expect.objectContaining({ step: 'gate' }));

  const status = await cliViaNode2(['status', h.workflowId, '--json']);
  expect(status.stderr).toBe('');
  expect(JSON.parse(status.stdout).status.pendingApprovals).toHaveLength(1);

  const approved = await cliViaNode2(['approve', h.workflowId, '--as', 'bob', '--reason', 'through node 2']);
  expect(approved.stdout).toMatch(/approved gate of .* as bob/);
  expect(approved.code).toBe(0);
  const result = (await onNode2.result()) as { state?: string };
  expect(result).toEqual(expect.objectContaining({ state: 'succeeded' }));
  const done = await h.query<RunStatus>(statusQuery);
  expect(done.steps.map((s) => [s.id, s.state])).toEqual([
    ['before', 'succeeded'],
    ['gate', 'succeeded'],
    ['after', 'succeeded'],
  ]);
}, 240_000);

test('runs finish when a server process is killed with -9 mid-run: its shards move to the other node (and `up` brings it back)', async () => {
  const runbook = rb('prodstack-crash', [
    '- { id: first, action: core.log, with: { message: "one" } }',
    '- { id: wait, sleep: 6s }',
    '- { id: second, action: core.log, with: { message: "two" } }',
    '- { id: wait2, sleep: 2s }',
    '- { id: third, action: core.log, with: { message: "three" } }',
  ].join('\n'));
  // Runs until at least two live on history shards node 2 owns (16 shards over 2 nodes).
  const onNode2 = shardsOwnedBy('node2');
  expect(onNode2.size).toBeGreaterThan(0);
  const runs: Awaited<ReturnType<typeof startRun>>[] = [];
  const victims: string[] = [];
  while (victims.length < 2 && runs.length < 40) {
    const h = await startRun(suite.env, suite.queue, inputFor(runbook));
    runs.push(h);
    if (onNode2.has(shardOf(h.workflowId))) victims.push(h.workflowId);
  }
  expect(victims).toHaveLength(2);
  await waitFor(async () => {
    const states = await Promise.all(runs.map((h) => h.query<RunStatus>(statusQuery)));
    return states.every((s) => s.steps.find((x) => x.id === 'first')?.state === 'succeeded');
  }, 'every run past its first step', 60_000, { ignoreErrors: true });

  const victim = stackPid('node2');
  expect(isAlive(victim)).toBe(true);
  process.kill(victim, 'SIGKILL');
  await waitFor(() => !isAlive(victim), 'node2 to die', 10_000);

  const results = (await Promise.all(runs.map((h) => h.result()))) as { state?: string }[];
  expect(results.map((r) => r.state)).toEqual(runs.map(() => 'succeeded'));
  // The runs on node 2's shards finished because node 1 took those shards over.
  const nowOnNode1 = shardsOwnedBy('node1');
  for (const id of victims) expect(nowOnNode1.has(shardOf(id))).toBe(true);

  // `up` is idempotent: it restarts only what is missing, and both frontends answer again.
  prodstack(['up'], 300_000);
  expect(stackPid('node2')).not.toBe(victim);
  expect(prodstack(['status'], 60_000)).toMatch(/node2\s+running/);
  await expect(viaNode2.client.workflow.getHandle(victims[0]).describe()).resolves.toBeTruthy();
}, 300_000);

test('the frontend refuses clients without a client certificate, and plaintext clients', async () => {
  const good = nodeConnection('node1');
  const tls = good.tls as { serverRootCACertificate: Buffer; serverNameOverride?: string };
  const attempt = (opts: Parameters<typeof Connection.connect>[0]) =>
    Connection.connect({ ...opts, connectTimeout: 5000 }).then(async (c) => {
      await c.workflowService.getSystemInfo({});
      await c.close();
      return 'connected';
    });
  // The control: the same CA and server name with the client certificate work.
  await expect(attempt({ address: good.address, tls: good.tls as never })).resolves.toBe('connected');
  await expect(attempt({ address: good.address, tls: { serverRootCACertificate: tls.serverRootCACertificate, serverNameOverride: tls.serverNameOverride } })).rejects.toThrow();
  await expect(attempt({ address: good.address })).rejects.toThrow();
  // A certificate from a CA the server does not trust is refused too.
  const otherKey = readFileSync(nodeEnv('node1').TEMPORAL_TLS_CLIENT_KEY_PATH);
  const selfSigned = readFileSync(nodeEnv('node1').TEMPORAL_TLS_SERVER_CA_CERT_PATH); // the CA's own cert, not issued for this key
  await expect(attempt({ address: good.address, tls: { ...tls, clientCertPair: { crt: selfSigned, key: otherKey } } })).rejects.toThrow();
}, 120_000);
