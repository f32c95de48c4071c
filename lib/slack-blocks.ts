/**
 * Block Kit for approval requests: the request message (with Approve / Reject buttons while a
 * decision is possible), its updated forms (decided, timed out, escalated: no buttons), the
 * reject modal, and the values the buttons carry back to the gateway. Pure functions.
 */
import type { ApprovalView, ApprovalViewState, Decision } from '../workflows/definitions';

export const ACTION_APPROVE = 'runwright_approve';
export const ACTION_REJECT = 'runwright_reject';
export const REJECT_CALLBACK = 'runwright_reject';
export const REASON_BLOCK = 'reason';
export const REASON_ACTION = 'reason';

/** The states a request can show (the workflow's ApprovalViewState). */
export type CardState = ApprovalViewState;

/** What the blocks are made from: the gate's ApprovalView (the notifier adds `link` and `mentions`). */
export type ApprovalCard = ApprovalView;

/** What a button carries: which run, which gate, which plan the clicker saw. */
export interface ButtonValue {
  w: string;
  s: string;
  h?: string;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
/** Slack mrkdwn: escape the three control characters. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function paramsSummary(params: Record<string, unknown>, max = 600): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? clip(parts.join(', '), max) : '(none)';
}

export const shortHash = (h?: string) => (h ? h.slice(0, 12) : '');

function who(d: Decision): string {
  return `${esc(d.user)} (${d.source ?? 'cli'}, ${d.at.replace(/\.\d+Z$/, 'Z')})${d.reason ? `: ${esc(d.reason)}` : ''}`;
}

function outcomeLine(c: ApprovalCard): string | undefined {
  const approvals = c.decisions.filter((d) => d.decision === 'approve');
  const rej = c.decisions.find((d) => d.decision === 'reject');
  switch (c.state) {
    case 'approved':
      return `:white_check_mark: *Approved* by ${approvals.map(who).join('; ')}`;
    case 'rejected':
      return `:x: *Rejected* by ${rej ? who(rej) : 'someone'}`;
    case 'timed-out':
      return `:hourglass: *Timed out* with ${approvals.length} of ${c.required} approvals; the run was stopped`;
    case 'approved-on-timeout':
      return `:hourglass: *Timed out*; approved automatically (onTimeout: approve)`;
    case 'escalated':
      return `:arrow_double_up: *Escalated*${c.note ? `: ${esc(c.note)}` : ''}`;
    case 'ended':
      return `:grey_question: The run ended before this was decided${c.note ? `: ${esc(c.note)}` : ''}`;
    default:
      return approvals.length ? `${approvals.length} of ${c.required} approvals: ${approvals.map(who).join('; ')}` : undefined;
  }
}

export function approvalText(c: ApprovalCard): string {
  const head = c.state === 'pending' ? `Approval needed: ${c.runbook} › ${c.step}` : `Approval ${c.state}: ${c.runbook} › ${c.step}`;
  return `${head} — ${c.message}`;
}

/** The request message's blocks; buttons only while the gate is pending. */
export function approvalBlocks(c: ApprovalCard): unknown[] {
  const blocks: unknown[] = [];
  const title = `${c.escalation ? 'Escalated: ' : ''}${c.state === 'pending' ? 'Approval needed' : 'Approval'}: ${c.runbook} › ${c.step}`;
  blocks.push({ type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } });
  const mention = c.mentions?.length ? `${c.mentions.map((m) => `<@${m}>`).join(' ')} ` : '';
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`${mention}${esc(c.message)}`, 3000) } });
  const policy = c.approvers?.length ? `${c.required} of ${c.approvers.map(esc).join(', ')}` : `${c.required} (anyone but the requester)`;
  const fields = [
    `*Runbook*\n${esc(c.runbook)}`,
    `*Step*\n${esc(c.step)}`,
    `*Requested by*\n${esc(c.requester ?? 'unknown')}`,
    `*Needs*\n${clip(policy, 500)}`,
  ];
  if (c.deadline) fields.push(`*Deadline*\n<!date^${Math.floor(Date.parse(c.deadline) / 1000)}^{date_short_pretty} {time}|${c.deadline}>`);
  fields.push(`*Run*\n${c.link ? `<${c.link}|${esc(c.workflowId)}>` : esc(c.workflowId)}`);
  blocks.push({ type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Params*\n${clip(esc(paramsSummary(c.params)), 2900)}` } });
  if (c.plan)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Plan* (hash \`${shortHash(c.planHash)}\`)\n\`\`\`${clip(c.plan.replace(/```/g, "'''"), 2700)}\`\`\`` },
    });
  const outcome = outcomeLine(c);
  if (outcome) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(outcome, 3000) } });
  if (c.note && c.state === 'pending') blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(esc(c.note), 3000) }] });
  if (c.state === 'pending') {
    const value = JSON.stringify({ w: c.workflowId, s: c.step, h: c.planHash } satisfies ButtonValue);
    blocks.push({
      type: 'actions',
      block_id: 'runwright_decide',
      elements: [
        { type: 'button', action_id: ACTION_APPROVE, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value },
        { type: 'button', action_id: ACTION_REJECT, style: 'danger', text: { type: 'plain_text', text: 'Reject…' }, value },
      ],
    });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `runwright · ${esc(c.workflowId)} · \`runwright status ${esc(c.workflowId)}\`` }] });
  return blocks;
}

export function parseButtonValue(v: unknown): ButtonValue | undefined {
  try {
    const o = JSON.parse(String(v));
    if (o && typeof o.w === 'string' && typeof o.s === 'string') return { w: o.w, s: o.s, h: typeof o.h === 'string' ? o.h : undefined };
  } catch {
    /* not ours */
  }
  return undefined;
}

/** The modal a Reject click opens: a reason is required. */
export function rejectModal(v: ButtonValue, channel?: string, messageTs?: string): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: REJECT_CALLBACK,
    private_metadata: JSON.stringify({ ...v, c: channel, t: messageTs }),
    title: { type: 'plain_text', text: 'Reject' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(`Reject *${esc(v.s)}* of \`${esc(v.w)}\`? The run stops and completed steps are compensated.`, 3000) } },
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason (recorded for the audit trail)' },
        element: { type: 'plain_text_input', action_id: REASON_ACTION, multiline: true, min_length: 1, max_length: 1000 },
      },
    ],
  };
}
