/**
 * Live progress of a run from its `status` query: on a TTY a redrawn block of step lines,
 * otherwise one plain line per state change (good for CI logs and pipes).
 */
import type { AuthRecord, RunStatus, StepStatus } from '../workflows/definitions';

const ICON: Record<string, string> = {
  pending: '·',
  running: '▶',
  waiting: '⏸',
  succeeded: '✓',
  failed: '✗',
  skipped: '–',
  cancelled: '⊘',
  compensated: '↺',
};

function duration(s: StepStatus, now: number): string {
  if (!s.startedAt) return '';
  const end = s.endedAt ? Date.parse(s.endedAt) : now;
  const ms = end - Date.parse(s.startedAt);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function stepLine(s: StepStatus, now = Date.now()): string {
  const depth = (s.path.match(/\./g) ?? []).length;
  const parts = [`${'  '.repeat(depth)}${ICON[s.state] ?? '?'} ${s.path}`, s.state];
  if (s.items) parts.push(`${s.items.succeeded + s.items.failed}/${s.items.total} items, batch ${s.items.batch}/${s.items.batches}${s.items.failed ? `, ${s.items.failed} failed` : ''}`);
  if (s.attempts && s.attempts > 1) parts.push(`attempt ${s.attempts}`);
  if (s.progress && s.state === 'running') parts.push(s.progress);
  const d = duration(s, now);
  if (d) parts.push(d);
  let line = parts.join('  ');
  if (s.error) line += `\n${'  '.repeat(depth + 2)}${s.error}`;
  return line;
}

export function approvalLines(st: RunStatus, workflowId: string): string[] {
  return st.pendingApprovals.map((p) => {
    const counted = p.decisions.filter((d) => d.counted !== false && d.decision === 'approve').length;
    const who = p.approvers?.length ? `; approvers: ${p.approvers.join(', ')}${p.eligible ? ` = ${p.eligible.join(', ')}` : ''}` : '';
    const phase = p.phase === 'escalated' ? '; escalated' : '';
    const plan = p.planHash ? `    plan ${p.planHash.slice(0, 12)} (\`runwright status ${workflowId}\` shows it)\n` : '';
    return (
      `⏸ ${p.step}: ${p.message}  (${counted}/${p.required} approvals${p.deadline ? `, until ${p.deadline}` : ''}${who}${phase})\n` +
      plan +
      `    runwright approve ${workflowId} --step ${p.step}   |   runwright reject ${workflowId} --step ${p.step} --reason "..."`
    );
  });
}

/** The audit view: decisions (who, when, from where, why), refusals, finished gates, param changes. */
export function auditLines(st: RunStatus): string[] {
  const lines: string[] = [];
  const how = (a: AuthRecord | undefined) =>
    !a ? '' : a.method === 'ssh' || a.method === 'schedule' ? ` (signed${a.method === 'schedule' ? ', schedule' : ''}, ${a.key})` : a.method === 'slack' ? ` (Slack ${a.slackUser}, vouched by ${a.via})` : a.method === 'claim' ? ' (unverified claim)' : ` (${a.method})`;
  if (st.identity) lines.push(`  started by ${st.identity.user}${how(st.identity)}`);
  if (st.plan) {
    lines.push(`  applies plan ${st.plan.hash.slice(0, 12)}; ${st.plan.drift.length ? `drift at ${st.plan.drift.map((d) => `${d.step} (${d.outcome})`).join(', ')}` : 'no drift so far'}`);
  }
  if (st.cancelledBy) lines.push(`  cancelled by ${st.cancelledBy.user}${how(st.cancelledBy)} at ${st.cancelledBy.at}${st.cancelledBy.reason ? `: ${st.cancelledBy.reason}` : ''}`);
  for (const p of st.pendingApprovals) if (p.plan) lines.push(`  plan for ${p.step} (hash ${p.planHash?.slice(0, 12)}):`, ...p.plan.split('\n').map((l) => `    ${l}`));
  for (const d of st.decisions)
    lines.push(
      `  ${d.decision === 'approve' ? 'approved' : 'rejected'} ${d.step} by ${d.user} via ${d.source ?? 'cli'} at ${d.at}${d.reason ? `: ${d.reason}` : ''}` +
        `${d.actor ? ` [${d.actor}]` : ''}${how(d.auth)}${d.queued ? ' (queued)' : ''}${d.planHash ? ` plan ${d.planHash.slice(0, 12)}` : ''}${d.counted === false ? ' — not counted: the plan changed after it' : ''}`,
    );
  for (const r of st.refusals ?? [])
    lines.push(`  refused ${r.decision} ${r.step ?? ''} by ${r.user} via ${r.source ?? 'cli'} at ${r.at}${r.queued ? ' (queued)' : ''}: ${r.reason}`.replace(/  +/g, ' ').replace(/^ /, '  '));
  for (const a of st.approvals ?? [])
    lines.push(`  approval ${a.step}: ${a.outcome} at ${a.endedAt}${a.escalated ? ' (after escalation)' : ''}${a.planHash ? `, plan ${a.planHash.slice(0, 12)}` : ''}`);
  for (const c of st.paramChanges ?? [])
    lines.push(`  params changed by ${c.user} via ${c.source ?? 'cli'} at ${c.at}: ${Object.entries(c.changed).map(([k, v]) => `${k} ${JSON.stringify(v.from)} → ${JSON.stringify(v.to)}`).join(', ')}${c.reason ? ` (${c.reason})` : ''}${how(c.auth)}`);
  for (const n of st.notices ?? []) lines.push(`  note: ${n}`);
  return lines;
}

export function renderStatus(st: RunStatus, workflowId: string): string {
  const lines = [`${st.runbook}: ${st.state}${st.error ? ` — ${st.error}` : ''}`];
  for (const s of st.steps) lines.push(stepLine(s));
  lines.push(...approvalLines(st, workflowId));
  for (const c of st.compensations) lines.push(`↺ undo ${c.path} (${c.action}): ${c.state}${c.error ? ` — ${c.error}` : ''}`);
  lines.push(...auditLines(st));
  return lines.join('\n');
}

export class ProgressPrinter {
  private seen = new Map<string, string>();
  private drawn = 0;
  private approvalsShown = new Set<string>();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly workflowId: string,
    private readonly tty = !!out.isTTY,
  ) {}

  update(st: RunStatus): void {
    if (this.tty) {
      const text = renderStatus(st, this.workflowId);
      if (this.drawn) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
      this.out.write(`${text}\n`);
      this.drawn = text.split('\n').length;
      return;
    }
    for (const s of st.steps) {
      const key = `${s.state}|${s.items ? `${s.items.batch}` : ''}`;
      if (this.seen.get(s.path) === key) continue;
      this.seen.set(s.path, key);
      this.out.write(`${stepLine(s)}\n`);
    }
    for (const line of approvalLines(st, this.workflowId)) {
      if (this.approvalsShown.has(line)) continue;
      this.approvalsShown.add(line);
      this.out.write(`${line}\n`);
    }
  }
}
