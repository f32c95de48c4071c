/**
 * Validation pipeline: YAML (positions) -> zod schema -> semantic checks (step ids, actions and
 * their inputs, expressions and what they reference). Every problem is reported at once, each
 * with file:line:column, before anything runs.
 */
import { z } from 'zod';
import type { Diagnostic } from './diagnostics';
import { sortDiagnostics } from './diagnostics';
import { ExpressionError, isTemplate, placeholders, references, typeCheck } from './expr';
import { loadYaml, type LoadedYaml } from './load';
import { paramSchema } from './params';
import { templateChecks } from './template-checks';
import { childLists, eachStep } from './walk';
import { DURATION_RE, DURATION_OR_TEMPLATE_RE, ParamSpec, RunbookSchema, STEP_KIND_SCHEMAS, STEP_KINDS, type Runbook, type StepKind } from './schema';

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
  semanticChecks(v as Record<string, unknown>, opts, report, (path) => doc.position(path));
  out.push(...templateChecks(file, bytes, v, opts.actions, (path) => doc.position(path)));

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

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The step kind a step object names (foreach also carries `steps:`; that does not make it a group). */
function kindsOf(value: Record<string, unknown>): StepKind[] {
  const kinds = STEP_KINDS.filter((k) => k in value);
  return kinds.includes('foreach') ? kinds.filter((k) => k !== 'steps') : kinds;
}

// ---- Walking the zod schema alongside the document (for field lists and value kinds) ----

type AnySchema = z.core.$ZodType;
/** zod 4 internals; anything else (say, an action module built with another zod) has no shape to offer. */
const def = (s: AnySchema): any => (s as any)?._zod?.def ?? {};

function unwrap(s: AnySchema | undefined): AnySchema | undefined {
  for (let i = 0; s && i < 20; i++) {
    const d = def(s);
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'lazy') s = d.getter();
    else if (d.type === 'pipe') s = d.in;
    else return s;
  }
  return s;
}

/** The schema that describes the value at `path` (steps resolved by the key naming their kind). */
function schemaAt(schema: AnySchema, path: Path, root: unknown): AnySchema | undefined {
  let s: AnySchema | undefined = schema;
  for (let i = 0; i <= path.length && s; i++) {
    s = unwrap(s);
    if (s && def(s).type === 'union') {
      const value = getAt(root, path.slice(0, i));
      const kinds = isPlainObject(value) ? kindsOf(value) : [];
      const options = (def(s).options as AnySchema[]).map(unwrap);
      s = kinds.length === 1 && options.includes(STEP_KIND_SCHEMAS[kinds[0]] as AnySchema)
        ? STEP_KIND_SCHEMAS[kinds[0]]
        : options.find((o) => o && (isPlainObject(value) ? def(o).type === 'object' : Array.isArray(value) ? def(o).type === 'array' : true));
      s = unwrap(s);
    }
    if (i === path.length || !s) break;
    const d = def(s);
    const k = path[i];
    s = d.type === 'object' ? d.shape[k] : d.type === 'array' ? d.element : d.type === 'record' ? d.valueType : undefined;
  }
  return s;
}

function fieldsOf(schema: AnySchema | undefined): string[] {
  const s = unwrap(schema);
  return s && def(s).type === 'object' ? Object.keys(def(s).shape) : [];
}

function isDuration(schema: AnySchema | undefined): boolean {
  const s = unwrap(schema);
  return !!s && def(s).type === 'string' && (def(s).checks ?? []).some((c: any) => [DURATION_RE.source, DURATION_OR_TEMPLATE_RE.source].includes(c._zod?.def?.pattern?.source));
}

/** "did you mean" for a misspelled name, or the list of allowed ones. */
function didYouMean(word: string, candidates: readonly string[], listIfNone = true): string {
  const best = closest(word, candidates);
  if (best) return ` (did you mean "${best}"?)`;
  return listIfNone && candidates.length ? ` (expected one of: ${candidates.join(', ')})` : '';
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    // Short words are too easy to confuse with anything; longer ones may be a third off.
    const limit = word.length <= 2 ? 0 : Math.max(1, Math.floor(Math.max(word.length, c.length) / 3));
    if (d <= limit && d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

const STEP_FIELDS = [...new Set(Object.values(STEP_KIND_SCHEMAS).flatMap((s) => fieldsOf(s as AnySchema)))];

/** Whether path[m] is the index of a step (spec.steps[i], or steps/parallel of a step). */
function isStepIndex(path: Path, m: number): boolean {
  if (typeof path[m] !== 'number') return false;
  if (m === 2) return path[0] === 'spec' && path[1] === 'steps';
  return m >= 4 && (path[m - 1] === 'steps' || path[m - 1] === 'parallel') && isStepIndex(path, m - 2);
}

/**
 * zod's answer for a bad step comes from a union over the step kinds: either "no branch
 * matched", or the issues of whichever branch came closest, which need not be the kind the user
 * meant. So every issue inside a step is replaced by re-checking that step against the schema
 * of the kind its key names (recursively), and zod's own pick is ignored.
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], root: unknown, prefix: Path = [], done = new Set<string>()): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as Path)];
    const value = getAt(root, path);
    let m = prefix.length;
    while (m < path.length && !isStepIndex(path, m)) m++;
    if (m < path.length) {
      const sp = path.slice(0, m + 1);
      const k = JSON.stringify(sp);
      if (done.has(k)) continue;
      done.add(k);
      out.push(...stepIssues(sp, root, done));
      continue;
    }
    if (issue.code === 'invalid_union') {
      // Other unions (a number or a {{ template }}): use the branch whose type matched.
      const branches = issue.errors;
      const rootIssue = (b: readonly z.core.$ZodIssue[]) => b.find((i) => i.path.length === 0);
      const typed = branches.filter((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      const templateOnly = (b: readonly z.core.$ZodIssue[]) => b.length === 1 && b[0].code === 'invalid_format' && b[0].message === TEMPLATE_MSG;
      if (typed.length === 1 && !templateOnly(typed[0])) {
        out.push(...flattenIssues(typed[0], root, path));
      } else if (value === undefined) {
        out.push(missing(path, 'a value'));
      } else {
        // No branch fits: say what each would have accepted.
        const wants = branches.map((b) => {
          const i = rootIssue(b);
          if (!i) return undefined;
          if (i.code === 'invalid_type') return typeName(i.expected);
          if (i.message === TEMPLATE_MSG) return 'a {{ expression }}';
          return undefined;
        });
        const list = [...new Set(wants.filter((w): w is string => !!w))];
        const expected = path[path.length - 1] === 'when' ? 'true, false or a {{ expression }}' : list.join(' or ') || 'a different value';
        out.push({ path, message: `${pathText(path)}: expected ${expected}, got ${got(value)}`, key: false });
      }
      continue;
    }
    if (issue.code === 'invalid_format' && issue.message === TEMPLATE_MSG) {
      // zod reports only the string branch of "a value or a {{ template }}"; name both.
      const parent = unwrap(schemaAt(RunbookSchema, path.slice(0, -1), root));
      const union = parent && def(parent).type === 'object' ? unwrap(def(parent).shape[path[path.length - 1]]) : undefined;
      const others = union && def(union).type === 'union'
        ? (def(union).options as AnySchema[]).map((o) => def(unwrap(o)!).type).filter((t: string) => t !== 'string').map(typeName)
        : [];
      out.push({ path, message: `${pathText(path)}: expected ${[...others, 'a {{ expression }}'].join(' or ')}, got ${got(value)}`, key: false });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      const allowed = fieldsOf(schemaAt(RunbookSchema, path, root));
      for (const k of issue.keys) out.push({ path: [...path, k], message: `unknown field "${k}"${didYouMean(k, allowed)}`, key: true });
      continue;
    }
    if (issue.code === 'invalid_key') {
      const key = path[path.length - 1];
      const inner = issue.issues.map((i) => i.message).join('; ');
      out.push({ path, message: `${pathText(path.slice(0, -1))}: invalid name "${String(key)}": ${inner}`, key: true });
      continue;
    }
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && value === undefined) {
      const expected = issue.code === 'invalid_type'
        ? isDuration(schemaAt(RunbookSchema, path, root)) ? 'a duration such as "30s"' : typeName(issue.expected)
        : issue.values.map((x) => JSON.stringify(x)).join(' or ');
      out.push(missing(path, expected));
      continue;
    }
    if (issue.code === 'invalid_type' && isDuration(schemaAt(RunbookSchema, path, root))) {
      out.push({ path, message: `${pathText(path)}: ${DURATION_MSG}, got ${got(value)}`, key: false });
      continue;
    }
    out.push({ path, message: `${pathText(path)}: ${humanize(issue, value)}`, key: false });
  }
  return out;
}

/** Problems with the step at `sp`, judged by the kind its key names. */
function stepIssues(sp: Path, root: unknown, done: Set<string>): FlatIssue[] {
  const value = getAt(root, sp);
  if (!isPlainObject(value))
    return [{ path: sp, message: `${pathText(sp)}: expected a step (a mapping with id and one of ${STEP_KINDS.join(', ')}), got ${got(value)}`, key: false }];
  const kinds = kindsOf(value);
  if (kinds.length > 1)
    return [{ path: [...sp, kinds[1]], message: `a step has exactly one of ${STEP_KINDS.join(', ')}; found ${kinds.join(' and ')}`, key: true }];
  if (kinds.length === 0) {
    // Most often a misspelled kind ("acton:"); point at it when there is one.
    const stray = Object.keys(value).filter((k) => !STEP_FIELDS.includes(k));
    const hint = stray.map((k) => [k, closest(k, STEP_KINDS)] as const).find(([, c]) => c);
    return [
      hint
        ? { path: [...sp, hint[0]], message: `a step needs one of: ${STEP_KINDS.join(', ')}; found unknown field "${hint[0]}" (did you mean "${hint[1]}"?)`, key: true }
        : { path: sp, message: `a step needs one of: ${STEP_KINDS.join(', ')}; this one has only ${Object.keys(value).join(', ') || 'nothing'}`, key: false },
    ];
  }
  const r = STEP_KIND_SCHEMAS[kinds[0]].safeParse(value);
  return r.success ? [] : flattenIssues(r.error.issues, root, sp, done);
}

const TEMPLATE_MSG = 'expected a {{ expression }}';
const DURATION_MSG = 'expected a duration such as "500ms", "30s", "5m", "4h" or "1h30m"';

function missing(path: Path, expected: string): FlatIssue {
  const field = path[path.length - 1];
  // Point at the key of the mapping that lacks the field (or at the list item / file start).
  return { path: path.slice(0, -1), message: `missing required field "${String(field)}" (expected ${expected})`, key: true };
}

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('') || '(top level)';
}

function typeName(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'string':
    case 'number':
      return `a ${expected}`;
    default:
      return expected;
  }
}

/** The value the user wrote, for "got ..." in messages. */
function got(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function humanize(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${typeName(issue.expected)}, got ${got(value)}`;
    case 'invalid_value': {
      const hint = typeof value === 'string' && issue.values.length > 1 ? didYouMean(value, issue.values.filter((x): x is string => typeof x === 'string'), false) : '';
      return `expected ${issue.values.length > 1 ? 'one of ' : ''}${issue.values.map((x) => JSON.stringify(x)).join(', ')}, got ${got(value)}${hint}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? (issue as any).minimum : (issue as any).maximum;
      const inclusive = (issue as any).inclusive !== false;
      let msg = issue.message;
      if (/^Too (small|big)/.test(msg)) {
        const op = small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
        msg = issue.origin === 'array' ? `expected ${small ? 'at least' : 'at most'} ${bound} item(s)`
          : issue.origin === 'string' ? `expected ${small ? 'at least' : 'at most'} ${bound} character(s)`
          : `expected a number ${op} ${bound}`;
      }
      return `${msg}, got ${Array.isArray(value) ? `${value.length} item(s)` : got(value)}`;
    }
    case 'invalid_format':
      return `${issue.message}, got ${got(value)}`;
    default:
      return issue.message;
  }
}

/** Edit distance counting a swap of two neighbours as one edit ("levle" -> "level"). */
function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) dp[i][j] = Math.min(dp[i][j], dp[i - 2][j - 2] + 1);
    }
  return dp[a.length][b.length];
}

type Report = (path: Path, message: string, key?: boolean) => void;
type Where = (path: Path) => { line: number; column: number };

const PLACEHOLDER = /\{\{[\s\S]*?\}\}/g;
const shown = (expr: string) => `{{ ${expr.trim()} }}`;

/** `a` is `b` or contains it. */
const isPrefix = (a: Path, b: Path) => a.length <= b.length && a.every((x, i) => b[i] === x);

function paramTypeName(spec: ParamSpec): string {
  switch (spec.type) {
    case 'integer':
      return 'a whole number';
    case 'array':
      return spec.items ? `a list of ${spec.items.type} values` : 'a list';
    case 'object':
      return 'a mapping';
    default:
      return typeName(spec.type);
  }
}

/** Params: a default must fit its own declaration; constraints must make sense. */
function checkParams(specs: Record<string, unknown>, report: Report): void {
  for (const [name, raw] of Object.entries(specs)) {
    const r = ParamSpec.safeParse(raw);
    if (!r.success) continue; // shape problems come from the schema
    const spec = r.data;
    const at: Path = ['spec', 'params', name];
    if (spec.pattern !== undefined) {
      try {
        new RegExp(spec.pattern);
      } catch (e) {
        report([...at, 'pattern'], `param "${name}": pattern is not a valid regular expression (${(e as Error).message})`);
        continue;
      }
      if (spec.type !== 'string') report([...at, 'pattern'], `param "${name}": pattern applies only to type string, not ${spec.type}`);
    }
    if ((spec.minimum !== undefined || spec.maximum !== undefined) && spec.type !== 'integer' && spec.type !== 'number')
      report([...at, spec.minimum !== undefined ? 'minimum' : 'maximum'], `param "${name}": minimum and maximum apply only to type integer or number, not ${spec.type}`);
    if (spec.minimum !== undefined && spec.maximum !== undefined && spec.minimum > spec.maximum)
      report([...at, 'minimum'], `param "${name}": minimum ${spec.minimum} is greater than maximum ${spec.maximum}`);
    if (spec.items && spec.type !== 'array') report([...at, 'items'], `param "${name}": items applies only to type array, not ${spec.type}`);
    const base = paramSchema({ type: spec.type, items: spec.items }, false);
    spec.enum?.forEach((v, i) => {
      if (!base.safeParse(v).success) report([...at, 'enum', i], `param "${name}": enum value ${got(v)} is not ${paramTypeName(spec)}`);
    });
    // `default: ~` means "no value"; anything else must be a valid value of the param.
    if (spec.default === undefined || spec.default === null) continue;
    const b = base.safeParse(spec.default);
    if (!b.success) {
      const inner = b.error.issues.find((x) => x.path.length > 0)?.path as Path | undefined;
      const detail = inner ? `${got(spec.default)} whose item ${inner.join('.')} is ${got(getAt(spec.default, inner))}` : got(spec.default);
      report([...at, 'default'], `param "${name}": default must be ${paramTypeName(spec)} (type: ${spec.type}), got ${detail}`);
      continue;
    }
    let full;
    try {
      full = paramSchema(spec, false).safeParse(spec.default);
    } catch {
      continue;
    }
    if (!full.success) report([...at, 'default'], `param "${name}": default ${got(spec.default)} ${full.error.issues.map((x) => x.message).join('; ')}`);
  }
}

/** Checks that need more than shapes: ids, actions, inputs, expressions, references. */
function semanticChecks(rb: Record<string, unknown>, opts: ValidateOptions, report: Report, where: Where): void {
  const spec = isPlainObject(rb.spec) ? rb.spec : {};
  const paramSpecs = isPlainObject(spec.params) ? spec.params : {};
  const params = Object.keys(paramSpecs);
  checkParams(paramSpecs, report);
  const seenIds = new Map<string, Path>();

  // Every step id and where it is, so a reference that cannot be used can say why.
  const allIds = new Map<string, Path>();
  for (const { step, path } of eachStep<Record<string, unknown>>(spec.steps, ['spec', 'steps']))
    if (typeof step.id === 'string' && !allIds.has(step.id)) allIds.set(step.id, path);

  const notVisible = (id: string, from: Path, expr: string): string => {
    const at = allIds.get(id)!;
    if (isPrefix(at, from)) return `step "${id}" is referenced in ${shown(expr)} from within itself; its outputs exist only after it finishes`;
    const line = where(at).line;
    let k = 0;
    while (k < at.length && k < from.length && at[k] === from[k]) k++;
    if (typeof at[k] !== 'number' || typeof from[k] !== 'number' || at[k] > from[k])
      return `step "${id}" (line ${line}) runs after this one; ${shown(expr)} can only use steps that finished before it`;
    if (at[k - 1] === 'parallel') {
      const p = getAt(rb, at.slice(0, k - 1)) as Record<string, unknown>;
      return `step "${id}" (line ${line}) runs in another branch of parallel step "${String(p?.id)}" at the same time; branches cannot use each other's outputs`;
    }
    for (let m = k + 1; m < at.length; m++) {
      const container = getAt(rb, at.slice(0, m));
      if (at[m] === 'steps' && isPlainObject(container) && 'foreach' in container)
        return `step "${id}" (line ${line}) runs once per item inside foreach step "${String(container.id)}"; use steps.${String(container.id)}.outputs (one entry per item) instead`;
    }
    return `step "${id}" (line ${line}) is not visible here`;
  };

  const checkExpressions = (value: unknown, path: Path, visible: Set<string>, loopVars: Set<string>) => {
    if (isTemplate(value)) {
      if (value.replace(PLACEHOLDER, '').includes('{{')) report(path, `unclosed "{{" in ${JSON.stringify(value)}: expected a closing "}}"`);
      for (const ph of placeholders(value)) {
        if (ph.expr.trim() === '') {
          report(path, `empty {{ }} in ${JSON.stringify(value)}: expected an expression inside`);
          continue;
        }
        let refs;
        try {
          refs = references(ph.expr);
          // Types known before a run: `"a" + 1` has no overload, whatever the params are.
          typeCheck(ph.expr);
        } catch (e) {
          const err = e as ExpressionError;
          // Runbooks (and inline plays in them) speak CEL; Jinja2 is for play files and .j2 templates.
          const jinja = /\|\s*[A-Za-z_]\w*|\bis\s+(not\s+)?(defined|undefined|none|succeeded|failed|changed|skipped)\b/.test(ph.expr)
            ? ' (this looks like Jinja2: a runbook, and an inline play inside it, use CEL expressions, e.g. `has(x) ? x : "d"` for `x | default("d")`; Jinja2 is for play files and .j2 templates)'
            : '';
          report(path, `invalid expression ${shown(ph.expr)}: ${err.message}${jinja}`);
          continue;
        }
        for (const ref of refs) {
          if (loopVars.has(ref.root) || ref.root === 'run') continue;
          if (ref.root === 'params') {
            if (ref.member !== undefined && !params.includes(ref.member))
              report(path, `unknown param "${ref.member}" in ${shown(ph.expr)}${params.length ? `${didYouMean(ref.member, params, false)} (declared: ${params.join(', ')})` : ' (the runbook declares no params)'}`);
          } else if (ref.root === 'steps') {
            if (ref.member !== undefined && !visible.has(ref.member))
              report(path, allIds.has(ref.member)
                ? notVisible(ref.member, path, ph.expr)
                : `unknown step "${ref.member}" in ${shown(ph.expr)}${didYouMean(ref.member, [...visible], false)}${visible.size ? ` (steps usable here: ${[...visible].join(', ')})` : ' (no step has finished before this one)'}`);
          } else {
            const vars = ['params', 'steps', 'run', ...loopVars];
            report(path, `unknown name "${ref.root}" in ${shown(ph.expr)}${didYouMean(ref.root, vars, false)} (available: ${vars.join(', ')})`);
          }
        }
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => checkExpressions(v, [...path, i], visible, loopVars));
    else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) checkExpressions(v, [...path, k], visible, loopVars);
  };

  const checkActionCall = (call: Record<string, unknown>, path: Path, visible: Set<string>, loopVars: Set<string>) => {
    const name = call.action;
    if (typeof name !== 'string') return;
    const action = opts.actions.get(name);
    if (!action) {
      report([...path, 'action'], `unknown action "${name}"${didYouMean(name, [...opts.actions.keys()], false)}; run \`runwright actions\` to list them`);
    } else if (call.with === undefined || isPlainObject(call.with)) {
      // (A `with:` that is not a mapping is reported by the schema.)
      const input = call.with ?? {};
      const r = action.input.safeParse(input);
      if (!r.success) {
        for (const issue of r.error.issues) {
          const ipath = issue.path as Path;
          // A {{ template }} is typed at run time; only its presence can be checked now.
          if (ipath.some((_, i) => isTemplate(getAt(input, ipath.slice(0, i + 1))))) continue;
          const value = getAt(input, ipath);
          if (issue.code === 'unrecognized_keys') {
            const allowed = fieldsOf(schemaAt(action.input as AnySchema, ipath, input));
            for (const k of issue.keys) report([...path, 'with', ...ipath, k], `${name}: unknown input "${k}"${didYouMean(k, allowed)}`, true);
          } else if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && value === undefined) {
            const expected = issue.code === 'invalid_type' ? typeName(issue.expected) : issue.values.map((x) => JSON.stringify(x)).join(' or ');
            // Point at the mapping that lacks the input: the `with:` key, or the action when there is no `with:`.
            const parent = ipath.slice(0, -1);
            report(call.with ? [...path, 'with', ...parent] : [...path, 'action'], `${name}: missing required input "${ipath.join('.')}" (expected ${expected})`, !!call.with);
          } else report([...path, 'with', ...ipath], `${name}: input "${ipath.join('.')}": ${humanize(issue, value)}`);
        }
      }
    }
    checkExpressions(call.with, [...path, 'with'], visible, loopVars);
  };

  /** Checks one step; returns the step ids it makes visible to the steps after it. */
  const walkStep = (raw: unknown, sp: Path, visible: Set<string>, loopVars: Set<string>): Set<string> => {
    const added = new Set<string>();
    if (!isPlainObject(raw)) return added;
    const step = raw;
    const id = typeof step.id === 'string' ? step.id : undefined;
    if (id) {
      const prev = seenIds.get(id);
      if (prev) report([...sp, 'id'], `duplicate step id "${id}" (first used on line ${where(prev).line}); step ids must be unique in a runbook`);
      else seenIds.set(id, sp);
    }
    if (typeof step.when === 'string' && !isTemplate(step.when) && step.when !== 'true' && step.when !== 'false')
      report([...sp, 'when'], `${pathText([...sp, 'when'])}: expected true, false or a {{ expression }}, got ${got(step.when)}`);
    checkExpressions(step.when, [...sp, 'when'], visible, loopVars);
    if ('action' in step) checkActionCall(step, sp, visible, loopVars);
    if (isPlainObject(step.compensate)) {
      // A compensation may use the outputs of the step it undoes.
      const self = new Set(visible);
      if (id) self.add(id);
      checkActionCall(step.compensate, [...sp, 'compensate'], self, loopVars);
      checkExpressions(step.compensate.when, [...sp, 'compensate', 'when'], self, loopVars);
    }
    if ('foreach' in step) {
      checkExpressions(step.foreach, [...sp, 'foreach'], visible, loopVars);
      checkExpressions(step.batch, [...sp, 'batch'], visible, loopVars);
    }
    for (const c of childLists(step)) {
      const at = [...sp, c.slot];
      if ('foreach' in step) {
        const as = typeof step.as === 'string' ? step.as : 'item';
        // Inner step ids are per item; only steps.<foreach id>.outputs is visible afterwards.
        walk(c.steps, at, new Set(visible), new Set(loopVars).add(as).add('index'));
      } else if (c.slot === 'parallel') {
        // Branches run at the same time: none sees another's outputs; all are visible afterwards.
        c.steps.forEach((b, j) => {
          for (const x of walkStep(b, [...at, j], new Set(visible), loopVars)) added.add(x);
        });
      } else {
        for (const x of walk(c.steps, at, new Set(visible), loopVars)) added.add(x);
      }
    }
    if ('approval' in step && isPlainObject(step.approval)) {
      const a = step.approval;
      checkExpressions(a.message, [...sp, 'approval', 'message'], visible, loopVars);
      const usersOnly = Array.isArray(a.approvers) && a.approvers.every((x: unknown) => typeof x === 'string' && !x.startsWith('group:'));
      // With groups, the count is only known once the worker resolves them (checked at run time).
      if (Array.isArray(a.approvers) && usersOnly && typeof a.required === 'number' && a.approvers.length > 0 && a.required > a.approvers.length)
        report([...sp, 'approval', 'required'], `approval needs ${a.required} approvals but lists only ${a.approvers.length} approver(s); expected required <= ${a.approvers.length}`);
      if (a.onTimeout === 'escalate' && a.timeout === undefined)
        report([...sp, 'approval', 'onTimeout'], 'onTimeout: escalate needs a timeout (how long to wait before escalating)');
      if (a.escalate !== undefined && a.onTimeout !== 'escalate')
        report([...sp, 'approval', 'escalate'], 'escalate is only used with onTimeout: escalate');
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
