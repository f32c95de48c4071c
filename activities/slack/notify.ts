/**
 * Activity: post and update approval requests in Slack, and post run news in the request's
 * thread. Reads the bot token and default channel on the worker (lib/slack.ts); with no token
 * or no channel it posts nothing and says why, so approvals still work from the CLI.
 * Rate limits (429 + Retry-After) and transient errors are retried by the Web API client, then
 * by Temporal; permanent Slack errors (channel_not_found, invalid_auth, …) fail at once.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WebClient } from '@slack/web-api';
import { runLink } from '../../lib/config';
import { loadApprovers, slackIdFor } from '../../lib/approvers';
import { PERMANENT_SLACK_ERRORS, SlackConfigError, slackClient, slackConfigFromEnv, slackErrorCode } from '../../lib/slack';
import { approvalBlocks, approvalText, type ApprovalCard } from '../../lib/slack-blocks';
import type { SlackNotifyInput, SlackNotifyResult } from '../../workflows/definitions';

const METADATA_EVENT = 'runwright_approval';

function fail(method: string, e: unknown): never {
  const code = slackErrorCode(e);
  if (code && PERMANENT_SLACK_ERRORS.has(code)) throw ApplicationFailure.nonRetryable(`slack ${method}: ${code}`, 'SlackError');
  if (e instanceof SlackConfigError) throw ApplicationFailure.nonRetryable(e.message, 'SlackConfig');
  throw ApplicationFailure.retryable(`slack ${method}: ${code ?? (e as Error)?.message ?? e}`, 'SlackTransient');
}

function withLink(card: ApprovalCard): ApprovalCard {
  const info = Context.current().info;
  return { ...card, link: card.link ?? runLink(info.workflowNamespace ?? 'default', card.workflowId) };
}

function mentionsFor(card: ApprovalCard): string[] | undefined {
  if (!card.notifyUsers?.length) return card.mentions;
  try {
    const cfg = loadApprovers();
    return card.notifyUsers.map((u) => slackIdFor(cfg, u)).filter((x): x is string => !!x);
  } catch {
    return card.mentions;
  }
}

/** On a retry, the previous attempt may have posted before failing: find that message instead of posting twice. */
async function findPosted(client: WebClient, channel: string, key: string): Promise<string | undefined> {
  try {
    const r = await client.conversations.history({ channel, limit: 50, include_all_metadata: true });
    const hit = (r.messages ?? []).find((m: any) => m.metadata?.event_type === METADATA_EVENT && m.metadata?.event_payload?.key === key);
    return hit?.ts;
  } catch {
    return undefined;
  }
}

/** Slack from the worker's environment, or why there is none (a result, not an error: the run goes on). */
function slack(): { client: WebClient; defaultChannel?: string } | { skipped: string } {
  let cfg;
  try {
    cfg = slackConfigFromEnv();
  } catch (e) {
    fail('config', e);
  }
  if (!cfg.botToken) return { skipped: 'Slack is not configured on the worker (SLACK_BOT_TOKEN)' };
  return { client: slackClient(cfg), defaultChannel: cfg.defaultChannel };
}

/** Post a text in a thread. */
export async function postInThread(thread: { channel: string; threadTs: string }, text: string): Promise<SlackNotifyResult> {
  const s = slack();
  if ('skipped' in s) return { posted: false, skipped: s.skipped };
  try {
    const r = await s.client.chat.postMessage({ channel: thread.channel, thread_ts: thread.threadTs, text, unfurl_links: false });
    return { posted: true, channel: r.channel ?? thread.channel, ts: r.ts };
  } catch (e) {
    fail('chat.postMessage', e);
  }
}

/** Post an approval request (where: `at.channel`, else the worker's default) or, with `at.ts`, update the posted one. */
export async function postRequest(view: ApprovalCard, at: { channel?: string; key: string; ts?: undefined } | { channel: string; ts: string }): Promise<SlackNotifyResult> {
  const s = slack();
  if ('skipped' in s) return { posted: false, skipped: s.skipped };
  const { client } = s;
  const card = withLink({ ...view });
  card.mentions = mentionsFor(card);
  const blocks = approvalBlocks(card) as never[];
  const text = approvalText(card);
  if (at.ts !== undefined) {
    try {
      const r = await client.chat.update({ channel: at.channel, ts: at.ts, text, blocks });
      return { posted: true, channel: r.channel ?? at.channel, ts: r.ts ?? at.ts };
    } catch (e) {
      fail('chat.update', e);
    }
  }
  const channel = at.channel ?? s.defaultChannel;
  if (!channel) return { posted: false, skipped: 'no Slack channel: set approval.channel in the runbook or RUNWRIGHT_SLACK_CHANNEL on the worker' };
  if (Context.current().info.attempt > 1) {
    const ts = await findPosted(client, channel, at.key);
    if (ts) return { posted: true, channel, ts };
  }
  try {
    const r = await client.chat.postMessage({
      channel,
      text,
      blocks,
      unfurl_links: false,
      metadata: { event_type: METADATA_EVENT, event_payload: { key: at.key, workflow_id: card.workflowId, step: card.step } },
    });
    return { posted: true, channel: r.channel ?? channel, ts: r.ts };
  } catch (e) {
    fail('chat.postMessage', e);
  }
}

/**
 * @deprecated SLACK_NOTIFY_ACTIVITY: input made by workflows from before
 * `runwright-approval-machine-v2` (a card, or a text they formatted). Retired with that patch.
 */
export async function slackNotify(input: SlackNotifyInput): Promise<SlackNotifyResult> {
  if (input.kind === 'thread') return postInThread(input, input.text);
  if (input.kind === 'update') return postRequest(input.card, { channel: input.channel, ts: input.ts });
  return postRequest(input.card, { channel: input.channel, key: input.key });
}
