/** Probes: HTTP health with thresholds, Prometheus/Mimir queries, DNS answers. */
import type { ActionDefinition } from '../define';
import probeHttp from './http';
import probePrometheus from './prometheus';
import probeDns from './dns';

export const PROBE_ACTIONS: readonly ActionDefinition[] = [probeHttp, probePrometheus, probeDns] as ActionDefinition[];
