/**
 * Zabbix JSON-RPC client (api_jsonrpc.php) with Zabbix 6.0 semantics: the API token goes in the
 * request body's `auth` field (the `Authorization: Bearer` header only works from 6.4 on).
 * The token is a secret reference resolved inside the worker; it never appears in outputs,
 * errors or logs (redacted here and masked by the action wrapper).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { timeoutFields, timeoutOf } from '../define';
import { redact, resolveSecret, SecretRef } from '../../lib/secrets';
import { fetchGuarded, responseText } from '../../lib/bounded';

const MAX_BODY = 8 * 1024 * 1024;

export const zbxTarget = {
  url: z.url({ protocol: /^https?$/ }).describe('Zabbix frontend URL (http://zabbix/zabbix); api_jsonrpc.php is appended unless the URL already ends with it.'),
  token: SecretRef.describe('Zabbix API token (Administration → API tokens) as a secret reference: secret:zabbix-token.'),
  ...timeoutFields(1, 600_000, 15_000, 'Per API call.'),
};

export interface ZbxTarget {
  url: string;
  token: string;
  timeout?: number;
  timeoutMs?: number;
}

/** The name marker of a maintenance made by this step (same on every retry). */
export function maintenanceMarker(idempotencyKey: string): string {
  return `[runwright:${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}]`;
}

export function apiUrl(url: string): string {
  return /api_jsonrpc\.php$/.test(url) ? url : `${url.replace(/\/+$/, '')}/api_jsonrpc.php`;
}

export class ZabbixClient {
  private readonly token: string;
  private seq = 0;
  constructor(private readonly t: ZbxTarget, private readonly signal: AbortSignal) {
    this.token = resolveSecret(t.token, { destination: t.url });
  }

  async call<T>(method: string, params: unknown): Promise<T> {
    const url = apiUrl(this.t.url);
    const what = `zabbix ${method}`;
    const body = JSON.stringify({ jsonrpc: '2.0', method, params, auth: this.token, id: ++this.seq });
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(timeoutOf(this.t, 15_000))]);
    let res: Response;
    try {
      res = await fetchGuarded(url, { method: 'POST', headers: { 'content-type': 'application/json-rpc', accept: 'application/json' }, body, signal, secret: true }, what);
    } catch (e: any) {
      if (this.signal.aborted || e instanceof ApplicationFailure) throw e;
      throw ApplicationFailure.retryable(`${what}: connection to ${url} failed (${e?.cause?.code ?? e?.cause?.message ?? e?.name ?? 'error'})`, 'ZabbixConnectionError');
    }
    const text = redact(await responseText(res, what, MAX_BODY), [this.token]);
    if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(`${what}: HTTP ${res.status}: ${text.slice(0, 300)}`, 'ZabbixServerError');
    if (res.status !== 200) throw ApplicationFailure.nonRetryable(`${what}: HTTP ${res.status}: ${text.slice(0, 300)}`, 'ZabbixClientError');
    let json: { result?: T; error?: { code: number; message: string; data?: string } };
    try {
      json = JSON.parse(text);
    } catch {
      throw ApplicationFailure.retryable(`${what}: not JSON: ${text.slice(0, 200)}`, 'ZabbixBadResponse');
    }
    if (json.error) {
      // -32602 invalid params, -32500 application error (permissions, not found), -32600 invalid request: the same call fails again.
      throw ApplicationFailure.nonRetryable(`${what}: ${json.error.message} ${json.error.data ?? ''}`.trim(), 'ZabbixApiError');
    }
    return json.result as T;
  }
}

export function zabbixClient(t: ZbxTarget, signal: AbortSignal): ZabbixClient {
  return new ZabbixClient(t, signal);
}

export interface ZbxMaintenance {
  maintenanceid: string;
  name: string;
  active_since: string;
  active_till: string;
  hosts?: { hostid: string; host?: string; name?: string }[];
  groups?: { groupid: string; name?: string }[];
}
