/**
 * A signed request: who asks Runwright to do what, to which run, on which exact content.
 *
 * The signed bytes are the canonical JSON of a {@link RequestClaim}; the proof carries those exact
 * bytes, the SSH signature over them (`ssh-keygen -Y sign -n runwright`) and the principal that
 * signed (looked up in the worker's allowed_signers file). Binding every field below means a
 * signature cannot be replayed onto another run, another decision, another plan or later on.
 * Shared by the CLI, the Slack gateway and the worker; no I/O here.
 */
import { randomBytes } from 'node:crypto';

export const SIGNATURE_NAMESPACE = 'runwright';
export const REQUEST_VERSION = 'runwright-request/1';

export type RequestAction = 'start' | 'approve' | 'reject' | 'set-params' | 'cancel';

export interface RequestClaim {
  v: typeof REQUEST_VERSION;
  action: RequestAction;
  /** The run (for a schedule: the schedule's workflow id prefix). */
  workflowId: string;
  runbook: string;
  /**
   * What exactly is asked for: start → hash of {runbook, params, children} (the run's whole input);
   * approve/reject → the plan hash reviewed; set-params → hash of the requested params; cancel → null.
   */
  hash: string | null;
  /** approve/reject only. */
  step?: string | null;
  /** The identity acting (for Slack: the mapped identity; the gateway signs). */
  user: string;
  /** ISO time of signing; checked against a freshness window (not for schedules). */
  at: string;
  nonce: string;
  /** Set by a gateway: slack: the identity came from this Slack user id, mapped through the approvers file; console: the console authenticated the user (its tokens file). */
  via?: 'slack' | 'console';
  slackUser?: string;
  /** A schedule's start: the schedule id; every run the schedule starts acts as its creator. */
  schedule?: string;
}

export interface Proof {
  kind: 'sshsig';
  /** The exact signed bytes (canonical JSON of the claim). */
  payload: string;
  /** Armored SSH signature (-----BEGIN SSH SIGNATURE-----). */
  signature: string;
  /** allowed_signers principal that signed. */
  principal: string;
}

/** How an identity was established, as recorded in the run's status and history. */
export interface AuthRecord {
  user: string;
  /** ssh: signed by the user's key · slack / console: vouched for by a trusted gateway · claim: unsigned (local mode) · parent: started by the parent run · schedule: the schedule creator's signature. */
  method: 'ssh' | 'slack' | 'console' | 'claim' | 'parent' | 'schedule';
  /** Key fingerprint (SHA256:…) that verified, when signed. */
  key?: string;
  /** Gateway principal that vouched (Slack). */
  via?: string;
  slackUser?: string;
  nonce?: string;
  signedAt?: string;
  note?: string;
}

export function newClaim(c: Omit<RequestClaim, 'v' | 'at' | 'nonce'> & { at?: string; nonce?: string }): RequestClaim {
  return { v: REQUEST_VERSION, at: c.at ?? new Date().toISOString(), nonce: c.nonce ?? randomBytes(16).toString('hex'), ...c } as RequestClaim;
}
