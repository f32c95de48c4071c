/**
 * The change-freeze calendar: windows during which drills (and other risky scheduled work) must
 * not run. Read by the CLI (`runwright schedule create|freeze`, which turn the windows into
 * `skip` calendars of Temporal Schedules) and by the worker (`drill.guard`, which refuses
 * every drill, safe or not, during a freeze, whoever started it).
 *
 * ```yaml
 * # runwright.freeze.yaml (RUNWRIGHT_FREEZE_FILE; else ./runwright.freeze.yaml, ./.runwright/freeze.yaml)
 * timezone: Europe/Berlin          # optional, for every window; default UTC
 * freezes:
 *   - name: year-end
 *     start: 2026-12-20            # dates are inclusive: the whole day
 *     end: 2027-01-03
 *     reason: holidays, reduced staffing
 *   - name: migration
 *     start: 2026-11-04T18:00:00Z  # ISO times: exact instants (without an offset: in the timezone)
 *     end: 2026-11-05T06:00
 *     timezone: America/New_York   # per window
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CalendarSpec, CalendarSpecDescription, Month } from '@temporalio/client';
import { z } from 'zod';
import { sortDiagnostics, UserError, type Diagnostic } from '../dsl/diagnostics';
import { loadYaml, type LoadedYaml } from '../dsl/load';
import { ENV } from './config';

export const FREEZE_FILE_ENV = ENV.freezeFile;
/** Where the calendar is looked for (relative to the working directory) when the env var is unset. */
export const FREEZE_FILE_DEFAULTS = ['runwright.freeze.yaml', join('.runwright', 'freeze.yaml')] as const;
/** Comments of the skip calendars made from freeze windows start with this; the rest is JSON. */
export const FREEZE_COMMENT_PREFIX = 'runwright-freeze ';

export interface FreezeWindow {
  name: string;
  reason?: string;
  /** As written in the file. */
  start: string;
  end: string;
  /** Time zone that dates and offset-less times are read in. */
  timezone: string;
  /** The window as instants (UTC ISO); both ends inclusive. */
  startsAt: string;
  endsAt: string;
}

export interface FreezeCalendar {
  /** The file read; undefined when there is none (no freezes). */
  file?: string;
  timezone: string;
  windows: FreezeWindow[];
}

/** A freeze file with mistakes: diagnostics with file:line:column (the CLI exits 2). */
export class FreezeCalendarError extends UserError {
  constructor(diagnostics: Diagnostic[]) {
    super(sortDiagnostics(diagnostics));
    this.name = 'FreezeCalendarError';
  }
}

// ---------------------------------------------------------------------------------------------
// Time zones without a library: Intl knows the IANA database Node ships.

type Fields = [year: number, month: number, day: number, hour: number, minute: number, second: number];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in a time zone (to the second). */
export function wallClock(ms: number, tz: string): Fields {
  const parts = formatter(tz).formatToParts(new Date(ms));
  const get = (t: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === t)?.value);
  return [get('year'), get('month'), get('day'), get('hour') % 24, get('minute'), get('second')];
}

const utcOf = (f: Fields) => Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5]);

/** The instant at which a time zone's clocks show these fields (a time skipped by DST moves forward). */
export function fromWallClock(f: Fields, tz: string): number {
  const guess = utcOf(f);
  const offset = (ms: number) => utcOf(wallClock(ms, tz)) - Math.floor(ms / 1000) * 1000;
  const o1 = offset(guess);
  const t = guess - o1;
  const o2 = offset(t);
  return o2 === o1 ? t : guess - o2;
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

// ---------------------------------------------------------------------------------------------
// Reading the file

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const WHEN_HINT = 'expected a date (2026-12-20) or an ISO time (2026-12-20T18:00:00Z)';

const TimeZone = z.string().refine(isTimeZone, 'unknown time zone: expected an IANA name such as "UTC" or "Europe/Berlin"');
const When = z.string({ error: (i) => (i.input === undefined ? undefined : WHEN_HINT) }).refine((s) => DATE_RE.test(s) || TIME_RE.test(s), WHEN_HINT);

export const FreezeFileSchema = z.strictObject({
  timezone: TimeZone.optional().describe('Time zone for dates and offset-less times of every window (default UTC).'),
  freezes: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        start: When.describe('First day (inclusive) or first instant.'),
        end: When.describe('Last day (inclusive) or last instant.'),
        reason: z.string().optional(),
        timezone: TimeZone.optional(),
      }),
    )
    .nullish(),
});

/**
 * A date or time from the file as an instant: dates cover the whole day (start: its first
 * millisecond, end: its last), times are exact. Undefined when the date does not exist.
 */
export function parseWhen(text: string, tz: string, edge: 'start' | 'end'): number | undefined {
  const d = DATE_RE.exec(text);
  if (d) {
    const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    if (m < 1 || m > 12 || day < 1 || day > daysIn(y, m)) return undefined;
    return edge === 'start' ? fromWallClock([y, m, day, 0, 0, 0], tz) : fromWallClock([y, m, day + 1, 0, 0, 0], tz) - 1;
  }
  const t = TIME_RE.exec(text);
  if (!t) return undefined;
  const f: Fields = [Number(t[1]), Number(t[2]), Number(t[3]), Number(t[4]), Number(t[5]), Number(t[6] ?? 0)];
  if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > daysIn(f[0], f[1]) || f[3] > 23 || f[4] > 59 || f[5] > 59) return undefined;
  const frac = t[7] ? Math.floor(Number(t[7]) * 1000) : 0;
  const off = t[8];
  if (!off) return fromWallClock(f, tz) + frac;
  if (/^z$/i.test(off)) return utcOf(f) + frac;
  const o = /^([+-])(\d{2}):?(\d{2})$/.exec(off)!;
  return utcOf(f) + frac - (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000;
}

/** The calendar file in use: RUNWRIGHT_FREEZE_FILE, else the first default that exists. */
export function freezeFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (env[FREEZE_FILE_ENV]) return resolve(cwd, env[FREEZE_FILE_ENV]!);
  return FREEZE_FILE_DEFAULTS.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
}

/**
 * Read and check a freeze calendar: `path`, else the file `freezeFile()` finds. No file means
 * no freezes; a named file that is missing, or any mistake in one, throws FreezeCalendarError
 * with every problem at file:line:column.
 */
export function loadFreezeCalendar(path?: string, env: NodeJS.ProcessEnv = process.env): FreezeCalendar {
  const file = path ? resolve(path) : freezeFile(env);
  if (!file) return { timezone: 'UTC', windows: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    throw new FreezeCalendarError([{ file, line: 1, column: 1, message: `cannot read freeze calendar (${e.code ?? e.message})` }]);
  }
  return parseFreezeCalendar(file, text);
}

/** Parse freeze calendar text (see loadFreezeCalendar). */
export function parseFreezeCalendar(file: string, text: string): FreezeCalendar {
  // An empty file (or only comments) is a calendar without freezes.
  if (text.split(/\r?\n/).every((l) => /^\s*(#.*)?$/.test(l))) return { file, timezone: 'UTC', windows: [] };
  const { doc, diagnostics } = loadYaml(file, text);
  if (!doc) throw new FreezeCalendarError(diagnostics.map((d) => ({ ...d, message: d.message.replace(/runbook/g, 'freeze calendar') })));
  const errors: Diagnostic[] = [];
  const at = (path: PropertyKey[], message: string, key = false) => errors.push({ file, ...doc.position(path, { key }), message });

  if (doc.value === null || typeof doc.value !== 'object' || Array.isArray(doc.value)) {
    at([], 'expected a mapping with `freezes:` (a list of {name, start, end, reason?})');
    throw new FreezeCalendarError(errors);
  }
  const parsed = FreezeFileSchema.safeParse(doc.value);
  if (!parsed.success) {
    for (const i of parsed.error.issues) reportIssue(doc, i, at);
    throw new FreezeCalendarError(errors);
  }
  const timezone = parsed.data.timezone ?? 'UTC';
  const windows: FreezeWindow[] = [];
  const seen = new Set<string>();
  (parsed.data.freezes ?? []).forEach((w, i) => {
    const tz = w.timezone ?? timezone;
    if (seen.has(w.name)) at(['freezes', i, 'name'], `duplicate freeze name "${w.name}": each window needs its own name`);
    seen.add(w.name);
    const s = parseWhen(w.start, tz, 'start');
    const e = parseWhen(w.end, tz, 'end');
    if (s === undefined) at(['freezes', i, 'start'], `start ${w.start}: no such date or time`);
    if (e === undefined) at(['freezes', i, 'end'], `end ${w.end}: no such date or time`);
    if (s === undefined || e === undefined) return;
    if (e < s) return at(['freezes', i, 'end'], `end ${w.end} is before start ${w.start}`);
    windows.push({ name: w.name, ...(w.reason ? { reason: w.reason } : {}), start: w.start, end: w.end, timezone: tz, startsAt: new Date(s).toISOString(), endsAt: new Date(e).toISOString() });
  });
  if (errors.length) throw new FreezeCalendarError(errors);
  return { file, timezone, windows };
}

function reportIssue(doc: LoadedYaml, i: z.core.$ZodIssue, at: (path: PropertyKey[], message: string, key?: boolean) => void): void {
  const path = i.path as PropertyKey[];
  const value = path.reduce<any>((v, k) => (v == null ? undefined : v[k as any]), doc.value);
  const where = path.length ? path.join('.') : 'freeze calendar';
  if (i.code === 'unrecognized_keys') {
    const expected = path.length ? 'name, start, end, reason, timezone' : 'timezone, freezes';
    for (const k of i.keys) at([...path, k], `unknown key "${k}" (expected ${expected})`, true);
  } else if (i.code === 'invalid_type' && value === undefined) {
    at(path.slice(0, -1), `${path.slice(0, -1).join('.') || 'freeze calendar'}: missing "${String(path[path.length - 1])}"`);
  } else at(path, `${where}: ${i.message}`);
}

// ---------------------------------------------------------------------------------------------
// Questions about the calendar

const ms = (iso: string) => Date.parse(iso);

/** The window in force at `date` (the first in file order), or null. */
export function activeFreeze(calendar: Pick<FreezeCalendar, 'windows'>, date: Date = new Date()): FreezeWindow | null {
  const t = date.getTime();
  return calendar.windows.find((w) => ms(w.startsAt) <= t && t <= ms(w.endsAt)) ?? null;
}

/** `'year-end' (2026-12-20..2027-01-03)`, with the time zone when it is not UTC. */
export function freezeLabel(w: FreezeWindow): string {
  return `'${w.name}' (${w.start}..${w.end}${w.timezone === 'UTC' ? '' : ` ${w.timezone}`})`;
}

// ---------------------------------------------------------------------------------------------
// Windows as Temporal ScheduleSpec `skip` calendars

const MONTH_NAMES: readonly Month[] = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const LEVELS = ['year', 'month', 'dayOfMonth', 'hour', 'minute', 'second'] as const;
const minAt = (l: number) => (l === 1 || l === 2 ? 1 : 0);
const maxAt = (f: readonly number[], l: number) => (l === 1 ? 12 : l === 2 ? daysIn(f[0], f[1]) : l === 3 ? 23 : 59);
const compare = (a: Fields, b: Fields) => a.reduce((c, v, i) => c || v - b[i], 0);

/**
 * Cover the wall-clock seconds S..E (inclusive) with as few calendar specs as the field-by-field
 * matching of a CalendarSpec allows: each spec fixes the fields above one level, takes a range
 * at that level and `*` below (e.g. Dec 20-31 of 2026, all hours; then January 1-3 of 2027).
 */
function cover(S: Fields, E: Fields, level: number, emit: (prefix: number[], level: number, lo: number, hi: number) => void): void {
  if (level === LEVELS.length) return emit(S.slice(), level, 0, 0);
  if (S[level] === E[level]) return cover(S, E, level + 1, emit);
  const below = (f: Fields, pick: (f: Fields, l: number) => number) => LEVELS.every((_, l) => l <= level || f[l] === pick(f, l));
  const sFull = below(S, (_, l) => minAt(l));
  const eFull = below(E, maxAt);
  let lo = S[level];
  let hi = E[level];
  if (!sFull) {
    const end = S.slice() as Fields;
    for (let l = level + 1; l < LEVELS.length; l++) end[l] = maxAt(end, l);
    cover(S, end, level + 1, emit);
    lo++;
  }
  if (!eFull) hi--;
  if (lo <= hi) emit(S.slice(0, level), level, lo, hi);
  if (!eFull) {
    const start = E.slice() as Fields;
    for (let l = level + 1; l < LEVELS.length; l++) start[l] = minAt(l);
    cover(start, E, level + 1, emit);
  }
}

/**
 * Skip calendars for a Temporal Schedule whose spec uses `timezone` (ScheduleSpec.skip: "any
 * matching times are skipped"; every field, seconds included, must match, so unused fields are
 * `*`). Windows that ended before `now` are left out. Each entry's comment names its window
 * (FREEZE_COMMENT_PREFIX + JSON), so the entries can be told from hand-made ones and replaced.
 * In a zone with daylight saving time, the repeated hour of a window's last day may be skipped
 * whole (schedules match wall-clock times).
 */
export function freezeSkipCalendars(windows: readonly FreezeWindow[], opts: { timezone?: string; now?: Date } = {}): CalendarSpec[] {
  const tz = opts.timezone || 'UTC';
  const out: CalendarSpec[] = [];
  for (const w of windows) {
    if (opts.now && ms(w.endsAt) < opts.now.getTime()) continue;
    let S = wallClock(Math.ceil(ms(w.startsAt) / 1000) * 1000, tz);
    let E = wallClock(Math.floor(ms(w.endsAt) / 1000) * 1000, tz);
    if (compare(S, E) > 0) [S, E] = [E, S];
    const comment = FREEZE_COMMENT_PREFIX + JSON.stringify(w);
    cover(S, E, 0, (prefix, level, lo, hi) => {
      const spec: Record<string, unknown> = { comment };
      LEVELS.forEach((name, l) => {
        const v = (n: number) => (l === 1 ? MONTH_NAMES[n - 1] : n);
        spec[name] = l < level ? v(prefix[l]) : l === level ? { start: v(lo), end: v(hi) } : '*';
      });
      out.push(spec as CalendarSpec);
    });
  }
  return out;
}

export function isFreezeSkip(c: { comment?: string }): boolean {
  return !!c.comment?.startsWith(FREEZE_COMMENT_PREFIX);
}

/** The freeze windows a schedule's skip calendars were made from (once each). */
export function windowsFromSkip(skip: readonly (CalendarSpec | CalendarSpecDescription)[] | undefined): FreezeWindow[] {
  const found = new Map<string, FreezeWindow>();
  for (const c of skip ?? []) {
    if (!isFreezeSkip(c)) continue;
    try {
      const w = JSON.parse(c.comment!.slice(FREEZE_COMMENT_PREFIX.length)) as FreezeWindow;
      if (typeof w.name === 'string' && typeof w.startsAt === 'string' && typeof w.endsAt === 'string') found.set(`${w.name}\n${w.startsAt}\n${w.endsAt}`, w);
    } catch {
      // A comment someone edited by hand: not ours any more.
    }
  }
  return [...found.values()];
}
