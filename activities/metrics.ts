/**
 * Activity-side metrics of particular actions, through the activity context's metric meter
 * (exported on the worker's Prometheus endpoint with the SDK's; workers/telemetry.ts). Outside
 * an activity (unit tests, plan mode) they are no-ops.
 *   runwright_drill_rto_seconds{drill,target,fault,verdict}  gauge: the last drill's measured RTO
 *   runwright_drill_reports_total{drill,target,verdict}     counter
 */
import { Context } from '@temporalio/activity';

function meter() {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

export function recordDrill(r: { drill: string; target: string; fault?: unknown; verdict: string; rtoMs: number | null }): void {
  const m = meter();
  if (!m) return;
  const labels = { drill: r.drill, target: r.target, verdict: r.verdict };
  m.createCounter('runwright_drill_reports', '1', 'DR drill reports, by verdict').add(1, labels);
  const kind = (r.fault as { kind?: unknown } | undefined)?.kind;
  if (r.rtoMs !== null) m.createGauge('runwright_drill_rto_seconds', 'float', 's', 'RTO measured by the last DR drill').set(r.rtoMs / 1000, { ...labels, fault: typeof kind === 'string' ? kind : 'unknown' });
}
