/**
 * Who is asking the console. Two modes:
 *  - local (no tokens file): the console acts as the user who started it, like the CLI on the same
 *    machine, and listens on loopback only;
 *  - token: RUNWRIGHT_CONSOLE_TOKENS names a YAML file of users and the SHA-256 of their tokens
 *    (`runwright console token USER` makes one). The browser signs in once (an HttpOnly,
 *    SameSite=Strict cookie); tools send `Authorization: Bearer TOKEN`.
 * Proof to the worker (lib/identity): with a signing key, local mode signs as the user (its own
 * key, as the CLI does); token mode signs as a trusted gateway vouching for the user
 * (`via: console`; the worker's policy must list the gateway principal). The access policy is
 * checked here first, with the CLI's messages; the worker checks again and is the authority.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ENV } from '../lib/config';
import { readYamlConfig } from '../lib/config-file';
import { newClaim, type Proof, type RequestClaim } from '../lib/identity/request';
import { signClaim } from '../lib/identity/ssh';

export const TOKENS_ENV = ENV.consoleTokens;
export const GATEWAY_PRINCIPAL_ENV = ENV.gatewayPrincipal;
export const COOKIE = 'runwright_token';

export const TokensFileSchema = z.strictObject({
  users: z
    .array(
      z.strictObject({
        user: z.string().min(1),
        tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the token, 64 lowercase hex digits (runwright console token USER prints it)'),
      }),
    )
    .min(1),
});

export class ConsoleAuthError extends Error {
  name = 'ConsoleAuthError';
}

export const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** A new random token and the line for the tokens file. */
export function newToken(user: string): { token: string; entry: { user: string; tokenSha256: string } } {
  const token = `rwc_${randomBytes(24).toString('base64url')}`;
  return { token, entry: { user, tokenSha256: sha256hex(token) } };
}

export interface ConsoleAuthOptions {
  /** Tokens file (token mode); absent: local mode. */
  tokensFile?: string;
  /** Local mode: who the console acts as. */
  localUser: string;
  /** SSH key to sign requests with (RUNWRIGHT_SIGNING_KEY). */
  signingKey?: string;
  /** Token mode: the gateway principal in the worker's allowed_signers (default console-gateway). */
  gatewayPrincipal?: string;
}

export class ConsoleAuth {
  readonly mode: 'local' | 'token';
  private readonly tokens: { user: string; hash: Buffer }[] = [];

  constructor(private readonly o: ConsoleAuthOptions) {
    this.mode = o.tokensFile ? 'token' : 'local';
    if (o.tokensFile) {
      const cfg = readYamlConfig(o.tokensFile, 'console tokens file', TokensFileSchema, (m) => new ConsoleAuthError(m));
      for (const u of cfg.users) this.tokens.push({ user: u.user, hash: Buffer.from(u.tokenSha256, 'hex') });
    }
  }

  get signing(): 'none' | 'own-key' | 'gateway' {
    return !this.o.signingKey ? 'none' : this.mode === 'token' ? 'gateway' : 'own-key';
  }

  /** The user a token belongs to (constant-time comparison of hashes), else undefined. */
  userForToken(token: string | undefined): string | undefined {
    if (!token) return undefined;
    const h = createHash('sha256').update(token, 'utf8').digest();
    let found: string | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, h)) found ??= t.user;
    return found;
  }

  /** Who sent this request: local mode, the console's user; token mode, the token's user or nobody. */
  identify(headers: { authorization?: string; cookie?: string }): string | undefined {
    if (this.mode === 'local') return this.o.localUser;
    const bearer = headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    return this.userForToken(bearer ?? cookieValue(headers.cookie, COOKIE));
  }

  /** The proof for a request the worker checks (undefined: no key, an unsigned claim for a local-mode worker). */
  async proof(claim: Omit<RequestClaim, 'v' | 'at' | 'nonce' | 'via'>): Promise<Proof | undefined> {
    if (!this.o.signingKey) return undefined;
    if (this.mode === 'local') return signClaim(newClaim(claim), this.o.signingKey);
    return signClaim(newClaim({ ...claim, via: 'console' }), this.o.signingKey, this.o.gatewayPrincipal ?? 'console-gateway');
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined; // not a token we issued
      }
    }
  }
  return undefined;
}
