/**
 * Proven identity on the CLI side: sign requests with an SSH key (`--key FILE` or
 * RUNWRIGHT_SIGNING_KEY; a private key file, or a .pub whose key ssh-agent holds), and refuse
 * early (exit 2) what the access policy would refuse anyway when the CLI can read that policy.
 * The identity that signs is the principal the worker's allowed_signers file lists: --as /
 * RUNWRIGHT_USER / the OS user must name it.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadApprovers } from '../lib/approvers';
import { ENV } from '../lib/config';
import { paramsHash, startHash, verbOf } from '../lib/identity/authorize';
import { loadAccessPolicy, policyRefusal } from '../lib/identity/policy';
import { newClaim, type Proof, type RequestAction, type RequestClaim } from '../lib/identity/request';
import { signClaim } from '../lib/identity/ssh';
import type { RunInput } from '../workflows/definitions';
import { CliError, EXIT } from './session';

export const SIGNING_KEY_ENV = ENV.signingKey;
export const KEY_OPTION: [string, string] = ['--key <file>', `SSH key to sign the request with (private key, or .pub of an ssh-agent key; default ${SIGNING_KEY_ENV})`];

export function signingKey(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const k = explicit ?? env[SIGNING_KEY_ENV];
  if (!k) return undefined;
  return resolve(k.replace(/^~(?=\/|$)/, homedir()));
}

/** Sign the request when a key is configured; no key: an unsigned claim (accepted only by a worker in local mode). */
export async function proofFor(claim: Omit<RequestClaim, 'v' | 'at' | 'nonce'> & { at?: string }, key: string | undefined): Promise<Proof | undefined> {
  if (!key) return undefined;
  try {
    return await signClaim(newClaim(claim), key);
  } catch (e) {
    throw new CliError(`cannot sign the request: ${(e as Error).message}`, EXIT.usage);
  }
}

/** Exit 2 early when the access policy the CLI can read refuses `user` (the worker checks again; it is the authority). */
export function checkPolicyEarly(action: RequestAction, runbook: string, labels: Record<string, string> | undefined, user: string): void {
  let refusal: string | undefined;
  try {
    const policy = loadAccessPolicy();
    refusal = policy ? policyRefusal(policy, loadApprovers(), verbOf(action), runbook, labels, user) : undefined;
  } catch (e) {
    throw new CliError(`refused: ${(e as Error).message}`, EXIT.usage);
  }
  if (refusal) throw new CliError(`refused: ${refusal}`, EXIT.usage);
}

/** Sign a start: binds the workflow id, runbook and the hash of the whole input (runbook, params, children). */
export async function signStart(input: RunInput, workflowId: string, key: string | undefined, schedule?: string): Promise<RunInput> {
  checkPolicyEarly('start', input.runbook.metadata.name, input.runbook.metadata.labels, input.startedBy ?? '');
  const proof = await proofFor({ action: 'start', workflowId, runbook: input.runbook.metadata.name, hash: startHash(input), user: input.startedBy ?? '', ...(schedule ? { schedule } : {}) }, key);
  return proof ? { ...input, proof } : input;
}

export { runFacts, type RunFacts } from '../client/runs';
export { paramsHash };
