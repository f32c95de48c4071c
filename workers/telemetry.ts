/**
 * A worker's metrics and traces (issue 18, items 4 and 5; README "Metrics and traces").
 *
 * Metrics: the SDK runtime's Prometheus endpoint (`RUNWRIGHT_METRICS_ADDR=host:port`, or
 * `runwright worker --metrics-port P`; off by default) serves the SDK's own metrics (temporal_*)
 * and Runwright's: workflow-side from workflows/metrics.ts (the workflow metric meter),
 * activity-side from the activity interceptor below (the activity context's metric meter), the
 * drill RTO from activities/metrics.ts. Counters end in _total; durations are seconds.
 *
 * Traces: with OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, the
 * @temporalio/interceptors-opentelemetry interceptors run on every worker of the process and
 * spans go out over OTLP/HTTP: RunWorkflow:runbook (the run) → StartActivity:<action> (the step,
 * retries included) → RunActivity:<action> (one per attempt), child runbooks below their step.
 * Runwright's attributes: runwright.runbook, runwright.run_id, runwright.step, runwright.action,
 * runwright.site, runwright.attempt. OTEL_SERVICE_NAME names the service (default runwright-worker);
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn tracing off.
 */
import { trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Runtime, type ActivityInboundCallsInterceptor, type ActivityInterceptorsFactory, type InjectedSinks, type Next, type ActivityExecuteInput } from '@temporalio/worker';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ENV } from '../lib/config';

/** Histogram buckets (seconds) for Runwright's durations: steps take milliseconds to hours. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];
const SECONDS_HISTOGRAMS = ['runwright_run_duration_seconds', 'runwright_step_duration_seconds', 'runwright_approval_wait_seconds', 'runwright_action_attempt_duration_seconds'];

/** The Prometheus bind address: `--metrics-port` (all interfaces) over RUNWRIGHT_METRICS_ADDR; undefined = off. */
export function metricsAddress(port?: string | number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (port !== undefined && port !== '') {
    const p = Number(port);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`--metrics-port: expected a port number, got ${JSON.stringify(port)}`);
    return `0.0.0.0:${p}`;
  }
  const a = env[ENV.metricsAddr]?.trim();
  if (!a) return undefined;
  if (!/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/.test(a)) throw new Error(`${ENV.metricsAddr}: expected host:port (e.g. 0.0.0.0:9464), got ${JSON.stringify(a)}`);
  return a;
}

/**
 * Install the SDK runtime with the Prometheus exporter on `bindAddress` (before any connection:
 * the runtime is once per process). Throws if the process already has a runtime.
 */
export function installMetricsRuntime(bindAddress: string): void {
  Runtime.install({
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: Object.fromEntries(SECONDS_HISTOGRAMS.map((n) => [n, DURATION_BUCKETS])),
        },
      },
    },
  });
}

/** What a worker needs for tracing: bundle modules, activity interceptors, the workflow span sink. */
export interface Tracing {
  workflowInterceptorModules: string[];
  activityInterceptors: ActivityInterceptorsFactory[];
  sinks: InjectedSinks<Record<string, never>>;
  /** Flush and stop the exporter (worker shutdown). */
  shutdown(): Promise<void>;
}

/** Is tracing asked for by the standard OpenTelemetry environment variables? */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').toLowerCase() === 'none') return false;
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** The workflow interceptor modules of tracing: OpenTelemetry's first, so Runwright's attributes (inner) see their spans. */
export const TRACING_WORKFLOW_MODULES = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'), require.resolve('../workflows/tracing')];

let processTracing: Tracing | null | undefined;

/** The process's tracing (one exporter for every worker in it), or undefined when not configured. */
export function tracingFromEnv(env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (processTracing !== undefined) return processTracing ?? undefined;
  processTracing = tracingRequested(env) ? makeTracing(env) : null;
  return processTracing ?? undefined;
}

function makeTracing(env: NodeJS.ProcessEnv): Tracing {
  const resource = new Resource({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || 'runwright-worker' });
  // The exporter reads OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT/HEADERS/TIMEOUT itself.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 1000 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // Global W3C trace-context propagator (activities find their step's span in the headers) and
  // a context manager (active spans across awaits: our attributes find the RunActivity span).
  // Does nothing where the process registered its own already.
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  const tracer = provider.getTracer('runwright');
  return {
    workflowInterceptorModules: TRACING_WORKFLOW_MODULES,
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
      (ctx) => ({ inbound: new ActivityAttributes(ctx) }),
    ],
    sinks: { exporter: makeWorkflowExporter(processor, resource) } as never,
    shutdown: () => provider.shutdown(),
  };
}

const metaOf = (args: unknown[]) => (args[1] ?? {}) as { runbook?: unknown; rootWorkflowId?: unknown };

/** runwright.* attributes on the RunActivity span (the action attempt). */
class ActivityAttributes implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: ActivityContext) {}
  execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { info } = this.ctx;
    const meta = metaOf(input.args);
    trace.getActiveSpan()?.setAttributes({
      'runwright.step': info.activityId,
      'runwright.action': info.activityType,
      'runwright.attempt': info.attempt,
      ...(typeof meta.runbook === 'string' ? { 'runwright.runbook': meta.runbook } : {}),
    });
    return next(input);
  }
}

/**
 * Activity-side metrics, through the activity context's metric meter (exported with the SDK's):
 *   runwright_action_attempt_duration_seconds{runbook,action,result}  histogram, one per attempt
 *   runwright_action_retries_total{runbook,action}                   counter, attempts after the first
 */
export const activityMetrics: ActivityInterceptorsFactory = (ctx) => ({ inbound: new ActivityMetrics(ctx) });

class ActivityMetrics implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: ActivityContext) {}
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { info, metricMeter } = this.ctx;
    const meta = metaOf(input.args);
    const labels = { runbook: typeof meta.runbook === 'string' ? meta.runbook : 'unknown', action: info.activityType };
    if (info.attempt > 1) metricMeter.createCounter('runwright_action_retries', '1', 'Action attempts after the first (retries)').add(1, labels);
    const duration = metricMeter.createHistogram('runwright_action_attempt_duration_seconds', 'float', 's', 'Duration of one action attempt');
    const started = performance.now();
    try {
      const out = await next(input);
      duration.record((performance.now() - started) / 1000, { ...labels, result: 'succeeded' });
      return out;
    } catch (e) {
      duration.record((performance.now() - started) / 1000, { ...labels, result: 'failed' });
      throw e;
    }
  }
}
