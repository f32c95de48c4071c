/**
 * The shape of the step tree, in one place: which keys of a step hold nested steps. The
 * validator, planner, interpreter, approvals and CLI walk runbooks through these two functions
 * instead of each knowing that `steps` and `parallel` nest. A new nesting step kind is added here.
 *
 * Works on validated steps and on raw parsed YAML alike (the validator walks the latter before the
 * schema has passed), and stays free of zod so the workflow bundle can import it.
 */
import type { Step } from './schema';

/** Where nested steps live: a group's or a foreach's body (`steps`), or the branches of `parallel`. */
export type ChildSlot = 'steps' | 'parallel';

export interface ChildList<S> {
  slot: ChildSlot;
  steps: S[];
}

export type StepPath = (string | number)[];

export interface StepVisit<S> {
  step: S;
  /** From the list walked: e.g. [2, 'parallel', 0, 'steps', 1]. */
  path: StepPath;
  depth: number;
  /** The enclosing steps, outermost first. */
  parents: S[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The nested step lists of one step (none for a leaf). Ignores what is not an object or not a list. */
export function childLists<S = Step>(step: S): ChildList<S>[] {
  if (!isObject(step)) return [];
  const out: ChildList<S>[] = [];
  for (const slot of ['parallel', 'steps'] as const) {
    const v = step[slot];
    if (Array.isArray(v)) out.push({ slot, steps: v as S[] });
  }
  return out;
}

/** Every step of the tree, parents before children, in document order. */
export function* eachStep<S = Step>(steps: readonly S[] | unknown, path: StepPath = [], depth = 0, parents: S[] = []): Generator<StepVisit<S>> {
  if (!Array.isArray(steps)) return;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as S;
    if (!isObject(step)) continue;
    const at = [...path, i];
    yield { step, path: at, depth, parents };
    for (const c of childLists(step)) yield* eachStep<S>(c.steps, [...at, c.slot], depth + 1, [...parents, step]);
  }
}

/** Does any step of the tree satisfy the test? */
export function someStep<S = Step>(steps: readonly S[], test: (s: S) => boolean): boolean {
  for (const v of eachStep<S>(steps)) if (test(v.step)) return true;
  return false;
}

/**
 * Steps that run after the step with this id (ids are unique in a runbook): the rest of its list,
 * then of the enclosing lists. Sibling branches of a parallel run at the same time, not after.
 */
export function followingSteps<S extends { id?: unknown } = Step>(steps: readonly S[], id: string): S[] | undefined {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    let rest: S[] | undefined = s.id === id ? [] : undefined;
    for (const c of childLists(s)) {
      if (rest) break;
      // A parallel's branches are walked one at a time: only the rest of the gate's own branch follows it.
      const lists = c.slot === 'parallel' ? c.steps.map((b) => [b]) : [c.steps];
      for (const l of lists) if ((rest = followingSteps(l, id))) break;
    }
    if (rest) return [...rest, ...steps.slice(i + 1)];
  }
  return undefined;
}
