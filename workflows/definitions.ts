/**
 * The interpreter's public contract: input, result, status query and approval updates.
 * Shared by the workflow, the worker and the CLI; contains no logic.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Runbook, Step } from '../dsl/schema';

export const INTERPRETER_WORKFLOW = 'runbook';
export const FOREACH_CHUNK_WORKFLOW = 'runbookForeachChunk';

export interface RunInput {
  /** The validated runbook: history shows exactly what ran. */
  runbook: Runbook;
  /** Params after defaults and coercion. */
  params: Record<string, unknown>;
  /** Runbooks that `runbook:` steps may start, by metadata.name (validated by the CLI). */
  children?: Record<string, Runbook>;
  /** Who started the run (CLI user / Slack user); approvals may refuse self-approval. */
  startedBy?: string;
  /** Upsert RunwrightRunbook/RunwrightState search attributes (only when the server has them). */
  searchAttributes?: boolean;
}

export type StepState = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'compensated';
export type RunState = 'running' | 'waiting-approval' | 'compensating' | 'succeeded' | 'failed' | 'cancelled';

export interface StepStatus {
  path: string;
  id: string;
  kind: string;
  state: StepState;
  attempts?: number;
  startedAt?: string;
  endedAt?: string;
  outputs?: unknown;
  error?: string;
  /** foreach progress */
  items?: { total: number; succeeded: number; failed: number; running: number; batches: number; batch: number };
}

export interface Decision {
  decision: 'approve' | 'reject';
  user: string;
  reason?: string;
  source?: string;
  at: string;
}

export interface PendingApproval {
  step: string;
  message: string;
  requestedAt: string;
  deadline?: string;
  approvers?: string[];
  required: number;
  decisions: Decision[];
}

export interface CompensationRecord {
  path: string;
  action: string;
  input: unknown;
  retry?: unknown;
  timeout?: string;
  state: 'done' | 'failed' | 'pending';
  error?: string;
}

export interface RunStatus {
  runbook: string;
  state: RunState;
  startedAt: string;
  endedAt?: string;
  params: Record<string, unknown>;
  steps: StepStatus[];
  pendingApprovals: PendingApproval[];
  decisions: (Decision & { step: string })[];
  compensations: CompensationRecord[];
  error?: string;
}

export interface RunResult {
  state: 'succeeded';
  outputs: Record<string, unknown>;
  /** Undo actions of completed steps, for a parent that fails later (child runbooks). */
  compensations: PendingCompensation[];
}

export interface PendingCompensation {
  path: string;
  action: string;
  input: unknown;
  retry?: unknown;
  timeout?: string;
}

export interface DecisionInput {
  decision: 'approve' | 'reject';
  user: string;
  step?: string;
  reason?: string;
  source?: string;
}

export interface ChunkInput {
  parentWorkflowId: string;
  path: string;
  steps: Step[];
  items: unknown[];
  firstIndex: number;
  as: string;
  concurrency: number;
  scope: { params: Record<string, unknown>; steps: Record<string, unknown>; run: Record<string, unknown>; vars: Record<string, unknown> };
}

export interface IterationResult {
  index: number;
  ok: boolean;
  outputs?: Record<string, unknown>;
  error?: string;
}

export interface ChunkResult {
  iterations: IterationResult[];
  compensations: PendingCompensation[];
}

export const statusQuery = defineQuery<RunStatus>('status');
export const decideUpdate = defineUpdate<{ accepted: true; step: string; approvals: number; required: number }, [DecisionInput]>('decide');
