/** Which worker settings turn metrics and traces on (workers/telemetry.ts). */
import { metricsAddress, tracingRequested } from '../../workers/telemetry';

test('metrics: off by default; --metrics-port binds all interfaces; RUNWRIGHT_METRICS_ADDR is host:port', () => {
  expect(metricsAddress(undefined, {})).toBeUndefined();
  expect(metricsAddress(undefined, { RUNWRIGHT_METRICS_ADDR: '  ' })).toBeUndefined();
  expect(metricsAddress('9464', {})).toBe('0.0.0.0:9464');
  // The flag wins over the environment.
  expect(metricsAddress(9100, { RUNWRIGHT_METRICS_ADDR: '127.0.0.1:9464' })).toBe('0.0.0.0:9100');
  expect(metricsAddress(undefined, { RUNWRIGHT_METRICS_ADDR: '127.0.0.1:9464' })).toBe('127.0.0.1:9464');
  expect(metricsAddress(undefined, { RUNWRIGHT_METRICS_ADDR: '[::1]:9464' })).toBe('[::1]:9464');
  expect(() => metricsAddress('http', {})).toThrow(/--metrics-port: expected a port number/);
  expect(() => metricsAddress('70000', {})).toThrow(/--metrics-port/);
  expect(() => metricsAddress(undefined, { RUNWRIGHT_METRICS_ADDR: '9464' })).toThrow(/RUNWRIGHT_METRICS_ADDR: expected host:port/);
  expect(() => metricsAddress(undefined, { RUNWRIGHT_METRICS_ADDR: 'http://x:9464' })).toThrow(/host:port/);
});

test('traces: on with the standard OTLP endpoint variables, off when OpenTelemetry says so', () => {
  expect(tracingRequested({})).toBe(false);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toBe(true);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces' })).toBe(true);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
});
