/**
 * Jaeger (v1.75.0, built from the Go module proxy by scripts/jaeger-binary) for the tracing tests:
 * the all-in-one binary with in-memory storage, an OTLP/HTTP receiver and the query API, every
 * port free on loopback, started through a ServiceGroup (stopped by its stop()).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, Proc, type ServiceGroup } from './services';

export interface Jaeger {
  /** OTLP/HTTP base URL: OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpHttp: string;
  /** Query API base URL (/api/traces, /api/services). */
  query: string;
}

/** The binary: RUNWRIGHT_JAEGER, or the scripts/jaeger-binary cache (`npm test`'s pretest and .ci/run build it). */
export function jaegerBinary(): string {
  if (process.env.RUNWRIGHT_JAEGER) return process.env.RUNWRIGHT_JAEGER;
  try {
    return execFileSync(resolve(__dirname, '../../scripts/jaeger-binary'), ['--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new Error('Jaeger is not built: run scripts/jaeger-binary first (a cold build takes minutes; .ci/run and `npm test` do it)');
  }
}

export async function startJaeger(group: ServiceGroup, bin = jaegerBinary()): Promise<Jaeger> {
  const dir = group.tempDir('jaeger');
  const [otlp, query, queryGrpc, health] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = `
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:${query}
    grpc:
      endpoint: 127.0.0.1:${queryGrpc}
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${health}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`;
  writeFileSync(join(dir, 'config.yaml'), config);
  const proc = group.track(new Proc('jaeger', bin, ['--config', join(dir, 'config.yaml')], join(dir, 'jaeger.log'), dir));
  const base = `http://127.0.0.1:${query}`;
  const end = Date.now() + 30_000;
  for (;;) {
    const dead = proc.deadReason();
    if (dead) throw new Error(dead);
    if (await fetch(`${base}/api/services`).then((r) => r.ok, () => false)) break;
    if (Date.now() > end) throw new Error(`jaeger did not answer on ${base} within 30s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { otlpHttp: `http://127.0.0.1:${otlp}`, query: base };
}
