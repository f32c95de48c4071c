/**
 * probe.http retried after its worker was lost (killed, or cut off from the server for longer
 * than the probe's window): the retry must still observe the target before judging it, instead
 * of finding the window over and reporting nothing (seen in the chaos suite: failover gave up
 * on a cluster that was down all along).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import probeHttp from '../../activities/probe/http';
import type { ActionContext } from '../../activities/define';

let server: Server;
let url: string;
let hits = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.writeHead(503).end('down');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
});
afterAll(() => new Promise((r) => server.close(r)));

function ctxResuming(details: unknown): ActionContext {
  return {
    idempotencyKey: 'wf:confirm',
    executionKey: 'wf:run:confirm',
    attempt: 2,
    signal: new AbortController().signal,
    heartbeat() {},
    heartbeatDetails: <T>() => details as T,
    log() {},
  };
}

const input = (extra: Record<string, unknown> = {}) =>
  probeHttp.input.parse({ url, interval: 100, timeout: 500, failureThreshold: 3, until: 'down', maxDuration: '30s', ...extra });

const staleState = () => ({
  startedMs: Date.now() - 120_000, // the first attempt started long ago; its window is over
  checks: 1, successes: 0, failures: 1, consecutiveOk: 0, consecutiveFail: 1, verdict: null, verdictAtMs: null,
  reached: { up: null, down: null }, firstFailureMs: 0, transitions: [], timeline: [], timelineDropped: 0,
});

test('a retry that finds its window over still takes a full threshold of checks and reaches the verdict', async () => {
  hits = 0;
  const out = await probeHttp.run(input(), ctxResuming(staleState()));
  expect(out.verdict).toBe('down');
  expect(hits).toBeGreaterThanOrEqual(2); // continues the counters: 1 failure before, 2 more now
});

test('a watched window (until: deadline) keeps its end on a retry', async () => {
  hits = 0;
  const out = await probeHttp.run(input({ until: 'deadline' }), ctxResuming(staleState()));
  expect(hits).toBe(0);
  expect(out.checks).toBe(1);
});
