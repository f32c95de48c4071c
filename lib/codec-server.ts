/**
 * Temporal's codec-server protocol over HTTP (`runwright codec serve`, cli/codec.ts; and the
 * embedded UI of `runwright dev`), so people holding the keys can read sealed history
 * (lib/codec.ts) in the Temporal UI and CLI:
 *   temporal workflow show -w ID --codec-endpoint http://127.0.0.1:8234 --codec-auth "Bearer $TOKEN"
 * POST …/encode and …/decode take and return {"payloads":[{"metadata":{k: base64},"data": base64}]}
 * (only the last path segment counts, so it can be mounted under any prefix). CORS answers the
 * Temporal UI's origin. Every request needs the token (Authorization: Bearer TOKEN, or the bare
 * token) when one is set; callers allow none only on a loopback address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { SealedPayloadError } from './codec';

export const DEFAULT_CODEC_PORT = 8234;
const MAX_BODY = 32 << 20;

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  port?: number;
  /** Origins allowed to call from a browser (the Temporal UI); "*" for any. */
  corsOrigins?: string[];
  /** Required unless undefined (then the caller made sure the address is loopback). */
  token?: string;
  log?: (m: string) => void;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');

function fromJson(p: JsonPayload): Payload {
  if (!p || typeof p !== 'object') throw new TypeError('each payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new TypeError(`metadata ${k} must be a base64 string`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data !== undefined && typeof p.data !== 'string') throw new TypeError('data must be a base64 string');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(req: IncomingMessage, token: string): boolean {
  const h = String(req.headers.authorization ?? '').trim();
  const given = /^bearer\s+/i.test(h) ? h.replace(/^bearer\s+/i, '') : h;
  // Compare digests: constant time, and no length leak.
  return given !== '' && timingSafeEqual(digest(given), digest(token));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startCodecServer(o: CodecServerOptions): Promise<CodecServer> {
  const log = o.log ?? (() => undefined);
  const origins = o.corsOrigins ?? [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const origin = req.headers.origin;
    if (origin && (origins.includes(origin) || origins.includes('*'))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    // Preflights carry no credentials by design; they only learn what the real request may do.
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
    const op = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    if (!op) return send(res, 404, { error: 'POST /encode or /decode' });
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
    if (o.token !== undefined && !authorized(req, o.token)) {
      log(`codec: refused ${op} from ${req.socket.remoteAddress}: missing or wrong token`);
      return send(res, 401, { error: 'missing or wrong token (Authorization: Bearer TOKEN)' });
    }
    try {
      const body = JSON.parse(await readBody(req));
      if (!body || !Array.isArray(body.payloads)) return send(res, 400, { error: 'expected {"payloads": [...]}' });
      const payloads = (body.payloads as JsonPayload[]).map(fromJson);
      let result: Payload[];
      if (op === 'encode') result = await o.codec.encode(payloads);
      else {
        // One payload this server cannot open must not hide the others: it stays sealed.
        result = [];
        for (const p of payloads) {
          try {
            result.push(...(await o.codec.decode([p])));
          } catch (e) {
            if (!(e instanceof SealedPayloadError)) throw e;
            log(`codec: ${e.message}`);
            result.push(p);
          }
        }
      }
      send(res, 200, { payloads: result.map(toJson) });
    } catch (e: any) {
      send(res, e?.status ?? 400, { error: String(e?.message ?? e) });
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? DEFAULT_CODEC_PORT, o.host ?? '127.0.0.1', () => resolveListen());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
