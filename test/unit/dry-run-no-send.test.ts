/** http.request and notify.slack dry runs: they send nothing and resolve no secret. */
import http from '../../activities/http/request';
import slack from '../../activities/notify/slack';
import kubeconfig from '../../activities/capi/kubeconfig';
import type { ActionContext } from '../../activities/define';

const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;

test('http.request: method and URL; GET/HEAD change nothing; a secret header is named, never resolved', async () => {
  // Port 9 (discard) on a TEST-NET address: a request would fail, and the secret does not exist.
  const i = (method: string) => http.input.parse({ url: 'http://192.0.2.1:9/hook', method, secretHeaders: { Authorization: 'secret:no-such-secret' } });
  expect(await http.dryRun!(i('POST'), ctx)).toEqual({ changed: true, summary: 'would send POST http://192.0.2.1:9/hook (secret headers Authorization)', diff: 'POST http://192.0.2.1:9/hook' });
  expect(await http.dryRun!(i('GET'), ctx)).toEqual({ changed: false, summary: 'would read GET http://192.0.2.1:9/hook (secret headers Authorization)' });
  expect(await http.dryRun!(i('HEAD'), ctx)).toMatchObject({ changed: false });
});

test('notify.slack: would post to the channel when a token is configured; the token never appears', async () => {
  const saved = { ...process.env };
  try {
    delete process.env.SLACK_BOT_TOKEN;
    delete process.env.SLACK_BOT_TOKEN_FILE;
    delete process.env.RUNWRIGHT_SLACK_CHANNEL;
    expect(await slack.dryRun!(slack.input.parse({ channel: '#ops', text: 'hi' }), ctx)).toMatchObject({ changed: false, summary: expect.stringMatching(/no Slack bot token/) });
    process.env.SLACK_BOT_TOKEN = 'xoxb-dry-run-token';
    const r = await slack.dryRun!(slack.input.parse({ channel: '#ops', text: 'failover done' }), ctx);
    expect(r).toEqual({ changed: true, summary: 'post to Slack #ops: failover done', diff: '+ message in #ops' });
    expect(JSON.stringify(r)).not.toContain('xoxb');
    expect(await slack.dryRun!(slack.input.parse({ text: 'x' }), ctx)).toMatchObject({ changed: false, summary: expect.stringMatching(/no channel/) });
  } finally {
    process.env = saved;
  }
});

test('capi.kubeconfig: says where it would write, reading nothing', async () => {
  const r = await kubeconfig.dryRun!(kubeconfig.input.parse({ cluster: 'c1', to: 'file:/nonexistent/kc', kubeconfig: '/nonexistent/mgmt-kubeconfig' }), ctx);
  expect(r).toMatchObject({ changed: true, summary: expect.stringContaining('to file:/nonexistent/kc') });
});
