/**
 * Secrets are passed through workflows as references, never as values, so they stay out of
 * Temporal history. Activities resolve them at the last moment, through a worker-side policy
 * that the people who own the secrets write (not the people who start runs):
 *
 * ```yaml
 * # runwright.secrets.yaml (RUNWRIGHT_SECRETS_POLICY; else ./runwright.secrets.yaml, ./.runwright/secrets.yaml)
 * secrets:
 *   pdns-key:
 *     ref: env:PDNS_API_KEY                  # or file:/etc/runwright/secrets/pdns-key
 *     runbooks: [failover, dr-drill, "label:runwright.dev/kind=operation"]   # "*" = any runbook
 *     destinations: ["http://127.0.0.1:8081"] # origins (+ optional path prefix) or hosts; omitted = anywhere
 * ```
 *
 * Runbooks (or their params) write `secret:pdns-key`. Resolution rules (resolveSecret):
 * - `secret:NAME` resolves only when the policy has NAME, grants it to the running runbook (by
 *   name or metadata label) and, if it lists destinations, the action's destination matches.
 * - raw `env:NAME` / `file:PATH`: with a policy file, only when a grant has exactly that `ref`
 *   (same runbook/destination checks): the policy is the only way in. With no policy file, only
 *   when the reference is written literally in the runbook's own text (the author's reviewed
 *   choice); one that arrives through params or an expression is refused.
 * - a raw `file:` path that the policy does not name (so: a runbook's own, with no policy) must be
 *   inside a secret folder (RUNWRIGHT_SECRET_DIRS, `:`-separated), checked after resolving
 *   symlinks and `..`; paths written in the policy itself are the operator's and trusted.
 *
 * Every value resolved during an activity is recorded in that activity's registry
 * (AsyncLocalStorage), and the action wrapper (activities/define.ts) masks it out of outputs,
 * heartbeats, errors and log lines.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

import { SECRET_REF_PATTERN } from '../dsl/secret-ref';
import { ENV } from './config';
export { SECRET_REF_PATTERN };

export const SecretRef = z
  .string()
  .regex(SECRET_REF_PATTERN, 'expected a secret reference: secret:NAME (granted in the worker\'s secrets policy), env:VAR_NAME or file:/path')
  .describe('Secret reference (secret:NAME from the worker\'s secrets policy; env:NAME or file:PATH where the policy allows), resolved inside the worker.');

export class SecretError extends Error {
  name = 'SecretError';
}

export const SECRETS_POLICY_ENV = ENV.secretsPolicy;
export const SECRET_DIRS_ENV = 'RUNWRIGHT_SECRET_DIRS';
export const SECRETS_POLICY_DEFAULTS = ['runwright.secrets.yaml', join('.runwright', 'secrets.yaml')] as const;

// ---- policy ------------------------------------------------------------------------------

const GrantSchema = z.strictObject({
  ref: z.string().regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'expected env:NAME or file:PATH'),
  runbooks: z.array(z.string().min(1)).min(1, 'name at least one runbook (or "*")'),
  destinations: z.array(z.string().min(1)).optional(),
  description: z.string().optional(),
});
const PolicySchema = z.strictObject({
  secrets: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.\/-]*$/, 'secret names: letters, digits, _ . / -'), GrantSchema).default({}),
});
export type SecretGrant = z.infer<typeof GrantSchema>;
export interface SecretsPolicy {
  file: string;
  secrets: Record<string, SecretGrant>;
}

/** The policy file in use: RUNWRIGHT_SECRETS_POLICY, else the first default that exists. */
export function secretsPolicyFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const set = env[SECRETS_POLICY_ENV];
  if (set) return resolve(cwd, set);
  for (const f of SECRETS_POLICY_DEFAULTS) {
    const p = resolve(cwd, f);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* absent */
    }
  }
  return undefined;
}

let cache: { file: string; mtimeMs: number; size: number; policy: SecretsPolicy } | undefined;

/**
 * Read the worker's secrets policy (re-read when the file changes). No file: undefined. A file
 * that is named but missing or invalid is an error: a typo must not silently loosen the rules.
 */
export function loadSecretsPolicy(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): SecretsPolicy | undefined {
  const file = secretsPolicyFile(env, cwd);
  if (!file) return undefined;
  let st;
  try {
    st = statSync(file);
  } catch (e: any) {
    throw new SecretError(`secrets policy ${file}: cannot read (${e.code ?? e.message})`);
  }
  if (cache && cache.file === file && cache.mtimeMs === st.mtimeMs && cache.size === st.size) return cache.policy;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (e: any) {
    throw new SecretError(`secrets policy ${file}: ${e.code ?? e.message}`);
  }
  const r = PolicySchema.safeParse(raw);
  if (!r.success) throw new SecretError(`secrets policy ${file}: ${r.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`);
  const policy: SecretsPolicy = { file, secrets: r.data.secrets };
  cache = { file, mtimeMs: st.mtimeMs, size: st.size, policy };
  return policy;
}

/** Who is asking: the runbook a step belongs to (set by the interpreter, per activity). */
export interface SecretScope {
  runbook?: string;
  labels?: Record<string, string>;
  /** References written literally in the step's own `with:` (not rendered from an expression). */
  authorRefs?: readonly string[];
}

function grantsRunbook(g: SecretGrant, scope: SecretScope): boolean {
  return g.runbooks.some((r) => {
    if (r === '*') return true;
    if (r.startsWith('label:')) {
      const [k, v] = r.slice(6).split('=', 2);
      return scope.labels?.[k] !== undefined && (v === undefined || scope.labels[k] === v);
    }
    return r === scope.runbook;
  });
}

/** A destination is a URL (origin, and path prefix if the grant has one) or a host[:port]. */
export function destinationMatches(grant: string, destination: string): boolean {
  const asUrl = (s: string) => {
    try {
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? new URL(s) : undefined;
    } catch {
      return undefined;
    }
  };
  const g = asUrl(grant);
  const d = asUrl(destination);
  if (g && d) {
    if (g.origin !== d.origin) return false;
    const prefix = g.pathname.replace(/\/+$/, '');
    return prefix === '' || d.pathname === prefix || d.pathname.startsWith(`${prefix}/`);
  }
  if (g) return false; // a URL grant never matches a bare host
  const host = d ? d.host : destination;
  const hostname = d ? d.hostname : destination.replace(/:\d+$/, '');
  return grant.toLowerCase() === host.toLowerCase() || grant.toLowerCase() === hostname.toLowerCase();
}

function grantsDestination(g: SecretGrant, destination: string | undefined): boolean {
  if (!g.destinations) return true;
  if (destination === undefined) return false; // a destination-bound secret needs the action to say where it goes
  return g.destinations.some((x) => destinationMatches(x, destination));
}

// ---- per-activity registry ---------------------------------------------------------------

interface ActivitySecrets {
  scope: SecretScope;
  values: Set<string>;
}
const store = new AsyncLocalStorage<ActivitySecrets>();

/** Run `fn` as one activity execution: secrets resolved inside are scoped and recorded. */
export function withSecretScope<T>(scope: SecretScope, fn: () => T, values = new Set<string>()): { result: T; values: Set<string> } {
  const rec: ActivitySecrets = { scope, values };
  return { result: store.run(rec, fn), values: rec.values };
}

/** Record a secret value obtained some other way (clouds.yaml password, token) so it is masked. */
export function registerSecret(value: string | undefined | null): void {
  if (value) store.getStore()?.values.add(value);
}

/** The values resolved so far in the current activity execution. */
export function currentSecrets(): string[] {
  return [...(store.getStore()?.values ?? [])];
}

// ---- resolution --------------------------------------------------------------------------

export interface ResolveOptions {
  /** Where the value will be sent: a URL (its origin counts) or a host[:port]. */
  destination?: string;
  env?: NodeJS.ProcessEnv;
  /** Override the activity's scope (tests, and callers resolving on behalf of a known runbook). */
  scope?: SecretScope;
  /**
   * The reference comes from a file the worker operator controls (an inventory on the worker),
   * so it counts as written by the author.
   */
  trusted?: boolean;
}

function secretDirs(env: NodeJS.ProcessEnv): string[] {
  return (env[SECRET_DIRS_ENV] ?? '').split(delimiter).filter(Boolean).map((d) => resolve(d));
}

function readSecretFile(ref: string, path: string, confineTo: string[] | undefined): string {
  try {
    if (confineTo) {
      if (!confineTo.length) throw new SecretError(`secret ${ref}: file: references must be inside a secret folder, and none is configured (${SECRET_DIRS_ENV}); or name the file in the secrets policy and use secret:NAME`);
      const real = realpathSync(isAbsolute(path) ? path : resolve(path));
      const inside = confineTo.some((d) => {
        let rd: string;
        try {
          rd = realpathSync(d);
        } catch {
          return false;
        }
        return real.startsWith(rd.endsWith(sep) ? rd : rd + sep);
      });
      if (!inside) throw new SecretError(`secret ${ref}: outside the secret folders (${confineTo.join(', ')})`);
    }
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e: any) {
    if (e instanceof SecretError) throw e;
    throw new SecretError(`secret ${ref}: cannot read file (${e.code ?? e.message})`);
  }
}

function readRaw(ref: string, env: NodeJS.ProcessEnv, confineTo: string[] | undefined): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const v = env[name];
    if (v === undefined) throw new SecretError(`secret ${ref}: environment variable ${name} is not set on the worker`);
    return v;
  }
  if (ref.startsWith('file:')) return readSecretFile(ref, ref.slice(5), confineTo);
  throw new SecretError(`not a secret reference: use secret:NAME, env:NAME or file:PATH`);
}

function who(scope: SecretScope | undefined): string {
  return scope?.runbook ? `runbook "${scope.runbook}"` : 'this action';
}

/**
 * Why `ref` may not be used by `scope` (sent to `destination`), or undefined when it may. Shared
 * by the activity (resolveSecret) and the checks before a run starts (CLI, Slack gateway), which
 * pass `fromParams` for references found in the run's params.
 */
export function secretRefProblem(
  ref: string,
  scope: SecretScope | undefined,
  opts: { destination?: string; policy?: SecretsPolicy | null; fromParams?: boolean; trusted?: boolean } = {},
): string | undefined {
  const policy = opts.policy === undefined ? loadSecretsPolicy() : opts.policy ?? undefined;
  if (ref.startsWith('secret:')) {
    const name = ref.slice(7);
    if (!policy) return `secret ${ref}: no secrets policy on the worker (${SECRETS_POLICY_ENV} or ./runwright.secrets.yaml) grants it`;
    const g = policy.secrets[name];
    if (!g) return `secret ${ref}: not defined in the secrets policy (${policy.file})`;
    if (scope && !grantsRunbook(g, scope)) return `secret ${ref}: the secrets policy does not grant it to ${who(scope)}`;
    if (!grantsDestination(g, opts.destination)) return `secret ${ref}: the secrets policy does not allow sending it to ${opts.destination ?? 'an unnamed destination'}`;
    return undefined;
  }
  if (!SECRET_REF_PATTERN.test(ref)) return `not a secret reference: use secret:NAME, env:NAME or file:PATH`;
  if (policy) {
    const grants = Object.values(policy.secrets).filter((g) => g.ref === ref);
    if (!grants.length) return `secret ${ref}: the secrets policy (${policy.file}) grants no secret with this ref; name it there and use secret:NAME`;
    if (scope && !grants.some((g) => grantsRunbook(g, scope))) return `secret ${ref}: the secrets policy does not grant it to ${who(scope)}`;
    if (!grants.some((g) => (!scope || grantsRunbook(g, scope)) && grantsDestination(g, opts.destination)))
      return `secret ${ref}: the secrets policy does not allow sending it to ${opts.destination ?? 'an unnamed destination'}`;
    return undefined;
  }
  // No policy: only what the runbook's author wrote literally.
  const authored = opts.trusted || (!opts.fromParams && (!scope || (scope.authorRefs?.includes(ref) ?? false)));
  if (!authored)
    return `secret ${ref}: comes from the run's params (or an expression), not from the runbook's text; with no secrets policy such references are refused — grant it in ${SECRETS_POLICY_ENV} (runwright.secrets.yaml) and use secret:NAME`;
  return undefined;
}

/**
 * A reference from the worker operator's own configuration (codec keys, the local key file):
 * neither runbooks nor runs can reach it, so no policy or folder confinement applies.
 */
export function resolveOperatorSecret(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  return readRaw(ref, env, undefined);
}

/**
 * Resolve a secret reference inside an activity, under the worker's policy and the activity's
 * scope; the value is recorded so the action wrapper masks it everywhere.
 */
export function resolveSecret(ref: string, o: ResolveOptions = {}): string {
  const env = o.env ?? process.env;
  const rec = store.getStore();
  const scope = o.scope ?? rec?.scope;
  const policy = loadSecretsPolicy(env);
  const problem = secretRefProblem(ref, scope, { destination: o.destination, policy: policy ?? null, trusted: o.trusted });
  if (problem) throw new SecretError(problem);
  let value: string;
  if (ref.startsWith('secret:')) value = readRaw(policy!.secrets[ref.slice(7)].ref, env, undefined);
  else {
    // A path the policy names exactly was chosen by the operator; any other must be in a secret folder.
    const named = policy && Object.values(policy.secrets).some((g) => g.ref === ref);
    value = readRaw(ref, env, ref.startsWith('file:') && !named ? secretDirs(env) : undefined);
  }
  rec?.values.add(value);
  return value;
}

/** Every secret-reference-looking string in a value (deep), e.g. in a run's params. */
export function findSecretRefs(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 64) return out;
  if (typeof v === 'string') {
    if (SECRET_REF_PATTERN.test(v) && !v.includes('{{')) out.push(v);
  } else if (Array.isArray(v)) for (const x of v) findSecretRefs(x, out, depth + 1);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) findSecretRefs(x, out, depth + 1);
  return out;
}

/**
 * Why a run may not start: a secret reference in its params that the policy does not grant to
 * this runbook (or, with no policy, any raw reference from params). For the CLI and the Slack
 * gateway; the activity checks again (with the destination) when it resolves.
 */
export function paramSecretProblems(runbook: { metadata: { name: string; labels?: Record<string, string> }; spec?: unknown }, params: Record<string, unknown>, policy = loadSecretsPolicy()): string[] {
  const scope: SecretScope = { runbook: runbook.metadata.name, labels: runbook.metadata.labels };
  const out: string[] = [];
  const specs = ((runbook as { spec?: { params?: Record<string, { secret?: boolean }> } }).spec?.params ?? {});
  const refs = Object.entries(params).flatMap(([k, v]) =>
    // `file:` is also how some params name a place to *write* (capi kubeconfigTo): those are
    // checked here only for params declared `secret: true`; the activity refuses the rest.
    findSecretRefs(v).filter((r) => !r.startsWith('file:') || specs[k]?.secret === true),
  );
  for (const ref of new Set(refs)) {
    // A secret:NAME from params with no policy visible here is left to the worker (it may have one).
    if (!policy && ref.startsWith('secret:')) continue;
    const p = secretRefProblem(ref, scope, { policy: policy ?? null, fromParams: true, destination: undefined });
    // Destinations are checked by the action that sends the value; here only the runbook grant.
    if (p && !/does not allow sending it to/.test(p)) out.push(p);
  }
  return out;
}

/**
 * Every reason a run may not start for its secrets: references in its params (see
 * paramSecretProblems) and references written in its steps that the policy does not grant to it.
 * A policy file that cannot be read is a problem too (never silently looser).
 */
export function runSecretProblems(runbook: { metadata: { name: string; labels?: Record<string, string> }; spec?: unknown }, params: Record<string, unknown>): string[] {
  let policy: SecretsPolicy | undefined;
  try {
    policy = loadSecretsPolicy();
  } catch (e: any) {
    return [e.message];
  }
  const out = paramSecretProblems(runbook, params, policy);
  const literal = findSecretRefs((runbook.spec as { steps?: unknown } | undefined)?.steps);
  const scope: SecretScope = { runbook: runbook.metadata.name, labels: runbook.metadata.labels, authorRefs: literal };
  for (const ref of new Set(literal)) {
    const p = secretRefProblem(ref, scope, { policy: policy ?? null });
    if (p && !/does not allow sending it to/.test(p)) out.push(p);
  }
  return out;
}

// ---- masking -----------------------------------------------------------------------------

/** The forms a secret may come back in: as is, JSON-escaped, URL-encoded, base64. */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < 4) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
    const b64 = Buffer.from(s).toString('base64');
    forms.add(b64);
    forms.add(b64.replace(/=+$/, ''));
    forms.add(Buffer.from(s).toString('base64url'));
    // A multi-line secret (a key, a clouds.yaml) may come back one line at a time.
    for (const line of s.split(/\r?\n/)) if (line.trim().length >= 8) forms.add(line.trim());
  }
  // Longest first, so a form containing another is replaced whole.
  return [...forms].filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
}

/** Replace every occurrence of the given secret values, for outputs and error messages. */
export function redact(text: string, secrets: readonly string[]): string {
  return maskString(text, secretForms(secrets));
}

function maskString(text: string, forms: readonly string[]): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join('***');
  return out;
}

/** Mask secret values everywhere in a JSON-like value: strings, and object keys. */
export function maskDeep<T>(v: T, secrets: Iterable<string>): T {
  const forms = secretForms(secrets);
  if (!forms.length) return v;
  const seen = new WeakMap<object, unknown>();
  const walk = (x: unknown, depth: number): unknown => {
    if (typeof x === 'string') return maskString(x, forms);
    if (!x || typeof x !== 'object' || depth > 200) return x;
    if (seen.has(x)) return seen.get(x);
    if (Array.isArray(x)) {
      const a: unknown[] = [];
      seen.set(x, a);
      for (const i of x) a.push(walk(i, depth + 1));
      return a;
    }
    if (x instanceof Date || ArrayBuffer.isView(x)) return x;
    const o: Record<string, unknown> = {};
    seen.set(x, o);
    for (const [k, val] of Object.entries(x)) o[maskString(k, forms)] = walk(val, depth + 1);
    return o;
  };
  return walk(v, 0) as T;
}
