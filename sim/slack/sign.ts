/** Sign a request body the way Slack does (v0 HMAC-SHA256 of "v0:<timestamp>:<body>"), for tests and the sim. */
import { createHmac } from 'node:crypto';

export function slackSignature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(signingSecret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': slackSignature(signingSecret, timestamp, body) };
}

/** An interaction payload as Slack posts it: form-encoded `payload=<json>`. */
export function interactionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function slashCommandBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
