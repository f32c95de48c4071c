/**
 * A small client for the PowerDNS Authoritative HTTP API (/api/v1, X-API-Key): read and replace
 * one RRset of a zone. Used by the dns.records.* actions.
 */
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../lib/secrets';
import { fetchGuarded, responseText } from '../../lib/bounded';

export interface PdnsTarget {
  /** Base URL of the webserver, e.g. http://127.0.0.1:8081 (an /api/v1 suffix is accepted too). */
  api: string;
  apiKey: string;
  /** Server id in the API path; "localhost" on every PowerDNS Authoritative. */
  server: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface RRset {
  name: string;
  type: string;
  ttl: number;
  /** Record contents, sorted; disabled records are kept apart. */
  records: string[];
  disabled: string[];
}

/** "example.com" → "example.com." */
export function canonicalZone(zone: string): string {
  const z = zone.trim().toLowerCase();
  return z.endsWith('.') ? z : `${z}.`;
}

/**
 * Record names relative to the zone are completed: "app" or "app.example.com" in zone
 * example.com. both give "app.example.com."; "@" is the zone apex.
 */
export function canonicalName(name: string, zone: string): string {
  const z = canonicalZone(zone);
  const n = name.trim().toLowerCase();
  if (n === '@' || n === '') return z;
  if (n.endsWith('.')) return n;
  const bare = z.slice(0, -1);
  if (n === bare || n.endsWith(`.${bare}`)) return `${n}.`;
  return `${n}.${z}`;
}

/** The zone id as the API wants it in a URL path ("/" is escaped as =2F by PowerDNS). */
function zoneId(zone: string): string {
  return encodeURIComponent(canonicalZone(zone).replace(/\//g, '=2F'));
}

function apiBase(api: string): string {
  return api.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

async function call(t: PdnsTarget, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const url = `${apiBase(t.api)}/api/v1/servers/${encodeURIComponent(t.server)}${path}`;
  const signal = t.signal ? AbortSignal.any([t.signal, AbortSignal.timeout(t.timeoutMs)]) : AbortSignal.timeout(t.timeoutMs);
  let res: Response;
  try {
    // The key is a header: never follow a redirect to another origin with it.
    res = await fetchGuarded(url, {
      secret: true,
      method,
      headers: { 'X-API-Key': t.apiKey, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    }, `PowerDNS ${method} ${path}`);
  } catch (e: any) {
    if (t.signal?.aborted || e instanceof ApplicationFailure) throw e;
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.name ?? 'error';
    throw ApplicationFailure.retryable(`PowerDNS ${method} ${url}: connection failed (${cause})`, 'PdnsConnectionError');
  }
  const text = await responseText(res, `PowerDNS ${method} ${path}`);
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status >= 400) {
    const why = redact(json?.error ?? text.slice(0, 300), [t.apiKey]);
    const msg = `PowerDNS ${method} ${path}: HTTP ${res.status}: ${why}`;
    // 5xx and 429 may pass; 401/403/404/422 (bad key, unknown zone, invalid record) will not.
    if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(msg, 'PdnsServerError');
    throw ApplicationFailure.nonRetryable(msg, res.status === 401 || res.status === 403 ? 'PdnsUnauthorized' : res.status === 404 ? 'PdnsNotFound' : 'PdnsRejected');
  }
  return { status: res.status, json, text };
}

/** The RRset (name, type) of a zone, or null if it has no records. */
export async function getRRset(t: PdnsTarget, zone: string, name: string, type: string): Promise<RRset | null> {
  // rrset_name/rrset_type filter on the server (4.5+); older servers ignore them and we filter here.
  const q = `?rrset_name=${encodeURIComponent(name)}&rrset_type=${encodeURIComponent(type)}`;
  const { json } = await call(t, 'GET', `/zones/${zoneId(zone)}${q}`);
  const found = (json?.rrsets ?? []).find((r: any) => String(r.name).toLowerCase() === name && String(r.type).toUpperCase() === type);
  if (!found) return null;
  const records: string[] = [];
  const disabled: string[] = [];
  for (const r of found.records ?? []) (r.disabled ? disabled : records).push(String(r.content));
  return { name, type, ttl: Number(found.ttl), records: records.sort(), disabled: disabled.sort() };
}

/** Replace the RRset with exactly these records (none: delete it). */
export async function replaceRRset(t: PdnsTarget, zone: string, name: string, type: string, ttl: number, records: readonly string[]): Promise<void> {
  const rrset = records.length
    ? { name, type, ttl, changetype: 'REPLACE', records: records.map((content) => ({ content, disabled: false })) }
    : { name, type, changetype: 'DELETE' };
  await call(t, 'PATCH', `/zones/${zoneId(zone)}`, { rrsets: [rrset] });
}
