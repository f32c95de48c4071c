/**
 * OpenStack errors, with the API's own message and request id, and their mapping to Temporal:
 * retryable (5xx, 429 honouring Retry-After, 409 while something is PENDING/in use, connection
 * errors) or not (400, 403, 404, 401 after re-authenticating, quota, bad configuration).
 */
import { ApplicationFailure } from '@temporalio/common';
import { CloudConfigError } from './config';

export class OpenStackError extends Error {
  name = 'OpenStackError';
  constructor(
    message: string,
    readonly info: {
      status?: number;
      service?: string;
      method?: string;
      url?: string;
      requestId?: string;
      /** The API's own message (Nova/Neutron/Keystone/Octavia JSON, Glance HTML). */
      apiMessage?: string;
      /** Neutron's error type (NetworkNotFound, OverQuota, ...). */
      apiType?: string;
      retryAfterSeconds?: number;
      /** Set for connection-level failures (no HTTP answer). */
      connection?: string;
      /** A resource ended in ERROR, a wait timed out, ... */
      kind?: 'resource-error' | 'timeout' | 'not-found' | 'ambiguous' | 'invalid';
    },
  ) {
    super(message);
  }
  get status(): number | undefined {
    return this.info.status;
  }
}

/** Pull the human message out of each service's error body. */
export function apiMessage(text: string, contentType: string): { message: string; type?: string } {
  if (!text) return { message: '' };
  if (contentType.includes('json') || /^\s*[{[]/.test(text)) {
    try {
      const j = JSON.parse(text);
      if (j && typeof j === 'object') {
        if (j.NeutronError) return { message: String(j.NeutronError.message ?? ''), type: j.NeutronError.type };
        if (j.error && typeof j.error === 'object') return { message: String(j.error.message ?? j.error.title ?? '') };
        if (typeof j.faultstring === 'string') return { message: j.faultstring };
        // Glance's JSON errors (webob) keep the HTML line breaks of its HTML form: "... <br /><br />\n\n\n".
        if (typeof j.message === 'string') return { message: j.message.replace(/<br\s*\/?>/gi, ' ').replace(/\s+/g, ' ').trim() };
        if (typeof j.description === 'string') return { message: j.description };
        const keys = Object.keys(j);
        // Nova: {"itemNotFound": {"code": 404, "message": ...}} (the key only restates the status).
        if (keys.length === 1 && j[keys[0]] && typeof j[keys[0]] === 'object' && 'message' in j[keys[0]]) return { message: String(j[keys[0]].message) };
      }
    } catch {
      /* fall through to text */
    }
  }
  // Glance and load balancers in front of APIs answer HTML: keep the text after the title.
  const plain = text
    .replace(/<title>[\s\S]*?<\/title>/i, '')
    .replace(/<h1>[\s\S]*?<\/h1>/i, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return { message: plain.slice(0, 500) };
}

const QUOTA = /quota|over ?limit/i;
const DUPLICATE = /already exists|already using|duplicate|already has/i;

export type FailureType =
  | 'OpenStackServerError'
  | 'OpenStackRateLimited'
  | 'OpenStackConflict'
  | 'OpenStackConnectionError'
  | 'OpenStackBadRequest'
  | 'OpenStackForbidden'
  | 'OpenStackNotFound'
  | 'OpenStackUnauthorized'
  | 'OpenStackQuotaExceeded'
  | 'OpenStackDuplicate'
  | 'OpenStackVersionNotSupported'
  | 'OpenStackResourceError'
  | 'OpenStackWaitTimeout'
  | 'OpenStackConfigError'
  | 'OpenStackError';

/** Whether an error is worth retrying, and under which failure type it is reported. */
export function classify(e: unknown): { type: FailureType; retryable: boolean; retryAfterSeconds?: number } {
  if (e instanceof CloudConfigError) return { type: 'OpenStackConfigError', retryable: false };
  if (!(e instanceof OpenStackError)) return { type: 'OpenStackError', retryable: true };
  const i = e.info;
  if (i.connection) return { type: 'OpenStackConnectionError', retryable: true };
  if (i.kind === 'resource-error') return { type: 'OpenStackResourceError', retryable: false };
  if (i.kind === 'timeout') return { type: 'OpenStackWaitTimeout', retryable: false };
  if (i.kind === 'not-found') return { type: 'OpenStackNotFound', retryable: false };
  if (i.kind === 'ambiguous' || i.kind === 'invalid') return { type: 'OpenStackBadRequest', retryable: false };
  const s = i.status ?? 0;
  const msg = `${i.apiType ?? ''} ${i.apiMessage ?? ''}`;
  if (s === 429) return { type: 'OpenStackRateLimited', retryable: true, retryAfterSeconds: i.retryAfterSeconds };
  if (s >= 500) return { type: 'OpenStackServerError', retryable: true, retryAfterSeconds: i.retryAfterSeconds };
  if (s === 401) return { type: 'OpenStackUnauthorized', retryable: false };
  if (s === 413 || ((s === 403 || s === 409) && QUOTA.test(msg))) return { type: 'OpenStackQuotaExceeded', retryable: false };
  if (s === 409) return DUPLICATE.test(msg) ? { type: 'OpenStackDuplicate', retryable: false } : { type: 'OpenStackConflict', retryable: true };
  if (s === 403) return { type: 'OpenStackForbidden', retryable: false };
  if (s === 404) return { type: 'OpenStackNotFound', retryable: false };
  if (s === 406) return { type: 'OpenStackVersionNotSupported', retryable: false };
  if (s >= 400) return { type: 'OpenStackBadRequest', retryable: false };
  return { type: 'OpenStackError', retryable: true };
}

/** The Temporal failure for an error raised while talking to OpenStack. */
export function toFailure(e: unknown, prefix: string): Error {
  if (e instanceof ApplicationFailure) return e;
  if (e && typeof e === 'object' && (e as { name?: string }).name === 'AbortError') return e as Error;
  const c = classify(e);
  const message = `${prefix}: ${(e as Error)?.message ?? String(e)}`;
  const details = e instanceof OpenStackError ? [{ status: e.info.status ?? null, requestId: e.info.requestId ?? null, service: e.info.service ?? null, apiMessage: e.info.apiMessage ?? null }] : undefined;
  return ApplicationFailure.create({
    message,
    type: c.type,
    nonRetryable: !c.retryable,
    details,
    ...(c.retryable && c.retryAfterSeconds !== undefined ? { nextRetryDelay: `${Math.max(0, c.retryAfterSeconds)}s` as const } : {}),
  });
}
