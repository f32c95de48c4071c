/**
 * Plan mode: render a runbook with its params into the concrete list of steps and what each
 * would do, without side effects. Values only known at run time (step outputs) stay visible
 * as ⟨expression⟩.
 */
import type { ActionCatalog } from './validate';
import { evaluateExpression, isTemplate, placeholders, renderString, type Scope } from './expr';
import type { Runbook, Step } from './schema';
import { stepKind } from './kinds';
import { childLists } from './walk';
import { maskText, secretParamNames } from './params';

export interface PlanEntry {
  path: string;
  depth: number;
  kind: string;
  title: string;
  detail?: string;
  /** Set when the step's `when:` depends on run-time values or is already known to be false. */
  condition?: string;
}

export interface ActionPlanInfo {
  input: { safeParse(v: unknown): { success: boolean; data?: unknown } };
  plan?: (input: never) => string;
}

const UNKNOWN = Symbol('unknown');

/** Render templates where possible; leave ⟨expr⟩ where a value is only known at run time. */
export function tryRender(value: unknown, scope: Scope): unknown {
  if (isTemplate(value)) {
    try {
      return renderString(value, scope);
    } catch {
      return value.replace(/\{\{\s*([\s\S]*?)\s*\}\}/g, (_m, e: string) => {
        try {
          const v = evaluateExpression(e, scope);
          return typeof v === 'string' ? v : JSON.stringify(v);
        } catch {
          return `⟨${e}⟩`;
        }
      });
    }
  }
  if (Array.isArray(value)) return value.map((v) => tryRender(v, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tryRender(v, scope)]));
  return value;
}

function hasUnknown(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('⟨');
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === 'object') return Object.values(v).some(hasUnknown);
  return false;
}

function tryValue(expr: unknown, scope: Scope): unknown {
  if (!isTemplate(expr)) return expr;
  const phs = placeholders(expr);
  try {
    return phs.length === 1 ? renderString(expr, scope) : UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}

/** `secret`: params shown as *** (default: those the runbook declares `secret: true`). */
export function planRunbook(
  runbook: Runbook,
  params: Record<string, unknown>,
  actions: ReadonlyMap<string, ActionPlanInfo> | ActionCatalog,
  maxItems = 5,
  secret: readonly string[] = secretParamNames(runbook.spec.params),
): PlanEntry[] {
  const out: PlanEntry[] = [];
  const scope: Scope = { params, steps: {}, run: { id: '⟨run id⟩', runbook: runbook.metadata.name } };

  const walk = (steps: Step[], depth: number, prefix: string, sc: Scope) => {
    for (const step of steps) {
      const path = prefix + step.id;
      const kind = stepKind(step);
      const entry: PlanEntry = { path, depth, kind, title: step.name ?? step.id };
      if (step.when !== undefined) {
        const w = tryValue(step.when, sc);
        // Same rule as the interpreter (isTrue): true or "true" runs the step.
        entry.condition = w === UNKNOWN ? `only if ${step.when}` : w === true || w === 'true' ? undefined : 'skipped (condition is false)';
      }
      out.push(entry);
      if ('action' in step) {
        const input = tryRender(step.with ?? {}, sc);
        const action = (actions as ReadonlyMap<string, ActionPlanInfo>).get(step.action);
        let detail = `${step.action} ${JSON.stringify(input)}`;
        if (action?.plan && !hasUnknown(input)) {
          const parsed = action.input.safeParse(input);
          if (parsed.success) detail = `${step.action}: ${action.plan(parsed.data as never)}`;
        }
        if (step.compensate && step.compensate !== 'none') detail += `  (undo: ${step.compensate.action})`;
        entry.detail = detail;
      } else if ('foreach' in step) {
        const items = Array.isArray(step.foreach) ? tryRender(step.foreach, sc) : tryValue(step.foreach, sc);
        const batch = step.batch === undefined ? undefined : tryValue(step.batch, sc);
        const as = step.as ?? 'item';
        if (Array.isArray(items)) {
          const b = typeof batch === 'number' ? batch : items.length;
          entry.detail = `${items.length} items in ${Math.ceil(items.length / Math.max(1, b)) || 0} batch(es) of ${b}, max ${step.maxFailPercentage ?? 0}% failures`;
          items.slice(0, maxItems).forEach((item, i) => walk(step.steps, depth + 1, `${path}[${i}].`, { ...sc, [as]: item, index: i }));
          if (items.length > maxItems) out.push({ path: `${path}[…]`, depth: depth + 1, kind: 'more', title: `… ${items.length - maxItems} more items` });
        } else {
          entry.detail = `items from ${String(step.foreach)} (known at run time)`;
          walk(step.steps, depth + 1, `${path}[i].`, { ...sc, [as]: `⟨${as}⟩`, index: '⟨index⟩' });
        }
      } else if ('parallel' in step) {
        entry.detail = `${step.parallel.length} branches at once`;
      } else if ('approval' in step) {
        const a = step.approval;
        entry.detail = `wait for approval: "${tryRender(a.message, sc)}"${a.timeout ? `, timeout ${a.timeout} then ${a.onTimeout ?? 'abort'}` : ''}`;
      } else if ('sleep' in step) {
        entry.detail = `wait ${step.sleep}`;
      } else if ('runbook' in step) {
        entry.detail = `run runbook ${step.runbook} with ${JSON.stringify(tryRender(step.with ?? {}, sc))}`;
      }
      // A foreach's body was walked above, once per item shown.
      if (kind !== 'foreach') for (const c of childLists(step)) walk(c.steps, depth + 1, prefix, sc);
      // Later steps see a placeholder for this step's outputs.
      (sc.steps as Record<string, unknown>)[step.id] = { state: 'planned' };
    }
  };
  walk(runbook.spec.steps, 0, '', scope);
  // Rendered with the real values (foreach counts, when: conditions), shown masked.
  if (secret.length)
    for (const e of out) for (const k of ['title', 'detail', 'condition'] as const) if (e[k] !== undefined) e[k] = maskText(e[k]!, params, secret);
  return out;
}

export function formatPlan(runbook: Runbook, entries: PlanEntry[]): string {
  const lines = [`Plan for ${runbook.metadata.name}${runbook.metadata.description ? ` — ${runbook.metadata.description}` : ''}:`];
  let n = 0;
  for (const e of entries) {
    const pad = '  '.repeat(e.depth + 1);
    const num = e.depth === 0 ? `${++n}. ` : '- ';
    lines.push(`${pad}${num}${e.path} [${e.kind}]${e.detail ? ` ${e.detail}` : ''}${e.condition ? `  (${e.condition})` : ''}`);
  }
  return lines.join('\n');
}
