/**
 * The pure part of a DR drill report: verdict, RTO and detection times, the timeline, and the
 * engine's share of the RTO window computed from workflow history events. No I/O here, so all
 * of it is unit-tested on synthetic inputs (test/drill-report.test.ts).
 */

/** A step record as the interpreter keeps it in `steps.<id>` (workflows/interpreter.ts). */
export interface StepRecord {
  state: string;
  outputs?: unknown;
  error?: string;
}

export type Verdict = 'pass' | 'fail' | 'skipped';

export interface TimelineEvent {
  at: string;
  /** Milliseconds since the fault was injected (negative before it). */
  t: number;
  event: string;
  phase: Phase;
  detail: string;
}

export type Phase = 'steady-before' | 'guard' | 'approval' | 'inject' | 'detect' | 'failover' | 'shift' | 'window' | 'window-error' | 'restore' | 'failback' | 'steady-after';

export interface EngineShare {
  windowMs: number;
  /** Inside activities on this run and its child runs (union of intervals, clipped to the window). */
  activityMs: number;
  /** In durable timers, not overlapping activity time. */
  waitingMs: number;
  /** The rest: task dispatch, workflow tasks, child workflow starts. */
  engineMs: number;
  share: number;
  histories: number;
  activities: number;
  timers: number;
  /** Activities that watch rather than act (the window probe), left out of the activity time. */
  excluded: string[];
}

export interface ErrorsDuringWindow {
  count: number;
  checks: number;
  rate: number;
}

export interface DrillFacts {
  verdict: Verdict;
  reasons: string[];
  rtoMs: number | null;
  detectionMs: number | null;
  failoverMs: number | null;
  injectedAt: string | null;
  shiftedAt: string | null;
  shiftStep: string | null;
  /** Where the shift was found: the failover record's outputs, or (the failover failed after shifting) its run's history. */
  shiftSource: 'outputs' | 'history' | null;
  errorsDuringWindow: ErrorsDuringWindow | null;
  restored: boolean;
  /** Whether the failback completed; null when none was needed (traffic never shifted, or the drill was skipped). */
  failedBack: boolean | null;
  steadyAfter: boolean;
  timeline: TimelineEvent[];
}

export interface DrillInputs {
  drill: string;
  target: string;
  objectiveRtoMs: number;
  skipped?: string;
  shiftStep?: string;
  /** The drill's main group step: 'failed' means the drill aborted midway. */
  run?: StepRecord | null;
  steadyBefore?: StepRecord | null;
  guard?: StepRecord | null;
  approval?: StepRecord | null;
  inject?: StepRecord | null;
  detect?: StepRecord | null;
  failover?: StepRecord | null;
  window?: StepRecord | null;
  restore?: StepRecord | null;
  /** The failback child run (the failover runbook in failback mode), after the restore. */
  failback?: StepRecord | null;
  steadyAfter?: StepRecord | null;
}

/**
 * What the run's histories say about the shift, when the failover record has no outputs (it
 * failed, possibly after shifting). `checked` false: the histories were not looked at.
 */
export interface HistoryFacts {
  checked: boolean;
  shift: ShiftFound | null;
}

// ---------------------------------------------------------------------------------------------
// Reading step records

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseIso(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(v)) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

const END_KEYS = ['at', 'endedAt', 'injectedAt', 'restoredAt', 'checkedAt', 'completedAt', 'finishedAt', 'decidedAt'];

/** The latest end-like timestamp anywhere in a step's outputs (a few levels deep), or null. */
export function latestTime(v: unknown, depth = 4): number | null {
  let best: number | null = null;
  const visit = (x: unknown, d: number) => {
    if (d < 0) return;
    if (Array.isArray(x)) return x.forEach((y) => visit(y, d - 1));
    if (!isObj(x)) return;
    for (const [k, y] of Object.entries(x)) {
      const t = END_KEYS.includes(k) ? parseIso(y) : null;
      if (t !== null) best = best === null ? t : Math.max(best, t);
      else if (typeof y === 'object') visit(y, d - 1);
    }
  };
  visit(v, depth);
  return best;
}

const succeeded = (r: StepRecord | null | undefined): r is StepRecord => !!r && r.state === 'succeeded';

/** Why a step record does not count as a healthy result, or null when it does. */
export function unhealthy(r: StepRecord | null | undefined): string | null {
  if (!r) return 'did not run';
  if (r.state !== 'succeeded') return `${r.state}${r.error ? `: ${r.error}` : ''}`;
  const o = r.outputs;
  if (isObj(o)) {
    if (o.healthy === false) return `unhealthy${Array.isArray(o.reasons) && o.reasons.length ? `: ${o.reasons.join('; ')}` : Array.isArray(o.unhealthyClusters) ? `: ${o.unhealthyClusters.join(', ')}` : ''}`;
    if (o.allowed === false) return `refused${Array.isArray(o.reasons) && o.reasons.length ? `: ${o.reasons.join('; ')}` : ''}`;
    if (o.ok === false) return 'not ok';
  }
  if (Array.isArray(o)) {
    // A foreach of checks: every item must be healthy.
    const bad = o.map((x) => (isObj(x) && x.error ? String(x.error) : isObj(x) && (x.healthy === false || x.ok === false) ? 'unhealthy item' : null)).filter(Boolean);
    if (bad.length) return bad.join('; ');
  }
  return null;
}

export interface ShiftFound {
  step: string;
  at: string;
  outputs: Record<string, any>;
  /** Found in a run history (the failover failed after shifting): that run, and the steps that failed after the shift. */
  source?: 'outputs' | 'history';
  workflowId?: string;
  failedAfter?: string[];
}

/**
 * The traffic-shift step in the failover child's outputs (a map of its steps' outputs, groups
 * nested): `shiftStep` when named, else the action output with an ISO `at` that moved the target
 * to weight 0, else the one naming the target (`cluster` or `from`). Dry runs do not count, and
 * an output that merely has an `at` is not a shift: null then.
 */
export function findShift(outputs: unknown, target: string, shiftStep?: string): ShiftFound | null {
  const found: ShiftFound[] = [];
  const visit = (x: unknown, path: string, d: number) => {
    if (!isObj(x) || d < 0) return;
    if (typeof x.at === 'string' && parseIso(x.at) !== null && path && x.dryRun !== true) found.push({ step: path, at: x.at, outputs: x, source: 'outputs' });
    for (const [k, y] of Object.entries(x)) if (isObj(y)) visit(y, path ? `${path}.${k}` : k, d - 1);
  };
  visit(outputs, '', 4);
  if (shiftStep) return found.find((f) => f.step === shiftStep || f.step.endsWith(`.${shiftStep}`)) ?? null;
  const byTime = [...found].sort((a, b) => parseIso(a.at)! - parseIso(b.at)!);
  return (
    byTime.find((f) => f.outputs.cluster === target && f.outputs.weight === 0) ??
    byTime.find((f) => f.outputs.cluster === target || f.outputs.from === target) ??
    null
  );
}

interface ProbeOutputs {
  url?: string;
  startedAt?: string;
  endedAt?: string;
  checks?: number;
  failures?: number;
  reached?: { up: number | null; down: number | null };
  timeline?: { at: string; ms: number; ok: boolean; status: number | null; error?: string }[];
  timelineDropped?: number;
}

const probeOf = (r: StepRecord | null | undefined): ProbeOutputs | null => (r && isObj(r.outputs) ? (r.outputs as ProbeOutputs) : null);

// ---------------------------------------------------------------------------------------------
// Verdict and timeline

export const fmtSeconds = (ms: number | null): string =>
  ms === null ? '—' : Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(Math.abs(ms) < 10_000 ? 2 : 1)} s`;

const failedWhy = (r: StepRecord) => r.error ?? r.state;

export function computeDrill(i: DrillInputs, history: HistoryFacts = { checked: false, shift: null }): DrillFacts {
  const injectedMs = parseIso(isObj(i.inject?.outputs) ? (i.inject!.outputs as any).injectedAt : undefined);
  const fromOutputs = isObj(i.failover?.outputs) ? findShift(i.failover!.outputs, i.target, i.shiftStep) : null;
  // A failover that failed after its shift (e.g. verification) has no outputs: its history has the shift.
  const shift = fromOutputs ?? history.shift;
  const shiftMs = shift ? parseIso(shift.at) : null;
  const rtoMs = injectedMs !== null && shiftMs !== null ? shiftMs - injectedMs : null;

  const det = probeOf(i.detect);
  const detStart = parseIso(det?.startedAt);
  const detectedMs = detStart !== null && typeof det?.reached?.down === 'number' ? detStart + det.reached.down : null;
  const detectionMs = injectedMs !== null && detectedMs !== null ? detectedMs - injectedMs : null;
  const failoverMs = rtoMs !== null && detectionMs !== null ? rtoMs - detectionMs : null;

  const win = probeOf(i.window);
  const errorsDuringWindow: ErrorsDuringWindow | null =
    win && typeof win.checks === 'number' && typeof win.failures === 'number'
      ? { count: win.failures, checks: win.checks, rate: win.checks ? Math.round((win.failures / win.checks) * 10_000) / 10_000 : 0 }
      : null;

  const restored = succeeded(i.restore) && (!isObj(i.restore.outputs) || (i.restore.outputs as any).restored !== false);
  // Traffic may have moved off the target unless we know it did not: then it must be failed back.
  const failoverRan = !!i.failover && i.failover.state !== 'skipped' && (i.failover.state === 'succeeded' || shift !== null || !history.checked);
  const failedBack = i.skipped || !failoverRan ? null : succeeded(i.failback);
  const steadyAfterWhy = unhealthy(i.steadyAfter);
  const steadyAfter = steadyAfterWhy === null;

  let verdict: Verdict;
  const reasons: string[] = [];
  if (i.skipped) {
    verdict = 'skipped';
    reasons.push(`drill did not run: ${i.skipped}`);
  } else {
    if (i.run?.state === 'failed') reasons.push(`drill aborted: ${failedWhy(i.run)}`);
    if (injectedMs === null) reasons.push(`the fault was not injected${i.inject?.error ? `: ${i.inject.error}` : i.inject ? ` (inject ${i.inject.state})` : ''}`);
    if (rtoMs === null) {
      const why = i.failover && i.failover.state !== 'succeeded' ? ` (failover ${i.failover.state}${i.failover.error ? `: ${i.failover.error}` : ''})` : '';
      reasons.push(`traffic was never shifted away from ${i.target}${why}`);
    } else if (rtoMs > i.objectiveRtoMs) reasons.push(`RTO ${fmtSeconds(rtoMs)} exceeded the objective ${fmtSeconds(i.objectiveRtoMs)}`);
    if (shift && i.failover && i.failover.state !== 'succeeded') {
      const where = shift.failedAfter?.length ? ` (${shift.failedAfter.join(', ')})` : '';
      reasons.push(`the failover's verification failed after traffic was shifted away from ${i.target}${where}: ${failedWhy(i.failover)}`);
    }
    if (!restored) reasons.push(`the fault was not restored${i.restore?.error ? `: ${i.restore.error}` : i.restore ? ` (restore ${i.restore.state})` : ''}`);
    if (failedBack === false) reasons.push(`failback did not complete: ${i.failback ? failedWhy(i.failback) : 'it did not run'} (${i.target} may still be out of traffic)`);
    if (!steadyAfter) reasons.push(`steady state after the drill: ${steadyAfterWhy}`);
    verdict = reasons.length ? 'fail' : 'pass';
  }

  const timeline = buildTimeline(i, { injectedMs, detectedMs, shift, det, win });
  return {
    verdict,
    reasons,
    rtoMs,
    detectionMs,
    failoverMs,
    injectedAt: injectedMs === null ? null : new Date(injectedMs).toISOString(),
    shiftedAt: shift?.at ?? null,
    shiftStep: shift?.step ?? null,
    shiftSource: shift ? (shift.source ?? 'outputs') : null,
    errorsDuringWindow,
    restored,
    failedBack,
    steadyAfter,
    timeline,
  };
}

function buildTimeline(
  i: DrillInputs,
  k: { injectedMs: number | null; detectedMs: number | null; shift: ShiftFound | null; det: ProbeOutputs | null; win: ProbeOutputs | null },
): TimelineEvent[] {
  const raw: { ms: number; event: string; phase: Phase; detail: string }[] = [];
  const add = (ms: number | null, phase: Phase, event: string, detail = '') => {
    if (ms !== null) raw.push({ ms, phase, event, detail });
  };
  const stateDetail = (r: StepRecord | null | undefined) => unhealthy(r) ?? 'ok';
  add(latestTime(i.steadyBefore?.outputs), 'steady-before', 'steady state checked', stateDetail(i.steadyBefore));
  add(latestTime(i.guard?.outputs), 'guard', 'blast-radius guard', unhealthy(i.guard) ?? 'allowed');
  add(latestTime(i.approval?.outputs), 'approval', 'approval', i.approval ? (i.approval.state === 'succeeded' ? 'approved' : stateDetail(i.approval)) : '');
  add(k.injectedMs, 'inject', 'fault injected', `${i.target}`);
  add(parseIso(k.det?.startedAt), 'detect', 'detection probe started', k.det?.url ?? '');
  add(k.detectedMs, 'detect', 'target detected down', k.det?.url ?? '');
  if (isObj(i.failover?.outputs)) {
    // Every timed step of the failover child, then the shift itself.
    const visit = (x: unknown, path: string, d: number) => {
      if (!isObj(x) || d < 0) return;
      if (path && path !== k.shift?.step && typeof x.at === 'string') add(parseIso(x.at), 'failover', `failover: ${path}`, typeof x.message === 'string' ? x.message : '');
      for (const [key, y] of Object.entries(x)) if (isObj(y)) visit(y, path ? `${path}.${key}` : key, d - 1);
    };
    visit(i.failover!.outputs, '', 4);
  }
  if (k.shift) add(parseIso(k.shift.at), 'shift', 'traffic shifted away', `${i.target} (${k.shift.step}${k.shift.source === 'history' ? ', from the failover run history' : ''})`);
  if (i.failover && i.failover.state === 'failed') add(latestTime(i.failover.outputs), 'failover', 'failover failed', i.failover.error ?? '');
  add(parseIso(k.win?.startedAt), 'window', 'window probe started', k.win?.url ?? '');
  // Errors, and the transitions back to answering.
  let failing = false;
  for (const o of k.win?.timeline ?? []) {
    if (!o.ok) add(parseIso(o.at), 'window-error', 'error', o.error ?? (o.status === null ? 'no response' : `HTTP ${o.status}`));
    else if (failing) add(parseIso(o.at), 'window', RECOVERED, o.status === null ? '' : `HTTP ${o.status}`);
    failing = !o.ok;
  }
  add(parseIso(k.win?.endedAt), 'window', 'window probe ended', k.win ? `${k.win.failures ?? 0} of ${k.win.checks ?? 0} checks failed` : '');
  add(latestTime(i.restore?.outputs), 'restore', 'fault restored', i.restore ? stateDetail(i.restore) : '');
  add(latestTime(i.failback?.outputs), 'failback', 'failed back', i.failback ? stateDetail(i.failback) : '');
  add(latestTime(i.steadyAfter?.outputs), 'steady-after', 'steady state checked', stateDetail(i.steadyAfter));
  const zero = k.injectedMs ?? (raw.length ? Math.min(...raw.map((r) => r.ms)) : 0);
  return raw
    .map((r, n) => ({ ...r, n }))
    .sort((a, b) => a.ms - b.ms || a.n - b.n)
    .map((r) => ({ at: new Date(r.ms).toISOString(), t: r.ms - zero, event: r.event, phase: r.phase, detail: r.detail }));
}

const RECOVERED = 'answering again';

/**
 * The timeline for the report the activity returns (it stays in the run's history): at most
 * `max` window errors. Over that, only transitions stay: the first error of each run of the same
 * error (its detail gains "×n", the run's length), then the first and last max/2 of those. The
 * files keep every error. `omitted` counts the error events left out.
 */
export function compactTimeline(tl: readonly TimelineEvent[], max = 100): { timeline: TimelineEvent[]; omitted: number } {
  const errors = tl.filter((e) => e.phase === 'window-error').length;
  if (errors <= max) return { timeline: [...tl], omitted: 0 };
  const starts: { e: TimelineEvent; n: number }[] = [];
  let prev: TimelineEvent | undefined;
  for (const e of tl) {
    if (e.phase !== 'window' && e.phase !== 'window-error') continue;
    if (e.phase === 'window-error') {
      if (prev?.phase === 'window-error' && prev.detail === e.detail) starts[starts.length - 1].n++;
      else starts.push({ e, n: 1 });
    }
    prev = e;
  }
  const kept = starts.length > max ? [...starts.slice(0, Math.ceil(max / 2)), ...starts.slice(starts.length - Math.floor(max / 2))] : starts;
  const detail = new Map(kept.map((s) => [s.e, s.n > 1 ? `${s.e.detail} ×${s.n}` : s.e.detail]));
  const timeline = tl.filter((e) => e.phase !== 'window-error' || detail.has(e)).map((e) => (detail.has(e) ? { ...e, detail: detail.get(e)! } : e));
  return { timeline, omitted: errors - kept.length };
}

// ---------------------------------------------------------------------------------------------
// Engine share of the RTO window, from history events

/** One history event, reduced to what the engine-share computation needs (report-history.ts builds these). */
export interface HistoryEvent {
  id: number;
  /** e.g. ActivityTaskScheduled, ActivityTaskStarted, ActivityTaskCompleted, TimerStarted, TimerFired. */
  type: string;
  timeMs: number;
  activityId?: string;
  activityType?: string;
  /** On Started/Completed/Failed/TimedOut/Canceled activity events. */
  scheduledEventId?: number;
  /** On ActivityTaskStarted: the attempt that completed (earlier attempts are not in history). */
  attempt?: number;
  /** On TimerFired/TimerCanceled: the TimerStarted event. */
  startedEventId?: number;
  timerId?: string;
  /** Decoded result of ActivityTaskCompleted. */
  result?: unknown;
  /** On WorkflowExecutionStarted: the runbook's name and its `mode` param (failover or failback). */
  started?: { runbook?: string; mode?: string };
}

export interface ActivitySpan {
  activityId: string;
  activityType: string;
  startMs: number;
  endMs: number;
  closed: HistoryEvent;
}

type Interval = [number, number];

const ACTIVITY_CLOSED = new Set(['ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCanceled']);

/**
 * Activity executions in one history. Temporal writes ActivityTaskStarted (with the start time of
 * the last attempt) only when the activity closes; for a retried activity (attempt > 1) the span
 * starts at ActivityTaskScheduled, so earlier attempts and retry back-off count as the activity's
 * own time, not the engine's. Activities still open have no span.
 */
export function activitySpans(events: readonly HistoryEvent[]): ActivitySpan[] {
  const byId = new Map(events.map((e) => [e.id, e]));
  const started = new Map<number, HistoryEvent>();
  for (const e of events) if (e.type === 'ActivityTaskStarted' && e.scheduledEventId !== undefined) started.set(e.scheduledEventId, e);
  const out: ActivitySpan[] = [];
  for (const c of events) {
    if (!ACTIVITY_CLOSED.has(c.type) || c.scheduledEventId === undefined) continue;
    const s = byId.get(c.scheduledEventId);
    const st = started.get(c.scheduledEventId);
    if (!s || !st) continue; // never started (timed out or cancelled while scheduled): no activity time
    out.push({ activityId: s.activityId ?? '', activityType: s.activityType ?? '', startMs: (st.attempt ?? 1) > 1 ? s.timeMs : st.timeMs, endMs: c.timeMs, closed: c });
  }
  return out;
}

/** Durable timers: TimerStarted → TimerFired or TimerCanceled. */
export function timerSpans(events: readonly HistoryEvent[]): Interval[] {
  const byId = new Map(events.map((e) => [e.id, e]));
  const out: Interval[] = [];
  for (const e of events) {
    if ((e.type !== 'TimerFired' && e.type !== 'TimerCanceled') || e.startedEventId === undefined) continue;
    const s = byId.get(e.startedEventId);
    if (s) out.push([s.timeMs, e.timeMs]);
  }
  return out;
}

/** Union of intervals clipped to [lo, hi], merged and sorted. */
export function unionClipped(intervals: readonly Interval[], lo: number, hi: number): Interval[] {
  const clipped = intervals.map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as Interval).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of clipped) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

const total = (xs: readonly Interval[]) => xs.reduce((n, [a, b]) => n + (b - a), 0);

/** Length of `a` not covered by the (merged, sorted) intervals `cover`. */
function uncovered(a: readonly Interval[], cover: readonly Interval[]): number {
  let n = 0;
  for (const [lo, hi] of a) n += hi - lo - total(unionClipped(cover, lo, hi));
  return n;
}

/**
 * Split the window [startMs, endMs] into time inside activities, time in durable timers, and the
 * rest: the engine's share. `histories` are the drill run and its child runs; `exclude` leaves
 * out activities that observe instead of act (they run beside the critical path).
 */
export function engineShare(histories: readonly (readonly HistoryEvent[])[], window: { startMs: number; endMs: number }, exclude: (s: ActivitySpan) => boolean = () => false): EngineShare {
  const { startMs, endMs } = window;
  const windowMs = Math.max(0, endMs - startMs);
  const acts: Interval[] = [];
  const timers: Interval[] = [];
  const excluded: string[] = [];
  let nActs = 0;
  for (const h of histories) {
    for (const s of activitySpans(h)) {
      if (s.endMs <= startMs || s.startMs >= endMs) continue;
      if (exclude(s)) {
        excluded.push(s.activityId);
        continue;
      }
      nActs++;
      acts.push([s.startMs, s.endMs]);
    }
    for (const t of timerSpans(h)) if (t[1] > startMs && t[0] < endMs) timers.push(t);
  }
  const actU = unionClipped(acts, startMs, endMs);
  const timerU = unionClipped(timers, startMs, endMs);
  const activityMs = total(actU);
  const waitingMs = uncovered(timerU, actU);
  const engineMs = Math.max(0, windowMs - activityMs - waitingMs);
  return {
    windowMs,
    activityMs,
    waitingMs,
    engineMs,
    share: windowMs ? Math.round((engineMs / windowMs) * 10_000) / 10_000 : 0,
    histories: histories.length,
    activities: nActs,
    timers: timers.length,
    excluded,
  };
}
