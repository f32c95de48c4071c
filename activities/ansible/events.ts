/**
 * Reading ansible-playbook's JSON events (the `ansible.posix.jsonl` stdout callback: one JSON
 * object per line) into per-host progress and results of the same shape as the native host.play
 * (HostResult / TaskRecord of activities/host/runner.ts), so the CLI's recap reads both. Pure:
 * no I/O, unit-testable against recorded event streams.
 */
import { createTwoFilesPatch } from 'diff';
import type { HostCounts, HostResult, TaskRecord } from '../host/runner';

/** Ansible's per-host stats, as its PLAY RECAP counts them. */
export interface AnsibleStats {
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

/** host.play's counts plus Ansible's `rescued`. */
export type AnsibleCounts = HostCounts & { rescued: number };
export type AnsibleHostResult = Omit<HostResult, 'counts'> & { counts: AnsibleCounts };

const MAX_TEXT = 2000;
const MAX_MSG = 1000;
const MAX_TASK_DIFF = 8000;
const MAX_OTHER_LINES = 40;

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length - n} more characters)` : s);
const zero = (): AnsibleCounts => ({ ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0, rescued: 0 });

// ---- diffs, as Ansible's CallbackBase._get_diff prints them -------------------------------

/** Python's json.dumps(sort_keys=True, indent=4) closely enough for diffs of attributes. */
function sortedJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sort) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])])) : x;
  return `${JSON.stringify(sort(v), null, 4)}\n`;
}

/** One `diff` value of a module result (a dict or a list of them) as unified diff text. */
export function renderDiff(diff: unknown): string {
  const list = Array.isArray(diff) ? diff : [diff];
  const out: string[] = [];
  for (const d of list) {
    if (!d || typeof d !== 'object') continue;
    const o = d as Record<string, unknown>;
    if ('dst_binary' in o) out.push('diff skipped: destination file appears to be binary\n');
    if ('src_binary' in o) out.push('diff skipped: source file appears to be binary\n');
    if ('dst_larger' in o) out.push(`diff skipped: destination file size is greater than ${o.dst_larger}\n`);
    if ('src_larger' in o) out.push(`diff skipped: source file size is greater than ${o.src_larger}\n`);
    if ('before' in o && 'after' in o) {
      const text = (x: unknown) => (x === null || x === undefined ? '' : typeof x === 'object' ? sortedJson(x) : String(x));
      const from = 'before_header' in o ? `before: ${o.before_header}` : 'before';
      const to = 'after_header' in o ? `after: ${o.after_header}` : 'after';
      const patch = createTwoFilesPatch(from, to, text(o.before), text(o.after), undefined, undefined, { context: 3 });
      // Drop jsdiff's "=====" line; headers alone mean no change.
      const lines = patch.split('\n').slice(1);
      if (lines.some((l) => l.startsWith('@@'))) out.push(`${lines.join('\n').replace(/\n*$/, '\n')}`);
    }
    if (typeof o.prepared === 'string') out.push(o.prepared.endsWith('\n') ? o.prepared : `${o.prepared}\n`);
  }
  return out.join('');
}

/** The diff of a changed result (each changed item of a loop), as `ansible-playbook --diff` shows it. */
function resultDiff(r: Record<string, any>): string | undefined {
  const parts: string[] = [];
  if (Array.isArray(r.results)) {
    for (const item of r.results) if (item && item.diff && item.changed) parts.push(renderDiff(item.diff));
  } else if (r.diff && r.changed) parts.push(renderDiff(r.diff));
  const text = parts.join('').replace(/\n$/, '');
  return text ? cut(text, MAX_TASK_DIFF) : undefined;
}

// ---- failure messages --------------------------------------------------------------------

function firstLines(s: unknown, n: number): string {
  if (typeof s !== 'string' || !s.trim()) return '';
  const lines = s.trim().split('\n');
  return lines.slice(0, n).join(' / ') + (lines.length > n ? ' / …' : '');
}

/** What a failed result says, in one line: msg, rc, the first lines of stderr (or stdout). */
export function failureText(r: Record<string, any>): string {
  if (Array.isArray(r.results)) {
    const bad = r.results.find((i: any) => i && (i.failed || i.unreachable));
    if (bad) {
      const label = bad._ansible_no_log ? '(censored due to no_log)' : bad._ansible_item_label ?? bad.item;
      return `${failureText(bad)} (item=${typeof label === 'string' ? label : JSON.stringify(label)})`;
    }
  }
  let msg = typeof r.msg === 'string' ? r.msg : r.msg !== undefined ? JSON.stringify(r.msg) : typeof r.reason === 'string' ? r.reason : 'failed';
  if (typeof r.rc === 'number' && r.rc !== 0 && !msg.includes(`rc ${r.rc}`)) msg += ` (rc ${r.rc})`;
  const extra = firstLines(r.stderr, 3) || firstLines(r.module_stderr, 3) || (msg === 'non-zero return code' ? firstLines(r.stdout, 3) : '') || (msg.startsWith('MODULE FAILURE') ? firstLines(r.module_stdout, 3) : '');
  if (extra && !msg.includes(extra)) msg += `: ${extra}`;
  return cut(msg.replace(/\s*\n\s*/g, ' '), MAX_MSG);
}

// ---- the event stream --------------------------------------------------------------------

type Outcome = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

interface HostState {
  tasks: TaskRecord[];
  handlers: TaskRecord[];
  tally: AnsibleCounts;
  address?: string;
  /** Index (in tasks or handlers) of the last failure, and whether it was unreachable. */
  lastFailure?: { rec: TaskRecord; unreachable: boolean };
}

export interface Progress {
  /** One line for `runwright status` (client/runs.ts shows `progress`). */
  progress: string;
  play?: string;
  task?: string;
  /** Tasks started so far (handlers not counted), and how many the playbook lists (--list-tasks). */
  tasks: number;
  total?: number;
  handlers: number;
  /** Per-host counts so far: "ok=3 changed=1 failed=0 skipped=0 unreachable=0". Omitted past 500 hosts. */
  hosts?: Record<string, string>;
  totals: { ok: number; changed: number; failed: number; skipped: number; unreachable: number };
}

const RESULT_EVENTS: Record<string, Outcome | 'okish'> = {
  v2_runner_on_ok: 'okish',
  v2_runner_on_failed: 'failed',
  v2_runner_on_skipped: 'skipped',
  v2_runner_on_unreachable: 'unreachable',
};

/** "h1 changed, h2 ok" when it fits in `room`, else how many of each, naming a few that changed or failed. */
function hostsLine(statuses: Map<string, Outcome>, room: number): string {
  const st = [...statuses];
  const long = st.map(([h, o]) => `${h} ${o}`).join(', ');
  if (long.length <= room) return long;
  const by = new Map<Outcome, string[]>();
  for (const [h, o] of st) by.set(o, [...(by.get(o) ?? []), h]);
  return (['failed', 'unreachable', 'changed', 'ok', 'skipped'] as Outcome[])
    .filter((o) => by.has(o))
    .map((o) => {
      const hs = by.get(o)!;
      return o === 'ok' || o === 'skipped' ? `${hs.length} ${o}` : `${hs.length} ${o} (${hs.slice(0, 3).join(', ')}${hs.length > 3 ? ', …' : ''})`;
    })
    .join(', ');
}

/** Accumulates one ansible-playbook run's events. Feed it lines; read progress and results. */
export class PlaybookEvents {
  readonly plays: string[] = [];
  tasks = 0;
  handlers = 0;
  total?: number;
  /** Lines that were not JSON events (other callbacks, Python noise), the first few. */
  readonly other: string[] = [];
  /** Events too large to keep (see skipped()). */
  dropped = 0;
  stats?: Record<string, AnsibleStats>;
  private readonly hosts = new Map<string, HostState>();
  private readonly seenTasks = new Set<string>();
  private readonly handlerIds = new Set<string>();
  private current?: { id: string; name: string; handler: boolean; statuses: Map<string, Outcome> };
  /** The last task that had results, shown until the current one has some. */
  private previous?: { name: string; statuses: Map<string, Outcome> };

  /** One line of the callback's output. */
  line(text: string): void {
    const t = text.trim();
    if (!t) return;
    let ev: any;
    try {
      ev = JSON.parse(t);
    } catch {
      if (this.other.length < MAX_OTHER_LINES) this.other.push(cut(t, 500));
      return;
    }
    if (ev && typeof ev === 'object' && typeof ev._event === 'string') this.event(ev);
    else if (this.other.length < MAX_OTHER_LINES) this.other.push(cut(t, 500));
  }

  /**
   * An event line too large to parse whole (a task printing megabytes): the head says which
   * event it was (the callback sorts keys, so `_event` comes first) and for which host.
   */
  oversized(head: string): void {
    this.dropped++;
    const ev = /^\{"_event":"(\w+)"/.exec(head)?.[1];
    const host = /"hosts":\{"((?:[^"\\]|\\.)*)":/.exec(head)?.[1];
    const task = /"task":\{[^}]*?"name":"((?:[^"\\]|\\.)*)"/.exec(head)?.[1];
    if (!ev || !host || !RESULT_EVENTS[ev]) return;
    const failed = ev === 'v2_runner_on_failed' || ev === 'v2_runner_on_unreachable';
    const str = (s: string) => {
      try {
        return String(JSON.parse(`"${s}"`));
      } catch {
        return s;
      }
    };
    const id = /"task":\{[^}]*?"id":"([^"]*)"/.exec(head)?.[1] ?? this.current?.id ?? `oversized-${this.dropped}`;
    this.event({ _event: ev, task: { name: task ? str(task) : this.current?.name ?? '?', id }, hosts: { [str(host)]: { msg: failed ? 'result too large to read (see the host)' : undefined, changed: false } } });
  }

  private host(h: string): HostState {
    let s = this.hosts.get(h);
    if (!s) this.hosts.set(h, (s = { tasks: [], handlers: [], tally: zero() }));
    return s;
  }

  private startTask(task: any, handler: boolean): void {
    const id = String(task?.id ?? '');
    const name = String(task?.name ?? '');
    if (handler) this.handlerIds.add(id);
    if (!this.seenTasks.has(id)) {
      this.seenTasks.add(id);
      if (handler) this.handlers++;
      else if (name !== 'Gathering Facts') this.tasks++;
    }
    if (this.current?.statuses.size) this.previous = { name: this.current.name, statuses: this.current.statuses };
    this.current = { id, name, handler, statuses: new Map() };
  }

  event(ev: any): void {
    switch (ev._event) {
      case 'v2_playbook_on_play_start':
        this.plays.push(String(ev.play?.name ?? ''));
        return;
      case 'v2_playbook_on_task_start':
      case 'v2_runner_on_start': // strategy free/host_pinned: a start per host
        if (this.current?.id !== String(ev.task?.id ?? '')) this.startTask(ev.task, this.handlerIds.has(String(ev.task?.id ?? '')));
        return;
      case 'v2_playbook_on_handler_task_start':
        this.startTask(ev.task, true);
        return;
      case 'v2_playbook_on_stats':
        this.stats = ev.stats ?? {};
        return;
    }
    const kind = RESULT_EVENTS[ev._event];
    if (!kind) return;
    const id = String(ev.task?.id ?? '');
    if (this.current?.id !== id) this.startTask(ev.task, this.handlerIds.has(id));
    for (const [h, raw] of Object.entries((ev.hosts ?? {}) as Record<string, any>)) {
      const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, any>;
      const outcome: Outcome = kind === 'okish' ? (r.changed ? 'changed' : 'ok') : kind;
      const s = this.host(h);
      const rec: TaskRecord = { task: this.current!.name, module: typeof r.action === 'string' ? r.action : '', status: outcome === 'unreachable' ? 'failed' : outcome };
      if (outcome === 'failed') rec.msg = failureText(r);
      else if (outcome === 'unreachable') rec.msg = `unreachable: ${cut(String(r.msg ?? 'unreachable'), MAX_MSG)}`;
      else if (typeof r.msg === 'string' && r.msg) rec.msg = cut(r.msg, MAX_MSG);
      if (typeof r.rc === 'number') rec.rc = r.rc;
      if (typeof r.stdout === 'string' && r.stdout) rec.stdout = cut(r.stdout, MAX_TEXT);
      if (typeof r.stderr === 'string' && r.stderr) rec.stderr = cut(r.stderr, MAX_TEXT);
      if (Array.isArray(r.results)) rec.items = r.results.length;
      const diff = resultDiff(r);
      if (diff) rec.diff = diff;
      (this.current!.handler ? s.handlers : s.tasks).push(rec);
      if (outcome === 'unreachable') {
        s.tally.unreachable++;
        const m = /connect to host (\S+) port (\d+)/.exec(String(r.msg ?? ''));
        if (m) s.address = `${m[1]}:${m[2]}`;
      } else if (outcome === 'failed') s.tally.failed++;
      else if (outcome === 'skipped') s.tally.skipped++;
      else {
        s.tally.ok++;
        if (outcome === 'changed') s.tally.changed++;
      }
      if (outcome === 'failed' || outcome === 'unreachable') s.lastFailure = { rec, unreachable: outcome === 'unreachable' };
      this.current!.statuses.set(h, outcome);
    }
  }

  /** Progress for heartbeats: the current task, how each host did on it, tasks done of total. */
  progress(): Progress {
    const totals = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
    const hosts: Record<string, string> = {};
    for (const [h, s] of this.hosts) {
      const t = s.tally;
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += t[k];
      if (this.hosts.size <= 500) hosts[h] = `ok=${t.ok} changed=${t.changed} failed=${t.failed} skipped=${t.skipped} unreachable=${t.unreachable}`;
    }
    const count = `${this.tasks}/${Math.max(this.tasks, this.total ?? 0) || '?'} tasks${this.handlers ? ` + ${this.handlers} handler(s)` : ''}`;
    let text: string;
    if (!this.current) text = this.plays.length ? `PLAY [${this.plays[this.plays.length - 1]}] starting · ${count}` : 'starting ansible-playbook';
    else {
      const head = `${this.current.handler ? 'RUNNING HANDLER' : 'TASK'} [${cut(this.current.name, 50)}]`;
      if (this.current.statuses.size) text = `${head} ${hostsLine(this.current.statuses, 120 - head.length - count.length - 4)} · ${count}`;
      else if (this.previous) {
        // Until the current task has results: how the hosts did on the one before.
        const prev = `${cut(this.previous.name, 30)}: `;
        text = `${head} · ${count} · ${prev}${hostsLine(this.previous.statuses, 120 - head.length - count.length - prev.length - 6)}`;
      } else text = `${head} · ${count}`;
    }
    return {
      progress: text,
      play: this.plays[this.plays.length - 1],
      task: this.current?.name,
      tasks: this.tasks,
      total: this.total,
      handlers: this.handlers,
      ...(this.hosts.size <= 500 ? { hosts } : {}),
      totals,
    };
  }

  /**
   * Per-host results. Counts come from Ansible's own stats when the run got that far (they know
   * what was ignored or rescued), else from the events. A failure that did not fail the host
   * (ignore_errors, or rescued by a block) is marked `ignored`; the host's message is its
   * failing task and what it said.
   */
  results(): Record<string, AnsibleHostResult> {
    const names = [...new Set([...Object.keys(this.stats ?? {}), ...this.hosts.keys()])].sort();
    const out: Record<string, AnsibleHostResult> = {};
    for (const h of names) {
      const s = this.hosts.get(h) ?? { tasks: [], handlers: [], tally: zero() };
      const st = this.stats?.[h];
      const counts: AnsibleCounts = st
        ? { ok: st.ok ?? 0, changed: st.changed ?? 0, failed: st.failures ?? 0, skipped: st.skipped ?? 0, unreachable: st.unreachable ?? 0, ignored: st.ignored ?? 0, rescued: st.rescued ?? 0 }
        : { ...s.tally };
      const fatal = counts.failed > 0 || counts.unreachable > 0 ? s.lastFailure?.rec : undefined;
      for (const t of [...s.tasks, ...s.handlers]) if (t.status === 'failed' && t !== fatal && !t.msg?.startsWith('unreachable:')) t.ignored = true;
      const status: HostResult['status'] = counts.unreachable > 0 ? 'unreachable' : counts.failed > 0 ? 'failed' : counts.changed > 0 ? 'changed' : 'ok';
      const r: AnsibleHostResult = { status, address: s.address ?? '', counts, tasks: s.tasks, handlers: s.handlers };
      if (fatal) r.msg = `TASK [${fatal.task}]: ${fatal.msg ?? 'failed'}`;
      else if (status === 'failed' || status === 'unreachable') r.msg = 'failed (no details: see the playbook output)';
      out[h] = r;
    }
    return out;
  }
}

/**
 * `ansible-playbook --list-hosts --list-tasks` output: the hosts each play targets and how many
 * tasks it lists (static tasks: dynamic includes add more at run time).
 */
export function parseListing(text: string): { plays: { name: string; hosts: string[]; tasks: number }[]; hosts: string[]; tasks: number } {
  const plays: { name: string; hosts: string[]; tasks: number }[] = [];
  let section: 'hosts' | 'tasks' | undefined;
  for (const line of text.split('\n')) {
    const play = /^ {2}play #\d+ \((.*?)\): (.*?)\tTAGS: /.exec(line);
    if (play) {
      plays.push({ name: play[2], hosts: [], tasks: 0 });
      section = undefined;
      continue;
    }
    const p = plays[plays.length - 1];
    if (!p) continue;
    if (/^ {4}hosts \(\d+\):$/.test(line)) section = 'hosts';
    else if (/^ {4}tasks:$/.test(line)) section = 'tasks';
    else if (/^ {4}\S/.test(line) || !line.trim()) section = undefined;
    else if (section === 'hosts' && /^ {6}\S/.test(line)) p.hosts.push(line.trim());
    else if (section === 'tasks' && /^ {6}\S/.test(line)) p.tasks++;
  }
  return { plays, hosts: [...new Set(plays.flatMap((p) => p.hosts))], tasks: plays.reduce((n, p) => n + p.tasks, 0) };
}
