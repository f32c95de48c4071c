/**
 * Canonical JSON (sorted keys, no undefined, no whitespace) and its SHA-256: what signatures and
 * plan hashes are computed over. The same value always gives the same bytes, whatever the key
 * order it was built with or whether it went through a Temporal payload round trip.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) return 'null';
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return 'null';
    if (typeof v === 'bigint') return JSON.stringify(v.toString());
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((v as { toJSON(): unknown }).toJSON());
  const keys = Object.keys(v as object)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export const hashOf = (v: unknown): string => sha256(canonicalJson(v));
