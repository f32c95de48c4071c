/**
 * Validation pipeline: YAML (positions) -> zod schema -> semantic checks (step ids, actions and
 * their inputs, expressions and what they reference). Every problem is reported at once, each
 * with file:line:column, before anything runs.
 */
import { z } from 'zod';
import type { Diagnostic } from './diagnostics';
import { sortDiagnostics } from './diagnostics';
import { ExpressionError, isTemplate, placeholders, references } from './expr';
import { loadYaml, type LoadedYaml } from './load';
import { RunbookSchema, STEP_KIND_SCHEMAS, STEP_KINDS, type Runbook, type StepKind } from './schema';

/** What the validator needs to know about an action; the registry in activities/ provides it. */
export interface ActionInfo {
  name: string;
  description: string;
  input: z.ZodTypeAny;
}
export type ActionCatalog = ReadonlyMap<string, ActionInfo>;

export interface ValidateOptions {
  actions: ActionCatalog;
  /** Finds another runbook by metadata.name for `runbook:` steps; omitted = not checked. */
  findRunbook?: (name: string) => Runbook | undefined;
}

type Path = (string | number)[];

export function validateRunbookText(
  file: string,
  bytes: Buffer | string,
  opts: ValidateOptions,
): { runbook?: Runbook; diagnostics: Diagnostic[] } {
  const { doc, diagnostics } = loadYaml(file, bytes);
  if (!doc) return { diagnostics };
  const out: Diagnostic[] = [];
  const report = (path: Path, message: string, key = false) => {
    const p = doc.position(path, { key });
    out.push({ file, line: p.line, column: p.column, message });
  };

  const v = doc.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    report([], `expected a mapping with apiVersion, kind, metadata and spec at the top level, found ${describe(v)}`);
    return { diagnostics: out };
  }

  const parsed = RunbookSchema.safeParse(v);
  if (!parsed.success) for (const i of flattenIssues(parsed.error.issues, v)) report(i.path, i.message, i.key);
  semanticChecks(v as Record<string, unknown>, opts, report);

  const diags = dedupe(sortDiagnostics(out));
  return diags.length ? { diagnostics: diags } : { runbook: parsed.data, diagnostics: [] };
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.line}:${d.column}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface FlatIssue {
  path: Path;
  message: string;
  key: boolean;
}

const getAt = (root: unknown, path: Path): unknown =>
  path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as any)[k] : undefined), root);

/**
 * zod reports a bad step as "no union branch matched". Pick the branch the user meant (by the
 * key that names the step kind) and report its issues instead, recursively.
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], root: unknown, prefix: Path = []): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as Path)];
    const value = getAt(root, path);
    if (issue.code === 'invalid_union') {
      const isStep = value && typeof value === 'object' && !Array.isArray(value) && path.length >= 2 && path[path.length - 2] !== 'with';
      if (isStep && looksLikeStepList(path)) {
        const kinds = STEP_KINDS.filter((k) => k in (value as object));
        // foreach also carries `steps:`; that does not make it a group.
        const effective = kinds.includes('foreach') ? kinds.filter((k) => k !== 'steps') : kinds;
        if (effective.length === 0) {
          out.push({ path, message: `a step needs one of: ${STEP_KINDS.join(', ')}`, key: false });
        } else if (effective.length > 1) {
          out.push({ path, message: `a step has exactly one of ${STEP_KINDS.join(', ')}; found ${effective.join(' and ')}`, key: false });
        } else {
          const r = STEP_KIND_SCHEMAS[effective[0] as StepKind].safeParse(value);
          if (!r.success) out.push(...flattenIssues(r.error.issues, root, path));
        }
        continue;
      }
      // Other unions (a number or a {{ template }}): use the branch whose type matched.
      const branches = issue.errors;
      const best = branches.find((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0)) ?? branches[0];
      out.push(...flattenIssues(best, root, path));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: [...path, k], message: `unknown field "${k}"${suggest(k, path, root)}`, key: true });
      continue;
    }
    if (issue.code === 'invalid_type' && value === undefined) {
      const field = path[path.length - 1];
      out.push({ path: path.slice(0, -1), message: `missing required field "${String(field)}" (expected ${issue.expected})`, key: false });
      continue;
    }
    out.push({ path, message: `${pathText(path)}: ${humanize(issue, value)}`, key: false });
  }
  return out;
}

function looksLikeStepList(path: Path): boolean {
  const parent = path[path.length - 2];
  return parent === 'steps' || parent === 'parallel';
}

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('') || '(top level)';
}

function humanize(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${describe(value)}${value !== undefined ? ` ${JSON.stringify(value)}` : ''}`;
  if (issue.code === 'invalid_value' && 'values' in issue) return `expected one of ${issue.values.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(value)}`;
  return issue.message;
}

/** Field names a step or runbook section accepts, for "did you mean" hints. */
function suggest(key: string, path: Path, root: unknown): string {
  const obj = getAt(root, path);
  const candidates = new Set<string>(['apiVersion', 'kind', 'metadata', 'spec', 'params', 'steps', 'id', 'name', 'when', 'onFailure', 'action', 'with', 'retry', 'timeout', 'heartbeatTimeout', 'compensate', 'parallel', 'foreach', 'as', 'batch', 'concurrency', 'maxFailPercentage', 'approval', 'sleep', 'runbook', 'description', 'default', 'type', 'enum', 'minimum', 'maximum', 'maximumAttempts', 'initialInterval', 'backoffCoefficient', 'maximumInterval', 'nonRetryableErrorTypes', 'message', 'onTimeout', 'approvers', 'required']);
  void obj;
  let best = '';
  let bestD = 3;
  for (const c of candidates) {
    const d = distance(key.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length][b.length];
}

type Report = (path: Path, message: string, key?: boolean) => void;

/** Checks that need more than shapes: ids, actions, inputs, expressions, references. */
function semanticChecks(rb: Record<string, unknown>, opts: ValidateOptions, report: Report): void {
  const spec = (rb.spec && typeof rb.spec === 'object' ? rb.spec : {}) as Record<string, unknown>;
  const params = spec.params && typeof spec.params === 'object' ? Object.keys(spec.params) : [];
  const seenIds = new Map<string, Path>();

  const checkExpressions = (value: unknown, path: Path, visible: Set<string>, loopVars: Set<string>) => {
    if (isTemplate(value)) {
      for (const ph of placeholders(value)) {
        let refs;
        try {
          refs = references(ph.expr);
        } catch (e) {
          const err = e as ExpressionError;
          report(path, `invalid expression {{${ph.expr}}}: ${err.message}`);
          continue;
        }
        for (const ref of refs) {
          if (loopVars.has(ref.root) || ref.root === 'run') continue;
          if (ref.root === 'params') {
            if (ref.member !== undefined && !params.includes(ref.member))
              report(path, `unknown param "${ref.member}" in {{${ph.expr.trim()}}}${params.length ? ` (declared: ${params.join(', ')})` : ' (the runbook declares no params)'}`);
          } else if (ref.root === 'steps') {
            if (ref.member !== undefined && !visible.has(ref.member))
              report(path, seenIds.has(ref.member)
                ? `step "${ref.member}" is referenced in {{${ph.expr.trim()}}} before it runs (or from a branch that cannot see it)`
                : `unknown step "${ref.member}" in {{${ph.expr.trim()}}}`);
          } else {
            const vars = ['params', 'steps', 'run', ...loopVars];
            report(path, `unknown name "${ref.root}" in {{${ph.expr.trim()}}} (available: ${vars.join(', ')})`);
          }
        }
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => checkExpressions(v, [...path, i], visible, loopVars));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkExpressions(v, [...path, k], visible, loopVars);
  };

  const checkActionCall = (call: Record<string, unknown>, path: Path, visible: Set<string>, loopVars: Set<string>) => {
    const name = call.action;
    if (typeof name !== 'string') return;
    const action = opts.actions.get(name);
    if (!action) {
      const known = [...opts.actions.keys()];
      const near = known.filter((k) => distance(k, name) <= 3);
      report([...path, 'action'], `unknown action "${name}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : ''}; run \`runwright actions\` to list them`);
    } else {
      const input = call.with ?? {};
      const r = action.input.safeParse(input);
      if (!r.success) {
        for (const issue of r.error.issues) {
          const ipath = issue.path as Path;
          // A {{ template }} is typed at run time; only its presence can be checked now.
          if (isTemplate(getAt(input, ipath)) || ipath.some((_, i) => isTemplate(getAt(input, ipath.slice(0, i + 1))))) continue;
          const withPath = [...path, 'with', ...ipath];
          const value = getAt(input, ipath);
          if (issue.code === 'unrecognized_keys') for (const k of issue.keys) report([...path, 'with', ...ipath, k], `${name}: unknown input "${k}"`, true);
          else if (issue.code === 'invalid_type' && value === undefined) report(call.with ? [...path, 'with'] : [...path, 'action'], `${name}: missing required input "${ipath.join('.')}" (expected ${issue.expected})`);
          else report(withPath, `${name}: input "${ipath.join('.')}": ${humanize(issue, value)}`);
        }
      }
    }
    checkExpressions(call.with, [...path, 'with'], visible, loopVars);
  };

  /** Checks one step; returns the step ids it makes visible to the steps after it. */
  const walkStep = (raw: unknown, sp: Path, visible: Set<string>, loopVars: Set<string>): Set<string> => {
    const added = new Set<string>();
    if (!raw || typeof raw !== 'object') return added;
    const step = raw as Record<string, unknown>;
    const id = typeof step.id === 'string' ? step.id : undefined;
    if (id) {
      const prev = seenIds.get(id);
      if (prev) report([...sp, 'id'], `duplicate step id "${id}" (first used at ${pathText(prev)}); step ids must be unique in a runbook`);
      else seenIds.set(id, sp);
    }
    checkExpressions(step.when, [...sp, 'when'], visible, loopVars);
    if ('action' in step) checkActionCall(step, sp, visible, loopVars);
    if (step.compensate && typeof step.compensate === 'object') {
      // A compensation may use the outputs of the step it undoes.
      const self = new Set(visible);
      if (id) self.add(id);
      checkActionCall(step.compensate as Record<string, unknown>, [...sp, 'compensate'], self, loopVars);
    }
    if ('foreach' in step) {
      checkExpressions(step.foreach, [...sp, 'foreach'], visible, loopVars);
      checkExpressions(step.batch, [...sp, 'batch'], visible, loopVars);
      const as = typeof step.as === 'string' ? step.as : 'item';
      // Inner step ids are per item; only steps.<foreach id>.outputs is visible afterwards.
      walk(step.steps, [...sp, 'steps'], new Set(visible), new Set(loopVars).add(as).add('index'));
    } else if ('parallel' in step && Array.isArray(step.parallel)) {
      // Branches run at the same time: none sees another's outputs; all are visible afterwards.
      step.parallel.forEach((b, j) => {
        for (const x of walkStep(b, [...sp, 'parallel', j], new Set(visible), loopVars)) added.add(x);
      });
    } else if ('steps' in step) {
      for (const x of walk(step.steps, [...sp, 'steps'], new Set(visible), loopVars)) added.add(x);
    }
    if ('approval' in step && step.approval && typeof step.approval === 'object') {
      const a = step.approval as Record<string, unknown>;
      checkExpressions(a.message, [...sp, 'approval', 'message'], visible, loopVars);
      if (Array.isArray(a.approvers) && typeof a.required === 'number' && a.approvers.length > 0 && a.required > a.approvers.length)
        report([...sp, 'approval', 'required'], `approval needs ${a.required} approvals but lists only ${a.approvers.length} approvers`);
    }
    if ('runbook' in step && typeof step.runbook === 'string') {
      checkExpressions(step.with, [...sp, 'with'], visible, loopVars);
      if (opts.findRunbook && !opts.findRunbook(step.runbook))
        report([...sp, 'runbook'], `unknown runbook "${step.runbook}": no runbook with metadata.name "${step.runbook}" found next to this file or in RUNWRIGHT_RUNBOOK_PATH`);
    }
    if (id) added.add(id);
    return added;
  };
  const walk = (steps: unknown, path: Path, visible: Set<string>, loopVars: Set<string>): Set<string> => {
    const added = new Set<string>();
    if (!Array.isArray(steps)) return added;
    steps.forEach((raw, i) => {
      for (const x of walkStep(raw, [...path, i], visible, loopVars)) {
        added.add(x);
        visible.add(x);
      }
    });
    return added;
  };
  walk(spec.steps, ['spec', 'steps'], new Set(), new Set());
}

export type { LoadedYaml };
