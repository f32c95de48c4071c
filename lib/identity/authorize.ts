/**
 * The worker's check of who is asking (runs in the `runwright.identity.authorize` activity,
 * never in workflow code): verify the proof, check that it binds exactly this request, then the
 * access policy. Refusals are returned (not thrown) so the workflow records them in the history.
 *
 * Modes (see SECURITY.md):
 *  - signed: RUNWRIGHT_ALLOWED_SIGNERS is set, or RUNWRIGHT_REQUIRE_SIGNED=1. Every start and
 *    decision needs a valid SSH signature by a principal in allowed_signers (or by a trusted
 *    gateway vouching for a Slack user). Unsigned claims are refused. REQUIRE_SIGNED without an
 *    allowed_signers file refuses everything (fail closed).
 *  - local (neither set; the embedded single-user default): unsigned claims are accepted and
 *    recorded as `method: claim`; the access policy, if present, still applies.
 */
import { existsSync } from 'node:fs';
import { parseDurationMs } from '../../dsl/duration';
import { resolve } from 'node:path';
import { identityForSlackUser, loadApprovers, type ApproversConfig } from '../approvers';
import { hashOf } from './canonical';
import { loadAccessPolicy, policyRefusal, type AccessPolicy, type Verb } from './policy';
import { REQUEST_VERSION, type AuthRecord, type Proof, type RequestAction, type RequestClaim } from './request';
import { verifySignature } from './ssh';
import { ENV } from '../config';

export const ALLOWED_SIGNERS_ENV = ENV.allowedSigners;
export const REQUIRE_SIGNED_ENV = 'RUNWRIGHT_REQUIRE_SIGNED';
export const MAX_AGE_ENV = 'RUNWRIGHT_SIGNATURE_MAX_AGE';
export const TRUSTED_GATEWAYS_ENV = 'RUNWRIGHT_TRUSTED_GATEWAYS';
/** Default freshness window of a signed request, and the allowed clock skew into the future. */
export const DEFAULT_MAX_AGE_MS = 5 * 60_000;
export const MAX_FUTURE_SKEW_MS = 60_000;
/** A decision queued while no worker was up is checked when one resumes: a longer window. */
export const QUEUED_MAX_AGE_MS = 24 * 3600_000;

export interface AuthorizeInput {
  action: RequestAction;
  workflowId: string;
  runbook: string;
  labels?: Record<string, string>;
  /** The identity claimed (startedBy, DecisionInput.user, …). */
  user: string;
  proof?: Proof;
  /** approve/reject: the gate's current plan hash; and the gate path. */
  planHash?: string;
  step?: string;
  /** start: the run's input (hashed here and compared with the signed hash). */
  start?: { runbook: unknown; params: unknown; children?: unknown; plan?: unknown };
  /** set-params: the params exactly as requested. */
  params?: Record<string, unknown>;
  /** The TemporalScheduledById of the run (set by the server for runs a schedule started). */
  scheduledBy?: string;
  queued?: boolean;
  /** Milliseconds since the epoch at which the check is made (tests). */
  now?: number;
}

export type AuthorizeResult = { ok: true; auth: AuthRecord } | { ok: false; reason: string };

const truthy = (v: string | undefined) => !!v && !/^(0|false|no|off)$/i.test(v);

export function identityMode(env: NodeJS.ProcessEnv = process.env): { signed: boolean; allowedSigners?: string } {
  const allowedSigners = env[ALLOWED_SIGNERS_ENV] ? resolve(env[ALLOWED_SIGNERS_ENV]!) : undefined;
  return { signed: !!allowedSigners || truthy(env[REQUIRE_SIGNED_ENV]), allowedSigners };
}

export function maxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  // The runbook language's durations ("90s", "5m"); a bare number is seconds.
  const v = env[MAX_AGE_ENV]?.trim();
  if (!v) return DEFAULT_MAX_AGE_MS;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  try {
    return parseDurationMs(v);
  } catch {
    return DEFAULT_MAX_AGE_MS;
  }
}

export function verbOf(action: RequestAction): Verb {
  return action === 'approve' || action === 'reject' ? 'approve' : action === 'set-params' ? 'setParams' : action;
}

/**
 * The hash a start request binds: the run's whole input (runbook, params, child runbooks, and the
 * plan an applied run is bound to; absent, the hash is as it was before plans).
 */
export const startHash = (s: { runbook: unknown; params: unknown; children?: unknown; plan?: unknown }): string => hashOf({ runbook: s.runbook, params: s.params, children: s.children ?? {}, plan: s.plan });
/** The hash a set-params request binds: the params as requested. */
export const paramsHash = (p: Record<string, unknown>): string => hashOf({ params: p });

async function verifyProof(input: AuthorizeInput, proof: Proof, allowedSigners: string, cfg: () => ApproversConfig, policy: AccessPolicy | undefined, env: NodeJS.ProcessEnv): Promise<AuthRecord | string> {
  if (proof?.kind !== 'sshsig' || typeof proof.payload !== 'string' || typeof proof.signature !== 'string' || typeof proof.principal !== 'string') return 'malformed proof';
  let claim: RequestClaim;
  try {
    claim = JSON.parse(proof.payload);
  } catch {
    return 'malformed signed request (not JSON)';
  }
  if (claim?.v !== REQUEST_VERSION) return `signed request has version ${JSON.stringify(claim?.v)}, expected ${REQUEST_VERSION}`;
  let key: string;
  try {
    key = (await verifySignature(allowedSigners, proof.principal, proof.payload, proof.signature)).key;
  } catch (e) {
    return `signature of ${proof.principal} does not verify against ${allowedSigners}: ${(e as Error).message}`;
  }
  // The signature is good: now it must be for exactly this request.
  const wrong = (what: string, signed: unknown, here: unknown) => `the signature is for ${what} ${JSON.stringify(signed)}, not ${JSON.stringify(here)}: a signed request cannot be reused`;
  if (claim.action !== input.action) return wrong('action', claim.action, input.action);
  if (claim.runbook !== input.runbook) return wrong('runbook', claim.runbook, input.runbook);
  if (claim.schedule !== undefined) {
    if (input.action !== 'start') return 'a schedule signature only starts runs';
    if (input.scheduledBy !== claim.schedule) return `the signature is for runs of schedule ${JSON.stringify(claim.schedule)}, but this run was not started by that schedule (${input.scheduledBy ? `scheduled by ${input.scheduledBy}` : 'not scheduled'})`;
    if (!input.workflowId.startsWith(`${claim.workflowId}-`)) return wrong('workflow id prefix', claim.workflowId, input.workflowId);
  } else if (claim.workflowId !== input.workflowId) return wrong('run', claim.workflowId, input.workflowId);
  if (claim.user !== input.user) return wrong('identity', claim.user, input.user);
  let expected: string | null;
  if (input.action === 'start') expected = startHash(input.start ?? { runbook: null, params: null });
  else if (input.action === 'approve' || input.action === 'reject') expected = input.planHash ?? null;
  else if (input.action === 'set-params') expected = paramsHash(input.params ?? {});
  else expected = null;
  if ((claim.hash ?? null) !== expected) {
    if (input.action === 'approve' || input.action === 'reject') return `the signature is for plan ${String(claim.hash).slice(0, 12)}, but the plan is now ${String(expected).slice(0, 12)}: review the new plan and decide again`;
    return `the signed ${input.action === 'start' ? 'run input' : input.action === 'set-params' ? 'params' : 'content'} hash ${String(claim.hash).slice(0, 12)} does not match what was sent (${String(expected).slice(0, 12)})`;
  }
  if ((input.action === 'approve' || input.action === 'reject') && claim.step && input.step && claim.step !== input.step && !input.step.endsWith(`.${claim.step}`)) return wrong('step', claim.step, input.step);
  if (claim.schedule === undefined) {
    const at = Date.parse(claim.at);
    const now = input.now ?? Date.now();
    const max = input.queued ? Math.max(QUEUED_MAX_AGE_MS, maxAgeMs(env)) : maxAgeMs(env);
    if (!Number.isFinite(at)) return 'the signed request has no valid time';
    if (now - at > max) return `the signed request is too old (signed at ${claim.at}, more than ${Math.round(max / 1000)}s ago)`;
    if (at - now > MAX_FUTURE_SKEW_MS) return `the signed request is from the future (${claim.at}); check the clocks`;
  }
  if (typeof claim.nonce !== 'string' || claim.nonce.length < 16) return 'the signed request has no nonce';
  const base = { user: claim.user, key, nonce: claim.nonce, signedAt: claim.at };
  if (proof.principal === claim.user && !claim.via) return { ...base, method: claim.schedule !== undefined ? 'schedule' : 'ssh' };
  // Signed by someone else: only a trusted gateway, vouching for a console user it authenticated, or
  // for a Slack user the approvers file maps to this identity.
  const gateways = [...(policy?.gateways ?? []), ...(env[TRUSTED_GATEWAYS_ENV]?.split(',').map((s) => s.trim()).filter(Boolean) ?? [])];
  if (claim.via === 'console' && gateways.includes(proof.principal)) return { ...base, method: 'console', via: proof.principal };
  if (claim.via !== 'slack' || !gateways.includes(proof.principal))
    return `${proof.principal} signed a request for ${claim.user}; only ${claim.user}'s own key${gateways.length ? ` or a trusted gateway (${gateways.join(', ')})` : ''} may`;
  const mapped = claim.slackUser ? identityForSlackUser(cfg(), claim.slackUser) : undefined;
  if (mapped !== claim.user) return `gateway ${proof.principal} vouched for Slack user ${claim.slackUser} as ${claim.user}, but the approvers file maps that Slack user to ${mapped ?? 'nobody'}`;
  return { ...base, method: 'slack', via: proof.principal, slackUser: claim.slackUser };
}

export async function authorizeRequest(input: AuthorizeInput, env: NodeJS.ProcessEnv = process.env): Promise<AuthorizeResult> {
  try {
    const mode = identityMode(env);
    let approvers: ApproversConfig | undefined;
    const cfg = () => (approvers ??= loadApprovers(env));
    const policy = loadAccessPolicy(env);
    let auth: AuthRecord;
    if (typeof input.user !== 'string') return { ok: false, reason: 'no identity given' };
    if (mode.signed) {
      if (!input.user) return { ok: false, reason: 'no identity given' };
      if (!mode.allowedSigners) return { ok: false, reason: `${REQUIRE_SIGNED_ENV} is set but ${ALLOWED_SIGNERS_ENV} is not: no signature can be verified, every request is refused` };
      if (!existsSync(mode.allowedSigners)) return { ok: false, reason: `allowed signers file ${mode.allowedSigners} does not exist` };
      if (!input.proof) return { ok: false, reason: `unsigned claim to be ${input.user}: this worker requires signed requests (sign with --key or RUNWRIGHT_SIGNING_KEY)` };
      const r = await verifyProof(input, input.proof, mode.allowedSigners, cfg, policy, env);
      if (typeof r === 'string') return { ok: false, reason: r };
      auth = r;
    } else {
      // Local mode: a claim proves nothing, so no claim at all (a client that sets no startedBy) is
      // no weaker; the access policy below still decides for the anonymous starter.
      auth = { user: input.user, method: 'claim', note: input.user ? `not verified: the worker has no ${ALLOWED_SIGNERS_ENV} (local mode)` : 'no identity claimed (local mode)' };
    }
    const refusal = policyRefusal(policy, policy ? cfg() : {}, verbOf(input.action), input.runbook, input.labels, auth.user);
    if (refusal) return { ok: false, reason: refusal };
    return { ok: true, auth };
  } catch (e) {
    // A broken policy or approvers file refuses (never allows), with the reason.
    return { ok: false, reason: `cannot check authorization: ${(e as Error).message}` };
  }
}
