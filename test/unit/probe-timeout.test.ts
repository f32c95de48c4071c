/**
 * A health check's timeout is about the server, not about the worker: (1) after a stall of the
 * worker's own event loop, an answer already in the socket wins over the overdue timer; (2) the
 * steady-state probe tries a timed-out sample again before it calls a cluster unhealthy (seen in
 * the chaos suite: a Temporal server restart made every cluster "time out" and a drill skipped
 * itself), while a refusal still counts at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpCheck } from '../../activities/probe/check';
import steadyState from '../../activities/probe/steady-state';
import type { ActionContext } from '../../activities/define';

const ctx: ActionContext = {
  idempotencyKey: 'wf:steady',
  executionKey: 'wf:run:steady',
  attempt: 1,
  signal: new AbortController().signal,
  heartbeat() {},
  heartbeatDetails: () => undefined,
  log() {},
};

describe('httpCheck after the worker’s own loop stalled', () => {
  let child: ChildProcess;
  let url: string;
  beforeAll(async () => {
    // In another process, so it answers while this one is busy.
    child = spawn(process.execPath, ['-e', `require('http').createServer((q, s) => setTimeout(() => s.end('ok'), 100)).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d).trim())));
    url = `http://127.0.0.1:${port}/health`;
  });
  afterAll(() => void child.kill('SIGKILL'));

  test('an answer that arrived during the stall is taken, not reported as a timeout', async () => {
    const check = httpCheck({ url, method: 'GET', headers: {}, timeoutMs: 300, readBody: true });
    await new Promise((r) => setTimeout(r, 30)); // the request is on its way
    // The loop stalls past the timeout while the answer comes in. The stall is in the check phase,
    // so the next turn of the loop runs the (overdue) timers before it reads the socket.
    await new Promise<void>((r) =>
      setImmediate(() => {
        const end = Date.now() + 800;
        while (Date.now() < end);
        r();
      }),
    );
    const r = await check;
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(200);
    expect(r.body).toBe('ok');
  });

  test('a server that does not answer in time still times out', async () => {
    const r = await httpCheck({ url, method: 'GET', headers: {}, timeoutMs: 20 });
    expect(r).toMatchObject({ status: null, error: 'timed out after 20ms', timedOut: true });
  });
});

describe('probe.steady-state and a slow sample', () => {
  let server: Server;
  let url: string;
  let hits = 0;
  let hangFirst = 0;
  beforeAll(async () => {
    server = createServer((_q, s) => {
      hits++;
      if (hits <= hangFirst) return; // never answers
      s.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  });
  afterAll(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  const run = (extra: Record<string, unknown>) =>
    steadyState.run(steadyState.input.parse({ clusters: ['a'], health: { a: url }, samples: 2, interval: 10, timeout: 150, assert: false, ...extra }), ctx);

  test('one timed-out sample is tried again (default) and the cluster is healthy', async () => {
    hits = 0;
    hangFirst = 1;
    const r = await run({});
    expect(r.healthy).toBe(true);
    expect(hits).toBe(3); // the hung one, its retry, the second sample
  });

  test('with timeoutRetries: 0 a single timeout makes the cluster unhealthy', async () => {
    hits = 0;
    hangFirst = 1;
    const r = await run({ timeoutRetries: 0 });
    expect(r.healthy).toBe(false);
    expect(r.reasons[0]).toMatch(/a: .*timed out after 150ms/);
  });

  test('a cluster that keeps timing out is unhealthy after its retries', async () => {
    hits = 0;
    hangFirst = 10;
    const r = await run({ timeoutRetries: 2 });
    expect(r.healthy).toBe(false);
    expect(hits).toBe(3);
  });

  test('an error status is not retried', async () => {
    let bad503 = 0;
    const bad = createServer((_q, s) => (bad503++, s.writeHead(503).end('down')));
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    try {
      const r = await steadyState.run(steadyState.input.parse({ clusters: ['b'], health: { b: `http://127.0.0.1:${(bad.address() as AddressInfo).port}/` }, samples: 3, interval: 10, timeoutRetries: 5, assert: false }), ctx);
      expect(r.healthy).toBe(false);
      expect(r.reasons[0]).toMatch(/HTTP 503/);
      expect(bad503).toBe(1);
    } finally {
      await new Promise((r) => bad.close(r));
    }
  });
});
