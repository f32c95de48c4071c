/**
 * Worker shutdown as activities see it: after the worker's shutdown grace time the SDK cancels
 * every running activity with a CancelledFailure whose message is 'WORKER_SHUTDOWN'. That is not
 * a cancel of the step: remote commands must not be killed for it, and the attempt fails
 * retryably so another worker runs the step again.
 */
export const WORKER_SHUTDOWN = 'WORKER_SHUTDOWN';

export function isWorkerShutdown(reason: unknown): boolean {
  const r = reason as { name?: string; message?: string } | undefined;
  return r?.name === 'CancelledFailure' && r.message === WORKER_SHUTDOWN;
}
