/**
 * What every fault kind implements: a zod schema (one member of the FaultSpec union, keyed by
 * `kind`), a one-line description of its target, and idempotent `inject` / `restore`. Both
 * read the current state first and change only what differs; `restore` succeeds when the fault
 * is already gone or was never injected.
 */
import type { z } from 'zod';
import type { ActionContext } from '../define';
import { withContext, type CheckablePlugin } from '../plugin';

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

/** What a fault kind file writes (defineFaultKind fills in the Plugin fields from it). */
export interface FaultKindSpec<S extends z.ZodTypeAny = z.ZodTypeAny> {
  kind: string;
  schema: S;
  /** Human description of the target, e.g. "cloud cluster-b (refuse)". */
  describe(spec: z.output<S>): string;
  inject(spec: z.output<S>, ctx: FaultContext): Promise<FaultOutcome>;
  restore(spec: z.output<S>, ctx: FaultContext): Promise<FaultOutcome>;
}

/**
 * A fault kind is a Plugin (activities/plugin.ts), and the model of the family: `name` is
 * `kind`, `input` is `schema`, `run` is `inject`, `restore` its inverse, and the dry run is
 * `inject` with `ctx.dryRun` on.
 */
export interface FaultKind<S extends z.ZodTypeAny = z.ZodTypeAny> extends FaultKindSpec<S>, CheckablePlugin<S, FaultContext, FaultOutcome> {}

export function defineFaultKind<S extends z.ZodTypeAny>(k: FaultKindSpec<S>): FaultKind<S> {
  return {
    ...k,
    name: k.kind,
    description: k.schema.description ?? `fault kind ${k.kind}`,
    input: k.schema,
    run: (spec, ctx) => k.inject(spec, ctx),
    async dryRun(spec, ctx) {
      const r = await k.inject(spec, withContext(ctx, { dryRun: true }));
      return { changed: r.changed, summary: `${r.changed ? 'would inject' : 'already injected'}: ${k.describe(spec)}` };
    },
  };
}
