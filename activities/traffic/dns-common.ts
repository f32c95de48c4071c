/** Inputs shared by the dns.records.* actions (PowerDNS Authoritative HTTP API). */
import { z } from 'zod';
import { SecretRef, resolveSecret } from '../../lib/secrets';
import { canonicalName, canonicalZone, type PdnsTarget } from './pdns-client';
import { timeoutFields, timeoutOf } from '../define';

export const PdnsConnection = {
  api: z.url({ protocol: /^https?$/, message: 'expected the http(s) URL of the PowerDNS webserver, e.g. http://127.0.0.1:8081' })
    .describe('PowerDNS webserver base URL (the API is under /api/v1).'),
  apiKey: SecretRef.describe('The X-API-Key, as a secret reference (secret:NAME from the worker\'s secrets policy).'),
  server: z.string().min(1).default('localhost').describe('Server id in the API path (localhost).'),
  zone: z.string().min(1).describe('Zone, e.g. example.com (trailing dot optional).'),
  name: z.string().min(1).describe('Record name: absolute ("app.example.com."), or relative to the zone ("app", "@").'),
  type: z.string().regex(/^[A-Za-z0-9]+$/, 'expected a record type such as A, AAAA, CNAME, TXT, LUA').default('A').transform((t) => t.toUpperCase()),
  ...timeoutFields(1, 300_000, 10_000, 'Per API request.'),
};

export function pdnsTarget(input: { api: string; apiKey: string; server: string; timeout?: number; timeoutMs?: number }, signal?: AbortSignal): PdnsTarget {
  return { api: input.api, apiKey: resolveSecret(input.apiKey, { destination: input.api }), server: input.server, timeoutMs: timeoutOf(input, 10_000), signal };
}

export function names(input: { zone: string; name: string }): { zone: string; name: string } {
  return { zone: canonicalZone(input.zone), name: canonicalName(input.name, input.zone) };
}

