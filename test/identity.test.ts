/**
 * Proven identity and who may do what (issue 12 items 5 and 6), on real parts: keys made with
 * ssh-keygen, signatures checked by `ssh-keygen -Y verify` in the worker's authorize activity,
 * the shared real dev server, the real CLI. Hostile cases first-class: a key that is not in
 * allowed_signers, a valid signature replayed onto another run or plan, repeated --as to fake a
 * quorum, unsigned claims, a refused start that must leave no side effect, and a params change
 * that must void earlier approvals.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { buildRegistry } from '../activities/registry';
import { renderFollowingPlan } from '../activities/approval/prepare';
import { sendDecision, sendSetParams, type DecisionOutcome } from '../client/decide';
import { authorizeRequest, paramsHash, startHash, type AuthorizeInput } from '../lib/identity/authorize';
import { canonicalJson } from '../lib/identity/canonical';
import { newClaim, type Proof, type RequestClaim } from '../lib/identity/request';
import { signClaim, verifySignature } from '../lib/identity/ssh';
import { cancelUpdate, statusQuery, type CancelInput, type DecisionInput, type RunInput, type RunStatus } from '../workflows/definitions';
import { runCli, type CliResult } from './helpers/cli';
import { SlackGateway } from '../integrations/slack/gateway';
import { startSlackSim } from '../sim/slack/server';
import { interactionBody, signedHeaders } from '../sim/slack/sign';
import { connectTestEnv, failureMessage, inputFor, runbookFrom, serverAddress, shippedInput, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { TEST_ACTIONS } from './helpers/test-actions';
import type { Worker } from '@temporalio/worker';
import { waitFor as waitUntil } from './helpers/wait';

let dir: string;
const rethrowRoot = (e: unknown): never => {
  let c: any = e;
  while (c?.cause) c = c.cause;
  throw new Error(String(c?.message ?? e));
};
const key = (who: string) => join(dir, 'keys', who);
const ENV_KEYS = ['RUNWRIGHT_ALLOWED_SIGNERS', 'RUNWRIGHT_APPROVERS_FILE', 'RUNWRIGHT_ACCESS_POLICY', 'RUNWRIGHT_REQUIRE_SIGNED'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
let signedEnv: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-identity-'));
  mkdirSync(join(dir, 'keys'));
  const lines: string[] = [];
  for (const who of ['alice', 'bob', 'carol', 'mallory', 'gateway']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', key(who)]);
    const principal = who === 'gateway' ? 'slack-gateway' : who;
    // mallory has a key, but is not in allowed_signers.
    if (who !== 'mallory') lines.push(`${principal} namespaces="runwright" ${readFileSync(`${key(who)}.pub`, 'utf8').trim()}`);
  }
  writeFileSync(join(dir, 'allowed_signers'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'approvers.yaml'), 'groups:\n  sre: [alice, bob, carol]\n  ops: [alice]\nusers:\n  carol: { slack: U0CAROL }\n  bob: { slack: U0BOB }\n');
  writeFileSync(
    join(dir, 'access.yaml'),
    [
      'rules:',
      '  - runbooks: ["guarded-*"]',
      '    start: [group:ops]',
      '    cancel: [alice]',
      'default:',
      '  start: [group:sre]',
      '  approve: [group:sre]',
      '  setParams: [group:sre]',
      '  cancel: [group:sre]',
      'gateways: [slack-gateway]',
      '',
    ].join('\n'),
  );
  signedEnv = {
    RUNWRIGHT_ALLOWED_SIGNERS: join(dir, 'allowed_signers'),
    RUNWRIGHT_APPROVERS_FILE: join(dir, 'approvers.yaml'),
    RUNWRIGHT_ACCESS_POLICY: join(dir, 'access.yaml'),
  };
  // The in-process worker's activities read these.
  Object.assign(process.env, signedEnv);
});
afterAll(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

const sign = (c: Omit<RequestClaim, 'v' | 'at' | 'nonce'> & { at?: string }, who: string = c.user, principal?: string): Promise<Proof> => signClaim(newClaim(c), key(who), principal ?? c.user);
const refusal = async (input: AuthorizeInput, env: NodeJS.ProcessEnv = process.env) => {
  const r = await authorizeRequest(input, env);
  return r.ok ? `accepted as ${r.auth.user} (${r.auth.method})` : r.reason;
};

describe('worker-side check (real ssh-keygen, no server)', () => {
  const base = { workflowId: 'w1', runbook: 'deploy' };

  test('a good signature verifies; the same bytes under another principal, or a key not in allowed_signers, do not', async () => {
    const p = await sign({ action: 'approve', ...base, hash: 'h1', user: 'bob' });
    expect((await verifySignature(signedEnv.RUNWRIGHT_ALLOWED_SIGNERS, 'bob', p.payload, p.signature)).key).toMatch(/^SHA256:/);
    await expect(verifySignature(signedEnv.RUNWRIGHT_ALLOWED_SIGNERS, 'carol', p.payload, p.signature)).rejects.toThrow();
    await expect(verifySignature(signedEnv.RUNWRIGHT_ALLOWED_SIGNERS, 'bob', p.payload.replace('h1', 'h2'), p.signature)).rejects.toThrow();
    expect(await refusal({ action: 'approve', ...base, user: 'bob', proof: p, planHash: 'h1' })).toBe('accepted as bob (ssh)');
    // mallory's key claiming to be bob.
    const forged = await sign({ action: 'approve', ...base, hash: 'h1', user: 'bob' }, 'mallory', 'bob');
    expect(await refusal({ action: 'approve', ...base, user: 'bob', proof: forged, planHash: 'h1' })).toMatch(/signature of bob does not verify/);
  });

  test('the signature binds action, run, runbook, plan, identity, time; unsigned claims are refused in signed mode, accepted (recorded as claims) in local mode', async () => {
    const p = await sign({ action: 'approve', ...base, hash: 'h1', user: 'bob' });
    expect(await refusal({ action: 'approve', ...base, workflowId: 'w2', user: 'bob', proof: p, planHash: 'h1' })).toMatch(/signature is for run "w1", not "w2"/);
    expect(await refusal({ action: 'reject', ...base, user: 'bob', proof: p, planHash: 'h1' })).toMatch(/for action "approve", not "reject"/);
    expect(await refusal({ action: 'approve', ...base, user: 'bob', proof: p, planHash: 'h2' })).toMatch(/signature is for plan h1.*plan is now h2/);
    expect(await refusal({ action: 'approve', ...base, runbook: 'other', user: 'bob', proof: p, planHash: 'h1' })).toMatch(/for runbook "deploy"/);
    // Repeating --as: bob's key cannot speak for carol.
    const asCarol = await sign({ action: 'approve', ...base, hash: 'h1', user: 'carol' }, 'bob');
    expect(await refusal({ action: 'approve', ...base, user: 'carol', proof: asCarol, planHash: 'h1' })).toMatch(/signature of carol does not verify/);
    const bobForCarol = await sign({ action: 'approve', ...base, hash: 'h1', user: 'carol' }, 'bob', 'bob');
    expect(await refusal({ action: 'approve', ...base, user: 'carol', proof: bobForCarol, planHash: 'h1' })).toMatch(/bob signed a request for carol; only carol's own key/);
    const old = await sign({ action: 'approve', ...base, hash: 'h1', user: 'bob', at: new Date(Date.now() - 10 * 60_000).toISOString() });
    expect(await refusal({ action: 'approve', ...base, user: 'bob', proof: old, planHash: 'h1' })).toMatch(/too old/);
    expect(await refusal({ action: 'approve', ...base, user: 'bob', proof: old, planHash: 'h1', queued: true })).toBe('accepted as bob (ssh)');
    expect(await refusal({ action: 'approve', ...base, user: 'bob', planHash: 'h1' })).toMatch(/unsigned claim to be bob: this worker requires signed requests/);
    expect(await refusal({ action: 'approve', ...base, user: 'bob', planHash: 'h1' }, { RUNWRIGHT_REQUIRE_SIGNED: '1' })).toMatch(/RUNWRIGHT_REQUIRE_SIGNED is set but RUNWRIGHT_ALLOWED_SIGNERS is not/);
    const local = await authorizeRequest({ action: 'approve', ...base, user: 'bob', planHash: 'h1' }, {});
    expect(local).toEqual({ ok: true, auth: expect.objectContaining({ user: 'bob', method: 'claim', note: expect.stringMatching(/not verified/) }) });
  });

  test('start binds the whole input; set-params binds the params; the access policy decides who may start', async () => {
    const input = { runbook: { metadata: { name: 'deploy' } }, params: { target: 'staging' }, children: {} };
    const p = await sign({ action: 'start', ...base, hash: startHash(input), user: 'bob' });
    expect(await refusal({ action: 'start', ...base, user: 'bob', proof: p, start: input })).toBe('accepted as bob (ssh)');
    expect(await refusal({ action: 'start', ...base, user: 'bob', proof: p, start: { ...input, params: { target: 'prod' } } })).toMatch(/signed run input hash .* does not match/);
    const sp = await sign({ action: 'set-params', ...base, hash: paramsHash({ target: 'prod' }), user: 'bob' });
    expect(await refusal({ action: 'set-params', ...base, user: 'bob', proof: sp, params: { target: 'prod' } })).toBe('accepted as bob (ssh)');
    expect(await refusal({ action: 'set-params', ...base, user: 'bob', proof: sp, params: { target: 'dr' } })).toMatch(/signed params hash/);
    // guarded-* may be started by group ops (alice) only.
    const g = await sign({ action: 'start', workflowId: 'w1', runbook: 'guarded-x', hash: startHash(input), user: 'bob' });
    expect(await refusal({ action: 'start', workflowId: 'w1', runbook: 'guarded-x', user: 'bob', proof: g, start: input })).toMatch(/bob may not start runbook guarded-x \(access policy .*rules\[0\]\.start: group:ops\)/);
  });

  test('Slack: the gateway vouches for a Slack user only as the identity the approvers file maps; an untrusted signer cannot vouch; schedules bind the schedule', async () => {
    const c = { action: 'approve' as const, ...base, hash: 'h1', user: 'carol', via: 'slack' as const };
    const ok = await sign({ ...c, slackUser: 'U0CAROL' }, 'gateway', 'slack-gateway');
    expect(await authorizeRequest({ action: 'approve', ...base, user: 'carol', proof: ok, planHash: 'h1' })).toEqual({
      ok: true,
      auth: expect.objectContaining({ user: 'carol', method: 'slack', via: 'slack-gateway', slackUser: 'U0CAROL' }),
    });
    const wrong = await sign({ ...c, slackUser: 'U0BOB' }, 'gateway', 'slack-gateway');
    expect(await refusal({ action: 'approve', ...base, user: 'carol', proof: wrong, planHash: 'h1' })).toMatch(/maps that Slack user to bob/);
    const byBob = await sign({ ...c, slackUser: 'U0CAROL' }, 'bob', 'bob');
    expect(await refusal({ action: 'approve', ...base, user: 'carol', proof: byBob, planHash: 'h1' })).toMatch(/bob signed a request for carol/);

    const input = { runbook: { metadata: { name: 'deploy' } }, params: {}, children: {} };
    const sched = await sign({ action: 'start', workflowId: 'nightly', runbook: 'deploy', hash: startHash(input), user: 'bob', schedule: 'nightly', at: '2026-01-01T00:00:00Z' });
    expect(await refusal({ action: 'start', workflowId: 'nightly-2026-12-03T03:00:00Z', runbook: 'deploy', user: 'bob', proof: sched, start: input, scheduledBy: 'nightly' })).toBe('accepted as bob (schedule)');
    expect(await refusal({ action: 'start', workflowId: 'nightly-2026-12-03T03:00:00Z', runbook: 'deploy', user: 'bob', proof: sched, start: input })).toMatch(/not started by that schedule/);
  });

  test('plan hash: changing only the `context` of capi-cluster-delete changes the hash, though the summary text stays the same', () => {
    const rb = shippedInput('capi-cluster-delete', { name: 'c1', context: 'admin@site-a' }).runbook;
    const following = rb.spec.steps.slice(1);
    const a = renderFollowingPlan({ runbook: rb.metadata.name, following, params: { name: 'c1', namespace: 'default', timeout: '30m', pollInterval: '10s', kubeconfig: '', context: 'admin@site-a' } }, buildRegistry());
    const b = renderFollowingPlan({ runbook: rb.metadata.name, following, params: { name: 'c1', namespace: 'default', timeout: '30m', pollInterval: '10s', kubeconfig: '', context: 'admin@site-b' } }, buildRegistry());
    expect(b.plan).toBe(a.plan); // the one-line summary does not show the context ...
    expect(b.planHash).not.toBe(a.planHash); // ... the hash covers it
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 'x' }] })).toBe('{"a":[1,{"c":"x"}],"b":1}');
  });
});

describe('on a real server', () => {
  let env: TestEnv;
  let queue: string;
  let worker: Worker;
  let running: Promise<void>;
  beforeAll(async () => {
    env = await connectTestEnv();
    queue = uniqueQueue('identity');
    worker = await startTestWorker(env, queue, TEST_ACTIONS);
    running = worker.run();
  }, 60_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.close();
  });

  const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<RunStatus>;
  const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30_000): Promise<T> => waitUntil(fn, what, ms, { ignoreErrors: true, intervalMs: 150 });
  const pendingGate = (h: WorkflowHandle) =>
    waitFor(async () => {
      const g = (await status(h)).pendingApprovals[0];
      return g?.planHash ? g : undefined;
    }, 'a pending gate');
  const refused = (o: DecisionOutcome) => (o.status === 'refused' ? o.reason : `not refused: ${JSON.stringify(o)}`);
  let seq = 0;
  const wid = (n: string) => `${n}-${Date.now().toString(36)}-${seq++}`;

  async function signedStart(input: RunInput, workflowId: string, who = input.startedBy!): Promise<RunInput> {
    return { ...input, proof: await sign({ action: 'start', workflowId, runbook: input.runbook.metadata.name, hash: startHash(input), user: input.startedBy! }, who, input.startedBy) };
  }
  async function approve(h: WorkflowHandle, user: string, planHash: string, opts: { who?: string; workflowId?: string; extra?: Partial<DecisionInput> } = {}): Promise<DecisionOutcome> {
    const proof = await sign({ action: 'approve', workflowId: opts.workflowId ?? h.workflowId, runbook: 'deploy', hash: planHash, user, step: 'gate' }, opts.who ?? user, user);
    return sendDecision(env.client, h.workflowId, { decision: 'approve', user, step: 'gate', planHash, source: 'cli', proof, ...opts.extra }, { timeoutMs: 60_000 });
  }

  const marker = (name: string) => join(dir, 'side-effects', 'markers', name.replace(/[^\w.-]/g, '_'));
  const deploy = () =>
    runbookFrom(
      `apiVersion: runwright/v1
kind: Runbook
metadata: { name: deploy }
spec:
  params:
    context: { type: string, default: admin@site-a }
  steps:
    - id: gate
      approval: { message: "delete?", approvers: ["group:sre"], required: 2 }
    - id: delete
      action: core.noop
      with: { value: "{{ params.context }}" }
    - id: record
      action: test.record
      with: { dir: "${join(dir, 'side-effects')}", key: "deleted-{{ steps.delete.outputs.value }}" }
`,
      TEST_ACTIONS,
    );

  test('a refused start leaves no side effect: unsigned, forged, tampered input, not allowed by policy; the refusal is in the history', async () => {
    const rb = runbookFrom(
      `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: guarded-write }\nspec:\n  params:\n    key: { type: string }\n  steps:\n    - id: write\n      action: test.record\n      with: { dir: "${join(dir, 'side-effects')}", key: "{{ params.key }}" }\n`,
      TEST_ACTIONS,
    );
    const cases: [string, (id: string) => Promise<RunInput>, RegExp][] = [
      ['unsigned', async () => inputFor(rb, { key: 'unsigned' }, { startedBy: 'alice' }), /start refused: unsigned claim to be alice/],
      ['forged', async (id) => signedStart(inputFor(rb, { key: 'forged' }, { startedBy: 'alice' }), id, 'mallory'), /start refused: signature of alice does not verify/],
      [
        'tampered',
        async (id) => ({ ...(await signedStart(inputFor(rb, { key: 'innocent' }, { startedBy: 'alice' }), id)), params: { key: 'tampered' } }),
        /start refused: the signed run input hash .* does not match/,
      ],
      ['policy', async (id) => signedStart(inputFor(rb, { key: 'policy' }, { startedBy: 'bob' }), id), /start refused: bob may not start runbook guarded-write/],
      ['replayed', async () => signedStart(inputFor(rb, { key: 'replayed' }, { startedBy: 'alice' }), 'some-other-run'), /start refused: the signature is for run "some-other-run"/],
    ];
    for (const [name, make, why] of cases) {
      const id = wid(`refused-${name}`);
      const h = await startRun(env, queue, await make(id), id);
      expect(await failureMessage(h.result())).toMatch(why);
      const hist = await h.fetchHistory();
      // The only activity the run scheduled is the authorization: no step ran.
      const scheduled = (hist.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
      expect(scheduled).toEqual(['runwright.identity.authorize']);
    }
    for (const k of ['unsigned', 'forged', 'innocent', 'tampered', 'policy', 'replayed']) expect(existsSync(marker(k))).toBe(false);

    // The control: alice, signed, may start it, and it writes its marker.
    const id = wid('allowed');
    const h = await startRun(env, queue, await signedStart(inputFor(rb, { key: 'allowed' }, { startedBy: 'alice' }), id), id);
    await h.result();
    expect(existsSync(marker('allowed'))).toBe(true);
    expect((await status(h)).identity).toMatchObject({ user: 'alice', method: 'ssh', key: expect.stringMatching(/^SHA256:/) });
  });

  test('approvals: forged and replayed signatures, a faked quorum and self-approval are refused and recorded; a params change voids signed approvals', async () => {
    const id = wid('deploy');
    const other = wid('deploy-other');
    const h = await startRun(env, queue, await signedStart(inputFor(deploy(), {}, { startedBy: 'alice' }), id), id);
    const h2 = await startRun(env, queue, await signedStart(inputFor(deploy(), {}, { startedBy: 'alice' }), other), other);
    const gate = await pendingGate(h);
    const gate2 = await pendingGate(h2);
    expect(gate2.planHash).toBe(gate.planHash); // same runbook, same params: same plan

    expect(refused(await approve(h, 'bob', gate.planHash!, { who: 'mallory' }))).toMatch(/unverified: signature of bob does not verify/);
    expect(refused(await approve(h, 'alice', gate.planHash!))).toMatch(/alice started this run and cannot approve it/);
    const unsigned = await sendDecision(env.client, id, { decision: 'approve', user: 'bob', source: 'cli' }, { timeoutMs: 60_000 });
    expect(refused(unsigned)).toMatch(/unverified: unsigned claim to be bob/);
    // bob's valid approval of the other run, replayed onto this one.
    const forOther = await sign({ action: 'approve', workflowId: other, runbook: 'deploy', hash: gate.planHash!, user: 'bob', step: 'gate' });
    expect(refused(await sendDecision(env.client, id, { decision: 'approve', user: 'bob', step: 'gate', source: 'cli', proof: forOther }, { timeoutMs: 60_000 }))).toMatch(
      /signature is for run "deploy-other/,
    );

    const bob = await approve(h, 'bob', gate.planHash!);
    expect(bob).toMatchObject({ status: 'accepted', result: { approvals: 1, required: 2 } });
    // Faking the quorum: bob again as carol (his key, her name), and bob's own signed request replayed under a new request id.
    expect(refused(await approve(h, 'carol', gate.planHash!, { who: 'bob' }))).toMatch(/signature of carol does not verify/);
    let st = await status(h);
    expect(st.pendingApprovals[0].decisions.filter((d) => d.counted !== false)).toEqual([
      expect.objectContaining({ user: 'bob', auth: expect.objectContaining({ user: 'bob', method: 'ssh', key: expect.stringMatching(/^SHA256:/) }) }),
    ]);
    expect(st.refusals?.map((r) => r.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/signature of bob does not verify/), expect.stringMatching(/unsigned claim/), expect.stringMatching(/signature of carol does not verify/)]),
    );

    // item 6: carol changes only `context`: the plan hash changes, bob's approval stops counting, his signature cannot be re-sent.
    const sp = await sign({ action: 'set-params', workflowId: id, runbook: 'deploy', hash: paramsHash({ context: 'admin@site-b' }), user: 'carol' });
    // Tampered: the signed params are not the ones sent.
    await expect(sendSetParams(env.client, id, { user: 'carol', params: { context: 'admin@evil' }, source: 'cli', coerce: true, proof: sp }, 60_000).catch(rethrowRoot)).rejects.toThrow(
      /unverified: the signed params hash .* does not match/,
    );
    await sendSetParams(env.client, id, { user: 'carol', params: { context: 'admin@site-b' }, source: 'cli', coerce: true, proof: sp }, 60_000);
    const after = await waitFor(async () => {
      const g = (await status(h)).pendingApprovals[0];
      return g?.planHash !== gate.planHash && g;
    }, 'the re-rendered plan');
    // The plan text shows neither the context (core.noop: "nothing") nor the marker key (an output not yet known): the hash covers both.
    expect(after.plan).toBe(gate.plan);
    expect(after.plan).toMatch(/⟨steps\.delete\.outputs\.value⟩/);
    expect(after.decisions).toEqual([expect.objectContaining({ user: 'bob', counted: false })]);
    expect(refused(await approve(h, 'bob', gate.planHash!, { extra: { requestId: 'bob-again' } }))).toMatch(/changed since you reviewed it/);
    // His old proof on the new plan hash claim: the signature binds the old plan.
    const oldProof = await sign({ action: 'approve', workflowId: id, runbook: 'deploy', hash: gate.planHash!, user: 'bob', step: 'gate' });
    expect(refused(await sendDecision(env.client, id, { decision: 'approve', user: 'bob', step: 'gate', planHash: after.planHash, source: 'cli', proof: oldProof }, { timeoutMs: 60_000 }))).toMatch(
      /signature is for plan .* the plan is now/,
    );
    expect((await status(h)).paramChanges).toEqual([expect.objectContaining({ user: 'carol', auth: expect.objectContaining({ method: 'ssh' }) })]);

    expect(await approve(h, 'bob', after.planHash!)).toMatchObject({ status: 'accepted', result: { approvals: 1 } });
    expect(existsSync(marker('deleted-admin@site-b'))).toBe(false);
    expect(await approve(h, 'carol', after.planHash!)).toMatchObject({ status: 'accepted', result: { approvals: 2 } });
    await h.result();
    expect(existsSync(marker('deleted-admin@site-b'))).toBe(true);
    expect(existsSync(marker('deleted-admin@site-a'))).toBe(false);
    st = await status(h);
    expect(st.approvals?.[0].decisions.map((d) => [d.user, d.auth?.method])).toEqual([
      ['bob', 'ssh'],
      ['carol', 'ssh'],
    ]);
    await h2.terminate('test done');
  }, 120_000);

  test('cancel is a signed request the run authorizes: unsigned or not allowed is refused and the run goes on; the CLI refuses early (exit 2); alice cancels', async () => {
    const rb = runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: guarded-nap }\nspec:\n  steps:\n    - id: nap\n      sleep: 10m\n`);
    const id = wid('guarded-nap');
    const h = await startRun(env, queue, await signedStart(inputFor(rb, {}, { startedBy: 'alice' }), id), id);
    await waitFor(async () => (await status(h)).identity, 'the start to be authorized');
    const upd = (input: CancelInput) => h.executeUpdate(cancelUpdate, { args: [input] });
    await expect(upd({ user: 'alice' }).catch(rethrowRoot)).rejects.toThrow(/unverified: unsigned claim to be alice/);
    const bobProof = await sign({ action: 'cancel', workflowId: id, runbook: 'guarded-nap', hash: null, user: 'bob' });
    await expect(upd({ user: 'bob', proof: bobProof }).catch(rethrowRoot)).rejects.toThrow(/unverified: bob may not cancel runbook guarded-nap/);
    const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> =>
      runCli(args, { cwd: dir, env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_HOME: join(dir, '.runwright'), ...signedEnv, ...extra } });
    const early = await cli(['cancel', id, '--as', 'bob', '--key', key('bob')]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/refused: bob may not cancel runbook guarded-nap/);
    // Without the policy on the CLI side, the run itself refuses.
    const late = await cli(['cancel', id, '--as', 'bob', '--key', key('bob')], { RUNWRIGHT_ACCESS_POLICY: '' });
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/refused: unverified: bob may not cancel runbook guarded-nap/);
    expect((await h.describe()).status.name).toBe('RUNNING');
    const st = await status(h);
    expect(st.refusals?.map((r) => `${r.decision}: ${r.reason}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^cancel: unverified: unsigned claim to be alice/), expect.stringMatching(/^cancel: unverified: bob may not cancel/)]),
    );

    const ok = await cli(['cancel', id, '--as', 'alice', '--key', key('alice'), '--reason', 'wrong window']);
    expect(ok.code).toBe(0);
    await expect(h.result()).rejects.toThrow();
    expect((await h.describe()).status.name).toBe('CANCELLED');
    expect((await status(h)).cancelledBy).toMatchObject({ user: 'alice', method: 'ssh', reason: 'wrong window' });
  }, 120_000);

  test('CLI: run and approve with --key; repeating --as with one key does not make a quorum', async () => {
    const rbFile = join(dir, 'deploy.yaml');
    writeFileSync(
      rbFile,
      `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: deploy }\nspec:\n  steps:\n    - id: gate\n      approval: { message: ok, approvers: ["group:sre"], required: 2 }\n    - id: after\n      action: core.log\n      with: { message: done }\n`,
    );
    const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> =>
      runCli(args, { cwd: dir, env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_HOME: join(dir, '.runwright'), ...signedEnv, ...extra } });
    const id = wid('cli-deploy');
    const unsigned = await cli(['run', rbFile, '--detach', '--id', `${id}-unsigned`, '--as', 'alice']);
    expect(unsigned.code).toBe(0); // the start is accepted by Temporal ...
    expect(await failureMessage(env.client.workflow.getHandle(`${id}-unsigned`).result())).toMatch(/start refused: unsigned claim/); // ... and refused by the run

    const start = await cli(['run', rbFile, '--detach', '--id', id, '--as', 'alice'], { RUNWRIGHT_SIGNING_KEY: key('alice') });
    expect(start.code).toBe(0);
    const h = env.client.workflow.getHandle(id);
    await pendingGate(h);
    const bob = await cli(['approve', id, '--as', 'bob', '--key', key('bob')]);
    expect(bob.stdout).toMatch(/approved gate of .* as bob \(1\/2 approvals\)/);
    const fake = await cli(['approve', id, '--as', 'carol', '--key', key('bob')]);
    expect(fake.code).toBe(2);
    expect(fake.stderr).toMatch(/refused: unverified: signature of carol does not verify/);
    const claim = await cli(['approve', id, '--as', 'carol']);
    expect(claim.code).toBe(2);
    expect(claim.stderr).toMatch(/unsigned claim to be carol/);
    expect((await status(h)).pendingApprovals[0].decisions).toHaveLength(1);
    const carol = await cli(['approve', id, '--as', 'carol', '--key', key('carol')]);
    expect(carol.stdout).toMatch(/as carol \(2\/2 approvals\)/);
    await h.result();
  }, 120_000);
  test('schedules: create signs as the creator; every scheduled run acts as them (so they cannot approve it); the signed args replayed outside the schedule are refused', async () => {
    const rbFile = join(dir, 'nightly.yaml');
    writeFileSync(
      rbFile,
      `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: nightly }\nspec:\n  steps:\n    - id: gate\n      approval: { message: ok, approvers: ["group:sre"] }\n    - id: after\n      action: core.log\n      with: { message: done }\n`,
    );
    const cli = (args: string[]): Promise<CliResult> =>
      runCli(args, { cwd: dir, env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_HOME: join(dir, '.runwright'), ...signedEnv } });
    const sid = wid('nightly');
    const created = await cli(['schedule', 'create', rbFile, '--cron', '0 3 * * 1', '--id', sid, '--paused', '--as', 'alice', '--key', key('alice')]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    try {
      expect((await cli(['schedule', 'trigger', sid])).code).toBe(0);
      const runId = await waitFor(async () => (await env.client.schedule.getHandle(sid).describe()).info.recentActions[0]?.action.workflow.workflowId, 'the scheduled run');
      const h = env.client.workflow.getHandle(runId);
      const gate = await pendingGate(h);
      expect((await status(h)).identity).toMatchObject({ user: 'alice', method: 'schedule' });
      const as = async (user: string) =>
        sendDecision(env.client, runId, { decision: 'approve', user, step: 'gate', planHash: gate.planHash, source: 'cli', proof: await sign({ action: 'approve', workflowId: runId, runbook: 'nightly', hash: gate.planHash!, user, step: 'gate' }) }, { timeoutMs: 60_000 });
      expect(refused(await as('alice'))).toMatch(/alice started this run and cannot approve it/);
      expect(await as('bob')).toMatchObject({ status: 'accepted' });
      await h.result();

      // The schedule's signed start, replayed by hand under a workflow id that looks scheduled.
      const args = (await env.client.schedule.getHandle(sid).describe()).action as unknown as { args: RunInput[] };
      const fake = `${sid}-2026-12-03T03:00:00Z`;
      const r = await startRun(env, queue, args.args[0], fake);
      expect(await failureMessage(r.result())).toMatch(/start refused: the signature is for runs of schedule .* but this run was not started by that schedule \(not scheduled\)/);
    } finally {
      await env.client.schedule.getHandle(sid).delete().catch(() => undefined);
    }
  }, 120_000);

  test('Slack: the gateway vouches (signed with its key) for the mapped identity; without its key, or for an unmapped user, nothing counts', async () => {
    const SECRET = 'identity-test-secret';
    const BOT = 'xoxb-identity-test';
    const sim = await startSlackSim({ botToken: BOT, appToken: 'xapp-identity', users: {} });
    const gateway = (signingKey?: string) =>
      new SlackGateway({ client: env.client, namespace: 'default', taskQueue: queue, slack: { botToken: BOT, signingSecret: SECRET, apiUrl: sim.apiUrl }, decisionTimeoutMs: 30_000, signingKey, principal: 'slack-gateway', log: () => undefined });
    const signed = gateway(key('gateway'));
    const unsigned = gateway();
    const a = await signed.listen(0);
    const b = await unsigned.listen(0);
    try {
      const id = wid('deploy-slack');
      const h = await startRun(env, queue, await signedStart(inputFor(deploy(), {}, { startedBy: 'alice' }), id), id);
      const gate = await pendingGate(h);
      let n = 0;
      const click = async (url: string, gw: { idle(): Promise<void> }, user: string) => {
        const body = interactionBody({
          type: 'block_actions',
          user: { id: user, username: user.toLowerCase() },
          api_app_id: 'ASIM',
          trigger_id: `trig-${++n}`,
          container: { type: 'message', message_ts: '1.1', channel_id: 'C0OPS' },
          channel: { id: 'C0OPS' },
          actions: [{ action_id: 'runwright_approve', block_id: 'runwright_decide', value: JSON.stringify({ w: id, s: 'gate', h: gate.planHash }), type: 'button', action_ts: `${Date.now() / 1000}${n}` }],
        });
        const r = await fetch(`${url}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...signedHeaders(SECRET, body) }, body });
        expect(r.status).toBe(200);
        await gw.idle();
      };
      await click(b.url, unsigned, 'U0BOB');
      await click(a.url, signed, 'U0NOBODY');
      await click(a.url, signed, 'U0CAROL');
      const st = await status(h);
      expect(st.pendingApprovals[0].decisions).toEqual([expect.objectContaining({ user: 'carol', source: 'slack', auth: expect.objectContaining({ method: 'slack', via: 'slack-gateway', slackUser: 'U0CAROL', user: 'carol' }) })]);
      expect(st.refusals?.map((r) => r.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/unverified: unsigned claim to be bob/), expect.stringMatching(/U0NOBODY is not mapped/)]));
      await h.terminate('test done');
    } finally {
      await a.close();
      await b.close();
      await signed.stop();
      await unsigned.stop();
      await sim.close();
    }
  }, 120_000);

  test('a signed request counts once: an old params change replayed after it was reverted is refused (nonce)', async () => {
    const id = wid('deploy-nonce');
    const h = await startRun(env, queue, await signedStart(inputFor(deploy(), {}, { startedBy: 'alice' }), id), id);
    await pendingGate(h);
    const change = async (who: string, context: string) => ({
      user: who,
      params: { context },
      source: 'cli',
      coerce: true,
      proof: await sign({ action: 'set-params', workflowId: id, runbook: 'deploy', hash: paramsHash({ context }), user: who }),
    });
    const toB = await change('carol', 'admin@site-b');
    await sendSetParams(env.client, id, toB, 60_000);
    await sendSetParams(env.client, id, await change('bob', 'admin@site-a'), 60_000);
    await expect(sendSetParams(env.client, id, toB, 60_000).catch(rethrowRoot)).rejects.toThrow(/unverified: replayed request/);
    const st = await status(h);
    expect(st.params.context).toBe('admin@site-a');
    expect(st.paramChanges?.map((c) => c.user)).toEqual(['carol', 'bob']);
    await h.terminate('test done');
  }, 120_000);
});
