/**
 * Reading and starting runs, the same way for the CLI and the console's HTTP API: the status
 * query with heartbeat progress merged in, the runs list (visibility query), and a start with
 * the run's identity proof and search attributes.
 */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { codecsOf, decodePayload, failureText, SealedPayloadError } from '../lib/codec';
import { runDefaults, SEARCH_ATTRIBUTES } from '../lib/config';
import type { LoadedRunbook } from './runbooks';
import { INTERPRETER_WORKFLOW, statusQuery, type RunInput, type RunStatus } from '../workflows/definitions';

/** Runwright's own run states, kept in the RunwrightState search attribute. */
export const RUN_STATES = ['running', 'waiting-approval', 'compensating', 'succeeded', 'failed', 'cancelled'] as const;
/** Temporal's execution statuses, as the visibility query names them. */
export const EXECUTION_STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut', 'ContinuedAsNew'] as const;

export class RunQueryError extends Error {
  name = 'RunQueryError';
}

export interface RunFilter {
  runbook?: string;
  /** A Runwright state (waiting-approval, …) or a Temporal execution status (Running, Failed, …). */
  state?: string;
  startedBy?: string;
  limit?: number;
}

export interface RunRow {
  workflowId: string;
  runbook: string;
  execution: string;
  state?: string;
  startedBy?: string;
  startTime: string;
  closeTime?: string;
}

const quoted = (v: string) => `"${v.replace(/["\\]/g, '')}"`;

/** The visibility query for a filter; a filter the server cannot answer is a RunQueryError. */
export function runListQuery(f: RunFilter, searchAttributes: boolean): string {
  const q = [`WorkflowType = "${INTERPRETER_WORKFLOW}"`];
  if (f.runbook) q.push(searchAttributes ? `${SEARCH_ATTRIBUTES.runbook} = ${quoted(f.runbook)}` : `WorkflowId STARTS_WITH ${quoted(`${f.runbook}-`)}`);
  if (f.state) {
    const st = f.state.replace(/"/g, '');
    // Runwright's own states (waiting-approval, compensating) live in a search attribute.
    if (/^[a-z-]+$/.test(st)) {
      if (!(RUN_STATES as readonly string[]).includes(st)) throw new RunQueryError(`unknown state "${st}" (expected one of ${[...RUN_STATES, ...EXECUTION_STATUSES].join(', ')})`);
      if (!searchAttributes) throw new RunQueryError(`state ${st} needs the ${SEARCH_ATTRIBUTES.state} search attribute on the server (runwright dev registers it)`);
      q.push(`${SEARCH_ATTRIBUTES.state} = "${st}"`);
      // A terminated or timed-out run keeps the last state it set ("waiting-approval"):
      // the in-flight states only count while the run is still running.
      if (['running', 'waiting-approval', 'compensating'].includes(st)) q.push('ExecutionStatus = "Running"');
    } else {
      if (!(EXECUTION_STATUSES as readonly string[]).includes(st)) throw new RunQueryError(`unknown state "${st}" (expected one of ${[...RUN_STATES, ...EXECUTION_STATUSES].join(', ')})`);
      q.push(`ExecutionStatus = "${st}"`);
    }
  }
  return q.join(' AND ');
}

/** Newest first, at most `limit` (default 50); `startedBy` is read from the memo (not indexed). */
export async function listRuns(client: Client, f: RunFilter, searchAttributes: boolean): Promise<RunRow[]> {
  const limit = Math.max(1, Math.min(f.limit ?? 50, 1000));
  const rows: RunRow[] = [];
  for await (const w of client.workflow.list({ query: runListQuery(f, searchAttributes) })) {
    const startedBy = typeof w.memo?.startedBy === 'string' ? w.memo.startedBy : undefined;
    if (f.startedBy && startedBy !== f.startedBy) continue;
    const sa = w.searchAttributes?.[SEARCH_ATTRIBUTES.state];
    rows.push({
      workflowId: w.workflowId,
      runbook: (w.memo?.runbook as string) ?? '',
      execution: w.status.name,
      state: Array.isArray(sa) && typeof sa[0] === 'string' ? sa[0] : undefined,
      startedBy,
      startTime: w.startTime.toISOString(),
      closeTime: w.closeTime?.toISOString(),
    });
    if (rows.length >= limit) break;
  }
  return rows;
}

/**
 * The status query, with running actions' attempt and latest heartbeat progress merged in
 * (heartbeats live on the server, not in history). undefined when no worker answered.
 */
export async function fetchStatus(client: Client, h: WorkflowHandle, onError?: (e: unknown) => void): Promise<RunStatus | undefined> {
  let st: RunStatus;
  try {
    st = await client.connection.withDeadline(Date.now() + 5000, () => h.query(statusQuery));
  } catch (e) {
    // The answer came, but sealed with a key this process lacks: the caller says so.
    if (e instanceof SealedPayloadError) throw e;
    onError?.(e);
    return undefined;
  }
  if (st.steps.some((x) => x.state === 'running')) {
    try {
      const d = await h.describe();
      for (const pa of d.raw.pendingActivities ?? []) {
        const step = st.steps.find((x) => x.path === pa.activityId);
        if (!step) continue;
        if (pa.attempt) step.attempts = pa.attempt;
        const details = pa.heartbeatDetails?.payloads?.[0];
        if (details) step.progress = summarize(defaultPayloadConverter.fromPayload(await decodePayload(codecsOf(client), details)));
        if (pa.lastFailure?.message) step.error = `last attempt: ${await failureText(pa.lastFailure as never, codecsOf(client))}`;
      }
    } catch {
      /* progress is best effort */
    }
  }
  return st;
}

function summarize(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.slice(0, 120);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.progress === 'string') return o.progress.slice(0, 120);
    if (typeof o.message === 'string') return o.message.slice(0, 120);
    return JSON.stringify(v).slice(0, 120);
  }
  return String(v);
}

/** A handle for a run that exists, else undefined. */
export async function existingRun(client: Client, id: string): Promise<WorkflowHandle | undefined> {
  const h = client.workflow.getHandle(id);
  try {
    await h.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
  return h;
}

/** A run id like the CLI's: <runbook>-<UTC time>-<4 random chars>. */
export function newRunId(runbook: string, now = new Date()): string {
  return `${runbook}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${Math.random().toString(36).slice(2, 6)}`;
}

export class RunExistsError extends Error {
  name = 'RunExistsError';
}

/** Start the interpreter workflow for a prepared (checked, possibly signed) input. */
export async function startRun(
  s: { client: Client; taskQueue: string; searchAttributes: boolean },
  input: RunInput,
  id: string,
  memo: Record<string, unknown> = {},
  /** An id the user chose: never reuse one a finished run had (its history would be shadowed). */
  explicitId = false,
): Promise<WorkflowHandle> {
  const name = input.runbook.metadata.name;
  try {
    return await s.client.workflow.start(INTERPRETER_WORKFLOW, {
      taskQueue: s.taskQueue,
      workflowId: id,
      args: [input],
      ...(explicitId ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
      memo: { runbook: name, startedBy: input.startedBy, ...(input.runbook.metadata.labels ? { labels: input.runbook.metadata.labels } : {}), ...memo },
      ...(s.searchAttributes ? { searchAttributes: { [SEARCH_ATTRIBUTES.runbook]: [name], [SEARCH_ATTRIBUTES.state]: ['running'] } } : {}),
    });
  } catch (e: any) {
    if (e?.name === 'WorkflowExecutionAlreadyStartedError') throw new RunExistsError(`a run with id "${id}" already exists`);
    throw e;
  }
}

export interface RunFacts {
  runbook: string;
  labels?: Record<string, string>;
  status?: RunStatus;
}

/** What a decision must bind: the runbook (memo, or the status query) and, from the status query, the pending plans. */
export async function runFacts(client: Client, workflowId: string): Promise<RunFacts | undefined> {
  const h = client.workflow.getHandle(workflowId);
  // Not found is an answer; anything else (server down) is the caller's error, not "no such run".
  let memo: Record<string, unknown>;
  try {
    memo = (await client.connection.withDeadline(Date.now() + 10_000, () => h.describe())).memo ?? {};
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
  let status: RunStatus | undefined;
  try {
    status = await client.connection.withDeadline(Date.now() + 5000, () => h.query(statusQuery));
  } catch {
    /* no worker: the memo still names the runbook */
  }
  const runbook = status?.runbook ?? (typeof memo.runbook === 'string' ? memo.runbook : undefined);
  // The runbook's labels (the access policy's `labels:` rules), recorded in the memo at start.
  const labels = memo.labels && typeof memo.labels === 'object' ? (memo.labels as Record<string, string>) : undefined;
  return runbook ? { runbook, labels, status } : undefined;
}

/** The interpreter's input for a checked runbook and params (the worker settings' run defaults applied). */
export function runInputFor(loaded: LoadedRunbook, params: Record<string, unknown>, startedBy: string, searchAttributes: boolean): RunInput {
  const input: RunInput = { runbook: loaded.runbook, params, children: loaded.children, startedBy, searchAttributes };
  const defaults = runDefaults();
  if (defaults) input.defaults = defaults;
  return input;
}
