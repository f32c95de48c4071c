/**
 * The plan file of `runwright plan --out` and `runwright apply`: the runbook exactly as planned
 * (definition and child runbooks), its params (a secret param only as a reference or masked,
 * never its value), every step's prediction, the summary, and a SHA-256 over the canonical JSON
 * of all of it (lib/identity/canonical.ts). `createdAt` is outside the hash, so the same world
 * planned twice gives the same hash; any edit of the rest is a hash mismatch at apply.
 */
import { readFileSync } from 'node:fs';
import { countChanges, type PlanCounts, type StepPrediction } from '../dsl/live-plan';
import { maskText, SECRET_MASK, secretParamNames } from '../dsl/params';
import type { Runbook } from '../dsl/schema';
import { SECRET_REF_PATTERN } from '../dsl/secret-ref';
import { hashOf } from './identity/canonical';

export const PLAN_FORMAT = 'runwright-plan/1';

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  runbook: { name: string; definition: Runbook; children: Record<string, Runbook> };
  params: Record<string, unknown>;
  /** Secret params whose value is not in the file (masked): `apply` needs them again with --set. */
  maskedParams: string[];
  steps: StepPrediction[];
  summary: PlanCounts;
  /** Not hashed. */
  createdAt?: string;
  hash: string;
}

export class PlanFileError extends Error {
  name = 'PlanFileError';
}

type Hashed = Omit<PlanFile, 'hash' | 'createdAt'>;

export function planHash(p: Hashed | PlanFile): string {
  const { hash: _h, createdAt: _c, ...rest } = p as PlanFile;
  return hashOf(rest);
}

/** Strings with every secret param's value masked, in any value. */
function maskDeep<T>(v: T, params: Record<string, unknown>, secret: readonly string[]): T {
  if (!secret.length) return v;
  if (typeof v === 'string') return maskText(v, params, secret) as T;
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, params, secret)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskDeep(x, params, secret)])) as T;
  return v;
}

export function makePlanFile(runbook: Runbook, children: Record<string, Runbook>, params: Record<string, unknown>, steps: StepPrediction[], now = new Date()): PlanFile {
  const secret = secretParamNames(runbook.spec.params);
  // A reference (secret:NAME, env:, file:) is no secret: it stays, and apply resolves it as a run does.
  const masked = secret.filter((k) => params[k] !== undefined && params[k] !== null && params[k] !== '' && !(typeof params[k] === 'string' && SECRET_REF_PATTERN.test(params[k] as string)));
  const shownParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, masked.includes(k) ? SECRET_MASK : v]));
  const shownSteps = maskDeep(steps, params, masked);
  const body: Hashed = {
    format: PLAN_FORMAT,
    runbook: { name: runbook.metadata.name, definition: runbook, children },
    params: shownParams,
    maskedParams: masked,
    steps: shownSteps,
    summary: countChanges(shownSteps),
  };
  return { ...body, createdAt: now.toISOString(), hash: planHash(body) };
}

/** Read and check a plan file: a clear PlanFileError for anything but an intact plan. */
export function readPlanFile(path: string): PlanFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PlanFileError(`cannot read plan file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let p: PlanFile;
  try {
    p = JSON.parse(text) as PlanFile;
  } catch (e) {
    throw new PlanFileError(`${path} is not a plan file (not JSON: ${(e as Error).message}); make one with \`runwright plan FILE --out ${path}\``);
  }
  return checkPlanFile(p, path);
}

/** Check a plan (parsed JSON: a file's, or one sent to the console's API): intact, or a clear PlanFileError. */
export function checkPlanFile(p: PlanFile, path = 'the plan'): PlanFile {
  if (!p || typeof p !== 'object' || p.format !== PLAN_FORMAT) throw new PlanFileError(`${path} is not a plan file (format is not ${PLAN_FORMAT}); make one with \`runwright plan FILE --out ${path}\``);
  if (typeof p.hash !== 'string' || !p.runbook?.definition || !Array.isArray(p.steps) || !p.params || typeof p.params !== 'object') throw new PlanFileError(`${path} is not a complete plan file (hash, runbook, params or steps missing)`);
  const actual = planHash(p);
  if (actual !== p.hash) throw new PlanFileError(`${path} was changed after it was made: its hash is ${p.hash.slice(0, 12)}…, its content hashes to ${actual.slice(0, 12)}…; plan again instead of editing a plan`);
  return p;
}

/** What an applied run carries (RunInput.plan): the plan hash and each dry-run step's prediction. */
export function appliedPlan(p: PlanFile): { hash: string; steps: Record<string, { hash: string; summary: string; diff?: string; changed: boolean }> } {
  const steps: Record<string, { hash: string; summary: string; diff?: string; changed: boolean }> = {};
  for (const s of p.steps) if (s.status === 'planned' && s.hash) steps[s.path] = { hash: s.hash, summary: s.summary ?? '', ...(s.diff ? { diff: s.diff } : {}), changed: !!s.changed };
  return { hash: p.hash, steps };
}
