/**
 * Secrets are passed through workflows as references ("env:NAME", "file:/path"), never as
 * values, so they stay out of Temporal history. Activities resolve them at the last moment.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const SecretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'expected a secret reference: env:VAR_NAME or file:/path/to/secret')
  .describe('Secret reference (env:NAME or file:PATH), resolved inside the worker.');

export class SecretError extends Error {
  name = 'SecretError';
}

export function resolveSecret(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const v = env[name];
    if (v === undefined) throw new SecretError(`secret ${ref}: environment variable ${name} is not set on the worker`);
    return v;
  }
  if (ref.startsWith('file:')) {
    try {
      return readFileSync(ref.slice(5), 'utf8').replace(/\r?\n$/, '');
    } catch (e: any) {
      throw new SecretError(`secret ${ref}: cannot read file (${e.code ?? e.message})`);
    }
  }
  throw new SecretError(`not a secret reference: use env:NAME or file:PATH`);
}

/** Replace every occurrence of the given secret values, for outputs and error messages. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}
