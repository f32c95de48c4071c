/**
 * Runbook-level values in inline plays travel as data. A runbook step `host.play` with an
 * inline `play:` would otherwise have its `{{ }}` rendered into the task text by the workflow,
 * so a param like `/x; touch /tmp/pwned` would become part of a shell script, and a value
 * containing `{{` would be rendered again by the play. Instead, each placeholder in a task's
 * module arguments is replaced by a reference to a task variable (`{{ __rw1 }}`) and the value
 * goes into the task's `vars`, which the play never renders again; the play then carries it the
 * way it carries any variable (an environment variable for shell text, a word for command).
 *
 * Runs inside the workflow: pure and deterministic, imports only ./expr.
 */
import { evaluateExpression, render, type Scope } from './expr';

/** Task keywords (activities/host/play-schema.ts TASK_KEYWORDS; a test keeps them equal). */
export const PLAY_TASK_KEYWORDS = ['name', 'when', 'register', 'notify', 'listen', 'become', 'become_user', 'changed_when', 'failed_when', 'ignore_errors', 'loop', 'loop_var', 'loop_control', 'run_once', 'delegate_to', 'until', 'retries', 'delay', 'check_mode', 'diff', 'no_log', 'tags', 'vars', 'role_path'];

/** Prefix of the task variables that carry runbook-level values. */
export const RUNBOOK_VALUE_PREFIX = '__rw';

const PH = /\{\{([\s\S]*?)\}\}/g;
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Render an action step's `with:` (host.play inline plays keep their values out of the task text). */
export function renderActionInput(action: string, input: unknown, scope: Scope): unknown {
  if (action !== 'host.play' || !isObj(input) || !isObj(input.play)) return render(input, scope);
  const { play, ...rest } = input;
  const out = render(rest, scope) as Record<string, unknown>;
  const { tasks, handlers, ...playRest } = play;
  const p = render(playRest, scope) as Record<string, unknown>;
  if (tasks !== undefined) p.tasks = Array.isArray(tasks) ? tasks.map((t) => dataTask(t, scope)) : render(tasks, scope);
  if (handlers !== undefined) p.handlers = Array.isArray(handlers) ? handlers.map((t) => dataTask(t, scope)) : render(handlers, scope);
  out.play = p;
  return out;
}

function dataTask(task: unknown, scope: Scope): unknown {
  if (!isObj(task)) return render(task, scope);
  // A block: its tasks carry their values the same way.
  if ('block' in task) {
    const { block, rescue, always, ...keywords } = task;
    const out = render(keywords, scope) as Record<string, unknown>;
    for (const [k, v] of Object.entries({ block, rescue, always })) if (v !== undefined) out[k] = Array.isArray(v) ? v.map((t) => dataTask(t, scope)) : render(v, scope);
    return out;
  }
  const mods = Object.keys(task).filter((k) => !PLAY_TASK_KEYWORDS.includes(k));
  // Not one module: leave it to the play's schema to say what is wrong.
  if (mods.length !== 1) return render(task, scope);
  const [module] = mods;
  const { [module]: args, ...keywords } = task;
  const out = render(keywords, scope) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  let n = 0;
  const carry = (v: unknown): unknown => {
    if (typeof v === 'string' && v.includes('{{'))
      return v.replace(PH, (_m, expr: string) => {
        const name = `${RUNBOOK_VALUE_PREFIX}${++n}`;
        values[name] = evaluateExpression(expr, scope);
        return `{{ ${name} }}`;
      });
    if (Array.isArray(v)) return v.map(carry);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, carry(x)]));
    return v;
  };
  out[module] = carry(args);
  if (n) out.vars = { ...(isObj(out.vars) ? out.vars : {}), ...values };
  return out;
}
