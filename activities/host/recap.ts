/**
 * The Ansible-like recap the CLI prints after a run: every `host.play` result of the run (and
 * of its child workflows), read from the workflow history, including batches that failed
 * (their results travel in the failure details). No side effects besides reading history.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { PlayOutputs } from './play';
import { codecsOf, decodeSealedIn } from '../../lib/codec';

interface HistoryHandle {
  workflowId: string;
  fetchHistory(): Promise<{ events?: any[] | null }>;
  /** A client's handle: its codec opens sealed payloads (lib/codec.ts). */
  client?: Parameters<typeof codecsOf>[0];
}

function decode(p: any): any {
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return undefined;
  }
}

/** All host.play outputs in a run's history, in order; follows child workflows (large loops). */
export async function collectPlayOutputs(h: HistoryHandle, handleFor: (id: string) => HistoryHandle, depth = 0): Promise<PlayOutputs[]> {
  const hist = await decodeSealedIn(await h.fetchHistory(), h.client ? codecsOf(h.client) : []);
  const scheduled = new Set<string>();
  const out: PlayOutputs[] = [];
  for (const e of hist.events ?? []) {
    const sch = e.activityTaskScheduledEventAttributes;
    // ansible.playbook reports in the same shape (activities/ansible/).
    if (sch?.activityType?.name === 'host.play' || sch?.activityType?.name === 'ansible.playbook') scheduled.add(String(e.eventId));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.has(String(done.scheduledEventId))) {
      const r = decode(done.result?.payloads?.[0]);
      if (r?.outputs?.recap) out.push(r.outputs);
    }
    const failed = e.activityTaskFailedEventAttributes;
    if (failed && scheduled.has(String(failed.scheduledEventId))) {
      const d = decode(failed.failure?.applicationFailureInfo?.details?.payloads?.[0]);
      if (d?.recap) out.push(d);
    }
    const child = e.childWorkflowExecutionStartedEventAttributes;
    if (child?.workflowExecution?.workflowId && depth < 3) out.push(...(await collectPlayOutputs(handleFor(child.workflowExecution.workflowId), handleFor, depth + 1)));
  }
  return out;
}

const MAX_DIFF_LINES = 60;

/** Text like ansible-playbook's: diffs (when present), failures, then PLAY RECAP. */
export function formatRecap(plays: PlayOutputs[], opts: { color?: boolean } = {}): string {
  if (!plays.length) return '';
  const c = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  const hosts = new Map<string, PlayOutputs['recap'][string]>();
  const check = plays.some((p) => p.check);
  for (const p of plays) {
    for (const [h, r] of Object.entries(p.hosts)) {
      for (const t of [...(r.tasks ?? []), ...(r.handlers ?? [])]) {
        if (!t.diff) continue;
        const dl = t.diff.split('\n');
        lines.push(c('36', `--- ${h}: ${t.task} (${t.module})${check ? ' [check]' : ''}`));
        lines.push(...dl.slice(0, MAX_DIFF_LINES), ...(dl.length > MAX_DIFF_LINES ? [`… ${dl.length - MAX_DIFF_LINES} more line(s)`] : []));
      }
      if (r.status === 'failed' || r.status === 'unreachable') lines.push(c('31', `${r.status === 'unreachable' ? 'UNREACHABLE' : 'FAILED'}: ${h}: ${r.msg ?? ''}`));
    }
    // A host several plays touched: counts add up, as in one ansible-playbook run of several plays.
    for (const [h, r] of Object.entries(p.recap)) {
      const prev = hosts.get(h);
      hosts.set(h, prev ? { ...r, ok: prev.ok + r.ok, changed: prev.changed + r.changed, unreachable: prev.unreachable + r.unreachable, failed: prev.failed + r.failed, skipped: prev.skipped + r.skipped, rescued: (prev.rescued ?? 0) + (r.rescued ?? 0), ignored: prev.ignored + r.ignored } : r);
    }
  }
  const width = Math.max(...[...hosts.keys()].map((h) => h.length), 4) + 2;
  lines.push('', `PLAY RECAP${check ? ' (check mode: nothing was changed)' : ''} ${'*'.repeat(50)}`);
  for (const [h, r] of hosts) {
    const color = r.failed || r.unreachable ? '31' : r.changed ? '33' : '32';
    const cell = (k: string, v: number, col: string) => (v ? c(col, `${k}=${v}`) : `${k}=${v}`).padEnd(opts.color && v ? 13 + 9 : 13);
    lines.push(
      `${c(color, h.padEnd(width))}: ${cell('ok', r.ok, '32')} ${cell('changed', r.changed, '33')} ${cell('unreachable', r.unreachable, '31')} ${cell('failed', r.failed, '31')} ${cell('skipped', r.skipped, '36')} ${cell('rescued', r.rescued ?? 0, '35')} ${cell('ignored', r.ignored, '35')}`.trimEnd(),
    );
  }
  return lines.join('\n');
}

/** The CLI hook: print the recap of a finished run, if it ran any host.play. Never throws. */
export async function printHostRecaps(h: HistoryHandle, handleFor: (id: string) => HistoryHandle, write: (s: string) => void, color = !!process.stdout.isTTY): Promise<void> {
  try {
    const plays = await collectPlayOutputs(h, handleFor);
    const text = formatRecap(plays, { color });
    if (text) write(text);
  } catch {
    /* a recap is a convenience; the run's own status was already printed */
  }
}
