/**
 * Approval policy pieces without a server: the step's schema and validator checks, the
 * approvers file (groups, nesting, cycles, identities, ChatOps), Slack signature checks and the
 * request's Block Kit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '../../activities/registry';
import { renderFollowingPlan } from '../../activities/approval/prepare';
import { validateRunbookText } from '../../dsl/validate';
import { ApproversConfigError, chatopsAllowed, expandApprovers, identityForSlackUser, loadApprovers } from '../../lib/approvers';
import { signatureProblem } from '../../integrations/slack/gateway';
import { ACTION_APPROVE, approvalBlocks, parseButtonValue, type ApprovalCard } from '../../lib/slack-blocks';
import { signedHeaders } from '../../sim/slack/sign';

const doc = (approval: string) => `apiVersion: runwright/v1
kind: Runbook
metadata: { name: p }
spec:
  steps:
    - id: gate
      approval: ${approval}
    - id: after
      action: core.log
      with: { message: done }
`;
const errors = (approval: string) => validateRunbookText('p.yaml', doc(approval), { actions: buildRegistry() }).diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);

test('validator: escalation needs a timeout and onTimeout: escalate; approvers are names or group:NAME; quorum checked when countable', () => {
  expect(errors('{ message: ok, timeout: 1h, onTimeout: escalate, escalate: { approvers: ["group:leads"], timeout: 30m, onTimeout: approve } }')).toEqual([]);
  expect(errors('{ message: ok, onTimeout: escalate }')).toEqual([expect.stringMatching(/^7:\d+: onTimeout: escalate needs a timeout/)]);
  expect(errors('{ message: ok, timeout: 1h, escalate: { timeout: 1h } }')).toEqual([expect.stringMatching(/escalate is only used with onTimeout: escalate/)]);
  expect(errors('{ message: ok, timeout: 1h, onTimeout: escalate, escalate: { onTimeout: escalate } }').join('\n')).toMatch(/onTimeout/);
  expect(errors('{ message: ok, approvers: ["bad name"] }').join('\n')).toMatch(/expected a user name or group:NAME/);
  expect(errors('{ message: ok, approvers: [a, b], required: 3 }')).toEqual([expect.stringMatching(/needs 3 approvals but lists only 2 approver\(s\)/)]);
  // A group's size is known only to the worker.
  expect(errors('{ message: ok, approvers: [a, "group:sre"], required: 3 }')).toEqual([]);
});

test('approvers file: nested groups expand, unknown groups and cycles are errors; Slack identities by id or e-mail; ChatOps allow list', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-approvers-'));
  try {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, 'groups:\n  sre: [bob, alice]\n  all: [group:sre, carol]\n  loop: [group:loop2]\n  loop2: [group:loop]\nusers:\n  bob: { slack: U1 }\n  carol: { email: Carol@x.io }\nchatops:\n  allow: [group:sre]\n');
    const cfg = loadApprovers({ RUNWRIGHT_APPROVERS_FILE: file });
    expect(expandApprovers(['group:all', 'dave'], cfg)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(() => expandApprovers(['group:nope'], cfg)).toThrow(/group "nope" is not defined in the approvers file .*a\.yaml/);
    expect(() => expandApprovers(['group:loop'], cfg)).toThrow(/includes itself \(loop -> loop2 -> loop\)/);
    expect(identityForSlackUser(cfg, 'U1')).toBe('bob');
    expect(identityForSlackUser(cfg, 'U9', 'carol@X.io')).toBe('carol');
    expect(identityForSlackUser(cfg, 'U9')).toBeUndefined();
    expect(chatopsAllowed(cfg, 'alice')).toBe(true);
    expect(chatopsAllowed(cfg, 'carol')).toBe(false);
    writeFileSync(file, 'groups:\n  sre: bob\n');
    expect(() => loadApprovers({ RUNWRIGHT_APPROVERS_FILE: file })).toThrow(ApproversConfigError);
    expect(() => loadApprovers({ RUNWRIGHT_APPROVERS_FILE: join(dir, 'missing.yaml') })).toThrow(/cannot read \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signature: valid passes; wrong secret, altered body, old or future timestamp, missing headers fail', () => {
  const body = 'payload=%7B%7D';
  const now = Date.now();
  expect(signatureProblem('s3cret', signedHeaders('s3cret', body), body, now)).toBeUndefined();
  expect(signatureProblem('s3cret', signedHeaders('other', body), body, now)).toMatch(/signature mismatch/);
  expect(signatureProblem('s3cret', signedHeaders('s3cret', body), `${body}x`, now)).toMatch(/signature mismatch/);
  const ts = Math.floor(now / 1000);
  expect(signatureProblem('s3cret', signedHeaders('s3cret', body, ts - 301), body, now)).toMatch(/stale/);
  expect(signatureProblem('s3cret', signedHeaders('s3cret', body, ts + 301), body, now)).toMatch(/stale/);
  expect(signatureProblem('s3cret', signedHeaders('s3cret', body, ts - 290), body, now)).toBeUndefined();
  expect(signatureProblem('s3cret', {}, body, now)).toMatch(/missing/);
});

test('plan of the following steps: params applied, hash changes with them; Block Kit buttons only while pending', () => {
  const rb = validateRunbookText('p.yaml', doc('{ message: ok }').replace('with: { message: done }', 'with: { message: "to {{ params.env }}" }').replace('spec:\n', 'spec:\n  params:\n    env: { type: string }\n'), { actions: buildRegistry() }).runbook!;
  const a = renderFollowingPlan({ runbook: 'p', following: rb.spec.steps.slice(1), params: { env: 'staging' } }, buildRegistry());
  const b = renderFollowingPlan({ runbook: 'p', following: rb.spec.steps.slice(1), params: { env: 'prod' } }, buildRegistry());
  expect(a.plan).toBe('After this approval, p runs:\n  1. after [action] core.log: log "to staging"');
  expect(a.planHash).not.toBe(b.planHash);
  expect(renderFollowingPlan({ runbook: 'p', following: rb.spec.steps.slice(1), params: { env: 'staging' } }, buildRegistry()).planHash).toBe(a.planHash);

  const card: ApprovalCard = { workflowId: 'w1', runbook: 'p', step: 'gate', message: 'ok <b>', params: { env: 'staging' }, plan: a.plan, planHash: a.planHash, required: 1, decisions: [], state: 'pending' };
  const pendingBlocks = approvalBlocks(card) as any[];
  const actions = pendingBlocks.find((x) => x.type === 'actions');
  expect(actions.elements[0].action_id).toBe(ACTION_APPROVE);
  expect(parseButtonValue(actions.elements[0].value)).toEqual({ w: 'w1', s: 'gate', h: a.planHash });
  expect(JSON.stringify(pendingBlocks)).toContain('ok &lt;b&gt;');
  const done = approvalBlocks({ ...card, state: 'approved', decisions: [{ decision: 'approve', user: 'bob', source: 'slack', at: '2026-01-01T00:00:00.000Z' }] }) as any[];
  expect(done.find((x) => x.type === 'actions')).toBeUndefined();
  expect(JSON.stringify(done)).toContain('Approved* by bob (slack, 2026-01-01T00:00:00Z)');
});
