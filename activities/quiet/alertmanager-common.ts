/**
 * Alertmanager API v2 client for the silence actions: JSON over fetchGuarded with a bounded
 * body, optional headers and secret headers (masked by the action wrapper and here in errors),
 * retryable on 5xx and connection errors, non-retryable on 4xx.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { timeoutFields, timeoutOf } from '../define';
import { redact, resolveSecret, SecretRef } from '../../lib/secrets';
import { fetchGuarded, responseText } from '../../lib/bounded';

const MAX_BODY = 8 * 1024 * 1024;

/** Connection fields every Alertmanager action takes. */
export const amTarget = {
  url: z.url({ protocol: /^https?$/ }).describe('Alertmanager base URL, e.g. http://alertmanager:9093 (the API is under /api/v2).'),
  headers: z.record(z.string(), z.string()).default({}),
  secretHeaders: z.record(z.string(), SecretRef).default({}).describe('e.g. Authorization: secret:am-token'),
  ...timeoutFields(1, 600_000, 10_000, 'Per HTTP request.'),
};

export interface AmTarget {
  url: string;
  headers: Record<string, string>;
  secretHeaders: Record<string, string>;
  timeout?: number;
  timeoutMs?: number;
}

export const Matcher = z.strictObject({
  name: z.string().min(1),
  value: z.string(),
  isRegex: z.boolean().default(false),
  isEqual: z.boolean().default(true).describe('false: the label must NOT match (Alertmanager >= 0.22).'),
});
export type MatcherT = z.output<typeof Matcher>;

export interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: MatcherT[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
  startsAt?: string;
}

/** The marker a silence of this step carries in its comment: same on every retry of the step, different for other steps and runs. */
export function quietMarker(idempotencyKey: string): string {
  return `[runwright:${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}]`;
}

/** Alertmanager's filter syntax for one matcher: name="value", name=~"re", name!="v", name!~"re". */
export function filterOf(m: MatcherT): string {
  const op = m.isEqual ? (m.isRegex ? '=~' : '=') : m.isRegex ? '!~' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

export class AmClient {
  private readonly base: string;
  private readonly hdrs: Record<string, string>;
  private readonly secrets: string[] = [];
  constructor(private readonly t: AmTarget, private readonly signal: AbortSignal) {
    this.base = t.url.replace(/\/+$/, '');
    this.hdrs = { accept: 'application/json', ...t.headers };
    for (const [k, ref] of Object.entries(t.secretHeaders)) {
      const v = resolveSecret(ref, { destination: t.url });
      this.hdrs[k] = v;
      this.secrets.push(v);
    }
  }

  async call<T>(method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<{ status: number; json: T }> {
    const url = `${this.base}${path}`;
    const what = `${method} ${url}`;
    const headers = { ...this.hdrs, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(timeoutOf(this.t, 10_000))]);
    let res: Response;
    try {
      res = await fetchGuarded(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, secret: this.secrets.length > 0 }, what);
    } catch (e: any) {
      if (this.signal.aborted || e instanceof ApplicationFailure) throw e;
      throw ApplicationFailure.retryable(`alertmanager: ${what}: connection failed (${e?.cause?.code ?? e?.cause?.message ?? e?.name ?? 'error'})`, 'AlertmanagerConnectionError');
    }
    const text = await responseText(res, what, MAX_BODY);
    if (!(res.status >= 200 && res.status < 300) && !okStatuses.includes(res.status)) {
      const msg = redact(`alertmanager: ${what}: HTTP ${res.status}: ${text.slice(0, 300)}`, this.secrets);
      if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(msg, 'AlertmanagerServerError');
      throw ApplicationFailure.nonRetryable(msg, 'AlertmanagerClientError');
    }
    let json: T = null as T;
    if (text) {
      try {
        json = JSON.parse(text) as T;
      } catch {
        json = text as unknown as T;
      }
    }
    return { status: res.status, json };
  }

  /** Silences whose comment carries the marker and that are still in force (active or pending). */
  async silencesMarked(marker: string): Promise<Silence[]> {
    const { json } = await this.call<Silence[]>('GET', '/api/v2/silences');
    return (json ?? []).filter((s) => s.status?.state !== 'expired' && typeof s.comment === 'string' && s.comment.includes(marker));
  }

  /** Alerts (active, silenced or inhibited) matching every matcher. */
  async alertsMatching(matchers: MatcherT[]): Promise<AmAlert[]> {
    const q = new URLSearchParams();
    for (const m of matchers) q.append('filter', filterOf(m));
    const { json } = await this.call<AmAlert[]>('GET', `/api/v2/alerts?${q}`);
    return json ?? [];
  }
}

export function amClient(t: AmTarget, signal: AbortSignal): AmClient {
  return new AmClient(t, signal);
}

export function describeMatchers(ms: MatcherT[]): string {
  return `{${ms.map(filterOf).join(', ')}}`;
}
