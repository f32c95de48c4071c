/**
 * `runwright schedule ...`: runbooks on Temporal Schedules (drills, audits). The schedule's
 * action starts the same interpreter workflow `run` starts, with the validated runbook and
 * params captured at creation time.
 *
 * Change freezes (lib/freeze.ts): schedules of drills (label `runwright.dev/kind: drill`, or
 * `--freeze`) get the freeze calendar's windows as `skip` calendars, so Temporal itself starts
 * nothing during a freeze; `schedule freeze sync` re-applies an edited calendar to them.
 */
import { viewOf, type ScheduleView } from '../client/schedules';
import type { Command } from 'commander';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type CalendarSpec,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../lib/config';
import { formatDiagnostic } from '../dsl/diagnostics';
import { goDurationMs, parseDurationMs } from '../dsl/duration';
import {
  FREEZE_FILE_DEFAULTS,
  FREEZE_FILE_ENV,
  FreezeCalendarError,
  activeFreeze,
  freezeLabel,
  freezeSkipCalendars,
  isFreezeSkip,
  isTimeZone,
  loadFreezeCalendar,
  windowsFromSkip,
  type FreezeCalendar,
  type FreezeWindow,
} from '../lib/freeze';
import { INTERPRETER_WORKFLOW, type RunInput } from '../workflows/definitions';
import { currentUser, out, prepareRun, runInput, withSession } from './common';
import { KEY_OPTION, signStart, signingKey } from './sign';
import { CliError, EXIT, type Session } from './session';
import { displayPath } from '../client/runbooks';
import { maskParams, secretParamNames } from '../dsl/params';

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
};

/** The label that makes a runbook a drill (its schedules follow the change-freeze calendar). */
export const KIND_LABEL = 'runwright.dev/kind';

function overlapPolicy(name: string): ScheduleOverlapPolicy {
  const p = OVERLAP[name];
  if (!p) throw new CliError(`--overlap ${name}: expected one of ${Object.keys(OVERLAP).join(', ')}`, EXIT.usage);
  return p;
}

function durationOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDurationMs(text);
  } catch {
    throw new CliError(`${flag} ${text}: expected a duration such as "30s", "10m", "4h" or "1h30m"`, EXIT.usage);
  }
}

/** Temporal's smallest catch-up window; 0 (unset) would mean its default of one year. */
export const MIN_CATCHUP_WINDOW_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Cron expressions, checked locally with the grammar of Temporal's scheduler (server 1.29,
// service/worker/scheduler/calendar.go parseCronString), so a typo exits 2 before connecting.
// No npm cron library fits: they read 6 fields as seconds-first where Temporal reads
// `minute hour day month weekday year`, and they do not take Temporal's name prefixes
// (`tu`, `thurs`, `sept`, `monday`); what they accept and reject would differ from the server.

const MONTH_NAMES_LC = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DOW_NAMES_LC = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const CRON_MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
interface CronField {
  name: string;
  min: number;
  max: number;
  /** Month or weekday names (prefixes of at least 3 or 2 letters, any case). */
  names?: readonly string[];
  prefix?: number;
}
const F = {
  second: { name: 'second', min: 0, max: 59 },
  minute: { name: 'minute', min: 0, max: 59 },
  hour: { name: 'hour', min: 0, max: 23 },
  day: { name: 'day of month', min: 1, max: 31 },
  month: { name: 'month', min: 1, max: 12, names: MONTH_NAMES_LC, prefix: 3 },
  weekday: { name: 'day of week', min: 0, max: 7, names: DOW_NAMES_LC, prefix: 2 },
  year: { name: 'year', min: 2000, max: 2100 },
} satisfies Record<string, CronField>;
const LAYOUTS: Record<number, CronField[]> = {
  5: [F.minute, F.hour, F.day, F.month, F.weekday],
  6: [F.minute, F.hour, F.day, F.month, F.weekday, F.year],
  7: [F.second, F.minute, F.hour, F.day, F.month, F.weekday, F.year],
};
export const CRON_HINT =
  'expected 5-7 fields "[second] minute hour day-of-month month day-of-week [year]" (e.g. "0 3 * * 1", "0 3 * * MON-FRI", "0 0 1 JAN *"), ' +
  '@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually, or @every 90m[/15m]';

/** One value of a field: a number, or a month/weekday name where the field takes them. */
function cronValue(text: string, f: CronField): number | string {
  let v: number | undefined;
  if (f.names && text.length >= f.prefix!) {
    const i = f.names.findIndex((n) => n.startsWith(text.toLowerCase()));
    if (i >= 0) v = f.names === MONTH_NAMES_LC ? i + 1 : i;
  }
  if (v === undefined) {
    if (!/^[+-]?\d+$/.test(text)) return `${f.name} "${text}" is not a number${f.names ? ` or a ${f.name === 'month' ? 'month' : 'weekday'} name` : ''}`;
    v = Number(text);
  }
  if (v < f.min || v > f.max) return `${f.name} ${text} is out of range ${f.min}-${f.max}`;
  return v;
}

/** A field: `*`, `x`, `x-z`, each with an optional `/step`, comma-separated (Temporal's makeRange). */
function cronFieldProblem(text: string, f: CronField): string | undefined {
  for (let part of text.split(',')) {
    const slashes = part.split('/').length - 1;
    if (slashes > 1) return `${f.name} "${part}" has more than one "/"`;
    if (slashes === 1) {
      const [base, step] = part.split('/');
      if (!/^\+?\d+$/.test(step) || Number(step) < 1) return `${f.name} "${part}": the step after "/" must be a whole number of at least 1`;
      part = base;
    }
    if (part === '*') continue;
    const ends = part.split('-');
    if (ends.length > 2) return `${f.name} "${part}" has more than one "-"`;
    const values = ends.map((e) => cronValue(e, f));
    const bad = values.find((v) => typeof v === 'string');
    if (bad !== undefined) return bad as string;
    if (values.length === 2 && values[1] < values[0]) return `${f.name} range "${part}" ends before it starts`;
  }
  return undefined;
}

/**
 * What is wrong with one cron expression as Temporal's scheduler reads it, or undefined when it
 * is fine. Stricter than the server in two places: a time zone prefix (TZ=..., use --timezone:
 * the server refuses one that differs from it) and a `#` glued to a field (`1#2` is not "the
 * second Monday": Temporal cuts the comment there and would run every Monday).
 */
export function cronProblem(expression: string): string | undefined {
  let c = expression.trim();
  if (/^(CRON_)?TZ=/.test(c)) return 'a time zone prefix is not taken here: use --timezone';
  const hash = c.indexOf('#');
  if (hash >= 0) {
    if (hash > 0 && !/\s/.test(c[hash - 1])) return `"#" starts a comment in a Temporal cron expression ("1#2", the nth weekday, is not supported)`;
    if (c.slice(hash + 1).trim().length > 200) return 'the comment after "#" is longer than 200 characters';
    c = c.slice(0, hash).trim();
  }
  if (c.startsWith('@every')) {
    const [kw, spec, ...rest] = c.split(/\s+/);
    if (kw !== '@every' || !spec || rest.length) return '@every takes one duration, e.g. "@every 90m" or "@every 1d/6h" (interval/phase)';
    const [iv, phase, ...more] = spec.split('/');
    const ivMs = goDurationMs(iv);
    const phaseMs = phase === undefined ? 0 : goDurationMs(phase);
    if (more.length || ivMs === undefined || phaseMs === undefined) return `@every ${spec}: expected a duration such as 90m, 1h30m or 1d (optionally /phase, e.g. 1d/6h)`;
    if (ivMs < 1000) return `@every ${spec}: the interval must be at least 1s`;
    if (phaseMs < 0 || phaseMs >= ivMs) return `@every ${spec}: the phase must be at least 0 and less than the interval`;
    return undefined;
  }
  if (c.startsWith('@')) {
    if (!CRON_MACROS[c]) return `unknown macro ${c.split(/\s+/)[0]}`;
    c = CRON_MACROS[c];
  }
  const fields = c.split(/\s+/).filter(Boolean);
  const layout = LAYOUTS[fields.length];
  if (!layout) return `${fields.length} field${fields.length === 1 ? '' : 's'} instead of 5-7`;
  for (let i = 0; i < fields.length; i++) {
    const p = cronFieldProblem(fields[i], layout[i]);
    if (p) return p;
  }
  return undefined;
}

/** 600000 -> "10m", 5400000 -> "1h30m". */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms === 0) return '0s';
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = ms;
  let s = '';
  for (const [u, n] of units) {
    if (rest >= n) {
      s += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return s;
}

/** The freeze calendar for the CLI: mistakes exit 2 with file:line:column. */
function freezeCalendar(file?: string): FreezeCalendar {
  try {
    return loadFreezeCalendar(file);
  } catch (e) {
    if (e instanceof FreezeCalendarError) throw new CliError(`${e.diagnostics.map((d) => formatDiagnostic({ ...d, file: displayPath(d.file) })).join('\n')}\n(change-freeze calendar; fix it or point ${FREEZE_FILE_ENV} elsewhere)`, EXIT.usage);
    throw e;
  }
}

const calendarSource = (c: FreezeCalendar) => (c.file ? displayPath(c.file) : `no freeze calendar (${FREEZE_FILE_ENV} unset; looked for ${FREEZE_FILE_DEFAULTS.join(', ')})`);

/** Keep the skip calendars someone else made; replace ours with the calendar's current windows. */
function skipWith(previous: readonly CalendarSpec[] | undefined, cal: FreezeCalendar, timezone: string | undefined, now: Date): CalendarSpec[] {
  return [...(previous ?? []).filter((c) => !isFreezeSkip(c)), ...freezeSkipCalendars(cal.windows, { timezone, now })];
}

const windowKey = (ws: FreezeWindow[]) => JSON.stringify(ws.map((w) => [w.name, w.startsAt, w.endsAt, w.reason ?? '']).sort());

async function scheduleHandle(s: Session, id: string): Promise<{ handle: ScheduleHandle; d: ScheduleDescription }> {
  const handle = s.client.schedule.getHandle(id);
  try {
    return { handle, d: await handle.describe() };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new CliError(`no schedule with id "${id}"`, EXIT.usage);
    throw e;
  }
}

/** Temporal still computes the times of a paused schedule; nothing starts until it is unpaused. */
const nextRunsText = (v: ScheduleView, n?: number) => {
  const times = v.nextRuns.slice(0, n).join(', ') || '-';
  return v.paused ? `none while paused (on the schedule: ${times})` : times;
};

const freezeLine = (w: FreezeWindow) => `in change freeze ${freezeLabel(w)} until ${w.endsAt}${w.reason ? `: ${w.reason}` : ''}`;

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('run runbooks on Temporal Schedules (cron, jitter, overlap policy, change freezes)');
  const collect = (v: string, prev: string[]) => [...prev, v];

  schedule
    .command('create')
    .argument('<file>', 'runbook file')
    .requiredOption('--cron <expr>', 'cron expression in Temporal\'s grammar, e.g. "0 3 * * 1", "0 3 * * MON-FRI", @daily, "@every 6h" (several separated by ;)')
    .option('--id <scheduleId>', 'schedule id (default: the runbook name)')
    .option('--set <name=value>', 'set a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file with params')
    .option('--jitter <duration>', 'random delay added to each run, e.g. 10m')
    .option('--overlap <policy>', `what to do if the previous run is still going: ${Object.keys(OVERLAP).join(', ')}`, 'skip')
    .option('--catchup-window <duration>', 'how late a missed run may still start after an outage (at least 10s)', '10m')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--timezone <tz>', 'IANA time zone for the cron expression', 'UTC')
    .option('--freeze', 'skip the change-freeze windows (default for runbooks labelled runwright.dev/kind: drill)')
    .option('--no-freeze', 'ignore the change-freeze calendar, even for a drill')
    .option('--note <text>', 'note shown with the schedule')
    .option('--paused', 'create it paused')
    .option('--as <user>', "recorded as the runs' starter")
    .option(...KEY_OPTION)
    .description('create a schedule for a runbook')
    .action(async (file: string, o) => {
      const overlap = overlapPolicy(o.overlap);
      const jitter = durationOption('--jitter', o.jitter);
      const catchupWindow = durationOption('--catchup-window', o.catchupWindow)!;
      if (catchupWindow < MIN_CATCHUP_WINDOW_MS)
        throw new CliError(`--catchup-window ${o.catchupWindow}: at least 10s (Temporal's minimum; 0 would mean its default of one year)`, EXIT.usage);
      if (!isTimeZone(o.timezone)) throw new CliError(`--timezone ${o.timezone}: unknown time zone (expected an IANA name such as UTC or Europe/Berlin)`, EXIT.usage);
      const cron = String(o.cron)
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean);
      if (!cron.length) throw new CliError(`--cron ${JSON.stringify(o.cron)}: expected a cron expression such as "0 3 * * 1"`, EXIT.usage);
      for (const c of cron) {
        const problem = cronProblem(c);
        if (problem) throw new CliError(`--cron ${c}: ${problem}\n(${CRON_HINT})`, EXIT.usage);
      }
      const { loaded, params } = prepareRun(file, o);
      const name = loaded.runbook.metadata.name;
      const drill = loaded.runbook.metadata.labels?.[KIND_LABEL] === 'drill';
      const freeze: boolean = o.freeze ?? drill;
      const cal = freeze ? freezeCalendar() : undefined;
      const id = o.id ?? name;
      const key = signingKey(o.key);
      const now = new Date();
      await withSession({}, async (s) => {
        try {
          await s.client.schedule.create({
            scheduleId: id,
            spec: { cronExpressions: cron, jitter, timezone: o.timezone, ...(cal ? { skip: skipWith([], cal, o.timezone, now) } : {}) },
            action: {
              type: 'startWorkflow',
              workflowType: INTERPRETER_WORKFLOW,
              taskQueue: s.taskQueue,
              // Temporal appends the action's time to it: unique per schedule and run.
              workflowId: id,
              // Signed by the creator (cli/sign.ts): every run the schedule starts acts as them, so they cannot approve it.
              args: [await signStart(runInput(loaded, params, key ? currentUser(o.as) : currentUser(o.as ?? `schedule:${id}`), s.searchAttributes), id, key, id)],
              memo: { runbook: name, schedule: id, file: displayPath(file) },
              ...(s.searchAttributes ? { searchAttributes: { [SEARCH_ATTRIBUTES.runbook]: [name] } } : {}),
            },
            policies: { overlap, catchupWindow, pauseOnFailure: !!o.pauseOnFailure },
            state: { paused: !!o.paused, note: o.note ?? `created by ${currentUser(o.as)} from ${displayPath(file)}` },
            memo: { runbook: name, file: displayPath(file), cron: cron.join('; '), freeze },
          });
        } catch (e) {
          if (e instanceof ScheduleAlreadyRunning) throw new CliError(`a schedule with id "${id}" already exists (delete it first, or pass --id)`, EXIT.usage);
          if (/invalid|cron/i.test(String((e as Error)?.message))) throw new CliError(`--cron ${o.cron}: ${String((e as Error).message).split('\n')[0]}`, EXIT.usage);
          throw e;
        }
        const v = viewOf(id, await s.client.schedule.getHandle(id).describe(), now);
        out(`created schedule ${id} for ${name}; next runs: ${nextRunsText(v, 3)}`);
        if (cal) {
          const ws = v.freezeWindows;
          out(`change freezes (${drill && o.freeze === undefined ? 'drill' : '--freeze'}): ${ws.length ? `no runs during ${ws.map(freezeLabel).join(', ')}` : 'none upcoming'} [${calendarSource(cal)}]`);
          if (v.inFreeze) out(freezeLine(v.inFreeze));
        }
      });
    });

  schedule
    .command('list')
    .option('--json', 'machine-readable output')
    .description('list schedules: state, note, next run times, change freezes')
    .action(async (o) => {
      await withSession({}, async (s) => {
        const rows: ScheduleView[] = [];
        const now = new Date();
        for await (const sc of s.client.schedule.list()) {
          try {
            rows.push(viewOf(sc.scheduleId, await s.client.schedule.getHandle(sc.scheduleId).describe(), now));
          } catch (e) {
            if (!(e instanceof ScheduleNotFoundError)) throw e; // deleted while listing
          }
        }
        rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
        if (o.json) return out(JSON.stringify(rows, null, 2));
        if (!rows.length) return out('no schedules');
        for (const r of rows) {
          out(`${r.scheduleId}  runbook ${r.runbook || '?'}${r.cron ? `  cron "${r.cron}"` : ''}  ${r.paused ? 'PAUSED' : 'active'}${r.note ? `  note: ${r.note}` : ''}`);
          out(`  next runs: ${nextRunsText(r, 3)}`);
          if (r.inFreeze) out(`  ${freezeLine(r.inFreeze)}`);
        }
      });
    });

  schedule
    .command('describe')
    .argument('<id>', 'schedule id')
    .option('--json', 'machine-readable output')
    .description('show a schedule: spec, policies, params, state, change freezes, recent runs (with status) and next runs')
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        const { d } = await scheduleHandle(s, id);
        const v = viewOf(id, d, new Date());
        const input = d.action.args?.[0] as RunInput | undefined;
        const recent = await Promise.all(
          d.info.recentActions.map(async (a) => {
            const wf = a.action.workflow;
            let status = 'unknown';
            try {
              status = (await s.client.workflow.getHandle(wf.workflowId, wf.firstExecutionRunId).describe()).status.name;
            } catch {
              // Deleted by retention: its status is gone with it.
            }
            return { scheduledAt: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString(), workflowId: wf.workflowId, runId: wf.firstExecutionRunId, status };
          }),
        );
        const otherSkips = (d.spec.skip ?? []).filter((c) => !isFreezeSkip(c)).length;
        const view = {
          ...v,
          spec: { cron: v.cron, calendars: d.spec.calendars, intervals: d.spec.intervals, timezone: d.spec.timezone ?? 'UTC', jitter: d.spec.jitter, skip: d.spec.skip, startAt: d.spec.startAt, endAt: d.spec.endAt },
          policies: d.policies,
          params: maskParams(input?.params ?? {}, secretParamNames(input?.runbook?.spec?.params)),
          startedBy: input?.startedBy,
          recentRuns: recent,
          running: d.info.runningActions.map((a) => a.workflow.workflowId),
          createdAt: d.info.createdAt.toISOString(),
        };
        if (o.json) return out(JSON.stringify(view, null, 2));
        const p = d.policies;
        const lines: [string, string][] = [
          ['schedule', id],
          ['runbook', `${v.runbook}${v.file ? ` (${v.file})` : ''}`],
          ['state', `${v.paused ? 'PAUSED' : 'active'}${v.note ? `; note: ${v.note}` : ''}`],
          ['spec', `cron "${v.cron ?? '(see --json)'}" in ${view.spec.timezone}; jitter ${formatMs(d.spec.jitter)}`],
          ['policies', `overlap ${p.overlap}; catch-up window ${formatMs(p.catchupWindow)}; pause on failure ${p.pauseOnFailure ? 'yes' : 'no'}`],
          ['params', Object.entries(view.params).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ') || '(none)'],
          [
            'freezes',
            `${v.freezeManaged ? 'follows the change-freeze calendar' : 'not managed'}${v.freezeWindows.length ? `; skips ${v.freezeWindows.map(freezeLabel).join(', ')}` : ''}${otherSkips ? `; ${otherSkips} other skip calendar(s)` : ''}`,
          ],
        ];
        if (v.inFreeze) lines.push(['', freezeLine(v.inFreeze)]);
        lines.push(['next runs', nextRunsText(v)]);
        lines.push(['recent runs', recent.length ? '' : '-']);
        for (const r of recent) lines.push(['', `${r.takenAt}  ${r.workflowId}  ${r.status}`]);
        if (view.running.length) lines.push(['running', view.running.join(', ')]);
        for (const [k, x] of lines) out(`${k.padEnd(12)}${x}`.trimEnd());
      });
    });

  schedule
    .command('pause')
    .argument('<id>', 'schedule id')
    .requiredOption('--reason <text>', 'why (the note shown by describe/list)')
    .description('pause a schedule')
    .action(async (id: string, o) => {
      if (!String(o.reason).trim()) throw new CliError('--reason: say why the schedule is paused', EXIT.usage);
      await withSession({}, async (s) => {
        await (await scheduleHandle(s, id)).handle.pause(`${o.reason} (by ${currentUser()})`);
        out(`paused ${id}`);
      });
    });

  schedule
    .command('unpause')
    .argument('<id>', 'schedule id')
    .option('--reason <text>', 'why')
    .description('resume a paused schedule')
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        const { handle, d } = await scheduleHandle(s, id);
        if (!d.state.paused) throw new CliError(`schedule "${id}" is not paused`, EXIT.usage);
        await handle.unpause(`${o.reason ?? 'unpaused'} (by ${currentUser()})`);
        out(`unpaused ${id}`);
      });
    });

  schedule
    .command('trigger')
    .argument('<id>', 'schedule id')
    .option('--overlap <policy>', `overlap policy for this run (default: the schedule's own): ${Object.keys(OVERLAP).join(', ')}`)
    .description('start a run now (even while paused or in a freeze: drill.guard still checks the freeze)')
    .action(async (id: string, o) => {
      const override = o.overlap === undefined ? undefined : overlapPolicy(o.overlap);
      await withSession({}, async (s) => {
        const { handle, d } = await scheduleHandle(s, id);
        // The SDK's trigger() without a policy means ALLOW_ALL: pass the schedule's own.
        const overlap = override ?? d.policies.overlap;
        await handle.trigger(overlap);
        out(`triggered ${id} (overlap ${overlap}${override ? '' : ", the schedule's policy"})`);
        const frozen = viewOf(id, d, new Date()).inFreeze;
        if (frozen) out(`note: ${freezeLine(frozen)}; drill.guard refuses every drill during it`);
      });
    });

  schedule
    .command('delete')
    .argument('<id>', 'schedule id')
    .description('delete a schedule (runs already started continue)')
    .action(async (id: string) => {
      await withSession({}, async (s) => {
        await (await scheduleHandle(s, id)).handle.delete();
        out(`deleted ${id}`);
      });
    });

  const freeze = schedule.command('freeze').description(`the change-freeze calendar (${FREEZE_FILE_ENV}, else ${FREEZE_FILE_DEFAULTS.join(' or ')})`);

  freeze
    .command('show')
    .option('--file <path>', 'calendar file (default: as the worker finds it)')
    .option('--at <time>', 'which windows are active at this ISO time (default now)')
    .option('--json', 'machine-readable output')
    .description('print the freeze windows and which are active')
    .action((o) => {
      const at = o.at ? new Date(o.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new CliError(`--at ${o.at}: expected an ISO time such as 2026-12-24T12:00:00Z`, EXIT.usage);
      const cal = freezeCalendar(o.file);
      const rows = cal.windows.map((w) => ({ ...w, active: activeFreeze({ windows: [w] }, at) !== null, ended: Date.parse(w.endsAt) < at.getTime() }));
      if (o.json) return out(JSON.stringify({ file: cal.file ?? null, at: at.toISOString(), active: activeFreeze(cal, at), windows: rows }, null, 2));
      out(`${calendarSource(cal)}: ${rows.length} freeze window${rows.length === 1 ? '' : 's'}`);
      for (const r of rows) out(`${r.active ? 'ACTIVE ' : r.ended ? 'ended  ' : '       '}${r.name}  ${r.startsAt} .. ${r.endsAt}  (${r.start}..${r.end}${r.timezone === 'UTC' ? '' : ` ${r.timezone}`})${r.reason ? `  ${r.reason}` : ''}`);
    });

  freeze
    .command('sync')
    .argument('[ids...]', 'only these schedules (default: every schedule that follows the calendar)')
    .option('--file <path>', 'calendar file (default: as the worker finds it)')
    .option('--dry-run', 'say what would change, change nothing')
    .description('re-apply the freeze calendar to every schedule that follows it (drills, --freeze)')
    .action(async (ids: string[], o) => {
      const cal = freezeCalendar(o.file);
      const now = new Date();
      await withSession({}, async (s) => {
        const explicit = ids.length > 0;
        if (!explicit) for await (const sc of s.client.schedule.list()) ids.push(sc.scheduleId);
        let affected = 0;
        let changed = 0;
        const names = (ws: FreezeWindow[]) => ws.map((w) => w.name).join(', ') || 'none';
        for (const id of ids) {
          const handle = s.client.schedule.getHandle(id);
          let d: ScheduleDescription;
          try {
            d = await handle.describe();
          } catch (e) {
            if (!(e instanceof ScheduleNotFoundError)) throw e;
            if (explicit) throw new CliError(`no schedule with id "${id}"`, EXIT.usage);
            continue; // deleted since it was listed
          }
          // Described, not listed: the list's memo may lag behind a schedule just created.
          if (d.memo?.freeze !== true) {
            if (explicit) out(`skipped ${id}: it does not follow the freeze calendar (only drills and schedules created with --freeze do)`);
            continue;
          }
          affected++;
          const before = windowsFromSkip(d.spec.skip);
          const after = windowsFromSkip(skipWith(d.spec.skip, cal, d.spec.timezone, now));
          const same = windowKey(before) === windowKey(after);
          if (!same && !o.dryRun) await handle.update((prev) => ({ ...prev, spec: { ...prev.spec, skip: skipWith(prev.spec.skip, cal, prev.spec.timezone, now) } }));
          if (!same) changed++;
          out(`${same ? 'unchanged' : o.dryRun ? 'would update' : 'updated'} ${id}: freezes ${same ? names(after) : `${names(before)} -> ${names(after)}`}`);
        }
        out(`${affected} schedule${affected === 1 ? ' follows' : 's follow'} the freeze calendar (${calendarSource(cal)}); ${changed} ${o.dryRun ? 'would change' : 'updated'}`);
      });
    });
}
