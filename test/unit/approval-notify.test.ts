/**
 * The notify activity's formatting of run news (the workflow emits events; Slack text is made
 * here), without Temporal or Slack.
 */
import { newsText } from '../../activities/approval/notify';

const thread = { channel: 'C1', threadTs: '1.2' };

test('run news: the same lines the workflow used to post in the run thread', () => {
  expect(newsText({ kind: 'approval.escalated', thread, step: 'gate', note: 'no decision within 1m; escalated' })).toBe(':arrow_double_up: approval gate escalated: no decision within 1m; escalated');
  expect(newsText({ kind: 'run.step-failed', thread, step: 'deploy', error: 'boom' })).toBe(':x: step `deploy` failed: boom');
  expect(newsText({ kind: 'run.step-failed', thread, step: 'deploy', error: 'x'.repeat(2000) })).toHaveLength(':x: step `deploy` failed: '.length + 1500);
  expect(newsText({ kind: 'run.ended', thread, workflowId: 'w1', runbook: 'rb', state: 'succeeded' })).toBe(':white_check_mark: run `w1` of rb succeeded');
  expect(newsText({ kind: 'run.ended', thread, workflowId: 'w1', runbook: 'rb', state: 'cancelled' })).toBe(':no_entry_sign: run `w1` was cancelled');
  expect(newsText({ kind: 'run.ended', thread, workflowId: 'w1', runbook: 'rb', state: 'cancelled', error: 'by sam' })).toBe(':no_entry_sign: run `w1` was cancelled: by sam');
  expect(newsText({ kind: 'run.ended', thread, workflowId: 'w1', runbook: 'rb', state: 'failed' })).toBe(':x: run `w1` failed: unknown error');
});
