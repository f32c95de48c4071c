/**
 * The live plan of a whole runbook (`runwright plan`): walk the steps in order, dry-run every
 * action step whose input is known (through a callback: in the worker, an activity), run the
 * reads that predict outputs (openstack.server.prepare) and feed their outputs forward, and mark
 * what depends on outputs of changes not yet made "(known after apply)", as Terraform does.
 *
 * Pure and deterministic (it runs inside the `runbookPlan` workflow): no clock, no I/O but the
 * callback. Hashing lives in lib/plan-file.ts (node crypto); paths are the interpreter's step
 * paths (`fips[0].fip`), so `apply` finds each step's prediction by the path it runs at.
 */
import { CEL_ENGINE, DEFAULT_CEL_ENGINE, renderString, isTemplate, placeholders, type Scope } from './expr';
import { renderActionInput } from './play-values';
import { tryRender } from './plan';
import { stepKind } from './kinds';
import { childLists } from './walk';
import { resolveParams } from './params';
import type { Runbook, Step } from './schema';

export const KNOWN_AFTER_APPLY = '(known after apply)';

export type Effect = 'create' | 'change' | 'destroy' | 'none';

/** What a dry run reported (activities/plugin.ts DryRunResult, restated here: dsl imports no activities). */
export interface PlanDryRun {
  changed: boolean;
  summary: string;
  diff?: string;
  effect?: Effect;
}

/** What the worker answers for one step (activity runwright.plan.dryRun). */
export type StepAnswer =
  /** The action's dry run ran; `hash` covers action, input and the prediction (what apply compares). */
  | { kind: 'dry-run'; result: PlanDryRun; hash: string }
  /** A read-only action that predicts outputs was run; its outputs feed the steps after it. */
  | { kind: 'read'; summary: string; outputs: unknown }
  /** Not run: read-only (nothing to change), or no dry run. `effect` is what the action would do. */
  | { kind: 'not-run'; summary: string; effect: Effect; dryRunnable: boolean };

export interface StepAsk {
  path: string;
  action: string;
  /** The rendered input; undefined when it depends on values known only after apply (`unknown`). */
  input?: unknown;
  /** The step's `with` as written (its literal secret references, for the worker's secrets policy). */
  written: unknown;
  unknown: boolean;
}

export type PredictionStatus = 'planned' | 'read' | 'known-after-apply' | 'not-run' | 'skipped' | 'gate' | 'not-planned';

export interface StepPrediction {
  path: string;
  depth: number;
  kind: string;
  title: string;
  action?: string;
  status: PredictionStatus;
  changed?: boolean;
  effect?: Effect;
  summary?: string;
  diff?: string;
  /** The rendered input as planned; values known only after apply read KNOWN_AFTER_APPLY. */
  input?: unknown;
  /** Hash of the prediction (action, input, changed, effect, diff): apply re-checks it before the step. */
  hash?: string;
  /** `when:` that depends on values known only after apply. */
  condition?: string;
}

export interface PlanCounts {
  create: number;
  change: number;
  destroy: number;
  /** Of those, counted from steps whose input is known only after apply. */
  afterApply: number;
}

const UNKNOWN_MARK = '⟨';

function hasUnknown(v: unknown): boolean {
  if (typeof v === 'string') return v.includes(UNKNOWN_MARK);
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === 'object') return Object.values(v).some(hasUnknown);
  return false;
}

/** The value for people: every unknown part shown as KNOWN_AFTER_APPLY. */
export function showUnknown(v: unknown): unknown {
  if (typeof v === 'string') return v.includes(UNKNOWN_MARK) ? (/^⟨[^⟩]*⟩$/.test(v) ? KNOWN_AFTER_APPLY : v.replace(/⟨[^⟩]*⟩/g, KNOWN_AFTER_APPLY)) : v;
  if (Array.isArray(v)) return v.map(showUnknown);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, showUnknown(x)]));
  return v;
}

/** The action's input with every value the plan can know: as the interpreter renders it, else with ⟨unknown⟩ parts. */
function renderInput(action: string, written: unknown, scope: Scope): unknown {
  try {
    return renderActionInput(action, written, scope);
  } catch {
    return tryRender(written, scope);
  }
}

/** true/false when a `when:` can be known now, undefined when it depends on values known after apply. */
function whenValue(when: string | boolean | undefined, scope: Scope): boolean | undefined {
  if (when === undefined) return true;
  if (typeof when === 'boolean') return when;
  if (!isTemplate(when) || placeholders(when).length !== 1) return undefined;
  try {
    const v = renderString(when, scope);
    return v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined;
  } catch {
    return undefined;
  }
}

/** The kind of change an action makes, from its name, for steps whose dry run could not run. */
export function effectOfAction(action: string): Effect {
  if (/(^|[.-])(create|allocate|import|add)([.-]|$)/.test(action)) return 'create';
  if (/(^|[.-])(delete|release|remove|destroy)([.-]|$)/.test(action)) return 'destroy';
  return 'change';
}

/** The kind of change of a dry run: its own word, else what its diff and action say. */
export function effectOf(action: string, r: PlanDryRun): Effect {
  if (!r.changed) return 'none';
  if (r.effect) return r.effect;
  const lines = (r.diff ?? '').split('\n').filter(Boolean);
  if (lines.length && lines.every((l) => l.startsWith('+ '))) return 'create';
  if (lines.length && lines.every((l) => l.startsWith('- '))) return 'destroy';
  return effectOfAction(action);
}

/**
 * Count resources: a diff of resource lines ("+ server web-1", "~ member …", "- port …") counts
 * each line by its sign; any other change counts once, by its effect.
 */
export function countChanges(steps: readonly StepPrediction[]): PlanCounts {
  const c: PlanCounts = { create: 0, change: 0, destroy: 0, afterApply: 0 };
  for (const s of steps) {
    if (s.status === 'known-after-apply' && s.effect && s.effect !== 'none') {
      c[s.effect]++;
      c.afterApply++;
      continue;
    }
    if (s.status !== 'planned' || !s.changed || !s.effect || s.effect === 'none') continue;
    const lines = (s.diff ?? '').split('\n').filter(Boolean);
    if (lines.length && lines.every((l) => /^[+~-] \S/.test(l))) {
      for (const l of lines) c[l[0] === '+' ? 'create' : l[0] === '-' ? 'destroy' : 'change']++;
    } else c[s.effect]++;
  }
  return c;
}

export function summaryLine(c: PlanCounts): string {
  return `Plan: ${c.create} to create, ${c.change} to change, ${c.destroy} to destroy${c.afterApply ? ` (${c.afterApply} of them with values known after apply)` : ''}.`;
}

/**
 * Walk the runbook as the interpreter would, asking `ask` about every action step. Foreach items
 * known now are walked one by one (paths `loop[0].step`); items known only after apply give one
 * entry per inner step at `loop[*].step`. A child runbook given in `children` is walked in
 * place with its params (paths `step/child-step`, as the child's workflow id is `<parent>/<step>`);
 * one that is not given, or whose params are known only after apply, is not planned.
 */
export async function livePlan(
  runbook: Pick<Runbook, 'metadata' | 'spec'>,
  params: Record<string, unknown>,
  ask: (q: StepAsk) => Promise<StepAnswer>,
  maxItems = 200,
  children: Record<string, Pick<Runbook, 'metadata' | 'spec'>> = {},
): Promise<StepPrediction[]> {
  const out: StepPrediction[] = [];
  const scope: Scope = { params, steps: {}, run: { id: '⟨run.id⟩', runbook: runbook.metadata.name }, [CEL_ENGINE]: DEFAULT_CEL_ENGINE };

  const walk = async (steps: Step[], depth: number, prefix: string, sc: Scope): Promise<void> => {
    for (const step of steps) {
      const path = prefix + step.id;
      const kind = stepKind(step);
      const e: StepPrediction = { path, depth, kind, title: step.name ?? step.id, status: 'planned' };
      out.push(e);
      const w = whenValue(step.when, sc);
      if (w === false) {
        e.status = 'skipped';
        e.summary = 'skipped (condition is false)';
        (sc.steps as Record<string, unknown>)[step.id] = { state: 'skipped', outputs: null };
        continue;
      }
      if (w === undefined) e.condition = `only if ${String(step.when)}`;
      if ('action' in step) {
        e.action = step.action;
        const input = renderInput(step.action, step.with ?? {}, sc);
        const unknown = hasUnknown(input);
        e.input = showUnknown(input);
        const a = await ask({ path, action: step.action, input: unknown ? undefined : input, written: step.with ?? {}, unknown });
        if (unknown || a.kind === 'not-run') {
          const n = a as Extract<StepAnswer, { kind: 'not-run' }>;
          e.status = unknown && n.dryRunnable !== false && n.effect !== 'none' ? 'known-after-apply' : 'not-run';
          e.effect = n.effect;
          e.summary = n.summary;
        } else if (a.kind === 'read') {
          e.status = 'read';
          e.changed = false;
          e.effect = 'none';
          e.summary = a.summary;
          (sc.steps as Record<string, unknown>)[step.id] = { state: 'succeeded', outputs: a.outputs };
        } else {
          e.changed = a.result.changed;
          e.effect = effectOf(step.action, a.result);
          e.summary = a.result.summary;
          if (a.result.diff) e.diff = a.result.diff;
          e.hash = a.hash;
        }
        continue;
      }
      if ('foreach' in step) {
        const as = step.as ?? 'item';
        const items = tryRender(step.foreach, sc);
        if (Array.isArray(items) && !hasUnknown(items)) {
          e.summary = `${items.length} item(s)`;
          const shown = items.slice(0, maxItems);
          for (let i = 0; i < shown.length; i++) await walk(step.steps, depth + 1, `${path}[${i}].`, { ...sc, steps: { ...(sc.steps as object) }, [as]: shown[i], index: i });
          if (items.length > maxItems) out.push({ path: `${path}[…]`, depth: depth + 1, kind: 'more', title: `${items.length - maxItems} more item(s)`, status: 'not-planned' });
        } else {
          e.summary = `items ${KNOWN_AFTER_APPLY}`;
          await walk(step.steps, depth + 1, `${path}[*].`, { ...sc, steps: { ...(sc.steps as object) }, [as]: `⟨${as}⟩`, index: '⟨index⟩' });
        }
        (sc.steps as Record<string, unknown>)[step.id] = undefined;
        continue;
      }
      if ('approval' in step) {
        e.status = 'gate';
        e.summary = 'waits for approval';
        continue;
      }
      if ('sleep' in step) {
        e.status = 'gate';
        e.summary = `waits ${String(step.sleep)}`;
        continue;
      }
      if ('runbook' in step) {
        const child = children[step.runbook];
        const given = child ? tryRender(step.with ?? {}, sc) : undefined;
        if (!child || hasUnknown(given)) {
          e.status = 'not-planned';
          e.summary = child ? `runs child runbook ${step.runbook}; its params are ${KNOWN_AFTER_APPLY}` : `runs child runbook ${step.runbook} (not given with the plan: plan it on its own)`;
          continue;
        }
        const resolved = resolveParams(child, (given ?? {}) as Record<string, unknown>);
        if (resolved.errors.length) {
          e.status = 'not-planned';
          e.summary = `child runbook ${step.runbook}: ${resolved.errors.map((x) => x.message).join('; ')}`;
          continue;
        }
        e.status = 'gate';
        e.summary = `child runbook ${step.runbook}`;
        const childScope: Scope = { params: resolved.values, steps: {}, run: { id: '⟨run.id⟩', runbook: child.metadata.name }, [CEL_ENGINE]: DEFAULT_CEL_ENGINE };
        await walk(child.spec.steps, depth + 1, `${path}/`, childScope);
        continue;
      }
      // parallel and steps groups: their children run in this scope, in order here.
      e.status = 'gate';
      e.summary = 'parallel' in step ? `${step.parallel.length} branch(es) at once` : 'a group of steps';
      for (const c of childLists(step)) await walk(c.steps, depth + 1, prefix, sc);
      const ids = childLists(step).flatMap((c) => c.steps.map((s) => s.id));
      if (ids.every((id) => (sc.steps as Record<string, { outputs?: unknown } | undefined>)[id]))
        (sc.steps as Record<string, unknown>)[step.id] = { state: 'succeeded', outputs: Object.fromEntries(ids.map((id) => [id, (sc.steps as Record<string, { outputs?: unknown }>)[id].outputs])) };
    }
  };
  await walk(runbook.spec.steps, 0, '', scope);
  return out;
}

/** The plan as text: one line per step (and its diff, indented), then the summary line. */
export function formatLivePlan(name: string, steps: readonly StepPrediction[]): string {
  const mark: Record<Effect, string> = { create: '+', change: '~', destroy: '-', none: ' ' };
  const lines = [`Live plan of ${name}:`];
  for (const s of steps) {
    const pad = '  '.repeat(s.depth + 1);
    const sign = s.status === 'planned' && s.changed ? mark[s.effect ?? 'change'] : s.status === 'known-after-apply' ? mark[s.effect ?? 'change'] : ' ';
    const what = s.status === 'planned' ? (s.changed ? '' : ' (no change)') : s.status === 'known-after-apply' ? ` ${KNOWN_AFTER_APPLY}` : s.status === 'read' ? ' (read)' : '';
    lines.push(`${sign}${pad}${s.path}${s.action ? ` [${s.action}]` : ` [${s.kind}]`}${what}${s.summary ? `: ${s.summary}` : ''}${s.condition ? `  (${s.condition})` : ''}`);
    if (s.diff) for (const d of s.diff.split('\n')) lines.push(` ${pad}    ${d}`);
  }
  lines.push('', summaryLine(countChanges(steps)));
  return lines.join('\n');
}
