/**
 * Workflow histories for drill reports: fetch a run and its child runs (recursively, following
 * ChildWorkflowExecutionStarted), reduce events to what report-compute.ts needs, find the
 * traffic shift of a failover child run that failed after shifting, and find the `drill.report`
 * result in a run's history (for `runwright drill report ID`).
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { codecsOf, decodeSealedIn } from '../../lib/codec';
import { parseIso, type HistoryEvent, type ShiftFound } from './report-compute';

type ProtoEvent = temporal.api.history.v1.IHistoryEvent;

export const DRILL_REPORT_ACTION = 'drill.report';
export const TRAFFIC_SHIFT_ACTION = 'traffic.shift';

const typeName = (t: number | null | undefined): string =>
  String(temporal.api.enums.v1.EventType[t ?? 0] ?? t)
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());

const timeMs = (t: ProtoEvent['eventTime']): number => (t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0);

function decode(p: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const first = p?.payloads?.[0];
  if (!first) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(first as never);
  } catch {
    return undefined;
  }
}

/** A proto history event as a HistoryEvent (results of completed activities decoded). */
export function toHistoryEvent(e: ProtoEvent): HistoryEvent {
  const out: HistoryEvent = { id: Number(e.eventId ?? 0), type: typeName(e.eventType), timeMs: timeMs(e.eventTime) };
  const sch = e.activityTaskScheduledEventAttributes;
  if (sch) Object.assign(out, { activityId: sch.activityId ?? '', activityType: sch.activityType?.name ?? '' });
  const st = e.activityTaskStartedEventAttributes;
  if (st) Object.assign(out, { scheduledEventId: Number(st.scheduledEventId), attempt: st.attempt ?? 1 });
  const done = e.activityTaskCompletedEventAttributes;
  if (done) Object.assign(out, { scheduledEventId: Number(done.scheduledEventId), result: decode(done.result) });
  const ws = e.workflowExecutionStartedEventAttributes;
  if (ws) {
    // The interpreter's input: {runbook, params, ...}; only the name and the mode are kept.
    const i = decode(ws.input) as { runbook?: { metadata?: { name?: unknown } }; params?: { mode?: unknown } } | undefined;
    const name = i?.runbook?.metadata?.name;
    const mode = i?.params?.mode;
    out.started = { ...(typeof name === 'string' ? { runbook: name } : {}), ...(typeof mode === 'string' ? { mode } : {}) };
  }
  const closed = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
  if (closed) out.scheduledEventId = Number(closed.scheduledEventId);
  const ts = e.timerStartedEventAttributes;
  if (ts) out.timerId = ts.timerId ?? '';
  const tf = e.timerFiredEventAttributes ?? e.timerCanceledEventAttributes;
  if (tf) Object.assign(out, { timerId: tf.timerId ?? '', startedEventId: Number(tf.startedEventId) });
  return out;
}

export interface RunHistory {
  workflowId: string;
  runId?: string;
  events: HistoryEvent[];
}

/** The run's history and those of every child run it started, depth-first; at most `limit` runs. */
export async function fetchRunTree(client: Client, workflowId: string, runId?: string, limit = 50): Promise<RunHistory[]> {
  const out: RunHistory[] = [];
  const queue: { workflowId: string; runId?: string }[] = [{ workflowId, runId }];
  while (queue.length && out.length < limit) {
    const run = queue.shift()!;
    // Raw history: sealed payloads (lib/codec.ts) are opened with the client's own codec.
    const hist = await decodeSealedIn(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(), codecsOf(client));
    const raw = hist.events ?? [];
    out.push({ ...run, events: raw.map(toHistoryEvent) });
    for (const e of raw) {
      const c = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (c?.workflowId) queue.push({ workflowId: c.workflowId, runId: c.runId ?? undefined });
    }
  }
  return out;
}

const FAILED = new Set(['ActivityTaskFailed', 'ActivityTaskTimedOut']);

/**
 * The traffic shift of the failover, from the child runs' histories: the earliest completed
 * `traffic.shift` activity (result `{outputs: {cluster, weight, at, ...}, attempt}`) that took
 * `target` to weight 0 at or after `notBeforeMs`. Failback runs (mode failback) and compensations
 * (which take a cluster out again when a failback stage fails) are not the failover; dry runs are
 * not shifts. With it: the steps of that run that failed after the shift (its verification).
 */
export function shiftFromHistory(runs: readonly RunHistory[], rootWorkflowId: string, target: string, notBeforeMs: number | null): ShiftFound | null {
  let best: ShiftFound | null = null;
  for (const r of runs) {
    if (r.workflowId === rootWorkflowId) continue;
    if (r.events.find((e) => e.type === 'WorkflowExecutionStarted')?.started?.mode === 'failback') continue;
    const scheduled = new Map(r.events.filter((e) => e.type === 'ActivityTaskScheduled').map((e) => [e.id, e]));
    for (const e of r.events) {
      const s = e.type === 'ActivityTaskCompleted' && e.scheduledEventId !== undefined ? scheduled.get(e.scheduledEventId) : undefined;
      if (!s || s.activityType !== TRAFFIC_SHIFT_ACTION || (s.activityId ?? '').startsWith('compensate:')) continue;
      const o = (e.result as { outputs?: Record<string, any> } | undefined)?.outputs;
      if (!o || o.cluster !== target || o.weight !== 0 || o.dryRun === true) continue;
      const at = parseIso(o.at);
      if (at === null || (notBeforeMs !== null && at < notBeforeMs) || (best && at >= parseIso(best.at)!)) continue;
      const failedAfter = r.events
        .filter((f) => f.id > e.id && FAILED.has(f.type) && f.scheduledEventId !== undefined)
        .map((f) => scheduled.get(f.scheduledEventId!)?.activityId ?? '')
        .filter((id) => id && !id.startsWith('compensate:'));
      best = { step: s.activityId ?? TRAFFIC_SHIFT_ACTION, at: o.at, outputs: o, source: 'history', workflowId: r.workflowId, failedAfter };
    }
  }
  return best;
}

/**
 * The outputs of the last completed `drill.report` activity in a history, or undefined. The
 * activity returns `{outputs, attempt}` (activities/define.ts); the report is `outputs`.
 */
export function reportFromHistory(events: readonly HistoryEvent[]): unknown {
  const scheduled = new Set(events.filter((e) => e.type === 'ActivityTaskScheduled' && e.activityType === DRILL_REPORT_ACTION).map((e) => e.id));
  for (let n = events.length - 1; n >= 0; n--) {
    const e = events[n];
    if (e.type === 'ActivityTaskCompleted' && e.scheduledEventId !== undefined && scheduled.has(e.scheduledEventId)) {
      const r = e.result as { outputs?: unknown } | undefined;
      return r && typeof r === 'object' && 'outputs' in r ? r.outputs : r;
    }
  }
  return undefined;
}
