/**
 * Runwright's workflow-side metrics (issue 18, item 4), through the SDK's workflow metric meter
 * only: it is replay-safe (nothing is emitted while a worker replays history) and goes out with
 * the SDK's own metrics on the worker's Prometheus endpoint (workers/telemetry.ts).
 *
 * This is a workflow interceptor module (bundled with `workflowInterceptorModules`, see
 * workers/worker.ts), so the interpreter needs one hook only (`timeApproval`). The interceptors
 * return the promise they were given (no extra await): they add no yields and no commands, so
 * recorded histories replay unchanged.
 *
 * Names and labels (the SDK adds namespace, task_queue and workflow_type):
 *   runwright_runs_started{runbook}                         counter
 *   runwright_runs_finished{runbook,result}                 counter  result: succeeded|failed|cancelled
 *   runwright_run_duration_seconds{runbook,result}          histogram
 *   runwright_step_duration_seconds{runbook,action,result}  histogram (schedule to end, retries included)
 *   runwright_compensations{runbook,action,result}          counter  result: done|failed
 *   runwright_approval_wait_seconds{runbook,outcome}        histogram outcome: approved|rejected|cancelled
 * Durations are workflow time (the SDK's deterministic clock: workflow task times).
 */
import { isCancellation, metricMeter, workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';
import type { ActivityInput, Next, WorkflowExecuteInput, WorkflowInboundCallsInterceptor, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import { INTERPRETER_WORKFLOW, type RunInput } from './definitions';

const runsStarted = metricMeter.createCounter('runwright_runs_started', '1', 'Runbook runs started (a continue-as-new is not a new run)');
const runsFinished = metricMeter.createCounter('runwright_runs_finished', '1', 'Runbook runs ended, by result');
const runDuration = metricMeter.createHistogram('runwright_run_duration_seconds', 'float', 's', 'Runbook run duration (this run of the workflow)');
const stepDuration = metricMeter.createHistogram('runwright_step_duration_seconds', 'float', 's', 'Action step duration, retries included, by action and result');
const compensations = metricMeter.createCounter('runwright_compensations', '1', 'Compensations run, by action and result');
const approvalWait = metricMeter.createHistogram('runwright_approval_wait_seconds', 'float', 's', 'Time an approval gate waited for its decision');

const COMPENSATE_PREFIX = 'compensate:';
const RESULTS = ['succeeded', 'failed', 'cancelled'];

const seconds = (fromMs: number) => Math.max(0, Date.now() - fromMs) / 1000;
const resultOf = (err: unknown) => (isCancellation(err) ? 'cancelled' : 'failed');
const isContinueAsNew = (err: unknown) => (err as { name?: string } | undefined)?.name === 'ContinueAsNew';

/** Per workflow (the factory runs once per workflow): the run's runbook, for the engine's own activities. */
interface RunState {
  runbook?: string;
}

/** The runbook a call belongs to: the interpreter passes `{ runbook, … }` beside every action input. */
function runbookOf(args: unknown[], run: RunState): string {
  const meta = args[1] as { runbook?: unknown } | undefined;
  return typeof meta?.runbook === 'string' ? meta.runbook : (run.runbook ?? 'unknown');
}

class RunMetrics implements WorkflowInboundCallsInterceptor {
  constructor(private readonly run: RunState) {}
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = workflowInfo();
    if (info.workflowType !== INTERPRETER_WORKFLOW) return next(input);
    const runbook = (input.args[0] as RunInput | undefined)?.runbook?.metadata?.name ?? 'unknown';
    this.run.runbook = runbook;
    const startedMs = Date.now();
    if (!info.continuedFromExecutionRunId) {
      runsStarted.add(1, { runbook });
      // Every result's series exists from the start, so the first failure is an increase (alerts).
      for (const result of RESULTS) runsFinished.add(0, { runbook, result });
    }
    const done = (result: string) => {
      runsFinished.add(1, { runbook, result });
      runDuration.record(seconds(startedMs), { runbook, result });
    };
    const p = next(input);
    p.then(
      () => done('succeeded'),
      (err) => (isContinueAsNew(err) ? undefined : done(resultOf(err))),
    );
    return p;
  }
}

class StepMetrics implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly run: RunState) {}
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    const p = next(input);
    const labels = { runbook: runbookOf(input.args, this.run), action: input.activityType };
    if (input.options.activityId?.startsWith(COMPENSATE_PREFIX)) {
      p.then(
        () => compensations.add(1, { ...labels, result: 'done' }),
        () => compensations.add(1, { ...labels, result: 'failed' }),
      );
      return p;
    }
    const startedMs = Date.now();
    p.then(
      () => stepDuration.record(seconds(startedMs), { ...labels, result: 'succeeded' }),
      (err) => stepDuration.record(seconds(startedMs), { ...labels, result: resultOf(err) }),
    );
    return p;
  }
}

/** Interpreter hook: the time an approval gate waited, by outcome. Returns `wait` itself. */
export function timeApproval<T>(runbook: string, wait: Promise<T>): Promise<T> {
  const startedMs = Date.now();
  wait.then(
    () => approvalWait.record(seconds(startedMs), { runbook, outcome: 'approved' }),
    (err) => approvalWait.record(seconds(startedMs), { runbook, outcome: isCancellation(err) ? 'cancelled' : 'rejected' }),
  );
  return wait;
}

export const interceptors = (): WorkflowInterceptors => {
  const run: RunState = {};
  return { inbound: [new RunMetrics(run)], outbound: [new StepMetrics(run)] };
};
