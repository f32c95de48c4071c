import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction, timeoutFields, timeoutOf } from '../define';
import { redact, resolveSecret, SecretRef } from '../../lib/secrets';
import { fetchGuarded, maxResponseBytes, responseText } from '../../lib/bounded';

const MAX_BODY = 64 * 1024;

export default defineAction({
  name: 'http.request',
  description: 'HTTP request; retried on 5xx and connection errors, fails at once on 4xx or an unexpected status.',
  input: z.strictObject({
    url: z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' }),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    secretHeaders: z.record(z.string(), SecretRef).default({}).describe('Headers whose values are secret references, e.g. Authorization: secret:api-token (granted in the worker\'s secrets policy)'),
    body: z.unknown().optional().describe('String sent as is; anything else as JSON.'),
    expectStatus: z.union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)]).optional()
      .describe('Status (or list) that counts as success; default any 2xx.'),
    ...timeoutFields(1, 600_000, 30_000, 'How long the request may take.'),
    maxResponseBytes: z.number().int().min(1).optional().describe('Stop reading (and fail) past this many bytes; default the worker\'s RUNWRIGHT_MAX_RESPONSE_BYTES (16 MiB).'),
  }),
  async run(input, ctx) {
    const headers: Record<string, string> = { ...input.headers };
    const secrets: string[] = [];
    for (const [k, ref] of Object.entries(input.secretHeaders)) {
      // The policy may bind the secret to destinations: this URL is where it goes.
      headers[k] = resolveSecret(ref, { destination: input.url });
      secrets.push(headers[k]);
    }
    let body: string | undefined;
    if (input.body !== undefined) {
      body = typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
      if (typeof input.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutOf(input, 30_000))]);
    let res: Response;
    try {
      res = await fetchGuarded(input.url, { method: input.method, headers, body, signal, secret: secrets.length > 0 }, `${input.method} ${input.url}`);
    } catch (e: any) {
      if (ctx.signal.aborted || e instanceof ApplicationFailure) throw e;
      // Connection refused, DNS, timeouts: worth retrying.
      const cause = e?.cause?.code ?? e?.cause?.message ?? e?.name ?? 'error';
      throw ApplicationFailure.retryable(`${input.method} ${input.url}: connection failed (${cause})`, 'HttpConnectionError');
    }
    const full = await responseText(res, `${input.method} ${input.url}`, input.maxResponseBytes ?? maxResponseBytes());
    const text = full.slice(0, MAX_BODY);
    const expected = input.expectStatus === undefined ? null : ([] as number[]).concat(input.expectStatus);
    const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) {
      const msg = redact(`${input.method} ${input.url}: HTTP ${res.status}${expected ? ` (expected ${expected.join(' or ')})` : ''}: ${text.slice(0, 300)}`, secrets);
      if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(msg, 'HttpServerError');
      throw ApplicationFailure.nonRetryable(msg, res.status >= 400 ? 'HttpClientError' : 'HttpUnexpectedStatus');
    }
    let json: unknown = undefined;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body: redact(text, secrets), json: json ?? null, changed: input.method !== 'GET' && input.method !== 'HEAD' };
  },
  /** Sends nothing and resolves no secret: names the request, and whether its method changes anything. */
  async dryRun(input) {
    const changed = input.method !== 'GET' && input.method !== 'HEAD';
    const secret = Object.keys(input.secretHeaders);
    return { changed, summary: `${changed ? 'would send' : 'would read'} ${input.method} ${input.url}${secret.length ? ` (secret headers ${secret.join(', ')})` : ''}`, ...(changed ? { diff: `${input.method} ${input.url}` } : {}) };
  },
  plan: (i) => `${i.method} ${i.url}${i.expectStatus ? ` expecting ${i.expectStatus}` : ''}`,
});
