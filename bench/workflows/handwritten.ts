/**
 * The baseline for the engine-overhead benchmark: what a developer would write by hand with the
 * Temporal SDK to call `core.noop` N times in a row, with exactly the activity options the
 * interpreter uses for a step without `timeout:`/`retry:` (see workflows/interpreter.ts).
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
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
