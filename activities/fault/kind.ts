/**
 * What every fault kind implements: a zod schema (one member of the FaultSpec union, keyed by
 * `kind`), a one-line description of its target, and idempotent `inject` / `restore`. Both
 * read the current state first and change only what differs; `restore` succeeds when the fault
 * is already gone or was never injected.
 */
import type { z } from 'zod';
import type { ActionContext } from '../define';

export interface FaultContext extends ActionContext {
  /** Report what would change, change nothing (reads are allowed). */
  dryRun: boolean;
}

export interface FaultOutcome {
  changed: boolean;
  details: Record<string, unknown>;
  /** When the fault was really injected, if the kind knows it was earlier than now (found on a retry). */
  at?: string;
}

export interface FaultKind<S extends z.ZodTypeAny = z.ZodTypeAny> {
  kind: string;
  schema: S;
  /** Human description of the target, e.g. "cloud cluster-b (refuse)". */
  describe(spec: z.output<S>): string;
  inject(spec: z.output<S>, ctx: FaultContext): Promise<FaultOutcome>;
  restore(spec: z.output<S>, ctx: FaultContext): Promise<FaultOutcome>;
}

export function defineFaultKind<S extends z.ZodTypeAny>(k: FaultKind<S>): FaultKind<S> {
  return k;
}
