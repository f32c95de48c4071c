/**
 * The one notify activity of approval gates and runs (APPROVAL_NOTIFY_ACTIVITY): takes the
 * ApprovalEvent the workflow emitted and formats it for Slack here, on the worker. Requests and
 * their updates become Block Kit (lib/slack-blocks.ts); run news becomes a line in the run's thread.
 */
import { postInThread, postRequest } from '../slack/notify';
import type { ApprovalEvent, SlackNotifyResult } from '../../workflows/definitions';

const clip = (s: string) => s.slice(0, 1500);

/** The thread line for run news (the events without a request card). */
export function newsText(e: Exclude<ApprovalEvent, { kind: 'approval.requested' | 'approval.changed' }>): string {
  switch (e.kind) {
    case 'approval.escalated':
      return `:arrow_double_up: approval ${e.step} escalated: ${e.note}`;
    case 'run.step-failed':
      return `:x: step \`${e.step}\` failed: ${clip(e.error)}`;
    case 'run.ended':
      if (e.state === 'succeeded') return `:white_check_mark: run \`${e.workflowId}\` of ${e.runbook} succeeded`;
      if (e.state === 'cancelled') return `:no_entry_sign: run \`${e.workflowId}\` was cancelled${e.error ? `: ${clip(e.error)}` : ''}`;
      return `:x: run \`${e.workflowId}\` failed: ${clip(e.error ?? 'unknown error')}`;
  }
}

export async function approvalNotify(e: ApprovalEvent): Promise<SlackNotifyResult> {
  if (e.kind === 'approval.requested') return postRequest(e.approval, { channel: e.channel, key: e.key });
  if (e.kind === 'approval.changed') return postRequest(e.approval, { channel: e.channel, ts: e.ts });
  return postInThread(e.thread, newsText(e));
}
