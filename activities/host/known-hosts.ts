/**
 * OpenSSH known_hosts: plain and hashed (`|1|salt|hash`) host patterns, `[host]:port`,
 * wildcards and negation, `@revoked` keys. Used by ssh2's hostVerifier so that host keys are
 * checked like OpenSSH's StrictHostKeyChecking=yes by default.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  line: number;
  marker?: '@revoked' | '@cert-authority';
  /** Comma-separated patterns, or a hashed host. */
  patterns?: string[];
  hashed?: { salt: Buffer; hash: string };
  keyType: string;
  /** base64 of the key blob */
  key: string;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l || l.startsWith('#')) continue;
    const f = l.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (f[0] === '@revoked' || f[0] === '@cert-authority') marker = f.shift() as KnownHostEntry['marker'];
    else if (f[0].startsWith('@')) continue;
    if (f.length < 3) continue;
    const [hosts, keyType, key] = f;
    const e: KnownHostEntry = { line: i + 1, marker, keyType, key };
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (!salt || !hash) continue;
      e.hashed = { salt: Buffer.from(salt, 'base64'), hash };
    } else e.patterns = hosts.split(',');
    out.push(e);
  }
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, s: string): boolean {
  let re = '^';
  for (const c of pattern) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`, 'i').test(s);
}

export function entryMatches(e: KnownHostEntry, name: string): boolean {
  if (e.hashed) return createHmac('sha1', e.hashed.salt).update(name).digest('base64') === e.hashed.hash;
  let hit = false;
  for (const p of e.patterns ?? []) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) hit = true;
  }
  return hit;
}

export interface HostKeyLookup {
  /** Acceptable keys: keyType + base64 blob. */
  keys: { keyType: string; key: string; line: number }[];
  revoked: Set<string>;
}

export function lookupHostKeys(entries: KnownHostEntry[], host: string, port = 22): HostKeyLookup {
  const names = [knownHostName(host, port)];
  const keys: HostKeyLookup['keys'] = [];
  const revoked = new Set<string>();
  for (const e of entries) {
    if (!names.some((n) => entryMatches(e, n))) continue;
    if (e.marker === '@revoked') revoked.add(e.key);
    else if (!e.marker) keys.push({ keyType: e.keyType, key: e.key, line: e.line });
  }
  return { keys, revoked };
}

/** Key type name inside an SSH public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Host key algorithms ssh2 should ask for, from the key types already known for a host. */
export function hostKeyAlgorithms(keyTypes: string[]): string[] | undefined {
  const out: string[] = [];
  for (const t of keyTypes) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return out.length ? [...new Set(out)] : undefined;
}

export function readKnownHosts(file: string): KnownHostEntry[] {
  if (!existsSync(file)) return [];
  return parseKnownHosts(readFileSync(file, 'utf8'));
}

export function appendKnownHost(file: string, host: string, port: number, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${knownHostName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
