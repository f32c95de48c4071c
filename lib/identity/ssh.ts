/**
 * SSH signatures, the model git uses: `ssh-keygen -Y sign` with a private key file or an
 * agent-held key (give the .pub path), `ssh-keygen -Y verify` against an allowed_signers file.
 * Nothing here runs in workflow code (the worker verifies in an activity).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from './canonical';
import { SIGNATURE_NAMESPACE, type Proof, type RequestClaim } from './request';

export const SSH_KEYGEN = process.env.RUNWRIGHT_SSH_KEYGEN ?? 'ssh-keygen';

function run(args: string[], stdin: string, timeoutMs = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = execFile(SSH_KEYGEN, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (e, stdout, stderr) => {
      if (e && typeof (e as NodeJS.ErrnoException).code === 'string') return reject(new Error(`cannot run ${SSH_KEYGEN}: ${(e as NodeJS.ErrnoException).code}`));
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    p.stdin?.end(stdin);
  });
}

/** Sign a claim with `ssh-keygen -Y sign -n runwright -f KEY` (KEY: private key, or a .pub whose key is in ssh-agent). */
export async function signClaim(claim: RequestClaim, keyFile: string, principal = claim.user): Promise<Proof> {
  const payload = canonicalJson(claim);
  const r = await run(['-Y', 'sign', '-n', SIGNATURE_NAMESPACE, '-q', '-f', keyFile], payload);
  if (r.code !== 0 || !r.stdout.includes('BEGIN SSH SIGNATURE')) {
    throw new Error(`cannot sign with ${keyFile}: ${(r.stderr || r.stdout).trim().split('\n')[0] || `ssh-keygen exit ${r.code}`}`);
  }
  return { kind: 'sshsig', payload, signature: r.stdout, principal };
}

/**
 * Verify `signature` over `payload` for `principal` against an allowed_signers file.
 * Returns the key fingerprint, or throws with ssh-keygen's reason.
 */
export async function verifySignature(allowedSigners: string, principal: string, payload: string, signature: string): Promise<{ key: string }> {
  if (!/^[\w.@+-]{1,128}$/.test(principal)) throw new Error(`bad principal ${JSON.stringify(principal).slice(0, 80)}`);
  const dir = mkdtempSync(join(tmpdir(), 'rw-sig-'));
  try {
    const sig = join(dir, 'sig');
    writeFileSync(sig, signature);
    const r = await run(['-Y', 'verify', '-f', allowedSigners, '-I', principal, '-n', SIGNATURE_NAMESPACE, '-s', sig], payload);
    if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `ssh-keygen exit ${r.code}`);
    const m = /key (SHA256:\S+)/.exec(r.stdout + r.stderr);
    return { key: m?.[1] ?? 'unknown' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
