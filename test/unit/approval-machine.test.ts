/**
 * The approval state machine (dsl/approval-machine.ts) without Temporal: open, validate, apply,
 * outcome, replan, deadline/escalation, finish, params changes, and what the request shows.
 */
import * as M from '../../dsl/approval-machine';
import type { ApprovalStep, Runbook } from '../../dsl/schema';
import type { DecisionInput, DecisionResult, PrepareApprovalResult } from '../../workflows/definitions';

const T0 = Date.parse('2026-01-01T00:00:00Z');
type Spec = ApprovalStep['approval'];
const prep = (o: Partial<PrepareApprovalResult> = {}): PrepareApprovalResult => ({ plan: 'plan A', planHash: 'hashA0000000000', eligible: ['alice', 'bob', 'carol'], ...o });

function gate(spec: Partial<Spec> = {}, p: Partial<PrepareApprovalResult> = {}, startedBy = 'sam') {
  const r = M.open({ spec: { message: 'go?', approvers: ['group:ops'], ...spec }, path: 'gate', message: 'go?', seq: 1, paramsVersion: 0, prep: prep(p), startedBy, now: T0 });
  return r;
}

function ctx(gates: M.Gate[], o: Partial<M.DecideContext> = {}): M.DecideContext {
  return { open: gates, ended: [], applied: new Map<string, DecisionResult>(), runState: 'waiting-approval', startedBy: 'sam', paramsVersion: 0, ...o };
}

const approve = (user: string, o: Partial<DecisionInput> = {}): DecisionInput => ({ decision: 'approve', user, source: 'cli', ...o });

function decide(g: M.Gate, d: DecisionInput, c = ctx([g]), now = T0 + 1000) {
  const v = M.validate(c, d);
  if (!v.ok) throw new Error(v.reason);
  if ('duplicate' in v) return v.duplicate;
  return M.apply(v.gate, d, { now }).result;
}

test('open: deadline from the timeout; a quorum nobody can reach is impossible (self-approval counted out, escalation approvers counted in)', () => {
  const { gate: g, impossible } = gate({ timeout: '1h', required: 2 });
  expect(impossible).toBeUndefined();
  expect(g.deadlineMs).toBe(T0 + 3_600_000);
  expect(g.view).toMatchObject({ step: 'gate', required: 2, deadline: '2026-01-01T01:00:00.000Z', phase: 'waiting', onTimeout: 'abort', planHash: 'hashA0000000000' });
  expect(M.outcome(g)).toBe('pending');

  expect(gate({ required: 3 }, { eligible: ['alice', 'bob', 'sam'] }).impossible).toMatch(/needs 3 approval\(s\) but only 2 approver\(s\) can decide \(alice, bob\); sam started the run/);
  expect(gate({ required: 3, allowSelfApproval: true }, { eligible: ['alice', 'bob', 'sam'] }).impossible).toBeUndefined();
  expect(gate({ required: 3, timeout: '1m', onTimeout: 'escalate', escalate: { approvers: ['dave'] } }, { eligible: ['alice', 'bob'], escalationEligible: ['dave'] }).impossible).toBeUndefined();
  // Anyone may decide: never impossible.
  expect(gate({ required: 5 }, { eligible: undefined }).impossible).toBeUndefined();
});

test('validate: who may decide, and every refusal says why', () => {
  const { gate: g } = gate({ required: 2, timeout: '1h', onTimeout: 'escalate', escalate: { approvers: ['dave'] } }, { escalationEligible: ['dave'] });
  const no = (d: DecisionInput, c = ctx([g])) => {
    const v = M.validate(c, d);
    return v.ok ? 'ok' : v.reason;
  };
  expect(no({ decision: 'maybe' as never, user: 'alice' })).toBe('decision must be "approve" or "reject"');
  expect(no({ decision: 'approve', user: '' })).toBe('a decision needs a user identity');
  expect(no(approve('mallory'))).toMatch(/^mallory is not an approver for gate \(approvers: group:ops = alice, bob, carol\)$/);
  expect(no(approve('dave'))).toMatch(/dave may decide once the approval escalates/);
  expect(no(approve('sam'), ctx([g], { startedBy: 'alice' }))).toMatch(/not an approver/);
  expect(no(approve('alice'), ctx([g], { startedBy: 'alice' }))).toBe('alice started this run and cannot approve it (allowSelfApproval is false)');
  expect(no({ decision: 'reject', user: 'alice', reason: '  ' })).toBe('a rejection needs a reason');
  expect(no(approve('alice', { planHash: 'hashB' }))).toMatch(/the plan of gate changed since you reviewed it \(you saw hashB, it is now hashA0000000\)/);
  expect(no(approve('alice', { step: 'other' }))).toBe('step "other" is not waiting for approval (waiting: gate)');
  expect(no(approve('alice'), ctx([g], { paramsVersion: 1 }))).toMatch(/params of this run were just changed/);
  expect(no(approve('alice'), ctx([]))).toBe('no approval is pending in this run (state: waiting-approval)');
  expect(no(approve('alice'))).toBe('ok');
  expect(no(approve('alice', { step: 'gate' }))).toBe('ok');

  decide(g, approve('alice'));
  expect(no(approve('alice'))).toMatch(/^alice already approved gate at 2026-01-01T00:00:01.000Z \(via cli\); a decision counts once$/);

  const { gate: g2 } = gate();
  g2.view.step = 'inner.gate2';
  expect(no(approve('alice'), ctx([g, g2]))).toBe('several approvals are pending (gate, inner.gate2); name one with --step');
  expect(no(approve('bob', { step: 'gate2' }), ctx([g, g2]))).toBe('ok');
});

test('apply and outcome: N of M, a rejection ends it, a requestId counts once, late decisions are told the outcome', () => {
  const { gate: g } = gate({ required: 2 });
  const applied = new Map<string, DecisionResult>();
  const c = ctx([g], { applied });
  const v = M.validate(c, approve('alice', { requestId: 'r1', reason: ' ok ' }));
  if (!v.ok || !('gate' in v)) throw new Error('expected a gate');
  const { decision, result, events } = M.apply(v.gate, approve('alice', { requestId: 'r1', reason: ' ok ' }), { now: T0 + 5, queued: true });
  applied.set('r1', result);
  expect(decision).toMatchObject({ step: 'gate', user: 'alice', reason: 'ok', counted: true, queued: true, planHash: 'hashA0000000000', at: '2026-01-01T00:00:00.005Z' });
  expect(result).toEqual({ accepted: true, step: 'gate', approvals: 1, required: 2, planHash: 'hashA0000000000' });
  expect(events).toEqual([{ kind: 'approval.decided', step: 'gate', decision }]);
  expect(g.changes).toBe(1);
  expect(M.outcome(g)).toBe('pending');
  // The same request again (Slack retry, queued Signal plus late Update): the first result, marked duplicate.
  expect(M.validate(c, approve('alice', { requestId: 'r1' }))).toEqual({ ok: true, duplicate: { ...result, duplicate: true } });
  decide(g, approve('bob'), c);
  expect(M.outcome(g)).toBe('approved');

  const { gate: r } = gate({ required: 2 });
  decide(r, approve('alice'));
  decide(r, { decision: 'reject', user: 'bob', reason: 'not now' });
  expect(M.outcome(r)).toBe('rejected');

  const { record } = M.finish(r, 'rejected', T0 + 60_000);
  expect(r.done).toBe(true);
  expect(record).toMatchObject({ step: 'gate', outcome: 'rejected', endedAt: '2026-01-01T00:01:00.000Z', required: 2 });
  expect(record.decisions.map((d) => d.user)).toEqual(['alice', 'bob']);
  const late = M.validate(ctx([r], { ended: [record], runState: 'failed' }), approve('carol'));
  expect(late).toEqual({ ok: false, reason: 'too late: approval gate has already ended (rejected: approved by alice, rejected by bob at 2026-01-01T00:01:00.000Z)' });
});

test('replan: approvals of the old plan stop counting, a rejection stands; the same hash changes nothing', () => {
  const { gate: g } = gate({ required: 2 });
  decide(g, approve('alice'));
  expect(M.replan(g, { plan: 'plan A', planHash: 'hashA0000000000' }, T0 + 10)).toEqual([]);
  expect(M.approvals(g.view)).toBe(1);
  const ev = M.replan(g, { plan: 'plan B', planHash: 'hashB0000000000' }, T0 + 10);
  expect(ev).toEqual([{ kind: 'approval.replanned', step: 'gate', planHash: 'hashB0000000000' }]);
  expect(g.view.decisions[0].counted).toBe(false);
  expect(M.approvals(g.view)).toBe(0);
  expect(g.note).toBe('Params changed at 2026-01-01T00:00:00.010Z: the plan was re-rendered; approvals of the previous plan no longer count.');
  // alice may approve the new plan.
  decide(g, approve('alice'));
  decide(g, approve('bob'));
  expect(M.outcome(g)).toBe('approved');
});

test('deadline: abort, approve, or escalate once (more approvers, new deadline, note) then the final action', () => {
  expect(M.deadline(gate({ timeout: '1m' }).gate, T0 + 60_000)).toEqual({ kind: 'timed-out', message: 'approval gate timed out after 1m with 0 of 1 approvals' });
  expect(M.deadline(gate({ timeout: '1m', onTimeout: 'approve' }).gate, T0 + 60_000)).toEqual({ kind: 'approved-on-timeout' });

  const { gate: g } = gate({ timeout: '1m', onTimeout: 'escalate', escalate: { approvers: ['dave'], timeout: '2m', onTimeout: 'approve', channel: 'C2' } }, { escalationEligible: ['dave'] });
  expect(M.validate(ctx([g]), approve('dave')).ok).toBe(false);
  expect(M.deadline(g, T0 + 60_000)).toEqual({ kind: 'escalated' });
  expect(g.view).toMatchObject({ phase: 'escalated', approvers: ['group:ops', 'dave'], eligible: ['alice', 'bob', 'carol', 'dave'], deadline: '2026-01-01T00:03:00.000Z' });
  expect(g.deadlineMs).toBe(T0 + 180_000);
  expect(M.escalation(g, 'C1')).toEqual({
    target: 'C2',
    events: [{ kind: 'approval.escalated', step: 'gate', channel: 'C2', note: 'no decision within 1m; escalated to dave in C2, waiting until 2026-01-01T00:03:00.000Z' }],
  });
  expect(M.validate(ctx([g]), approve('dave')).ok).toBe(true);
  expect(M.deadline(g, T0 + 180_000)).toEqual({ kind: 'approved-on-timeout' });

  const { gate: h } = gate({ timeout: '1m', onTimeout: 'escalate', escalate: {} });
  M.deadline(h, T0 + 60_000);
  h.view.slack = { channel: 'C9', ts: '1.2' };
  expect(M.escalation(h, 'C1').target).toBe('C9');
  expect(M.deadline(h, T0 + 120_000)).toEqual({ kind: 'timed-out', message: 'approval gate timed out after 1m and again 1m after escalating with 0 of 1 approvals' });
  expect(M.finish(h, 'timed-out', T0 + 120_000).record.escalated).toBe(true);
});

test('finish: cancelled and failed gates say why', () => {
  const { gate: g } = gate();
  g.note = 'the approval step failed: boom';
  expect(M.finish(g, 'failed', T0).record.note).toBe('the approval step failed: boom');
  const { gate: c } = gate();
  expect(M.finish(c, 'cancelled', T0).record.note).toBe('the run was cancelled while waiting');
  expect(c.note).toBe('the run was cancelled');
});

test('params: only while undecided, by the starter or an approver; resolved and diffed', () => {
  const runbook = { spec: { params: { env: { type: 'string' }, token: { type: 'string', secret: true } }, steps: [] } } as unknown as Pick<Runbook, 'spec'>;
  const { gate: g } = gate();
  const c = { open: [g], runState: 'waiting-approval' as const, startedBy: 'sam', runbook, params: { env: 'a', token: 't' } };
  expect(M.validateParams(c, { user: 'mallory', params: { env: 'b' } })).toEqual({ ok: false, reason: 'mallory may not change params: only the starter (sam) or an approver of gate' });
  expect(M.validateParams(c, { user: 'sam', params: {} })).toEqual({ ok: false, reason: 'no params given' });
  expect(M.validateParams(c, { user: 'sam', params: { env: 'a' } })).toEqual({ ok: false, reason: 'nothing changed: the params already have these values' });
  expect(M.validateParams(c, { user: 'alice', params: { env: 'b' } })).toEqual({ ok: true, values: { env: 'b', token: 't' }, changed: ['env'] });
  decide(g, approve('alice'));
  expect(M.validateParams(c, { user: 'sam', params: { env: 'b' } })).toMatchObject({ ok: false, reason: expect.stringMatching(/^params can only be changed while the run waits/) });
});

test('view: what the request shows, secret params masked in the params and the message', () => {
  const runbook = { metadata: { name: 'rb' }, spec: { params: { token: { type: 'string', secret: true } }, steps: [] } } as unknown as Runbook;
  const { gate: g } = gate({ timeout: '1m', onTimeout: 'escalate', escalate: { approvers: ['dave', 'group:x'] } });
  g.view.message = 'use s3cr3t?';
  decide(g, approve('alice'));
  const v = M.view(g, { workflowId: 'w1', runbook, params: { token: 's3cr3t' }, startedBy: 'sam', state: 'pending', escalation: true });
  expect(v).toMatchObject({ workflowId: 'w1', runbook: 'rb', step: 'gate', requester: 'sam', required: 1, state: 'pending', escalation: true, notifyUsers: ['dave'] });
  expect(JSON.stringify(v)).not.toContain('s3cr3t');
  expect(v.decisions.map((d) => d.user)).toEqual(['alice']);
  expect(M.view(g, { workflowId: 'w1', runbook, params: {}, state: 'approved' }).notifyUsers).toBeUndefined();
});
