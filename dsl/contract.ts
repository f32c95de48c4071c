/**
 * The parts of an action's contract that shape a runbook rather than a call: default activity
 * options and the inverse used for saga compensation. Both are compiled into the runbook when it
 * is loaded (client/runbooks.ts), so the workflow sees ordinary `timeout`, `heartbeatTimeout` and
 * `compensate` fields: no workflow code reads action modules (it cannot import them), runs in
 * flight keep the runbook they started with, and a runbook whose actions declare neither is
 * passed through unchanged (identical input, identical history).
 */
import { childLists } from './walk';
import type { Runbook, Step } from './schema';

export interface ActionDefaults {
  /** Start-to-close timeout of one attempt (a duration). */
  timeout?: string;
  /** Heartbeat timeout (a duration). */
  heartbeatTimeout?: string;
}

export interface ActionInverse {
  action: string;
  /**
   * Input of the inverse. A value `{{ input.<field> }}` copies the step's own `with.<field>` as
   * written (omitted when the step does not set it); `outputs.<field>` inside `{{ }}` reads the
   * step's outputs. Anything else is passed as is.
   */
  with: Record<string, unknown>;
  /** Undo only when true, with the same `outputs.` reading ("{{ outputs.created }}"). */
  when?: string;
}

export interface ContractInfo {
  defaults?: ActionDefaults;
  inverse?: ActionInverse;
}

const INPUT_REF = /^\{\{\s*input\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

/** `outputs.x` inside every {{ }} of text becomes `steps.<id>.outputs.x`. */
function ownOutputs(text: string, id: string): string {
  return text.replace(/\{\{[\s\S]*?\}\}/g, (t) => t.replace(/(^|[^.\w])outputs\./g, `$1steps.${id}.outputs.`));
}

/** The compensate block a step gets from its action's inverse. */
export function inverseCompensation(inv: ActionInverse, step: { id: string; with?: Record<string, unknown> }): { action: string; with: Record<string, unknown>; when?: string } {
  const w: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inv.with)) {
    const ref = typeof v === 'string' ? INPUT_REF.exec(v) : null;
    if (ref) {
      if (step.with && step.with[ref[1]] !== undefined) w[k] = step.with[ref[1]];
    } else w[k] = typeof v === 'string' ? ownOutputs(v, step.id) : v;
  }
  return inv.when === undefined ? { action: inv.action, with: w } : { action: inv.action, with: w, when: ownOutputs(inv.when, step.id) };
}

function compileSteps(steps: Step[], info: (action: string) => ContractInfo | undefined, runbookHeartbeat: boolean): { steps: Step[]; changed: boolean } {
  let changed = false;
  const out = steps.map((step): Step => {
    let s: any = step;
    const copy = () => (s === step ? (s = { ...step }) : s);
    if ('action' in step) {
      const c = info(step.action);
      if (c?.defaults?.timeout && step.timeout === undefined) copy().timeout = c.defaults.timeout;
      if (c?.defaults?.heartbeatTimeout && step.heartbeatTimeout === undefined && !runbookHeartbeat) copy().heartbeatTimeout = c.defaults.heartbeatTimeout;
      if (c?.inverse && step.compensate === undefined) copy().compensate = inverseCompensation(c.inverse, step);
    }
    for (const c of childLists(step)) {
      const r = compileSteps(c.steps, info, runbookHeartbeat);
      if (r.changed) copy()[c.slot] = r.steps;
    }
    if (s !== step) changed = true;
    return s;
  });
  return { steps: changed ? out : steps, changed };
}

/**
 * The runbook with its actions' contracts applied: defaults where the step (and, for the
 * heartbeat, the runbook's spec.defaults) set none, the inverse as `compensate` where the step
 * writes none. The same object when nothing applies.
 */
export function applyActionContracts(rb: Runbook, info: (action: string) => ContractInfo | undefined): Runbook {
  const r = compileSteps(rb.spec.steps, info, !!rb.spec.defaults?.heartbeatTimeout);
  return r.changed ? { ...rb, spec: { ...rb.spec, steps: r.steps } } : rb;
}
