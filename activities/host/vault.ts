/**
 * Ansible Vault (format 1.1 and 1.2, AES256), decrypted in host.play with the vault password the
 * worker's secrets policy grants: `!vault |` values and whole encrypted vars files stay encrypted
 * in the play (and in the workflow history) and are opened only on the worker, per run.
 * Format (ansible.parsing.vault): header `$ANSIBLE_VAULT;1.1;AES256[;label]`, then hex of
 * "hex(salt)\nhex(hmac)\nhex(ciphertext)"; keys from PBKDF2-HMAC-SHA256(password, salt, 10000,
 * 80 bytes) = 32 bytes AES key, 32 bytes HMAC key, 16 bytes CTR counter; HMAC-SHA256 over the
 * ciphertext; AES-256-CTR; PKCS#7 padding.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

export class VaultError extends Error {
  name = 'VaultError';
}

export const isVaultText = (s: unknown): s is string => typeof s === 'string' && s.trimStart().startsWith('$ANSIBLE_VAULT;');

export function decryptVault(text: string, password: string): string {
  const lines = text.trim().split(/\r?\n/);
  const header = lines[0].split(';');
  if (header[0] !== '$ANSIBLE_VAULT' || !['1.1', '1.2'].includes(header[1]) || header[2]?.trim() !== 'AES256')
    throw new VaultError(`unsupported vault format "${lines[0]}" (expected $ANSIBLE_VAULT;1.1 or 1.2;AES256)`);
  const body = Buffer.from(lines.slice(1).join('').replace(/\s+/g, ''), 'hex').toString('ascii').split('\n');
  if (body.length < 3) throw new VaultError('malformed vault text');
  const [salt, hmac, cipher] = body.map((h) => Buffer.from(h, 'hex'));
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 10000, 80, 'sha256');
  const mac = createHmac('sha256', key.subarray(32, 64)).update(cipher).digest();
  if (mac.length !== hmac.length || !timingSafeEqual(mac, hmac)) throw new VaultError('the vault password does not open this vault (HMAC mismatch)');
  const d = createDecipheriv('aes-256-ctr', key.subarray(0, 32), key.subarray(64, 80));
  const padded = Buffer.concat([d.update(cipher), d.final()]);
  const pad = padded[padded.length - 1];
  if (!pad || pad > 16) throw new VaultError('malformed vault padding');
  return padded.subarray(0, padded.length - pad).toString('utf8');
}

type Dict = Record<string, unknown>;

/**
 * Vars with vault values opened: `{__vault: text}` values (from `!vault |`) and `__rw_vault_files`
 * (whole encrypted vars files, YAML inside). `opened` receives every decrypted value (to mask it).
 */
export function openVaultVars(vars: Dict, password: string | undefined, parseYaml: (s: string) => unknown, opened: (v: string) => void): Dict {
  const need = () => {
    if (password === undefined) throw new VaultError('the play has vault-encrypted vars but no vault password was given (host.play `vaultPassword`, a secret reference granted by the worker\'s secrets policy)');
    return password;
  };
  const open = (v: unknown): unknown => {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Dict).__vault === 'string' && Object.keys(v).length === 1) {
      const plain = decryptVault((v as { __vault: string }).__vault, need());
      opened(plain);
      return plain;
    }
    if (Array.isArray(v)) return v.map(open);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, open(x)]));
    return v;
  };
  const { __rw_vault_files: files, ...rest } = vars;
  let out = open(rest) as Dict;
  for (const f of (files as string[] | undefined) ?? []) {
    const plain = decryptVault(f, need());
    const parsed = parseYaml(plain);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new VaultError('an encrypted vars file does not hold a mapping of variables');
    const collect = (x: unknown): void => {
      if (typeof x === 'string' && x.length >= 4) opened(x);
      else if (x && typeof x === 'object') for (const y of Object.values(x)) collect(y);
    };
    collect(parsed);
    out = { ...out, ...(parsed as Dict) };
  }
  return out;
}

/** Whether vars hold anything encrypted (so a missing password is only an error when needed). */
export function hasVault(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hasVault);
  if ('__vault' in (v as Dict) || '__rw_vault_files' in (v as Dict)) return true;
  return Object.values(v as Dict).some(hasVault);
}
