/**
 * probe.prometheus: a PromQL query through the Prometheus HTTP API (/api/v1/query and
 * /api/v1/query_range), compared with a threshold. Works with anything that serves that API:
 * Prometheus, Thanos, and Mimir/Cortex (give the URL with its prefix, e.g. http://mimir/prometheus,
 * and `tenant` for the X-Scope-OrgID header). With `wait`, it re-queries until the threshold holds
 * (metrics lag by a scrape interval or more).
 */
import { z } from 'zod';
import { PROBE_ASSERT_DEFAULT } from './assert';
import { ApplicationFailure } from '@temporalio/common';
import { cancellableSleep, defineAction, timeoutFields, timeoutOf } from '../define';
import { redact, resolveSecret, SecretRef } from '../../lib/secrets';
import { fetchGuarded, responseText } from '../../lib/bounded';
import { msField } from '../../dsl/duration';

const Op = z.enum(['<', '<=', '>', '>=', '==', '!=']);
type OpT = z.infer<typeof Op>;
const Reduce = z.enum(['last', 'first', 'min', 'max', 'avg', 'sum', 'count']);
type ReduceT = z.infer<typeof Reduce>;

/** RFC 3339 or Unix seconds, or "now" (default). */
const Time = z.union([z.number(), z.string().regex(/^(now|\d+(\.\d+)?|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d))$/, 'expected "now", Unix seconds or an RFC 3339 time')]);

const MAX_SERIES_OUT = 50;
const MAX_VALUES_OUT = 120;

const input = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('API base URL: http://prometheus:9090, or with a prefix for Mimir (http://mimir:8080/prometheus).'),
  query: z.string().min(1).describe('PromQL.'),
  mode: z.enum(['instant', 'range']).default('instant'),
  time: Time.optional().describe('instant: evaluation time (default now).'),
  end: Time.optional().describe('range: end (default now).'),
  lookback: msField(1, 366 * 86_400_000).default(300_000).describe('range: start = end - lookback, ms or a duration (default 5m).'),
  step: msField(1, 86_400_000).default(15_000).describe('range: resolution step (default 15s).'),
  tenant: z.string().min(1).optional().describe('Mimir/Cortex tenant: sent as X-Scope-OrgID.'),
  headers: z.record(z.string(), z.string()).default({}),
  secretHeaders: z.record(z.string(), SecretRef).default({}).describe('e.g. Authorization: secret:prom-token'),
  method: z.enum(['GET', 'POST']).default('GET').describe('POST sends the query form-encoded (long queries).'),
  threshold: z.strictObject({ op: Op, value: z.number() }).optional().describe('Each value must satisfy `value <op> threshold`.'),
  reduce: Reduce.optional().describe('range: compare one value per series (last, min, max, avg, ...) instead of every sample.'),
  match: z.enum(['all', 'any']).default('all').describe('Every compared value must pass, or at least one.'),
  onEmpty: z.enum(['fail', 'pass']).default('fail').describe('An empty result (no series) counts as this.'),
  assert: z.boolean().default(PROBE_ASSERT_DEFAULT).describe('Fail the step when the threshold does not hold (after `wait`).'),
  wait: msField(0, 86_400_000).default(0).describe('Re-query until the threshold holds, for up to this long (default 0: query once).'),
  interval: msField(50, 3_600_000).default(1_000).describe('Between queries while waiting (default 1s).'),
  ...timeoutFields(1, 600_000, 10_000, 'Per HTTP request.'),
});

export interface SeriesOut {
  metric: Record<string, string>;
  /** instant: the value; range: the reduced value if `reduce`, else the last sample. */
  value: number | null;
  values?: [number, number | null][];
  valuesDropped?: number;
  pass?: boolean;
}

export interface PromProbeResult {
  query: string;
  mode: 'instant' | 'range';
  resultType: string;
  pass: boolean | null;
  /** The first series' value (or the scalar), for simple comparisons in later steps. */
  value: number | null;
  series: SeriesOut[];
  seriesCount: number;
  samples: number;
  attempts: number;
  evaluatedAt: string;
  warnings: string[];
}

function num(v: unknown): number {
  return Number(v);
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

function compare(v: number, op: OpT, t: number): boolean {
  switch (op) {
    case '<': return v < t;
    case '<=': return v <= t;
    case '>': return v > t;
    case '>=': return v >= t;
    case '==': return v === t;
    case '!=': return v !== t;
  }
}

function reduceValues(vs: number[], how: ReduceT): number {
  if (!vs.length) return NaN;
  switch (how) {
    case 'last': return vs[vs.length - 1];
    case 'first': return vs[0];
    case 'min': return Math.min(...vs);
    case 'max': return Math.max(...vs);
    case 'sum': return vs.reduce((a, b) => a + b, 0);
    case 'avg': return vs.reduce((a, b) => a + b, 0) / vs.length;
    case 'count': return vs.length;
  }
}

function unixSeconds(t: string | number | undefined, now: number): number {
  if (t === undefined || t === 'now') return now / 1000;
  if (typeof t === 'number') return t;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  return Date.parse(t) / 1000;
}

type Input = z.output<typeof input>;

async function queryOnce(i: Input, headers: Record<string, string>, secrets: string[], signal: AbortSignal) {
  const now = Date.now();
  const params = new URLSearchParams({ query: i.query });
  if (i.mode === 'instant') {
    params.set('time', String(unixSeconds(i.time, now)));
  } else {
    const end = unixSeconds(i.end, now);
    params.set('start', String(end - i.lookback / 1000));
    params.set('end', String(end));
    params.set('step', String(i.step / 1000));
  }
  const base = i.url.replace(/\/+$/, '');
  const path = `${base}/api/v1/${i.mode === 'instant' ? 'query' : 'query_range'}`;
  const url = i.method === 'GET' ? `${path}?${params}` : path;
  let res: Response;
  try {
    res = await fetchGuarded(url, {
      secret: secrets.length > 0,
      method: i.method,
      headers: { accept: 'application/json', ...(i.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers },
      body: i.method === 'POST' ? params.toString() : undefined,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutOf(i, 10_000))]),
    }, `probe.prometheus ${path}`);
  } catch (e: any) {
    if (signal.aborted || e instanceof ApplicationFailure) throw e;
    const cause = e?.cause?.code ?? e?.cause?.message ?? e?.name ?? 'error';
    throw ApplicationFailure.retryable(`probe.prometheus ${path}: connection failed (${cause})`, 'PromConnectionError');
  }
  const text = await responseText(res, `probe.prometheus ${path}`);
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok || body?.status !== 'success') {
    const why = redact(body?.error ? `${body.errorType ?? 'error'}: ${body.error}` : text.slice(0, 300), secrets);
    const msg = `probe.prometheus ${path}: HTTP ${res.status}: ${why}`;
    // 400 bad_data / 422 execution errors are the query's fault; 5xx and 429 may pass.
    if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(msg, 'PromServerError');
    throw ApplicationFailure.nonRetryable(msg, 'PromQueryError');
  }
  return { data: body.data as { resultType: string; result: any }, warnings: (body.warnings ?? []) as string[] };
}

export function evaluate(i: Pick<Input, 'mode' | 'threshold' | 'reduce' | 'match' | 'onEmpty'>, data: { resultType: string; result: any }) {
  const series: SeriesOut[] = [];
  const compared: number[] = [];
  let samples = 0;
  const cmp = (v: number) => (i.threshold ? compare(v, i.threshold.op, i.threshold.value) : true);
  if (data.resultType === 'scalar' || data.resultType === 'string') {
    const v = num(data.result?.[1]);
    samples = 1;
    compared.push(v);
    series.push({ metric: {}, value: finiteOrNull(v), ...(i.threshold ? { pass: cmp(v) } : {}) });
  } else if (data.resultType === 'vector') {
    for (const s of data.result ?? []) {
      const v = num(s.value?.[1]);
      samples++;
      compared.push(v);
      series.push({ metric: s.metric ?? {}, value: finiteOrNull(v), ...(i.threshold ? { pass: cmp(v) } : {}) });
    }
  } else if (data.resultType === 'matrix') {
    for (const s of data.result ?? []) {
      const values: [number, number][] = (s.values ?? []).map((p: [number, string]) => [p[0], num(p[1])]);
      samples += values.length;
      const vs = values.map((p) => p[1]);
      let pass: boolean;
      let value: number;
      if (i.reduce) {
        value = reduceValues(vs, i.reduce);
        compared.push(value);
        pass = cmp(value);
      } else {
        value = vs[vs.length - 1] ?? NaN;
        compared.push(...vs);
        pass = i.match === 'all' ? vs.every(cmp) : vs.some(cmp);
      }
      const kept = values.slice(-MAX_VALUES_OUT).map(([t, v]) => [t, finiteOrNull(v)] as [number, number | null]);
      series.push({ metric: s.metric ?? {}, value: finiteOrNull(value), values: kept, ...(values.length > kept.length ? { valuesDropped: values.length - kept.length } : {}), ...(i.threshold ? { pass } : {}) });
    }
  }
  let pass: boolean | null = null;
  if (i.threshold) {
    if (!compared.length) pass = i.onEmpty === 'pass';
    else pass = i.match === 'all' ? compared.every(cmp) : compared.some(cmp);
  }
  return { series, samples, pass, value: series[0]?.value ?? null };
}

export default defineAction({
  name: 'probe.prometheus',
  readOnly: true,
  description: 'PromQL instant or range query via the Prometheus HTTP API (Prometheus, Mimir with its /prometheus prefix and X-Scope-OrgID tenant), with a threshold; optionally waits until it holds.',
  input,
  async run(i, ctx): Promise<PromProbeResult> {
    const headers: Record<string, string> = { ...i.headers };
    const secrets: string[] = [];
    for (const [k, ref] of Object.entries(i.secretHeaders)) {
      headers[k] = resolveSecret(ref, { destination: i.url });
      secrets.push(headers[k]);
    }
    if (i.tenant) headers['X-Scope-OrgID'] = i.tenant;
    const deadline = Date.now() + i.wait;
    let attempts = 0;
    for (;;) {
      attempts++;
      const t0 = Date.now();
      let out: Awaited<ReturnType<typeof queryOnce>> | undefined;
      try {
        out = await queryOnce(i, headers, secrets, ctx.signal);
      } catch (e) {
        // While waiting, transient errors are retried here; a bad query fails at once.
        const retryable = e instanceof ApplicationFailure && !e.nonRetryable;
        if (!retryable || Date.now() + i.interval > deadline) throw e;
      }
      if (out) {
        const ev = evaluate(i, out.data);
        const result: PromProbeResult = {
          query: i.query,
          mode: i.mode,
          resultType: out.data.resultType,
          pass: ev.pass,
          value: ev.value,
          series: ev.series.slice(0, MAX_SERIES_OUT),
          seriesCount: ev.series.length,
          samples: ev.samples,
          attempts,
          evaluatedAt: new Date(t0).toISOString(),
          warnings: out.warnings,
        };
        ctx.heartbeat({ attempts, pass: ev.pass, value: ev.value });
        const holds = ev.pass !== false;
        if (holds || Date.now() + i.interval > deadline) {
          if (!holds && i.assert) {
            throw ApplicationFailure.create({
              message: `probe.prometheus: ${i.query} ${i.threshold!.op} ${i.threshold!.value} does not hold (value ${ev.value ?? (ev.series.length ? 'NaN' : 'none: empty result')}, ${ev.series.length} series${attempts > 1 ? `, ${attempts} queries` : ''})`,
              type: 'ProbeFailed',
              nonRetryable: true,
              details: [result],
            });
          }
          return result;
        }
      }
      await cancellableSleep(Math.max(0, t0 + i.interval - Date.now()), ctx.signal, () => ctx.heartbeat({ attempts }));
    }
  },
  plan: (i) =>
    `${i.mode} query ${JSON.stringify(i.query)} at ${i.url}${i.tenant ? ` (tenant ${i.tenant})` : ''}${i.threshold ? `, expect ${i.match} ${i.threshold.op} ${i.threshold.value}` : ''}${i.wait ? `, waiting up to ${i.wait}ms` : ''}`,
});
