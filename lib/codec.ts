/**
 * Sealed history: a Temporal PayloadCodec that encrypts every payload (workflow input = the
 * runbook and its params, activity inputs and results = step outputs, update args = decisions,
 * memos, query results, failure messages via lib/failure-converter.ts) with AES-256-GCM before
 * it leaves the process. The Temporal server, its database and its UI only ever see ciphertext;
 * `runwright codec serve` (cli/codec-server.ts) decodes for `temporal --codec-endpoint` / the UI.
 *
 * Keys (32 random bytes, base64 or hex) are given by reference (env:NAME, file:PATH):
 *   RUNWRIGHT_CODEC_KEYS=PATH   a keyring file: `active: NAME` + `keys: {NAME: env:…|file:…}`;
 *                               new payloads use the active key, any listed key decrypts
 *   RUNWRIGHT_CODEC_KEY=REF     one key (encrypts and decrypts)
 *   RUNWRIGHT_CODEC=off         no encryption (payloads already sealed still need a key)
 * With none of them and the embedded/local default server, the CLI keeps a generated key in
 * the data folder (.runwright/codec.key), so local history is sealed without any setup.
 *
 * A payload's key id is a fingerprint of the key, not its name: the same key works under any
 * name or source (keyring, single key, local file). Payloads without the encrypted encoding
 * (runs recorded before the codec, recorded test histories) pass through decode unchanged.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { resolveOperatorSecret, SecretError, SecretRef } from './secrets';
import { ENV } from './config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CODEC_ENV = { keys: ENV.codecKeys, key: ENV.codecKey, mode: 'RUNWRIGHT_CODEC' } as const;
export const LOCAL_KEY_FILE = 'codec.key';

/** Bad codec configuration: the CLI reports the message and exits 2. */
export class CodecConfigError extends Error {
  name = 'CodecConfigError';
}

/** A sealed payload this process cannot open (unknown key, or tampered with). */
export class SealedPayloadError extends Error {
  name = 'SealedPayloadError';
}

export interface CodecKey {
  /** Fingerprint, stored in each payload's metadata. */
  id: string;
  /** For people: the keyring name, or where the key came from. */
  name: string;
  key: Buffer;
}

export interface Keyring {
  /** The key new payloads are sealed with; none: payloads are written in plaintext. */
  active?: CodecKey;
  /** Every key that may open a payload (the active one included). */
  keys: CodecKey[];
  /** Where the configuration came from, for log lines and errors. */
  source: string;
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update('runwright-codec-v1\0').update(key).digest('hex').slice(0, 16);
}

/** 32 bytes from base64 (standard or URL-safe) or hex text. */
export function parseKey(text: string, label: string): Buffer {
  const t = text.trim();
  let b: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) b = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) b = Buffer.from(t, 'base64');
  if (!b || b.length !== 32)
    throw new CodecConfigError(
      `${label}: a codec key must be 32 random bytes written as base64 (44 characters) or hex (64); ${b ? `this one decodes to ${b.length} bytes` : 'this one is neither'}. Make one with \`runwright codec keygen\` (or \`openssl rand -base64 32\`).`,
    );
  return b;
}

function keyFrom(ref: string, name: string, label: string, env: NodeJS.ProcessEnv): CodecKey {
  let text: string;
  try {
    text = resolveOperatorSecret(ref, env);
  } catch (e) {
    throw new CodecConfigError(`${label}: ${e instanceof SecretError ? e.message : String(e)}`);
  }
  const key = parseKey(text, label);
  return { id: keyId(key), name, key };
}

const KeyringFile = z.strictObject({
  active: z.string().min(1).describe('Name of the key new payloads are sealed with.'),
  keys: z.record(z.string().min(1), SecretRef).describe('Every key that may open payloads, by name: env:NAME or file:PATH.'),
});

function keyringFromFile(path: string, env: NodeJS.ProcessEnv): Keyring {
  const label = `${CODEC_ENV.keys}=${path}`;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e: any) {
    throw new CodecConfigError(`${label}: cannot read the keyring (${e.code ?? String(e.message).split('\n')[0]})`);
  }
  const r = KeyringFile.safeParse(doc);
  if (!r.success) throw new CodecConfigError(`${label}: ${r.error.issues.map((i) => `${i.path.join('.') || 'keyring'}: ${i.message}`).join('; ')}. Expected:\n  active: NAME\n  keys:\n    NAME: env:VAR | file:PATH`);
  if (!(r.data.active in r.data.keys)) throw new CodecConfigError(`${label}: active key "${r.data.active}" is not under keys (${Object.keys(r.data.keys).join(', ') || 'none'})`);
  const keys = Object.entries(r.data.keys).map(([name, ref]) => {
    // file: paths are relative to the keyring, so a keyring and its keys can move together.
    const abs = ref.startsWith('file:') && !isAbsolute(ref.slice(5)) ? `file:${join(dirname(resolve(path)), ref.slice(5))}` : ref;
    return keyFrom(abs, name, `${label}: key "${name}" (${ref})`, env);
  });
  return { active: keys.find((k) => k.name === r.data.active), keys, source: label };
}

export interface KeyringOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * The local default (no Temporal server configured): the data folder's codec.key is used
   * when nothing else is configured, and created when `create` (the CLI starts the embedded
   * server). When keys are configured, an existing local key still opens what it sealed.
   */
  local?: { dir: string; create: boolean };
}

function localKey(dir: string, create: boolean): CodecKey | undefined {
  const file = join(dir, LOCAL_KEY_FILE);
  if (!existsSync(file)) {
    if (!create) return undefined;
    mkdirSync(dir, { recursive: true });
    try {
      // 'wx': two processes starting at once must not each write a different key.
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw new CodecConfigError(`cannot create the local codec key ${file}: ${e.code ?? e.message}`);
    }
  }
  return keyFrom(`file:${file}`, `local (${file})`, `local codec key ${file}`, {});
}

/** The codec keys of this process, from the environment (see the file comment). */
export function loadKeyring(opts: KeyringOptions = {}): Keyring {
  const env = opts.env ?? process.env;
  const mode = (env[CODEC_ENV.mode] ?? '').trim().toLowerCase();
  if (mode && mode !== 'off' && mode !== 'on') throw new CodecConfigError(`${CODEC_ENV.mode}=${env[CODEC_ENV.mode]}: expected "off" (or unset)`);
  const file = env[CODEC_ENV.keys]?.trim();
  const single = env[CODEC_ENV.key]?.trim();
  if (file && single) throw new CodecConfigError(`set ${CODEC_ENV.keys} (a keyring file) or ${CODEC_ENV.key} (one key), not both`);
  const local = opts.local ? localKey(opts.local.dir, opts.local.create && mode !== 'off' && !file && !single) : undefined;
  let ring: Keyring;
  if (mode === 'off') ring = { keys: [], source: `${CODEC_ENV.mode}=off` };
  else if (file) ring = keyringFromFile(file, env);
  else if (single) {
    const k = keyFrom(single, single, `${CODEC_ENV.key}=${single}`, env);
    ring = { active: k, keys: [k], source: `${CODEC_ENV.key}=${single}` };
  } else if (local) ring = { active: local, keys: [local], source: `local key ${join(opts.local!.dir, LOCAL_KEY_FILE)}` };
  else ring = { keys: [], source: 'no codec key configured' };
  // Runs sealed earlier with the local key stay readable after switching to configured keys.
  if (local && !ring.keys.some((k) => k.id === local.id)) ring.keys.push(local);
  return ring;
}

export function describeKeyring(ring: Keyring): string {
  if (!ring.active) {
    const also = ring.keys.length ? `; ${ring.keys.length} key(s) can still open sealed payloads` : '';
    return `history NOT sealed (${ring.source}; set ${CODEC_ENV.keys} or ${CODEC_ENV.key})${also}`;
  }
  return `history sealed with AES-256-GCM, key ${ring.active.id} (${ring.source})${ring.keys.length > 1 ? `, ${ring.keys.length - 1} more key(s) to open older payloads` : ''}`;
}

const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

export function isSealed(p: Payload | null | undefined): boolean {
  return !!p?.metadata && text(p.metadata.encoding) === ENCRYPTED_ENCODING;
}

export class SealCodec implements PayloadCodec {
  private readonly byId: Map<string, CodecKey>;
  constructor(readonly ring: Keyring) {
    this.byId = new Map(ring.keys.map((k) => [k.id, k]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const k = this.ring.active;
    if (!k) return payloads;
    return payloads.map((p) => {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', k.key, iv);
      // The key id is authenticated too: a payload cannot be relabelled to another key.
      c.setAAD(Buffer.from(k.id));
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const body = Buffer.concat([iv, c.update(plain), c.final(), c.getAuthTag()]);
      return { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(k.id) }, data: body };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isSealed(p) ? this.open(p) : p));
  }

  private open(p: Payload): Payload {
    const id = text(p.metadata?.[KEY_ID_METADATA]);
    const k = this.byId.get(id);
    if (!k) {
      const known = this.ring.keys.map((x) => x.id).join(', ') || 'none';
      throw new SealedPayloadError(
        `payload sealed with codec key ${id || '(no id)'}, which this process does not have (its keys: ${known}; ${this.ring.source}). ` +
          `Give it the key that sealed the run: ${CODEC_ENV.keys} (keyring file) or ${CODEC_ENV.key} (env:NAME | file:PATH); see README "Sealed history".`,
      );
    }
    const data = Buffer.from(p.data ?? []);
    if (data.length < 28) throw new SealedPayloadError(`sealed payload (key ${id}) is truncated`);
    try {
      const d = createDecipheriv('aes-256-gcm', k.key, data.subarray(0, 12));
      d.setAAD(Buffer.from(k.id));
      d.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    } catch {
      throw new SealedPayloadError(`sealed payload (key ${id}) failed authentication: it was corrupted or altered`);
    }
  }
}

/**
 * The data converter every Temporal client and worker of Runwright uses (workers/worker.ts,
 * cli/session.ts, workers/run.ts, the codec server). Without a ring, from the environment.
 */
export function dataConverter(ring: Keyring = loadKeyring()): DataConverter {
  // Failure text is moved into a payload only when it gets sealed; plaintext histories keep
  // readable messages. Decoding either form needs nothing special.
  return { payloadCodecs: [new SealCodec(ring)], ...(ring.active ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}) };
}

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The codecs a client was made with (activity context clients included). */
export function codecsOf(client: { options: { loadedDataConverter: { payloadCodecs: PayloadCodec[] } } }): PayloadCodec[] {
  return client.options.loadedDataConverter.payloadCodecs ?? [];
}

export async function decodePayload(codecs: readonly PayloadCodec[], p: Payload): Promise<Payload> {
  let out = p;
  for (const c of [...codecs].reverse()) out = (await c.decode([out]))[0];
  return out;
}

/**
 * Open every sealed payload inside a history (or any proto message) in place: histories from
 * fetchHistory() are raw, and readers (drill reports, host recaps, `runwright history`)
 * decode payloads themselves. Payloads this process has no key for stay sealed (reported to
 * `unopened`): a reader shows what it can.
 */
export async function decodeSealedIn<T>(value: T, codecs: readonly PayloadCodec[], unopened?: (e: SealedPayloadError) => void): Promise<T> {
  if (!codecs.length) return value;
  const visit = async (o: any): Promise<void> => {
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
      if (!isSealed(v)) await visit(v);
      else
        try {
          o[k] = await decodePayload(codecs, v);
        } catch (e) {
          if (!(e instanceof SealedPayloadError)) throw e;
          unopened?.(e);
        }
    }
  };
  if (value && typeof value === 'object') await visit(value);
  return value;
}

/** A raw failure's message (describe()'s pending activities): sealed failure text opened first. */
export async function failureText(f: { message?: string | null; encodedAttributes?: Payload | null }, codecs: readonly PayloadCodec[]): Promise<string> {
  if (!f.encodedAttributes) return f.message ?? '';
  try {
    const p = await decodePayload(codecs, f.encodedAttributes);
    const attrs = JSON.parse(Buffer.from(p.data ?? []).toString('utf8')) as { message?: unknown };
    return typeof attrs.message === 'string' ? attrs.message : (f.message ?? '');
  } catch {
    return f.message ?? '';
  }
}
