/**
 * probe.steady-state: is every cluster of an Active-Active set healthy right now? Each cluster
 * gets `samples` consecutive HTTP checks of its health URL and, optionally, a Prometheus (or
 * Mimir) query with `$cluster` replaced by its name. Like every probe it fails the step when the
 * check fails (`assert`, default true); with `assert: false` it never fails for an unhealthy
 * cluster: the answer is data (`healthy`, `unhealthyClusters`, why), so a drill can skip itself
 * with a report and a failover can pick the clusters that may take load. `wait` re-checks until all are healthy.
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { cancellableSleep, defineAction, type ActionContext } from '../define';
import { msField } from '../../dsl/duration';
import { httpCheck } from './check';
import probePrometheus from './prometheus';
import { PROBE_ASSERT_DEFAULT } from './assert';

const input = z.strictObject({
  clusters: z.array(z.string().min(1)).min(1).describe('The clusters to check.'),
  health: z.record(z.string(), z.url({ protocol: /^https?$/ })).default({}).describe('cluster → health URL (2xx = healthy, or expectStatus).'),
  expectStatus: z.array(z.number().int().min(100).max(599)).optional(),
  bodyContains: z.string().optional(),
  samples: z.number().int().min(1).max(100).default(2).describe('Consecutive good HTTP checks a cluster needs.'),
  interval: msField(10, 600_000).default(500).describe('Between samples.'),
  timeout: msField(1, 60_000).default(2_000).describe('Per HTTP check.'),
  timeoutRetries: z.number().int().min(0).max(5).default(1).describe('A sample that times out is tried again this many times before the cluster counts as unhealthy (a refused or failing answer is not retried).'),
  prometheus: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      query: z.string().min(1).describe('PromQL; "$cluster" is replaced by the cluster name.'),
      threshold: z.strictObject({ op: z.enum(['<', '<=', '>', '>=', '==', '!=']), value: z.number() }),
      tenant: z.string().optional(),
      onEmpty: z.enum(['fail', 'pass']).default('fail'),
    })
    .optional(),
  wait: msField(0, 86_400_000).default(0).describe('Keep checking until every cluster is healthy, up to this long (default: check once).'),
  assert: z.boolean().default(PROBE_ASSERT_DEFAULT).describe('Fail the step (not retried) when fewer than `minHealthy` clusters are healthy after `wait` (default true; false: report it in the outputs only).'),
  minHealthy: z.number().int().min(0).optional().describe('How many healthy clusters count as steady (default: all of them); also ends `wait` early.'),
  message: z.string().optional().describe('With assert: the failure message (the reasons are appended).'),
});
type Input = z.output<typeof input>;

export interface ClusterHealth {
  ok: boolean;
  checks: { kind: 'http' | 'prometheus'; ok: boolean; detail: string }[];
}

export interface SteadyStateResult {
  /** At least `minHealthy` (default: all) clusters are healthy. */
  healthy: boolean;
  healthyClusters: string[];
  unhealthyClusters: string[];
  clusters: Record<string, ClusterHealth>;
  /** One line per unhealthy cluster, for reports. */
  reasons: string[];
  rounds: number;
  startedAt: string;
  at: string;
  durationMs: number;
}

async function checkHttp(i: Input, url: string, ctx: ActionContext): Promise<ClusterHealth['checks'][number]> {
  let last = '';
  const check = () => httpCheck({ url, method: 'GET', headers: {}, timeoutMs: i.timeout, signal: ctx.signal, readBody: !!i.bodyContains });
  for (let n = 0; n < i.samples; n++) {
    if (n) await cancellableSleep(i.interval, ctx.signal);
    ctx.heartbeat({ url, sample: n }); // a slow cluster's samples and retries can outlast a heartbeat timeout
    let r = await check();
    // One slow answer (a busy moment on either side) is not an outage; a refusal or an error status is.
    for (let k = 0; k < i.timeoutRetries && r.timedOut; k++) {
      await cancellableSleep(i.interval, ctx.signal);
      ctx.heartbeat({ url, sample: n, retry: k + 1 });
      r = await check();
    }
    const statusOk = r.status !== null && (i.expectStatus ? i.expectStatus.includes(r.status) : r.status >= 200 && r.status < 300);
    const ok = statusOk && (!i.bodyContains || (r.body ?? '').includes(i.bodyContains));
    last = r.error ?? `HTTP ${r.status} in ${r.latencyMs}ms`;
    if (!ok) return { kind: 'http', ok: false, detail: `${url}: ${last}${statusOk ? ` (body lacks "${i.bodyContains}")` : ''}` };
  }
  return { kind: 'http', ok: true, detail: `${url}: ${last} ×${i.samples}` };
}

async function checkProm(i: Input, cluster: string, ctx: ActionContext): Promise<ClusterHealth['checks'][number]> {
  const p = i.prometheus!;
  const query = p.query.replaceAll('$cluster', cluster);
  try {
    const r: any = await probePrometheus.run(probePrometheus.input.parse({ url: p.url, query, threshold: p.threshold, tenant: p.tenant || undefined, onEmpty: p.onEmpty, assert: false }), ctx);
    return { kind: 'prometheus', ok: !!r.pass, detail: `${query} = ${r.value ?? 'no data'} (want ${p.threshold.op} ${p.threshold.value})` };
  } catch (e) {
    return { kind: 'prometheus', ok: false, detail: `${query}: ${(e as Error).message}` };
  }
}

export default defineAction({
  name: 'probe.steady-state',
  readOnly: true,
  description: 'Check every cluster (health URL ×samples, optional Prometheus query per cluster); returns healthy / unhealthyClusters without failing; `wait` retries until all are healthy.',
  input,
  async run(i, ctx): Promise<SteadyStateResult> {
    const t0 = Date.now();
    const startedAt = new Date(t0).toISOString();
    for (const c of i.clusters) {
      if (!i.health[c] && !i.prometheus) throw ApplicationFailure.nonRetryable(`probe.steady-state: no health URL and no prometheus query for cluster "${c}"`, 'InvalidInput');
    }
    let rounds = 0;
    for (;;) {
      rounds++;
      const clusters: Record<string, ClusterHealth> = {};
      await Promise.all(
        i.clusters.map(async (c) => {
          const checks: ClusterHealth['checks'] = [];
          if (i.health[c]) checks.push(await checkHttp(i, i.health[c], ctx));
          if (i.prometheus) checks.push(await checkProm(i, c, ctx));
          clusters[c] = { ok: checks.every((x) => x.ok), checks };
        }),
      );
      const healthyClusters = i.clusters.filter((c) => clusters[c].ok);
      const unhealthyClusters = i.clusters.filter((c) => !clusters[c].ok);
      const now = Date.now();
      ctx.heartbeat({ rounds, unhealthyClusters });
      const enough = healthyClusters.length >= (i.minHealthy ?? i.clusters.length);
      if (enough || now - t0 >= i.wait) {
        const reasons = unhealthyClusters.map((c) => `${c}: ${clusters[c].checks.filter((x) => !x.ok).map((x) => x.detail).join('; ')}`);
        if (i.assert && !enough) {
          const head = i.message ?? `probe.steady-state: ${healthyClusters.length} of ${i.clusters.length} clusters healthy (need ${i.minHealthy ?? i.clusters.length}) after ${rounds} round(s)`;
          throw ApplicationFailure.nonRetryable(`${head}: ${reasons.join('; ')}`, 'NotSteady');
        }
        return { healthy: enough, healthyClusters, unhealthyClusters, clusters, reasons, rounds, startedAt, at: new Date(now).toISOString(), durationMs: now - t0 };
      }
      await cancellableSleep(Math.min(Math.max(i.interval, 200), i.wait - (now - t0)), ctx.signal);
    }
  },
  plan: (i) => `check ${i.clusters.join(', ')} are healthy${i.wait ? ` (wait up to ${i.wait}ms)` : ''}`,
});
