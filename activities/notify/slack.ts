/**
 * notify.slack: post a message to a Slack channel from a runbook (failover done, drill result).
 * The bot token comes from the worker's environment (SLACK_BOT_TOKEN[_FILE]), never the runbook.
 * With no token configured it posts nothing and says so (`posted: false`), unless `required`.
 * Idempotent: a retry after a post that landed finds it by its metadata key and does not repost.
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';
import { registerSecret } from '../../lib/secrets';
import { PERMANENT_SLACK_ERRORS, slackClient, slackConfigFromEnv, slackErrorCode } from '../../lib/slack';

const EVENT = 'runwright_notify';

export default defineAction({
  name: 'notify.slack',
  description: 'Post a message (mrkdwn) to a Slack channel; posts nothing without a bot token unless `required`; a retry never posts twice.',
  input: z.strictObject({
    channel: z.string().default('').describe("Channel id or name; default the worker's RUNWRIGHT_SLACK_CHANNEL."),
    text: z.string().min(1).max(40_000),
    required: z.boolean().default(false).describe('Fail when Slack is not configured (default: skip with posted=false).'),
  }),
  async run(i, ctx) {
    const cfg = slackConfigFromEnv();
    const channel = i.channel || cfg.defaultChannel;
    const skip = (reason: string) => {
      if (i.required) throw ApplicationFailure.nonRetryable(`notify.slack: ${reason}`, 'SlackConfig');
      ctx.log(`notify.slack: not posted: ${reason}`);
      return { posted: false, reason, changed: false };
    };
    if (!cfg.botToken) return skip('no Slack bot token (SLACK_BOT_TOKEN)');
    // The token is a secret like any other: masked if the far end echoes it.
    registerSecret(cfg.botToken);
    if (!channel) return skip('no channel (give `channel` or set RUNWRIGHT_SLACK_CHANNEL)');
    const client = slackClient(cfg);
    try {
      if (ctx.attempt > 1) {
        // A previous attempt may have posted before failing: look for our key in recent history.
        const h: any = await client.conversations.history({ channel, limit: 50, include_all_metadata: true });
        const prior = (h.messages ?? []).find((m: any) => m.metadata?.event_type === EVENT && m.metadata?.event_payload?.key === ctx.idempotencyKey);
        if (prior) return { posted: true, channel, ts: prior.ts, changed: false };
      }
      const r: any = await client.chat.postMessage({ channel, text: i.text, mrkdwn: true, metadata: { event_type: EVENT, event_payload: { key: ctx.idempotencyKey } } });
      return { posted: true, channel: r.channel ?? channel, ts: r.ts, changed: true };
    } catch (e) {
      const code = slackErrorCode(e);
      const msg = `notify.slack: ${code ?? (e as Error).message}`;
      if (code && PERMANENT_SLACK_ERRORS.has(code)) throw ApplicationFailure.nonRetryable(msg, 'SlackError');
      throw ApplicationFailure.retryable(msg, 'SlackTransient');
    }
  },
  /** Posts nothing and reads no token: only whether one is configured (as the run, none means no post). */
  async dryRun(i) {
    const channel = i.channel || process.env.RUNWRIGHT_SLACK_CHANNEL;
    const hasToken = !!(process.env.SLACK_BOT_TOKEN || process.env.SLACK_BOT_TOKEN_FILE);
    if (!hasToken || !channel) return { changed: false, summary: `would not post to Slack: ${!hasToken ? 'no Slack bot token (SLACK_BOT_TOKEN)' : 'no channel'}${i.required ? ' (the run would fail: required)' : ''}` };
    return { changed: true, summary: `post to Slack ${channel}: ${i.text.slice(0, 80)}`, diff: `+ message in ${channel}` };
  },
  plan: (i) => `post to Slack ${i.channel || '(default channel)'}: ${i.text.slice(0, 80)}`,
});
