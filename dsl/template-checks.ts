/**
 * Validator hook: actions may say which `{{ }}` placeholders of their input cannot be made
 * safe (host.play: a placeholder inside '…' of an inline play's shell text, a `sh -c` script…).
 * Each problem is reported at the file:line:column of its own `{{`, not of the whole string.
 */
import type { Diagnostic } from './diagnostics';
import { eachStep } from './walk';

type Path = (string | number)[];

export interface TemplateProblem {
  path: Path;
  /** Offset inside the string at `path`. */
  offset: number;
  message: string;
}

interface WithTemplateChecks {
  templateProblems?(input: unknown): TemplateProblem[];
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Every action call (steps, nested steps, parallel branches, foreach bodies, compensations) with its path. */
function* actionCalls(steps: unknown, path: Path): Generator<{ call: Record<string, unknown>; path: Path }> {
  for (const { step: s, path: sp } of eachStep<Record<string, unknown>>(steps, path)) {
    if (typeof s.action === 'string') yield { call: s, path: sp };
    if (isObj(s.compensate) && typeof s.compensate.action === 'string') yield { call: s.compensate, path: [...sp, 'compensate'] };
  }
}

const at = (root: unknown, path: Path): unknown => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as any)[k] : undefined), root);

/**
 * Where in the source the placeholder at `offset` of the string `value` starts. YAML escapes
 * and folding change the text, but never `{{`: the n-th `{{` of the value is the n-th `{{` of
 * the scalar's source.
 */
export function locateInSource(source: string, node: { line: number; column: number }, value: string, offset: number): { line: number; column: number } {
  const lines = source.split('\n');
  let pos = 0;
  for (let l = 1; l < node.line && l <= lines.length; l++) pos += lines[l - 1].length + 1;
  pos += node.column - 1;
  const nth = value.slice(0, offset).split('{{').length - 1;
  let found = pos - 2;
  for (let k = 0; k <= nth; k++) {
    found = source.indexOf('{{', found + 2);
    if (found < 0) return node;
  }
  const before = source.slice(0, found);
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: found - nl };
}

export function templateChecks(
  file: string,
  bytes: Buffer | string,
  runbook: unknown,
  actions: ReadonlyMap<string, unknown>,
  position: (path: Path) => { line: number; column: number },
): Diagnostic[] {
  const spec = isObj(runbook) && isObj(runbook.spec) ? runbook.spec : undefined;
  if (!spec) return [];
  const source = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  const out: Diagnostic[] = [];
  for (const { call, path } of actionCalls(spec.steps, ['spec', 'steps'])) {
    const action = actions.get(call.action as string) as WithTemplateChecks | undefined;
    if (!action?.templateProblems || !isObj(call.with)) continue;
    for (const p of action.templateProblems(call.with)) {
      const full = [...path, 'with', ...p.path];
      const value = at(runbook, full);
      const where = typeof value === 'string' ? locateInSource(source, position(full), value, p.offset) : position(full);
      out.push({ file, line: where.line, column: where.column, message: `${call.action}: ${p.message}` });
    }
  }
  return out;
}
