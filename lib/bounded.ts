/**
 * Bounded input from outside: response bodies are read while streaming and the read stops
 * (connection aborted, clear error) once a cap is passed, so one huge response cannot take the
 * worker's memory. Secret-bearing requests never follow a redirect to another origin.
 */
import { ApplicationFailure } from '@temporalio/common';

export const MAX_RESPONSE_BYTES_ENV = 'RUNWRIGHT_MAX_RESPONSE_BYTES';
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** The worker-wide cap on one response body (RUNWRIGHT_MAX_RESPONSE_BYTES, default 16 MiB). */
export function maxResponseBytes(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[MAX_RESPONSE_BYTES_ENV]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : DEFAULT_MAX_RESPONSE_BYTES;
}

export class ResponseTooLargeError extends Error {
  name = 'ResponseTooLarge';
}

export function tooLarge(what: string, limit: number): ApplicationFailure {
  // Not retryable: the same far end will most likely send the same body again.
  return ApplicationFailure.nonRetryable(`${what}: response body larger than ${limit} bytes (limit ${MAX_RESPONSE_BYTES_ENV}); stopped reading`, 'ResponseTooLarge');
}

/** Read an async-iterable body (fetch's ReadableStream, undici's body, a Node stream) up to `limit` bytes. */
export async function readLimited(body: AsyncIterable<Uint8Array | string> | null | undefined, limit: number, what: string, onAbort?: () => void): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    const b = typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    size += b.length;
    if (size > limit) {
      onAbort?.();
      throw tooLarge(what, limit);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A fetch Response's text, read with a cap (the stream is cancelled past it). */
export async function responseText(res: Response, what: string, limit = maxResponseBytes()): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(what, limit);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const iter: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    },
  };
  return readLimited(iter, limit, what, () => void reader.cancel().catch(() => undefined));
}

/**
 * fetch() that, when the request carries secrets, follows redirects itself and only within the
 * same origin: fetch drops `Authorization` on a cross-origin redirect but keeps every other
 * header (X-API-Key, tokens), so a far end could bounce a key anywhere.
 */
export async function fetchGuarded(url: string, init: RequestInit & { secret: boolean }, what: string, maxRedirects = 5): Promise<Response> {
  const { secret, ...rest } = init;
  if (!secret) return fetch(url, rest);
  let current = url;
  let method = (rest.method ?? 'GET').toUpperCase();
  let body = rest.body;
  for (let i = 0; ; i++) {
    const res = await fetch(current, { ...rest, method, body, redirect: 'manual' });
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc) return res;
    await res.body?.cancel().catch(() => undefined);
    const next = new URL(loc, current);
    if (next.origin !== new URL(current).origin)
      throw ApplicationFailure.nonRetryable(`${what}: refused to follow a redirect to another origin (${next.origin}) with secret headers`, 'SecretRedirectRefused');
    if (i >= maxRedirects) throw ApplicationFailure.nonRetryable(`${what}: more than ${maxRedirects} redirects`, 'TooManyRedirects');
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
    }
    current = next.toString();
  }
}
