/**
 * Params declared `secret: true` are shown as *** wherever Runwright displays params: plan text
 * (`run --plan`, approval plans), the status query (`runwright status`, Slack /status), Slack
 * approval cards. (In history they are sealed by the payload codec: test/codec.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import { buildRegistry } from '../activities/registry';
import { formatPlan, planRunbook } from '../dsl/plan';
import { maskParams, maskText, SECRET_MASK } from '../dsl/params';
import { sendDecision, sendSetParams } from '../client/decide';
import { approvalBlocks, approvalText, type ApprovalCard } from '../lib/slack-blocks';
import { renderStatus } from '../client/progress';
import { APPROVAL_NOTIFY_ACTIVITY, statusQuery, type ApprovalEvent, type RunStatus } from '../workflows/definitions';
import { inputFor, runbookFrom, startRun, useTestWorker } from './helpers/temporal';
import { runCli } from './helpers/cli';

const TOKEN = 'tok-7f3a9c21-very-secret';
const yaml = `apiVersion: runwright/v1
kind: Runbook
metadata: { name: secretive }
spec:
  params:
    token: { type: string, secret: true }
    region: { type: string, default: eu-west }
    pin: { type: string, secret: true, default: "" }
  steps:
    - id: gate
      approval: { message: "use {{ params.token }} in {{ params.region }}?" }
    - id: call
      action: core.log
      with: { message: "calling with {{ params.token }} in {{ params.region }}" }
`;

test('masking helpers: secret values become ***, short or unset ones stay', () => {
  expect(maskParams({ token: TOKEN, region: 'eu', pin: '' }, ['token', 'pin'])).toEqual({ token: SECRET_MASK, region: 'eu', pin: '' });
  expect(maskText(`a ${TOKEN} b "${TOKEN}"`, { token: TOKEN }, ['token'])).toBe('a *** b "***"');
  expect(maskText('x = 1', { n: 1 }, ['n'])).toBe('x = 1');
  // Without secret params nothing changes (same object).
  const p = { a: 1 };
  expect(maskParams(p, [])).toBe(p);
});

test('plan text masks secret params (values still drive the plan)', () => {
  const rb = runbookFrom(yaml);
  const text = formatPlan(rb, planRunbook(rb, { token: TOKEN, region: 'eu-west', pin: '' }, buildRegistry()));
  expect(text).toContain('log "calling with *** in eu-west"');
  expect(text).toContain('wait for approval: "use *** in eu-west?"');
  expect(text).not.toContain(TOKEN);
});

test('runwright run --plan (text and --json) shows *** for secret params', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-secret-'));
  try {
    const file = join(dir, 'rb.yaml');
    writeFileSync(file, yaml);
    const r = await runCli(['run', file, '--plan', '--set', `token=${TOKEN}`], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('calling with *** in eu-west');
    expect(r.stdout).not.toContain(TOKEN);
    const j = await runCli(['run', file, '--plan', '--json', '--set', `token=${TOKEN}`], { cwd: dir });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout).params).toEqual({ token: SECRET_MASK, region: 'eu-west', pin: '' });
    expect(j.stdout).not.toContain(TOKEN);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('a run with a secret param', () => {
  const t = useTestWorker('secret-params');

  test('status query, rendered status, approval plan and the Slack card show ***; the run itself uses the value', async () => {
    const h = await startRun(t.env, t.queue, inputFor(runbookFrom(yaml), { token: TOKEN }, { startedBy: 'carol' }));
    let st: RunStatus | undefined;
    for (let i = 0; i < 300 && !st?.pendingApprovals[0]?.planHash; i++) {
      st = (await h.query(statusQuery).catch(() => undefined)) as RunStatus | undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(st?.params).toEqual({ token: SECRET_MASK, region: 'eu-west', pin: '' });
    expect(st!.pendingApprovals[0].message).toBe('use *** in eu-west?');
    expect(st!.pendingApprovals[0].plan).toContain('calling with *** in eu-west');
    // A change of a secret param is audited without its values.
    await sendSetParams(t.env.client, h.workflowId, { user: 'carol', params: { token: `${TOKEN}-2` }, source: 'cli', reason: 'rotate' });
    st = (await h.query(statusQuery)) as RunStatus;
    expect(st.paramChanges?.[0].changed).toEqual({ token: { from: SECRET_MASK, to: SECRET_MASK } });
    const shown = renderStatus(st, h.workflowId);
    expect(shown).toContain('params changed by carol');
    expect(shown).not.toContain(TOKEN);
    expect(JSON.stringify(st)).not.toContain(TOKEN);

    // `runwright status` prints the same masked view.
    const cli = await runCli(['status', h.workflowId], { env: { TEMPORAL_ADDRESS: process.env.RUNWRIGHT_TEST_TEMPORAL_ADDRESS!, RUNWRIGHT_TASK_QUEUE: t.queue, RUNWRIGHT_CODEC: 'off' } });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('use *** in eu-west?');
    expect(cli.stdout).not.toContain(TOKEN);

    // The Slack card the workflow hands to the notifier (its activity input) is masked, and so
    // are the blocks rendered from it.
    const hist = await h.fetchHistory();
    const cards = (hist.events ?? [])
      .filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === APPROVAL_NOTIFY_ACTIVITY)
      .map((e) => defaultPayloadConverter.fromPayload(e.activityTaskScheduledEventAttributes!.input!.payloads![0] as never) as ApprovalEvent)
      .filter((i): i is Extract<ApprovalEvent, { approval: ApprovalCard }> => 'approval' in i);
    expect(cards.length).toBeGreaterThan(0);
    for (const { approval: card } of cards) {
      expect(card.params.token).toBe(SECRET_MASK);
      const rendered = JSON.stringify(approvalBlocks(card)) + approvalText(card);
      expect(rendered).toContain('use *** in eu-west?');
      expect(rendered).not.toContain(TOKEN);
    }

    // The action got the real (changed) value.
    expect(await sendDecision(t.env.client, h.workflowId, { decision: 'approve', user: 'dave', source: 'cli' })).toMatchObject({ status: 'accepted' });
    const res: any = await h.result();
    expect(res.outputs.call.message).toBe(`calling with ${TOKEN}-2 in eu-west`);
  }, 90_000);
});
