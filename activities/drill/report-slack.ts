/**
 * Post a drill report to Slack: the summary as a mrkdwn message, then the timeline PNG in its
 * thread (files.uploadV2: files.getUploadURLExternal, upload, files.completeUploadExternal).
 * Slack never fails the report: a missing configuration or a Slack error is reported in
 * `slack.reason`. Retries do not post twice: the message carries metadata with the step's
 * idempotency key and is looked up on a retry; heartbeat details remember what was done.
 */
import type { WebClient } from '@slack/web-api';
import { slackClient, slackConfigFromEnv, slackErrorCode } from '../../lib/slack';
import type { ActionContext } from '../define';
import type { DrillReport } from './report-render';

const METADATA_EVENT = 'runwright_drill_report';

interface Progress {
  channel?: string;
  ts?: string;
  file?: string;
}

const why = (method: string, e: unknown) => `slack ${method}: ${slackErrorCode(e) ?? (e as Error)?.message ?? String(e)}`;

async function findPosted(client: WebClient, channel: string, key: string): Promise<{ channel: string; ts: string } | undefined> {
  try {
    const r = await client.conversations.history({ channel, limit: 50, include_all_metadata: true });
    const hit = (r.messages ?? []).find((m: any) => m.metadata?.event_type === METADATA_EVENT && m.metadata?.event_payload?.key === key);
    return hit?.ts ? { channel, ts: hit.ts } : undefined;
  } catch {
    return undefined;
  }
}

export async function postToSlack(report: DrillReport, text: string, png: Buffer, channelOpt: string | undefined, ctx: ActionContext): Promise<DrillReport['slack']> {
  let cfg;
  try {
    cfg = slackConfigFromEnv();
  } catch (e) {
    return { posted: false, reason: (e as Error).message };
  }
  if (!cfg.botToken) return { posted: false, reason: 'Slack is not configured on the worker (SLACK_BOT_TOKEN)' };
  const channel = channelOpt ?? cfg.defaultChannel;
  if (!channel) return { posted: false, reason: 'no Slack channel: set slackChannel in the step or RUNWRIGHT_SLACK_CHANNEL on the worker' };
  const client = slackClient(cfg);
  const done: Progress = { ...(ctx.heartbeatDetails<{ slack?: Progress }>()?.slack ?? {}) };
  if (!done.ts && ctx.attempt > 1) Object.assign(done, await findPosted(client, channel, ctx.idempotencyKey));
  if (!done.ts) {
    try {
      const r = await client.chat.postMessage({
        channel,
        text,
        mrkdwn: true,
        unfurl_links: false,
        metadata: { event_type: METADATA_EVENT, event_payload: { key: ctx.idempotencyKey, workflow_id: report.id, verdict: report.verdict } },
      });
      done.channel = r.channel ?? channel;
      done.ts = r.ts;
      ctx.heartbeat({ slack: done });
    } catch (e) {
      return { posted: false, channel, reason: why('chat.postMessage', e) };
    }
  }
  const posted = { posted: true, channel: done.channel ?? channel, ts: done.ts! };
  if (done.file) return { ...posted, file: done.file };
  try {
    const r: any = await client.filesUploadV2({
      channel_id: posted.channel,
      thread_ts: posted.ts,
      file: png,
      filename: 'timeline.png',
      title: `DR drill ${report.drill}: timeline`,
      alt_text: `Timeline of DR drill ${report.drill} on ${report.target}: ${report.verdict}`,
    });
    done.file = r.files?.[0]?.files?.[0]?.id;
    ctx.heartbeat({ slack: done });
    return { ...posted, file: done.file };
  } catch (e) {
    return { ...posted, reason: `timeline image not uploaded (${why('files.uploadV2', e)})` };
  }
}
