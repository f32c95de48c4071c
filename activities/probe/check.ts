/** One HTTP check on a fresh connection (no keep-alive), as a load balancer's health check does. */
import http from 'node:http';
import https from 'node:https';
import { maxResponseBytes } from '../../lib/bounded';

export interface CheckResult {
  status: number | null;
  latencyMs: number;
  body?: string;
  error?: string;
  /** No answer within timeoutMs (as opposed to a refusal, a reset or an error status). */
  timedOut?: true;
}

const MAX_BODY = 64 * 1024;

export function httpCheck(o: {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  readBody?: boolean;
}): Promise<CheckResult> {
  const t0 = performance.now();
  const limit = maxResponseBytes();
  const elapsed = () => Math.round(performance.now() - t0);
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason);
    const u = new URL(o.url);
    const mod = u.protocol === 'https:' ? https : http;
    let settled = false;
    const settle = (r: CheckResult | null, err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (r) resolve(r);
      else reject(err);
    };
    const onAbort = () => settle(null, o.signal?.reason);
    // The verdict waits one turn of the event loop (setImmediate runs after the I/O phase): after
    // a stall of the worker's own loop (GC, a busy moment) the answer may already be in the
    // socket, and the timer, run first, must not call a prompt server slow.
    const timer = setTimeout(() => setImmediate(() => settle({ status: null, latencyMs: elapsed(), error: `timed out after ${o.timeoutMs}ms`, timedOut: true })), o.timeoutMs);
    const req = mod.request(u, { method: o.method, headers: { connection: 'close', ...o.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (o.readBody && size < MAX_BODY) chunks.push(c);
        size += c.length;
        // Stop reading an endless or huge body: the check fails, the worker keeps its memory.
        if (size > limit) settle({ status: res.statusCode ?? null, latencyMs: elapsed(), error: `response body larger than ${limit} bytes` });
      });
      res.on('end', () => settle({ status: res.statusCode ?? null, latencyMs: elapsed(), ...(o.readBody ? { body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY) } : {}) }));
      res.on('error', (e: NodeJS.ErrnoException) => settle({ status: res.statusCode ?? null, latencyMs: elapsed(), error: e.code ?? e.message }));
    });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => settle({ status: null, latencyMs: elapsed(), error: e.code ?? e.message }));
    req.end(o.body);
  });
}
