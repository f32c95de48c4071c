/** Probes: HTTP health with thresholds, Prometheus/Mimir queries, DNS answers. */
import type { ActionDefinition } from '../define';
import probeHttp from './http';
import probePrometheus from './prometheus';
import probeDns from './dns';
import probeSteadyState from './steady-state';

export const PROBE_ACTIONS: readonly ActionDefinition[] = [probeHttp, probePrometheus, probeDns, probeSteadyState] as ActionDefinition[];
