/**
 * Slack settings and the Web API client, for the worker (notifications) and the gateway
 * (`runwright slack serve`). Tokens and the signing secret come from the environment or from
 * files named there, are read in these processes only, and never enter workflow inputs,
 * outputs or history.
 *
 *   SLACK_BOT_TOKEN / SLACK_BOT_TOKEN_FILE             bot token (xoxb-…): chat.postMessage, chat.update, views.open
 *   SLACK_SIGNING_SECRET / SLACK_SIGNING_SECRET_FILE   verifies requests to the HTTP endpoint
 *   SLACK_APP_TOKEN / SLACK_APP_TOKEN_FILE             app-level token (xapp-…) for Socket Mode
 *   RUNWRIGHT_SLACK_CHANNEL                            default channel for approval requests
 *   RUNWRIGHT_SLACK_API_URL                            Web API base URL (the local stand-in in tests)
 */
import { fetchGuarded, responseText } from './bounded';
import { registerSecret } from './secrets';
import { readFileSync } from 'node:fs';
import { LogLevel, WebClient, type RetryOptions } from '@slack/web-api';

export interface SlackConfig {
  botToken?: string;
  signingSecret?: string;
  appToken?: string;
  defaultChannel?: string;
  apiUrl?: string;
}

export class SlackConfigError extends Error {
  name = 'SlackConfigError';
}

function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e: any) {
    // Name the variable and file, never the content.
    throw new SlackConfigError(`${name}_FILE=${file}: cannot read (${e.code ?? e.message})`);
  }
}

export function slackConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SlackConfig {
  let apiUrl = env.RUNWRIGHT_SLACK_API_URL || undefined;
  if (apiUrl && !apiUrl.endsWith('/')) apiUrl += '/';
  return {
    botToken: secretFromEnv(env, 'SLACK_BOT_TOKEN'),
    signingSecret: secretFromEnv(env, 'SLACK_SIGNING_SECRET'),
    appToken: secretFromEnv(env, 'SLACK_APP_TOKEN'),
    defaultChannel: env.RUNWRIGHT_SLACK_CHANNEL || undefined,
    apiUrl,
  };
}

/** Retries inside one call: 429 waits for Retry-After (the client does that), 5xx and network errors back off. */
export const SLACK_RETRY: RetryOptions = { retries: 4, factor: 2, minTimeout: 300, maxTimeout: 5000, randomize: true };

const clients = new Map<string, WebClient>();

/**
 * The Web API client's transport: the bot token never follows a redirect to another origin, and
 * an answer is read with the worker's size cap (a far end cannot take the worker's memory).
 */
async function boundedFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const res = await fetchGuarded(String(url), { ...init, secret: true }, 'Slack API');
  const text = await responseText(res, 'Slack API');
  const headers = new Headers(res.headers);
  headers.delete('content-encoding');
  headers.delete('content-length');
  const empty = res.status === 204 || res.status === 304;
  return new Response(empty ? null : text, { status: res.status, statusText: res.statusText, headers });
}

/** One WebClient per token and API URL; it queues and rate-limits its own calls. */
export function slackClient(cfg: SlackConfig, token = cfg.botToken): WebClient {
  if (!token) throw new SlackConfigError('no Slack bot token: set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE');
  // Inside an action (notify.slack, drill report, approval notices) the token is masked like any
  // resolved secret if the far end echoes it; elsewhere this does nothing.
  registerSecret(token);
  const key = `${cfg.apiUrl ?? ''}\u0000${token}`;
  let c = clients.get(key);
  if (!c) {
    c = new WebClient(token, { slackApiUrl: cfg.apiUrl, retryConfig: SLACK_RETRY, timeout: 15_000, logLevel: LogLevel.ERROR, fetch: boundedFetch as never });
    clients.set(key, c);
  }
  return c;
}

/** Slack platform errors that retrying will not fix (configuration or permission problems). */
export const PERMANENT_SLACK_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'missing_scope',
  'message_not_found',
  'cant_update_message',
  'invalid_blocks',
  'invalid_arguments',
  'msg_too_long',
  'no_permission',
]);

/** The `error` code of a failed Web API call (`ok: false`), if that is what `e` is. */
export function slackErrorCode(e: unknown): string | undefined {
  const err = e as { code?: string; data?: { error?: string } };
  return err?.code === 'slack_webapi_platform_error' ? err.data?.error : undefined;
}
