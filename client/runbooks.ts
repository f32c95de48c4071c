/**
 * Finding and loading runbook files for the CLI: validation with positions, and the child
 * runbooks a `runbook:` step names (looked up by metadata.name next to the file and in
 * RUNWRIGHT_RUNBOOK_PATH), so the workflow receives every definition it may start.
 */
import { applyActionContracts } from '../dsl/contract';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ActionRegistry } from '../activities/registry';
import type { Diagnostic } from '../dsl/diagnostics';
import type { Runbook, Step } from '../dsl/schema';
import type { PlanFile } from '../lib/plan-file';
import { validateRunbookText } from '../dsl/validate';
import { eachStep } from '../dsl/walk';
import { ENV } from '../lib/config';
import { resolveParams } from '../dsl/params';
import { runSecretProblems } from '../lib/secrets';

export interface LoadedRunbook {
  file: string;
  runbook: Runbook;
  children: Record<string, Runbook>;
}

const isYaml = (f: string) => /\.ya?ml$/i.test(f);

/** Expand files and folders into runbook files (folders: *.yaml/*.yml, not recursive into dot-dirs). */
export function expandPaths(paths: string[]): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    if (!existsSync(p)) {
      diagnostics.push({ file: p, line: 1, column: 1, message: 'no such file or directory' });
      continue;
    }
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (isYaml(f)) files.push(join(p, f));
    } else files.push(p);
  }
  return { files, diagnostics };
}

/** metadata.name -> file, for the folders where child runbooks may live. */
function runbookIndex(near: string): Map<string, string> {
  const dirs = [dirname(resolve(near)), ...(process.env[ENV.runbookPath] ?? '').split(delimiter).filter(Boolean)];
  const index = new Map<string, string>();
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      if (!isYaml(f)) continue;
      const full = join(d, f);
      try {
        const name = parseDocument(readFileSync(full, 'utf8')).getIn(['metadata', 'name']);
        if (typeof name === 'string' && !index.has(name)) index.set(name, full);
      } catch {
        /* unreadable files are reported when validated directly */
      }
    }
  }
  return index;
}

function childNames(steps: Step[]): Set<string> {
  const out = new Set<string>();
  for (const { step } of eachStep(steps)) if ('runbook' in step) out.add(step.runbook);
  return out;
}

export function displayPath(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
}

/** Validate a runbook file and every runbook it starts; all diagnostics at once. */
export function loadRunbookFile(file: string, registry: ActionRegistry): { loaded?: LoadedRunbook; diagnostics: Diagnostic[] } {
  let index: Map<string, string> | undefined;
  const lookup = () => (index ??= runbookIndex(file));
  const cache = new Map<string, Runbook | null>();
  const diagnostics: Diagnostic[] = [];
  const loadOne = (path: string): Runbook | undefined => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e: any) {
      diagnostics.push({ file: displayPath(path), line: 1, column: 1, message: `cannot read file (${e.code ?? e.message})` });
      return undefined;
    }
    const r = validateRunbookText(displayPath(path), bytes, {
      actions: registry,
      findRunbook: (name) => {
        if (!cache.has(name)) {
          cache.set(name, null);
          const f = lookup().get(name);
          cache.set(name, f ? (loadOne(f) ?? null) : null);
          // A child that exists but is invalid has its own diagnostics; do not also say "unknown".
          if (f && !cache.get(name)) return { metadata: { name } } as Runbook;
        }
        return cache.get(name) ?? (lookup().has(name) ? ({ metadata: { name } } as Runbook) : undefined);
      },
    });
    diagnostics.push(...r.diagnostics);
    return r.runbook;
  };
  const runbook = loadOne(file);
  if (!runbook || diagnostics.length) return { diagnostics };
  const children: Record<string, Runbook> = {};
  const collect = (rb: Runbook) => {
    for (const name of childNames(rb.spec.steps)) {
      const c = cache.get(name);
      if (c && !children[name]) {
        children[name] = c;
        collect(c);
      }
    }
  };
  collect(runbook);
  // Action defaults and inverses (dsl/contract.ts), after validation: what the workflow runs.
  const info = (name: string) => registry.get(name);
  for (const name of Object.keys(children)) children[name] = applyActionContracts(children[name], info);
  return { loaded: { file, runbook: applyActionContracts(runbook, info), children }, diagnostics };
}

/**
 * Params of a run request, checked as `runwright run` checks them: declared types, defaults,
 * required params, and no secret a run may not pick (lib/secrets.ts). `coerce`: names whose
 * values are strings to convert (from `--set k=v` or a form field).
 */
export function checkRunParams(
  runbook: Runbook,
  provided: Record<string, unknown>,
  coerce: Set<string> = new Set(),
): { values: Record<string, unknown>; errors: { param?: string; message: string }[] } {
  const { values, errors } = resolveParams(runbook, provided, { coerce });
  if (errors.length) return { values, errors };
  // Secrets are granted by the worker's secrets policy, never chosen by a run's params: refuse
  // before anything starts (the worker checks again, with the destination, when it resolves).
  return { values, errors: runSecretProblems(runbook, values).map((message) => ({ message })) };
}

export interface CatalogEntry {
  name: string;
  description?: string;
  labels?: Record<string, string>;
  file: string;
  loaded: LoadedRunbook;
}

/**
 * Every valid runbook in these folders (and files), by metadata.name; the first of a name wins.
 * Invalid files are returned as diagnostics, not thrown: one broken file hides nothing else.
 */
export function loadCatalog(paths: string[], registry: ActionRegistry): { entries: CatalogEntry[]; diagnostics: Diagnostic[] } {
  const { files, diagnostics } = expandPaths(paths);
  const entries: CatalogEntry[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const r = loadRunbookFile(f, registry);
    if (!r.loaded) {
      diagnostics.push(...r.diagnostics);
      continue;
    }
    const md = r.loaded.runbook.metadata;
    if (seen.has(md.name)) continue;
    seen.add(md.name);
    entries.push({ name: md.name, description: md.description, labels: md.labels, file: displayPath(f), loaded: r.loaded });
  }
  return { entries: entries.sort((a, b) => a.name.localeCompare(b.name)), diagnostics };
}

/**
 * The params a plan is applied with (`runwright apply`, the console's POST /plans/apply): the
 * plan's own, plus its masked secret params given again; anything else is a problem to report.
 * `given` names how the caller passes params ("--set", "params"); `how` says how to give one.
 */
export function planApplyParams(
  plan: PlanFile,
  provided: Record<string, unknown>,
  coerce: Set<string>,
  words: { given: string; how: string },
): { values: Record<string, unknown>; problem?: undefined } | { values?: undefined; problem: string } {
  const extra = Object.keys(provided).filter((k) => !plan.maskedParams.includes(k));
  if (extra.length) return { problem: `${words.given} ${extra.join(', ')}: a plan is applied with the params it was made with (plan again to change them); only its masked secret params (${plan.maskedParams.join(', ') || 'none'}) are given again` };
  const missing = plan.maskedParams.filter((k) => !(k in provided));
  if (missing.length) return { problem: `the plan holds no value for secret param(s) ${missing.join(', ')}: give them again ${words.how}` };
  const { values, errors } = checkRunParams(plan.runbook.definition, { ...plan.params, ...provided }, coerce);
  if (errors.length) return { problem: errors.map((e) => e.message).join('; ') };
  return { values };
}
