/**
 * The baseline for the engine-overhead benchmark: what a developer would write by hand with the
 * Temporal SDK to call `core.noop` N times in a row, with exactly the activity options the
 * interpreter uses for a step without `timeout:`/`retry:` (see workflows/interpreter.ts).
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import { DEFAULT_RETRY, DEFAULT_STEP_TIMEOUT } from '../../workflows/interpreter';

type Noop = (input: { value?: unknown }) => Promise<{ outputs: unknown; attempt: number }>;

// Same shape as the interpreter's toRetry(undefined): DEFAULT_RETRY plus the InvalidInput non-retryable type.
const options: ActivityOptions = {
  startToCloseTimeout: DEFAULT_STEP_TIMEOUT as ActivityOptions['startToCloseTimeout'],
  retry: {
    maximumAttempts: DEFAULT_RETRY.maximumAttempts,
    initialInterval: DEFAULT_RETRY.initialInterval as NonNullable<ActivityOptions['retry']>['initialInterval'],
    backoffCoefficient: DEFAULT_RETRY.backoffCoefficient,
    maximumInterval: DEFAULT_RETRY.maximumInterval as NonNullable<ActivityOptions['retry']>['maximumInterval'],
    nonRetryableErrorTypes: ['InvalidInput', ...(DEFAULT_RETRY.nonRetryableErrorTypes ?? [])],
  },
};

const { 'core.noop': noop } = proxyActivities<{ 'core.noop': Noop }>(options);

/** Workflow: call core.noop `steps` times sequentially; input i is { value: i + 1 } like the benchmark runbook. */
export async function handwrittenNoops(steps: number): Promise<{ steps: number; last: unknown }> {
  let last: unknown = null;
  for (let i = 0; i < steps; i++) last = (await noop({ value: i + 1 })).outputs;
  return { steps, last };
}

const { 'core.noop': localNoop } = proxyLocalActivities<{ 'core.noop': Noop }>({ startToCloseTimeout: options.startToCloseTimeout, retry: options.retry });

/**
 * The floor: the same calls as local activities (run in the workflow's worker, recorded as
 * markers, no activity task through the server). What a step could cost if it touched nothing
 * outside the worker; not what Runwright does (its steps are activities, retried and heartbeated
 * on any worker).
 */
export async function localActivityNoops(steps: number): Promise<{ steps: number; last: unknown }> {
  let last: unknown = null;
  for (let i = 0; i < steps; i++) last = (await localNoop({ value: i + 1 })).outputs;
  return { steps, last };
}
