/**
 * Pieces every CLI command shares: output, loading a runbook with its params, identity, sessions.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseDocument } from 'yaml';
import { buildRegistry, loadActionModules, type ActionRegistry } from '../activities/registry';
import { formatDiagnostic, type Diagnostic } from '../dsl/diagnostics';
import type { RunInput } from '../workflows/definitions';
import { runInputFor } from '../client/runs';
import { checkRunParams, displayPath, loadRunbookFile, type LoadedRunbook } from '../client/runbooks';
import { CliError, EXIT, openSession, type Session } from './session';

export const out = (s: string): void => void process.stdout.write(`${s}\n`);
export const err = (s: string): void => void process.stderr.write(`${s}\n`);

export function registryFrom(opts: { actions?: string[] }): ActionRegistry {
  try {
    return buildRegistry(loadActionModules(opts.actions ?? []));
  } catch (e: any) {
    throw new CliError(`cannot load actions: ${e.message}`, EXIT.usage);
  }
}

export function failDiagnostics(ds: Diagnostic[]): never {
  throw new CliError(ds.map(formatDiagnostic).join('\n') + `\n${ds.length} error${ds.length === 1 ? '' : 's'}`, EXIT.usage);
}

/** --set k=v (strings, coerced by the param's type) and --params FILE (typed YAML/JSON). */
export function collectParams(file: string | undefined, sets: string[]): { values: Record<string, unknown>; coerce: Set<string> } {
  const values: Record<string, unknown> = {};
  const coerce = new Set<string>();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e: any) {
      throw new CliError(`${file}:1:1: error: cannot read params file (${e.code ?? e.message})`, EXIT.usage);
    }
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      const lc = text.slice(0, doc.errors[0].pos[0]).split('\n');
      throw new CliError(`${file}:${lc.length}:${lc[lc.length - 1].length + 1}: error: ${doc.errors[0].message.split('\n')[0]}`, EXIT.usage);
    }
    const v = doc.toJS({ maxAliasCount: 100 });
    if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new CliError(`${file}:1:1: error: expected a mapping of param names to values`, EXIT.usage);
    Object.assign(values, v ?? {});
  }
  for (const s of sets) {
    const i = s.indexOf('=');
    if (i <= 0) throw new CliError(`--set ${s}: expected NAME=VALUE`, EXIT.usage);
    values[s.slice(0, i)] = s.slice(i + 1);
    coerce.add(s.slice(0, i));
  }
  return { values, coerce };
}

export function currentUser(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.RUNWRIGHT_USER) return process.env.RUNWRIGHT_USER;
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export async function withSession<T>(opts: Parameters<typeof openSession>[0], fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await openSession(opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}


/** Load, validate and resolve params for `run` and `schedule create`: exit 2 on any mistake. */
export function prepareRun(
  file: string,
  o: { actions?: string[]; params?: string; set: string[] },
): { registry: ActionRegistry; loaded: LoadedRunbook; params: Record<string, unknown> } {
  const registry = registryFrom(o);
  const r = loadRunbookFile(file, registry);
  if (!r.loaded) failDiagnostics(r.diagnostics);
  const p = collectParams(o.params, o.set);
  const { values, errors } = checkRunParams(r.loaded.runbook, p.values, p.coerce);
  if (errors.length) throw new CliError(errors.map((e) => `${displayPath(file)}: error: ${e.message}`).join('\n'), EXIT.usage);
  return { registry, loaded: r.loaded, params: values };
}

export function runInput(loaded: LoadedRunbook, params: Record<string, unknown>, startedBy: string, searchAttributes: boolean): RunInput {
  return runInputFor(loaded, params, startedBy, searchAttributes);
}
