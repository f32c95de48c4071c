/**
 * probe.http: check an HTTP endpoint every `interval` until it has a verdict. `failureThreshold`
 * consecutive failed checks make it `down`, `successThreshold` consecutive good ones make it `up`,
 * so one flapping check moves nothing. Each check opens a new connection (as a load balancer's
 * health check does), heartbeats, and lands in the returned timeline with its timing, so a drill
 * can read the time to detection. Resumes from its last heartbeat after a worker restart.
 */
import { z } from 'zod';
import { PROBE_ASSERT_DEFAULT } from './assert';
import { ApplicationFailure } from '@temporalio/common';
import { cancellableSleep, defineAction } from '../define';
import { redact, resolveSecret, SecretRef } from '../../lib/secrets';
import { msField } from '../../dsl/duration';
import { httpCheck } from './check';

export type Verdict = 'up' | 'down' | 'inconclusive';

export interface Observation {
  /** ISO time the check started, and milliseconds since the probe started. */
  at: string;
  ms: number;
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error?: string;
}

export interface HttpProbeResult {
  url: string;
  verdict: Verdict;
  expect: 'up' | 'down' | 'any';
  ok: boolean;
  checks: number;
  successes: number;
  failures: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** When the final verdict was reached (ms since start), or null. */
  verdictAtMs: number | null;
  /** First time each verdict was reached (ms since start): time to detection is reached.down. */
  reached: { up: number | null; down: number | null };
  firstFailureMs: number | null;
  /** Every change of verdict, in order. */
  transitions: { ms: number; at: string; verdict: 'up' | 'down' }[];
  timeline: Observation[];
  timelineDropped: number;
}

const input = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' }),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  secretHeaders: z.record(z.string(), SecretRef).default({}).describe('Headers whose values are secret references (secret:NAME from the worker\'s secrets policy).'),
  body: z.string().optional(),
  expectStatus: z.union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)]).optional()
    .describe('Status (or list) that counts as healthy; default any 2xx.'),
  bodyContains: z.string().optional().describe('The response body must contain this text.'),
  timeout: msField(1, 600_000).default(2_000).describe('Per check, ms or a duration (default 2s).'),
  interval: msField(10, 3_600_000).default(1_000).describe('Between the starts of two checks (default 1s).'),
  failureThreshold: z.number().int().min(1).max(1000).default(3).describe('Consecutive failed checks that make the target down.'),
  successThreshold: z.number().int().min(1).max(1000).default(1).describe('Consecutive good checks that make the target up.'),
  until: z.enum(['verdict', 'up', 'down', 'deadline']).default('verdict')
    .describe('Stop at the first verdict, when up, when down, or only at maxDuration (to watch a window and count errors).'),
  maxDuration: msField(1, 7 * 86_400_000).default(60_000).describe('Give up (or, with until: deadline, stop) after this long (default 60s). Keep the step `timeout` (default 10m) above it.'),
  expect: z.enum(['up', 'down', 'any']).optional()
    .describe('The verdict that makes the step succeed; default: down for until: down, any for until: deadline, up otherwise. Otherwise the step fails (not retried).'),
  assert: z.boolean().default(PROBE_ASSERT_DEFAULT).describe('Fail the step (not retried) when the verdict is not `expect` (default true; false: report it in the outputs, `ok: false`).'),
  timelineLimit: z.number().int().min(0).max(2000).default(200).describe('Keep at most this many observations (the latest).'),
});

interface ProbeState {
  startedMs: number;
  checks: number;
  successes: number;
  failures: number;
  consecutiveOk: number;
  consecutiveFail: number;
  verdict: 'up' | 'down' | null;
  verdictAtMs: number | null;
  reached: { up: number | null; down: number | null };
  firstFailureMs: number | null;
  transitions: { ms: number; at: string; verdict: 'up' | 'down' }[];
  timeline: Observation[];
  timelineDropped: number;
}

export default defineAction({
  name: 'probe.http',
  readOnly: true,
  description: 'HTTP health probe with thresholds: N consecutive failures = down, M consecutive successes = up; returns the verdict and the observation timeline.',
  input,
  async run(i, ctx): Promise<HttpProbeResult> {
    const expect = i.expect ?? (i.until === 'down' ? 'down' : i.until === 'deadline' ? 'any' : 'up');
    const headers: Record<string, string> = { ...i.headers };
    const secrets: string[] = [];
    for (const [k, ref] of Object.entries(i.secretHeaders)) {
      headers[k] = resolveSecret(ref, { destination: i.url });
      secrets.push(headers[k]);
    }
    const expected = i.expectStatus === undefined ? null : ([] as number[]).concat(i.expectStatus);
    // A retried attempt (worker restart) continues the same probe: same start, same counters.
    const prev = ctx.heartbeatDetails<ProbeState>();
    const st: ProbeState = prev?.startedMs
      ? prev
      : { startedMs: Date.now(), checks: 0, successes: 0, failures: 0, consecutiveOk: 0, consecutiveFail: 0, verdict: null, verdictAtMs: null,
          reached: { up: null, down: null }, firstFailureMs: null, transitions: [], timeline: [], timelineDropped: 0 };
    let deadline = st.startedMs + i.maxDuration;
    // A retry after the worker was lost (killed, cut off) may find the window nearly gone while
    // nothing was observed: give it room for one full threshold of checks, so an outage of the
    // prober is never reported as an inconclusive target. A watched window (until: deadline) is
    // a fixed span of time and keeps its end.
    if (prev?.startedMs && i.until !== 'deadline') {
      const needed = Math.max(i.failureThreshold, i.successThreshold) * i.interval + i.timeout;
      deadline = Math.max(deadline, Date.now() + needed);
    }
    const done = () =>
      (i.until === 'verdict' && st.verdict !== null) || (i.until === 'up' && st.verdict === 'up') || (i.until === 'down' && st.verdict === 'down');

    while (!done() && Date.now() < deadline) {
      const t0 = Date.now();
      const c = await httpCheck({ url: i.url, method: i.method, headers, body: i.body, timeoutMs: i.timeout, signal: ctx.signal, readBody: i.bodyContains !== undefined });
      const ms = t0 - st.startedMs;
      // A body that broke off (or passed the size cap) is a failed check, whatever the status said.
      let ok = !c.error && c.status !== null && (expected ? expected.includes(c.status) : c.status >= 200 && c.status < 300);
      let error = c.error;
      if (ok && i.bodyContains !== undefined && !(c.body ?? '').includes(i.bodyContains)) {
        ok = false;
        error = `body does not contain ${JSON.stringify(i.bodyContains)}`;
      }
      if (!ok && !error) error = `HTTP ${c.status}${expected ? ` (expected ${expected.join(' or ')})` : ''}`;
      st.checks++;
      if (ok) {
        st.successes++;
        st.consecutiveOk++;
        st.consecutiveFail = 0;
      } else {
        st.failures++;
        st.consecutiveFail++;
        st.consecutiveOk = 0;
        st.firstFailureMs ??= ms;
      }
      const obs: Observation = { at: new Date(t0).toISOString(), ms, ok, status: c.status, latencyMs: c.latencyMs };
      if (error) obs.error = redact(error, secrets);
      st.timeline.push(obs);
      if (st.timeline.length > i.timelineLimit) st.timelineDropped += st.timeline.splice(0, st.timeline.length - i.timelineLimit).length;
      const next = st.consecutiveOk >= i.successThreshold ? 'up' : st.consecutiveFail >= i.failureThreshold ? 'down' : st.verdict;
      if (next && next !== st.verdict) {
        st.verdict = next;
        st.verdictAtMs = ms;
        st.reached[next] ??= ms;
        st.transitions.push({ ms, at: obs.at, verdict: next });
        ctx.log(`probe.http ${i.url}: ${next} after ${st.checks} checks`);
      }
      ctx.heartbeat(st);
      if (done()) break;
      const wait = Math.min(t0 + i.interval, deadline) - Date.now();
      if (wait > 0) await cancellableSleep(wait, ctx.signal, () => ctx.heartbeat(st));
    }

    const end = Date.now();
    const verdict: Verdict = st.verdict ?? 'inconclusive';
    const result: HttpProbeResult = {
      url: i.url,
      verdict,
      expect,
      ok: expect === 'any' || verdict === expect,
      checks: st.checks,
      successes: st.successes,
      failures: st.failures,
      startedAt: new Date(st.startedMs).toISOString(),
      endedAt: new Date(end).toISOString(),
      durationMs: end - st.startedMs,
      verdictAtMs: st.verdictAtMs,
      reached: st.reached,
      firstFailureMs: st.firstFailureMs,
      transitions: st.transitions,
      timeline: st.timeline,
      timelineDropped: st.timelineDropped,
    };
    if (!result.ok && i.assert) {
      const last = st.timeline[st.timeline.length - 1];
      throw ApplicationFailure.create({
        message: `probe.http ${i.url}: ${verdict}, expected ${expect} (${st.failures} of ${st.checks} checks failed${last?.error ? `; last: ${last.error}` : ''})`,
        type: 'ProbeFailed',
        nonRetryable: true,
        details: [result],
      });
    }
    return result;
  },
  plan: (i) =>
    `probe ${i.method} ${i.url} every ${i.interval}ms (down after ${i.failureThreshold} failures, up after ${i.successThreshold} successes) until ${i.until}, at most ${i.maxDuration}ms`,
});
