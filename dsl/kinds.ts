import type { Step } from './schema';

/** Which kind a (validated) step is. Kept free of zod so the workflow bundle stays small. */
export function stepKind(step: Step): 'action' | 'parallel' | 'foreach' | 'approval' | 'sleep' | 'runbook' | 'steps' {
  if ('action' in step) return 'action';
  if ('parallel' in step) return 'parallel';
  if ('foreach' in step) return 'foreach';
  if ('approval' in step) return 'approval';
  if ('sleep' in step) return 'sleep';
  if ('runbook' in step) return 'runbook';
  return 'steps';
}
