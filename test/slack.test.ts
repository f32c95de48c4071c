/**
 * Slack, end to end on loopback: the worker posts requests to the Slack Web API stand-in
 * (sim/slack), and signed interaction payloads (block_actions, view_submission) and slash
 * commands are posted to the gateway's HTTP endpoint (and sent over Socket Mode), which turns
 * them into Updates on real runs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { SlackGateway } from '../integrations/slack/gateway';
import { sendSetParams } from '../client/decide';
import { ACTION_APPROVE, ACTION_REJECT, REJECT_CALLBACK } from '../lib/slack-blocks';
import { startSlackSim, type SimMessage, type SlackSim } from '../sim/slack/server';
import { interactionBody, signedHeaders, slashCommandBody } from '../sim/slack/sign';
import { statusQuery, type RunStatus } from '../workflows/definitions';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { waitFor as waitUntil } from './helpers/wait';

const SECRET = 'test-signing-secret-8f3a1c';
const BOT = 'xoxb-test-bot-token-77a1';
const APP = 'xapp-test-app-token-5c2e';
const OPS = 'C0OPS';
const LEADS = 'C0LEADS';

let env: TestEnv;
let dir: string;
let queue: string;
let worker: Worker;
let workerRun: Promise<void>;
let sim: SlackSim;
let gw: SlackGateway;
let url: string;
let closeHttp: () => Promise<void>;
const logs: string[] = [];
const ENV_KEYS = ['SLACK_BOT_TOKEN', 'RUNWRIGHT_SLACK_API_URL', 'RUNWRIGHT_SLACK_CHANNEL', 'RUNWRIGHT_APPROVERS_FILE'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

beforeAll(async () => {
  env = await connectTestEnv();
  dir = mkdtempSync(join(tmpdir(), 'rw-slack-'));
  sim = await startSlackSim({ botToken: BOT, appToken: APP, users: { U0ERIN: { name: 'erin', email: 'Erin@Example.com' }, U0ALICE: { name: 'alice' } } });
  const approvers = join(dir, 'approvers.yaml');
  writeFileSync(
    approvers,
    `groups:
  sre: [alice, bob, carol]
  leads: [dave]
users:
  alice: { slack: U0ALICE }
  bob: { slack: U0BOB }
  carol: { slack: U0CAROL }
  dave: { slack: U0DAVE }
  mallory: { slack: U0MAL }
  erin: { email: erin@example.com }
chatops:
  allow: [alice]
`,
  );
  // The worker in this process reads these when it notifies; nothing secret goes into a workflow.
  Object.assign(process.env, { SLACK_BOT_TOKEN: BOT, RUNWRIGHT_SLACK_API_URL: sim.apiUrl, RUNWRIGHT_SLACK_CHANNEL: OPS, RUNWRIGHT_APPROVERS_FILE: approvers });
  queue = uniqueQueue('slack');
  worker = await startTestWorker(env, queue);
  workerRun = worker.run();
  mkdirSync(join(dir, 'runbooks'));
  writeFileSync(
    join(dir, 'runbooks', 'hello.yaml'),
    `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: hello }\nspec:\n  params:\n    who: { type: string }\n    n: { type: integer, default: 1 }\n  steps:\n    - id: greet\n      action: core.log\n      with: { message: "hello {{ params.who }} x{{ params.n }}" }\n`,
  );
  gw = new SlackGateway({
    client: env.client,
    namespace: 'default',
    taskQueue: queue,
    slack: { botToken: BOT, signingSecret: SECRET, appToken: APP, apiUrl: sim.apiUrl },
    runbookDirs: [join(dir, 'runbooks')],
    decisionTimeoutMs: 30_000,
    log: (m) => logs.push(m),
  });
  const l = await gw.listen(0);
  url = l.url;
  closeHttp = l.close;
});

afterAll(async () => {
  await closeHttp?.();
  await gw?.stop();
  worker?.shutdown();
  await workerRun;
  await sim?.close();
  await env?.close();
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

const rb = (steps: string) =>
  runbookFrom(
    `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: rel }\nspec:\n  params:\n    target: { type: string, default: staging }\n  steps:\n${steps.replace(/^/gm, '    ')}\n`,
  );
const gateThenDeploy = (approval: string) => `- id: gate
  approval: ${approval}
- id: deploy
  action: core.log
  with: { message: "deploying to {{ params.target }}" }`;

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 20_000): Promise<T> => waitUntil(fn, what, ms, { ignoreErrors: true });
const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<RunStatus>;

/** The request message the worker posted for this run (the first, or the escalation one). */
const requestFor = (h: WorkflowHandle, which: 'request' | 'escalation' = 'request') =>
  waitFor(
    () => sim.messages.find((m) => m.metadata?.event_payload?.workflow_id === h.workflowId && m.metadata?.event_payload?.key.endsWith(`:${which}`)),
    `the Slack ${which} of ${h.workflowId}`,
  );
const buttons = (m: SimMessage) => m.blocks?.find((b) => b.type === 'actions')?.elements as { action_id: string; value: string }[] | undefined;
const blockText = (m: SimMessage) => JSON.stringify(m.blocks ?? []);
const ephemerals = (user: string) => sim.callsTo('chat.postEphemeral').filter((c) => c.args.user === user).map((c) => String(c.args.text));
const threadPosts = (m: SimMessage) => sim.messages.filter((x) => x.channel === m.channel && x.thread_ts === m.ts).map((x) => x.text ?? '');

let seq = 0;
function click(m: SimMessage, user: string, action: string = ACTION_APPROVE, actionTs = `${Date.now() / 1000}${++seq}`) {
  const b = buttons(m)!.find((x) => x.action_id === action)!;
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase() },
    api_app_id: 'ASIM',
    trigger_id: `trig-${++seq}`,
    container: { type: 'message', message_ts: m.ts, channel_id: m.channel },
    channel: { id: m.channel },
    message: { ts: m.ts, blocks: m.blocks },
    actions: [{ action_id: action, block_id: 'runwright_decide', value: b.value, type: 'button', action_ts: actionTs }],
  };
}

async function post(body: string, headers: Record<string, string> = signedHeaders(SECRET, body)) {
  const r = await fetch(`${url}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const text = await r.text();
  await gw.idle();
  return { status: r.status, text, json: r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}
const postInteraction = (payload: unknown) => post(interactionBody(payload));

// ---------------------------------------------------------------- tests

test('request: Block Kit with runbook, step, requester, params, plan, UI link and buttons; 429 Retry-After is retried', async () => {
  sim.fail('chat.postMessage', { status: 429, retryAfter: 1 });
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "Deploy {{ params.target }}?", approvers: ["group:sre"], required: 2, timeout: 5m }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);
  const posts = sim.callsTo('chat.postMessage');
  expect(posts.some((c) => c.status === 429)).toBe(true);
  expect(posts.filter((c) => c.status === 200 && c.response.ts === m.ts)).toHaveLength(1);
  expect(m.channel).toBe(OPS);
  const text = blockText(m);
  expect(text).toContain('Approval needed: rel › gate');
  expect(text).toContain('Deploy staging?');
  expect(text).toContain('*Requested by*\\nalice');
  expect(text).toContain('2 of group:sre');
  expect(text).toContain('target=staging');
  expect(text).toMatch(/\*Plan\* \(hash `[0-9a-f]{12}`\)/);
  expect(text).toContain('deploy [action] core.log: log \\"deploying to staging\\"');
  expect(text).toContain(`/namespaces/default/workflows/${h.workflowId}`);
  const bs = buttons(m)!;
  expect(bs.map((b) => b.action_id)).toEqual([ACTION_APPROVE, ACTION_REJECT]);
  const st = await status(h);
  expect(JSON.parse(bs[0].value)).toEqual({ w: h.workflowId, s: 'gate', h: st.pendingApprovals[0].planHash });
  expect(st.pendingApprovals[0].slack).toEqual({ channel: OPS, ts: m.ts });
  // Changed params: the same message shows the new plan, says approvals were reset, and its buttons carry the new hash.
  const seenBefore = structuredClone(m); // the sim updates its message objects in place
  await sendSetParams(env.client, h.workflowId, { user: 'alice', params: { target: 'production' } });
  const updated = await waitFor(() => {
    const x = sim.message(OPS, m.ts)!;
    return blockText(x).includes('deploying to production') ? x : undefined;
  }, 'the re-rendered plan in Slack');
  expect(blockText(updated)).toMatch(/Params changed at [^:]+:\d\d:[^:]+: the plan was re-rendered; approvals of the previous plan no longer count/);
  const newHash = (await status(h)).pendingApprovals[0].planHash;
  expect(newHash).not.toBe(st.pendingApprovals[0].planHash);
  expect(JSON.parse(buttons(updated)![0].value).h).toBe(newHash);
  // A click on the old message content (old hash) is refused.
  await postInteraction(click(seenBefore, 'U0BOB'));
  expect(ephemerals('U0BOB').pop()).toMatch(/Refused: the plan of gate changed since you reviewed it/);
  await h.terminate('test done');
});

test('endpoint: forged signature, stale timestamp and missing headers get 401 and change nothing', async () => {
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: [bob], timeout: 5m }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);
  const body = interactionBody(click(m, 'U0BOB'));
  expect((await post(body, signedHeaders('not-the-secret', body))).status).toBe(401);
  const tampered = interactionBody({ ...click(m, 'U0BOB'), user: { id: 'U0BOB', username: 'x' } });
  expect((await post(tampered, signedHeaders(SECRET, body))).status).toBe(401);
  const stale = Math.floor(Date.now() / 1000) - 6 * 60;
  expect((await post(body, signedHeaders(SECRET, body, stale))).status).toBe(401);
  const future = Math.floor(Date.now() / 1000) + 6 * 60;
  expect((await post(body, signedHeaders(SECRET, body, future))).status).toBe(401);
  expect((await post(body, {})).status).toBe(401);
  expect(logs.filter((l) => /refused request/.test(l)).join('\n')).toMatch(/signature mismatch[\s\S]*stale timestamp/);
  const st = await status(h);
  expect(st.decisions).toEqual([]);
  expect(st.refusals ?? []).toEqual([]);
  // The same body, correctly signed, is accepted.
  expect((await post(body)).status).toBe(200);
  await h.result();
});

test('quorum 2-of-3 from Slack; replayed click idempotent; non-approver, self-approval and unmapped users refused in Slack; message updated, buttons gone', async () => {
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: ["group:sre"], required: 2, timeout: 5m }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);

  const bobClick = click(m, 'U0BOB');
  const t0 = Date.now();
  const first = await fetch(`${url}/slack/actions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...signedHeaders(SECRET, interactionBody(bobClick)) }, body: interactionBody(bobClick) });
  // Acknowledged at once (Slack wants 3 s); the Update happens after.
  expect(first.status).toBe(200);
  expect(Date.now() - t0).toBeLessThan(3000);
  await gw.idle();
  expect(ephemerals('U0BOB').pop()).toMatch(/Approved gate of .* as bob \(1\/2 approvals\)/);
  // Slack retries / a replayed request: same action_ts, hence the same Update id: the same answer, counted once.
  expect((await postInteraction(bobClick)).status).toBe(200);
  expect(ephemerals('U0BOB').pop()).toMatch(/Approved gate of .* as bob \(1\/2 approvals\)/);
  expect((await status(h)).decisions).toHaveLength(1);
  expect((await status(h)).pendingApprovals[0].decisions).toHaveLength(1);

  await postInteraction(click(m, 'U0MAL'));
  expect(ephemerals('U0MAL').pop()).toMatch(/Refused: mallory is not an approver for gate/);
  await postInteraction(click(m, 'U0ALICE'));
  expect(ephemerals('U0ALICE').pop()).toMatch(/Refused: alice started this run and cannot approve it/);
  await postInteraction(click(m, 'U0ERIN')); // mapped by e-mail through users.info
  expect(ephemerals('U0ERIN').pop()).toMatch(/Refused: erin is not an approver/);
  await postInteraction(click(m, 'U0NOBODY'));
  expect(ephemerals('U0NOBODY').pop()).toMatch(/not mapped to a Runwright identity/);

  // Progress shows on the request while it waits.
  await waitFor(() => /1 of 2 approvals/.test(blockText(sim.message(OPS, m.ts)!)), 'the progress update');
  expect(buttons(sim.message(OPS, m.ts)!)).toHaveLength(2);

  await postInteraction(click(m, 'U0CAROL'));
  const res = await h.result();
  expect(res.outputs.deploy).toMatchObject({ message: 'deploying to staging' });
  const st = await status(h);
  expect(st.decisions.map((d) => [d.user, d.source, d.actor])).toEqual([
    ['bob', 'slack', 'slack:U0BOB'],
    ['carol', 'slack', 'slack:U0CAROL'],
  ]);
  expect(st.refusals?.map((r) => r.user)).toEqual(['mallory', 'alice', 'erin', 'slack:U0NOBODY']);
  const final = sim.message(OPS, m.ts)!;
  expect(buttons(final)).toBeUndefined();
  expect(blockText(final)).toMatch(/Approved\* by bob \(slack, [^)]+\); carol/);
  await waitFor(() => threadPosts(m).some((t) => /run `.*` of rel succeeded/.test(t)), 'the completion in the thread');
});

test('reject: the button opens a modal; an empty reason is refused in the modal; the reason is recorded; failures go to the thread', async () => {
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: [bob], timeout: 5m }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);
  const before = sim.callsTo('views.open').length;
  const c = click(m, 'U0BOB', ACTION_REJECT);
  expect((await postInteraction(c)).status).toBe(200);
  const open = sim.callsTo('views.open')[before];
  expect(open.args.trigger_id).toBe(c.trigger_id);
  expect(open.args.view).toMatchObject({ type: 'modal', callback_id: REJECT_CALLBACK });
  const view = open.response.view;
  const submit = (reason: string) => ({
    type: 'view_submission',
    user: { id: 'U0BOB' },
    view: { ...view, state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } } },
  });
  const empty = await postInteraction(submit('   '));
  expect(empty.json).toEqual({ response_action: 'errors', errors: { reason: expect.stringMatching(/needs a reason/) } });
  expect((await status(h)).decisions).toEqual([]);
  const ok = await postInteraction(submit('change freeze until Monday'));
  expect(ok.status).toBe(200);
  expect(ok.text).toBe('');
  await expect(h.result()).rejects.toMatchObject({ cause: { message: expect.stringMatching(/rejected by bob: change freeze until Monday/) } });
  const final = sim.message(OPS, m.ts)!;
  expect(buttons(final)).toBeUndefined();
  expect(blockText(final)).toMatch(/Rejected\* by bob \(slack, [^)]+\): change freeze until Monday/);
  await waitFor(() => threadPosts(m).some((t) => /run `.*` failed: approval gate rejected by bob/.test(t)), 'the failure in the thread');
  expect(threadPosts(m).some((t) => /step `gate` failed: approval gate rejected by bob/.test(t))).toBe(true);
});

test('a step failing after approval is posted in the request thread', async () => {
  const h = await startRun(
    env,
    queue,
    inputFor(rb(`- id: gate\n  approval: { message: "go?", approvers: [bob] }\n- id: broken\n  action: http.request\n  with: { url: "http://127.0.0.1:1/", timeoutMs: 500 }\n  retry: { maximumAttempts: 1 }`), {}, { startedBy: 'alice' }),
  );
  const m = await requestFor(h);
  await postInteraction(click(m, 'U0BOB'));
  await expect(h.result()).rejects.toThrow();
  await waitFor(() => threadPosts(m).some((t) => /run `.*` failed/.test(t)), 'the run failure in the thread');
  expect(threadPosts(m).find((t) => t.startsWith(':x: step `broken` failed'))).toMatch(/connection/);
});

test('timeout -> escalate: the request is updated, escalation approvers are mentioned in another channel, then the final action', async () => {
  const gate = (final: string) =>
    gateThenDeploy(`{ message: "go?", approvers: [bob], timeout: 2s, onTimeout: escalate, escalate: { approvers: ["group:leads"], channel: ${LEADS}, timeout: 3s, onTimeout: ${final} } }`);
  const [byDave, aborted] = await Promise.all([
    startRun(env, queue, inputFor(rb(gate('abort')), {}, { startedBy: 'alice' })),
    startRun(env, queue, inputFor(rb(gate('abort')), {}, { startedBy: 'alice' })),
  ]);
  const first = await requestFor(byDave);
  // Before escalating, dave may not decide.
  await postInteraction(click(first, 'U0DAVE'));
  expect(ephemerals('U0DAVE').pop()).toMatch(/Refused: dave is not an approver .*may decide once the approval escalates/);

  const esc = await requestFor(byDave, 'escalation');
  expect(esc.channel).toBe(LEADS);
  expect(blockText(esc)).toContain('<@U0DAVE>');
  expect(blockText(esc)).toContain('Escalated: Approval needed: rel › gate');
  const original = sim.message(OPS, first.ts)!;
  expect(buttons(original)).toBeUndefined();
  expect(blockText(original)).toMatch(/Escalated\*: no decision within 2s; escalated to group:leads in C0LEADS/);
  expect(threadPosts(first).some((t) => /approval gate escalated/.test(t))).toBe(true);

  await postInteraction(click(esc, 'U0DAVE'));
  const res = await byDave.result();
  expect(res.outputs.gate).toMatchObject({ approved: true, escalated: true });
  expect(blockText(sim.message(LEADS, esc.ts)!)).toMatch(/Approved\* by dave/);

  await expect(aborted.result()).rejects.toMatchObject({ cause: { message: expect.stringMatching(/timed out after 2s and again 3s after escalating/) } });
  const escAborted = await requestFor(aborted, 'escalation');
  const last = sim.message(LEADS, escAborted.ts)!;
  expect(buttons(last)).toBeUndefined();
  expect(blockText(last)).toMatch(/Timed out\* with 0 of 1 approvals; the run was stopped/);
});

test('a click after the run ended gets a clear answer, and stale buttons are removed', async () => {
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: [bob] }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);
  // Terminated from outside: the workflow never got to update its request.
  await h.terminate('operator stopped it');
  expect(buttons(sim.message(OPS, m.ts)!)).toHaveLength(2);
  await postInteraction(click(m, 'U0BOB'));
  expect(ephemerals('U0BOB').pop()).toMatch(/Refused: run .* has already ended \(terminated at [^)]+\); nothing to approve/);
  const after = sim.message(OPS, m.ts)!;
  expect(buttons(after)).toBeUndefined();
  expect(blockText(after)).toMatch(/has already ended \(terminated/);
});

test('cancelling a run that waits for approval closes the request and says so in the thread', async () => {
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: [bob] }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);
  await h.cancel();
  await expect(h.result()).rejects.toThrow();
  const after = sim.message(OPS, m.ts)!;
  expect(buttons(after)).toBeUndefined();
  expect(blockText(after)).toMatch(/The run ended before this was decided: the run was cancelled/);
  expect((await status(h)).approvals).toEqual([expect.objectContaining({ step: 'gate', outcome: 'cancelled' })]);
  await waitFor(() => threadPosts(m).some((t) => /run `.*` was cancelled/.test(t)), 'the cancellation in the thread');
});

test('ChatOps: /runwright run and status for allowed users only; the run posts its end in the announcement thread', async () => {
  const cmd = (user: string, text: string) => post(slashCommandBody({ command: '/runwright', text, user_id: user, channel_id: OPS, trigger_id: `t${++seq}`, response_url: 'http://127.0.0.1:1/unused' }));
  const denied = await cmd('U0MAL', 'run hello who=x');
  expect(denied.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/mallory may not use \/runwright/) });
  expect((await cmd('U0ALICE', 'frobnicate')).json.text).toMatch(/Unknown subcommand/);

  const before = sim.messages.length;
  const started = await cmd('U0ALICE', 'run hello who=ops n=3');
  expect(started.json).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/Starting \*hello\*/) });
  const announce = sim.messages.slice(before).find((m) => /started \*hello\* as/.test(m.text ?? ''))!;
  expect(announce.text).toMatch(/<@U0ALICE> started \*hello\* as <http:\/\/[^|]+\|(hello-[\w-]+)> \(who=ops, n=3\)/);
  const id = announce.text!.match(/\|(hello-[\w-]+)>/)![1];
  const res = await env.client.workflow.getHandle(id).result();
  expect(res.outputs.greet).toMatchObject({ message: 'hello ops x3' });
  const desc = await env.client.workflow.getHandle(id).describe();
  expect(desc.memo).toMatchObject({ startedBy: 'alice', source: 'slack' });
  await waitFor(() => threadPosts(announce).some((t) => /run `hello-.*` of hello succeeded/.test(t)), 'the completion in the ChatOps thread');

  const bad = await cmd('U0ALICE', 'run hello n=zero');
  expect(bad.status).toBe(200);
  expect(ephemerals('U0ALICE').pop()).toMatch(/param "who" is required|param "n"/);
  await cmd('U0ALICE', `status ${id}`);
  expect(ephemerals('U0ALICE').pop()).toMatch(new RegExp(`\\*${id}\\* \\(completed\\)[\\s\\S]*hello: succeeded[\\s\\S]*greet`));
});

test('Socket Mode: the same clicks and commands arrive over the WebSocket and are acknowledged', async () => {
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: [bob], timeout: 5m }`)), {}, { startedBy: 'alice' }));
  const m = await requestFor(h);
  await gw.startSocketMode();
  await waitFor(() => sim.socketConnected(), 'the Socket Mode connection');
  expect(sim.callsTo('apps.connections.open').at(-1)).toMatchObject({ status: 200, response: { ok: true } });
  const ack = await sim.socketSend('interactive', click(m, 'U0BOB'));
  expect(ack.envelope_id).toMatch(/^env-/);
  await gw.idle();
  await h.result();
  expect((await status(h)).decisions).toEqual([expect.objectContaining({ user: 'bob', source: 'slack' })]);
  const cmdAck = await sim.socketSend('slash_commands', { command: '/runwright', text: 'run hello', user_id: 'U0MAL', channel_id: OPS });
  expect(cmdAck.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/may not use/) });
  await gw.stop();
});

test('Slack ok:false errors do not fail the run: recorded as a notice, approvals still work; no token or secret in history', async () => {
  sim.fail('chat.postMessage', { error: 'channel_not_found' });
  const h = await startRun(env, queue, inputFor(rb(gateThenDeploy(`{ message: "go?", approvers: [bob], channel: C0GONE }`)), {}, { startedBy: 'alice' }));
  const st = await waitFor(async () => {
    const s = await status(h);
    return s.notices?.length ? s : undefined;
  }, 'the notice');
  expect(st.notices?.[0]).toMatch(/slack request for .* failed: slack chat\.postMessage: channel_not_found/);
  expect(sim.callsTo('chat.postMessage').filter((c) => c.args.channel === 'C0GONE')).toHaveLength(1); // permanent: not retried
  await env.client.workflow.getHandle(h.workflowId).executeUpdate('decide', { args: [{ decision: 'approve', user: 'bob', source: 'cli' }] });
  await h.result();
  const hist = JSON.stringify(await h.fetchHistory(), (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
  expect(hist).toContain('runwright.approval.notify');
  for (const secret of [BOT, SECRET, APP]) expect(hist).not.toContain(secret);
});

test('`runwright slack serve` refuses to start without secrets, then serves: health, 401 for unsigned, help for signed commands', async () => {
  const bin = join(resolve(__dirname, '..'), 'bin/runwright');
  const base = { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, SLACK_BOT_TOKEN: BOT, RUNWRIGHT_SLACK_API_URL: sim.apiUrl };
  const noSecret = spawn(process.execPath, [bin, 'slack', 'serve', '--port', '0'], { env: { ...base, SLACK_SIGNING_SECRET: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let e1 = '';
  noSecret.stderr.on('data', (d) => (e1 += d));
  expect(await new Promise((r) => noSecret.on('close', r))).toBe(2);
  expect(e1).toMatch(/needs SLACK_SIGNING_SECRET/);
  const badToken = spawn(process.execPath, [bin, 'slack', 'serve', '--port', '0'], { env: { ...base, SLACK_BOT_TOKEN: 'xoxb-wrong', SLACK_SIGNING_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
  let e2 = '';
  badToken.stderr.on('data', (d) => (e2 += d));
  expect(await new Promise((r) => badToken.on('close', r))).toBe(2);
  expect(e2).toMatch(/Slack auth\.test failed: invalid_auth/);

  const secretFile = join(dir, 'signing-secret');
  writeFileSync(secretFile, `${SECRET}\n`);
  const p = spawn(process.execPath, [bin, 'slack', 'serve', '--port', '0'], { env: { ...base, SLACK_SIGNING_SECRET_FILE: secretFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  try {
    const served = await waitFor(() => err.match(/listening on (http:\/\/[\d.:]+)/)?.[1], 'the gateway to listen', 120_000);
    expect(err).toMatch(/team Sim as runwright/);
    expect((await fetch(`${served}/healthz`)).status).toBe(200);
    const body = slashCommandBody({ command: '/runwright', text: 'help', user_id: 'U0ALICE', channel_id: OPS });
    expect((await fetch(served, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(401);
    const ok = await fetch(served, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...signedHeaders(SECRET, body) } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ text: expect.stringMatching(/Usage: `\/runwright run/) });
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.on('close', r));
  }
}, 180_000);

test('a replayed /runwright run (same signed request, inside the 5-minute window) starts one run, even after the gateway restarts', async () => {
  const body = slashCommandBody({ command: '/runwright', text: 'run hello who=replay', user_id: 'U0ALICE', channel_id: OPS, trigger_id: `replay-${Date.now()}`, response_url: 'http://127.0.0.1:1/unused' });
  const headers = signedHeaders(SECRET, body); // one signature, sent three times
  const before = sim.messages.length;
  const first = await post(body, headers);
  expect(first.json.text).toMatch(/Starting \*hello\*/);
  const again = await post(body, headers);
  expect(again.status).toBe(200);
  expect(again.json.text).toMatch(/already received; it started once/);
  // A restarted gateway has forgotten what it saw: the workflow id (from the trigger_id) stops it.
  const gw2 = new SlackGateway({ client: env.client, namespace: 'default', taskQueue: queue, slack: { botToken: BOT, signingSecret: SECRET, apiUrl: sim.apiUrl }, runbookDirs: [join(dir, 'runbooks')], log: (m) => logs.push(m) });
  const l2 = await gw2.listen(0);
  try {
    const r = await fetch(`${l2.url}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    expect(r.status).toBe(200);
    await gw2.idle();
  } finally {
    await l2.close();
    await gw2.stop();
  }
  expect(ephemerals('U0ALICE').pop()).toMatch(/Already started as `hello-slack-[0-9a-f]{16}`/);
  const announced = sim.messages.slice(before).filter((m) => /started \*hello\* as/.test(m.text ?? ''));
  expect(announced).toHaveLength(1);
  const id = announced[0].text!.match(/\|(hello-slack-[0-9a-f]{16})>/)![1];
  await env.client.workflow.getHandle(id).result();
  const runs: string[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "hello-slack-"` })) if (w.workflowId === id) runs.push(w.runId);
  expect(runs).toHaveLength(1);
});

test('ChatOps cannot choose a worker secret: /runwright run with a secret reference in params is refused, nothing starts', async () => {
  writeFileSync(
    join(dir, 'runbooks', 'call.yaml'),
    `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: call }\nspec:\n  params:\n    key: { type: string }\n  steps:\n    - id: c\n      action: http.request\n      with: { url: "http://127.0.0.1:1/", secretHeaders: { X-Api-Key: "{{ params.key }}" } }\n`,
  );
  const before = sim.messages.length;
  const body = slashCommandBody({ command: '/runwright', text: 'run call key=env:SLACK_BOT_TOKEN', user_id: 'U0ALICE', channel_id: OPS, trigger_id: `sec-${Date.now()}`, response_url: 'http://127.0.0.1:1/unused' });
  await post(body);
  expect(ephemerals('U0ALICE').pop()).toMatch(/refused: secret env:SLACK_BOT_TOKEN: comes from the run's params/);
  expect(sim.messages.slice(before).filter((m) => /call/.test(m.text ?? ''))).toHaveLength(0);
});
