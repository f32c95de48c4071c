/**
 * HTTP plumbing of the OpenStack stand-in: a small router, request context, and the error
 * bodies each service really returns (Keystone `{error}`, Nova `{badRequest: {code, message}}`,
 * Neutron `{NeutronError}`, Octavia wsme `{faultcode, faultstring}`, Glance webob HTML, or JSON
 * when the client accepts it).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type Service = 'identity' | 'compute' | 'network' | 'image' | 'load-balancer' | 'sim';

export interface Reply {
  status: number;
  body?: unknown;
  /** Raw text body (HTML errors, empty 204s); wins over `body`. */
  text?: string;
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Neutron's error type (NetworkNotFound, OverQuota, ...); Octavia/Nova ignore it. */
    readonly type?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (m: string, type = 'HTTPBadRequest') => new ApiError(400, m, type);
export const notFound = (m: string, type = 'HTTPNotFound') => new ApiError(404, m, type);
export const conflict = (m: string, type = 'Conflict') => new ApiError(409, m, type);
export const forbidden = (m: string, type = 'HTTPForbidden') => new ApiError(403, m, type);

const NOVA_FAULT: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export const reason = (status: number) => REASON[status] ?? 'Error';

/** The error body exactly as the given service formats it. */
export function errorReply(service: Service, status: number, message: string, type?: string, headers: Record<string, string> = {}, accept = ''): Reply {
  switch (service) {
    case 'identity':
    case 'sim':
      return { status, headers, body: { error: { code: status, title: reason(status), message } } };
    case 'compute':
      return { status, headers, body: { [NOVA_FAULT[status] ?? 'computeFault']: { code: status, message } } };
    case 'network':
      return { status, headers, body: { NeutronError: { type: type ?? `HTTP${reason(status).replace(/ /g, '')}`, message, detail: '' } } };
    case 'load-balancer':
      return { status, headers, body: { faultcode: status >= 500 ? 'Server' : 'Client', faultstring: message, debuginfo: null } };
    case 'image':
      // webob picks the format from Accept: JSON for API clients, HTML otherwise (seen on a real Glance).
      if (/json/.test(accept)) return { status, headers: { 'content-type': 'application/json', ...headers }, body: { message: `${message}<br /><br />\n\n\n`, code: `${status} ${reason(status)}`, title: reason(status) } };
      return {
        status,
        headers: { 'content-type': 'text/html; charset=UTF-8', ...headers },
        text: `<html>\n <head>\n  <title>${status} ${reason(status)}</title>\n </head>\n <body>\n  <h1>${status} ${reason(status)}</h1>\n  ${message}<br /><br />\n\n\n\n </body>\n</html>`,
      };
  }
}

/** What keystonemiddleware answers for a missing, invalid or expired token, on every service. */
export function unauthorizedReply(identityUrl: string): Reply {
  return {
    status: 401,
    headers: { 'www-authenticate': `Keystone uri="${identityUrl}"` },
    body: { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
  };
}

export interface Ctx {
  method: string;
  path: string; // after the service prefix, e.g. /servers/abc
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: any;
  params: Record<string, string>;
  /** Absolute URL of the service root for links (e.g. http://127.0.0.1:8780/cluster-a/RegionOne/compute/v2.1). */
  base: string;
  requestId: string;
  /** Response headers the handler wants added (microversion). */
  extraHeaders: Record<string, string>;
}

export type Handler<S> = (ctx: Ctx, state: S) => Reply | Promise<Reply>;

interface Route<S> {
  method: string;
  parts: string[];
  handler: Handler<S>;
  template: string;
}

/** `/servers/:id/action` style routes; the first match wins; 405 when only the method differs. */
export class Router<S> {
  private routes: Route<S>[] = [];

  on(method: string, template: string, handler: Handler<S>): this {
    this.routes.push({ method, parts: split(template), handler, template });
    return this;
  }

  match(method: string, path: string): { handler: Handler<S>; params: Record<string, string>; template: string } | 'method' | undefined {
    const segs = split(path);
    let methodMismatch = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i];
        if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(segs[i]);
        else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) {
        methodMismatch = true;
        continue;
      }
      return { handler: r.handler, params, template: r.template };
    }
    return methodMismatch ? 'method' : undefined;
  }
}

function split(p: string): string[] {
  return p.split('/').filter(Boolean);
}

export const requestId = () => `req-${randomUUID()}`;

/** Timestamps in each service's own format. */
export const isoZ = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const isoMicroZ = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
export const isoNaive = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');

/** Parse list paging (limit, marker) as Nova/Neutron/Octavia/Glance do; `links` are next-page URLs. */
export function page<T extends { id: string }>(
  items: T[],
  q: URLSearchParams,
  maxLimit: number,
  nextUrl: (marker: string, limit: number) => string,
  markerNotFound: (m: string) => ApiError,
): { items: T[]; next?: string } {
  const limitRaw = q.get('limit');
  let limit = maxLimit;
  if (limitRaw !== null) {
    const n = Number(limitRaw);
    if (!Number.isInteger(n) || n < 0) throw badRequest(`limit must be a non-negative integer, got ${limitRaw}`);
    limit = Math.min(n || maxLimit, maxLimit);
  }
  let start = 0;
  const marker = q.get('marker');
  if (marker) {
    const i = items.findIndex((x) => x.id === marker);
    if (i < 0) throw markerNotFound(marker);
    start = i + 1;
  }
  const slice = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return { items: slice, next: more && slice.length ? nextUrl(slice[slice.length - 1].id, limit) : undefined };
}

/** Rebuild a URL with marker/limit replaced (for next links), keeping the other query params. */
export function withMarker(base: string, path: string, q: URLSearchParams, marker: string, limit: number): string {
  const n = new URLSearchParams(q);
  n.set('limit', String(limit));
  n.set('marker', marker);
  return `${base}${path}?${n.toString()}`;
}
