/**
 * The one extension contract of Runwright. Everything a runbook can name and that a file adds —
 * an action, a host module, a fault kind, a traffic backend — is a Plugin:
 *
 *   name         unique within its family
 *   description  one line, for `runwright actions`, docs and errors
 *   input        the zod schema of what the runbook writes for it
 *   run          do it (idempotent: read first, change only what differs)
 *   dryRun       the check-mode path: read the current state and say what `run` would change,
 *                changing nothing ({ changed, summary, diff? }, the DryRunResult below)
 *
 * and a family adds what only it needs. How the four families map onto it:
 *
 *   family           definition (file)                              run             dryRun                              extras
 *   action           ActionDefinition (activities/define.ts)       run             dryRun (optional when readOnly)     readOnly, plan, defaults, inverse
 *   host module      HostModule (activities/host/module.ts)        run (ctx.check) run with ctx.check = true           args (= input), freeForm, *TextArgs
 *   fault kind       FaultKind (activities/fault/kind.ts)          inject          inject with ctx.dryRun = true       restore (the inverse), describe, kind (= name), schema (= input)
 *   traffic backend  TrafficBackend (activities/traffic/shift.ts)  plan + apply    plan only (nothing applied)         plan
 *
 * Host modules and fault kinds keep their older field names (`args`, `kind`, `schema`,
 * `inject`); defineModule and defineFaultKind fill in the Plugin names next to them, so a
 * family member is written as before and still reads as a Plugin. test/unit/plugin-family.test.ts
 * walks every member of every family and checks the contract, so the family stays uniform.
 *
 * The fault kind is the model: inject, restore (its inverse) and dry run in one contract, every
 * step idempotent.
 */
import type { z } from 'zod';

/** What a dry run reports: would `run` change anything, what (one line), and a diff when there is one. */
export interface DryRunResult {
  changed: boolean;
  summary: string;
  diff?: string;
  /**
   * What kind of change, for plan summaries ("2 to create, 1 to change, 0 to destroy"): set by
   * dry runs that know; otherwise derived from the diff and the action (dsl/live-plan.ts effectOf).
   */
  effect?: DryRunEffect;
}

export type DryRunEffect = 'create' | 'change' | 'destroy' | 'none';

/** The contract every family instantiates: S the input schema, C the context, R what `run` returns. */
export interface Plugin<S extends z.ZodTypeAny = z.ZodTypeAny, C = unknown, R = unknown> {
  name: string;
  description: string;
  input: S;
  run(input: z.output<S>, ctx: C): Promise<R>;
  /** Check mode: what `run` would change, changing nothing. Optional only where a family says so (read-only actions). */
  dryRun?(input: z.output<S>, ctx: C): Promise<DryRunResult>;
}

/** A Plugin whose dry run is always there (host modules, fault kinds, traffic backends). */
export type CheckablePlugin<S extends z.ZodTypeAny = z.ZodTypeAny, C = unknown, R = unknown> = Plugin<S, C, R> & {
  dryRun(input: z.output<S>, ctx: C): Promise<DryRunResult>;
};

/** The family names, for listings and the uniformity test. */
export type PluginFamily = 'action' | 'host module' | 'fault kind' | 'traffic backend';

/**
 * `ctx` with some fields replaced, without copying it: the result reads everything else through
 * the prototype, so getters (ActionContext.client) stay lazy.
 */
export function withContext<C extends object>(ctx: C, over: Partial<C>): C {
  return Object.assign(Object.create(ctx) as C, over);
}
