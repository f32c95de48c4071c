/**
 * The change-freeze calendar (lib/freeze.ts): windows and their boundaries, time zones, errors at
 * file:line:column, the file search order, the translation into Temporal skip calendars (checked
 * second by second against the window), and drill.guard, alone and in a runbook on the real
 * dev server.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CalendarSpec } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { decideDrillGuard, safeKinds, type DrillGuardInput, type DrillGuardResult } from '../activities/drill/guard';
import {
  FreezeCalendarError,
  activeFreeze,
  freezeFile,
  freezeSkipCalendars,
  loadFreezeCalendar,
  parseFreezeCalendar,
  wallClock,
  windowsFromSkip,
  type FreezeCalendar,
  type FreezeWindow,
} from '../lib/freeze';
import { connectTestEnv, inputFor, runbookFrom, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-freeze-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = (iso: string) => new Date(iso);
const errorsOf = (text: string): string => {
  try {
    parseFreezeCalendar('freeze.yaml', text);
  } catch (e) {
    expect(e).toBeInstanceOf(FreezeCalendarError);
    return (e as Error).message;
  }
  throw new Error('expected FreezeCalendarError');
};

describe('windows', () => {
  const cal = parseFreezeCalendar(
    'freeze.yaml',
    `freezes:
  - name: year-end
    start: 2026-12-20
    end: 2027-01-03
    reason: holidays
  - name: migration
    start: 2026-11-04T18:30:00Z
    end: 2026-11-04T22:00:00+01:00
`,
  );

  test('dates are whole days in UTC, both ends inclusive', () => {
    expect(cal.windows[0]).toEqual({
      name: 'year-end',
      reason: 'holidays',
      start: '2026-12-20',
      end: '2027-01-03',
      timezone: 'UTC',
      startsAt: '2026-12-20T00:00:00.000Z',
      endsAt: '2027-01-03T23:59:59.999Z',
    });
    expect(activeFreeze(cal, at('2026-12-19T23:59:59.999Z'))).toBeNull();
    expect(activeFreeze(cal, at('2026-12-20T00:00:00.000Z'))?.name).toBe('year-end');
    expect(activeFreeze(cal, at('2027-01-03T23:59:59.999Z'))?.name).toBe('year-end');
    expect(activeFreeze(cal, at('2027-01-04T00:00:00.000Z'))).toBeNull();
  });

  test('ISO times are exact instants, offsets honoured', () => {
    expect(cal.windows[1]).toMatchObject({ startsAt: '2026-11-04T18:30:00.000Z', endsAt: '2026-11-04T21:00:00.000Z' });
    expect(activeFreeze(cal, at('2026-11-04T18:29:59.999Z'))).toBeNull();
    expect(activeFreeze(cal, at('2026-11-04T18:30:00Z'))?.name).toBe('migration');
    expect(activeFreeze(cal, at('2026-11-04T21:00:00Z'))?.name).toBe('migration');
    expect(activeFreeze(cal, at('2026-11-04T21:00:00.001Z'))).toBeNull();
  });

  test('a time zone in the file (top level or per window) moves dates and offset-less times', () => {
    const tz = parseFreezeCalendar(
      'freeze.yaml',
      `timezone: Europe/Berlin
freezes:
  - { name: berlin, start: 2026-12-20, end: 2026-12-20 }
  - { name: ny-dst, start: 2026-03-08, end: 2026-03-08, timezone: America/New_York }
  - { name: local-time, start: "2026-07-01T09:00", end: "2026-07-01T17:30:15", timezone: Asia/Kolkata }
  - { name: offset-wins, start: "2026-07-01T09:00:00Z", end: "2026-07-01T10:00:00Z" }
`,
    );
    const w = Object.fromEntries(tz.windows.map((x) => [x.name, x]));
    expect(w.berlin).toMatchObject({ timezone: 'Europe/Berlin', startsAt: '2026-12-19T23:00:00.000Z', endsAt: '2026-12-20T22:59:59.999Z' });
    // The day daylight saving time starts in New York has 23 hours: EST at midnight, EDT at its end.
    expect(w['ny-dst']).toMatchObject({ startsAt: '2026-03-08T05:00:00.000Z', endsAt: '2026-03-09T03:59:59.999Z' });
    expect(w['local-time']).toMatchObject({ startsAt: '2026-07-01T03:30:00.000Z', endsAt: '2026-07-01T12:00:15.000Z' });
    expect(w['offset-wins']).toMatchObject({ startsAt: '2026-07-01T09:00:00.000Z', endsAt: '2026-07-01T10:00:00.000Z' });
    expect(activeFreeze(tz, at('2026-12-19T22:59:59Z'))).toBeNull();
    expect(activeFreeze(tz, at('2026-12-19T23:00:00Z'))?.name).toBe('berlin');
  });

  test('empty files and files of comments have no freezes', () => {
    expect(parseFreezeCalendar('f.yaml', '').windows).toEqual([]);
    expect(parseFreezeCalendar('f.yaml', '# nothing yet\n').windows).toEqual([]);
    expect(parseFreezeCalendar('f.yaml', 'freezes: []\n').windows).toEqual([]);
    expect(parseFreezeCalendar('f.yaml', 'freezes:\n').windows).toEqual([]);
  });
});

describe('mistakes are reported at file:line:column, all at once', () => {
  test('schema errors', () => {
    expect(
      errorsOf(`timezone: Mars/Olympus
freezes:
  - name: a
    start: 20261220
    end: next week
    bogus: 1
  - start: 2026-01-01
    end: 2026-01-02
`).split('\n'),
    ).toEqual([
      'freeze.yaml:1:11: error: timezone: unknown time zone: expected an IANA name such as "UTC" or "Europe/Berlin"',
      'freeze.yaml:4:12: error: freezes.0.start: expected a date (2026-12-20) or an ISO time (2026-12-20T18:00:00Z)',
      'freeze.yaml:5:10: error: freezes.0.end: expected a date (2026-12-20) or an ISO time (2026-12-20T18:00:00Z)',
      'freeze.yaml:6:5: error: unknown key "bogus" (expected name, start, end, reason, timezone)',
      'freeze.yaml:7:5: error: freezes.1: missing "name"',
    ]);
  });

  test('impossible dates, end before start, duplicate names', () => {
    expect(
      errorsOf(`freezes:
  - name: a
    start: 2026-02-29
    end: 2026-03-01T25:00
  - name: b
    start: 2026-12-20
    end: 2026-12-19
  - name: b
    start: 2026-12-20
    end: 2026-12-21
`).split('\n'),
    ).toEqual([
      'freeze.yaml:3:12: error: start 2026-02-29: no such date or time',
      'freeze.yaml:4:10: error: end 2026-03-01T25:00: no such date or time',
      'freeze.yaml:7:10: error: end 2026-12-19 is before start 2026-12-20',
      'freeze.yaml:8:11: error: duplicate freeze name "b": each window needs its own name',
    ]);
  });

  test('YAML syntax and shape', () => {
    expect(errorsOf('freezes:\n  - name: a\n   start: x\n')).toMatch(/^freeze\.yaml:3:\d+: error: YAML syntax error/);
    expect(errorsOf('- name: a\n')).toBe('freeze.yaml:1:1: error: expected a mapping with `freezes:` (a list of {name, start, end, reason?})');
    expect(errorsOf('freeze:\n  - name: a\n')).toBe('freeze.yaml:1:1: error: unknown key "freeze" (expected timezone, freezes)');
  });
});

describe('finding the file', () => {
  test('env var, then runwright.freeze.yaml, then .runwright/freeze.yaml', () => {
    const cwd = join(dir, 'find');
    mkdirSync(join(cwd, '.runwright'), { recursive: true });
    expect(freezeFile({}, cwd)).toBeUndefined();
    writeFileSync(join(cwd, '.runwright', 'freeze.yaml'), 'freezes: []\n');
    expect(freezeFile({}, cwd)).toBe(join(cwd, '.runwright', 'freeze.yaml'));
    writeFileSync(join(cwd, 'runwright.freeze.yaml'), 'freezes: []\n');
    expect(freezeFile({}, cwd)).toBe(join(cwd, 'runwright.freeze.yaml'));
    expect(freezeFile({ RUNWRIGHT_FREEZE_FILE: 'other.yaml' }, cwd)).toBe(join(cwd, 'other.yaml'));
  });

  test('no file: no freezes; a named file that is missing is an error', () => {
    expect(loadFreezeCalendar(undefined, { RUNWRIGHT_FREEZE_FILE: '' })).toEqual({ timezone: 'UTC', windows: [] });
    const missing = join(dir, 'missing.yaml');
    expect(() => loadFreezeCalendar(undefined, { RUNWRIGHT_FREEZE_FILE: missing })).toThrow(`${missing}:1:1: error: cannot read freeze calendar (ENOENT)`);
    const f = join(dir, 'ok.yaml');
    writeFileSync(f, 'freezes:\n  - { name: x, start: 2030-01-01, end: 2030-01-02 }\n');
    expect(loadFreezeCalendar(f).windows.map((w) => w.name)).toEqual(['x']);
    expect(loadFreezeCalendar(undefined, { RUNWRIGHT_FREEZE_FILE: f }).file).toBe(f);
  });
});

// ---------------------------------------------------------------------------------------------
// Skip calendars: a CalendarSpec matches a second when every field matches (Temporal's rule).

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
function fieldMatches(spec: unknown, value: number, month: boolean): boolean {
  if (spec === undefined || spec === '*') return true;
  const n = (x: unknown) => (month && typeof x === 'string' ? MONTHS.indexOf(x) + 1 : Number(x));
  const ranges = Array.isArray(spec) ? spec : [spec];
  return ranges.some((r: any) => (typeof r === 'object' ? value >= n(r.start) && value <= n(r.end ?? r.start) : value === n(r)));
}
function skipped(specs: CalendarSpec[], f: number[]): boolean {
  return specs.some(
    (c) =>
      fieldMatches(c.year, f[0], false) &&
      fieldMatches(c.month, f[1], true) &&
      fieldMatches(c.dayOfMonth, f[2], false) &&
      fieldMatches(c.hour ?? 0, f[3], false) &&
      fieldMatches(c.minute ?? 0, f[4], false) &&
      fieldMatches(c.second ?? 0, f[5], false),
  );
}

describe('skip calendars', () => {
  const cal = parseFreezeCalendar(
    'f.yaml',
    `freezes:
  - { name: year-end, start: 2026-12-20, end: 2027-01-03 }
  - { name: odd-seconds, start: "2027-02-27T22:59:58Z", end: "2027-03-01T00:00:01Z" }
  - { name: leap, start: 2028-02-28, end: 2028-03-01 }
  - { name: years, start: "2029-06-15T12:00:00Z", end: "2031-02-01T00:00:00Z" }
  - { name: one-second, start: "2032-05-05T05:05:05Z", end: "2032-05-05T05:05:05Z" }
`,
  );

  /** Every second near the ends, and every 7 minutes 13 seconds across the window, must agree. */
  function check(w: FreezeWindow, tz: string) {
    const specs = freezeSkipCalendars([w], { timezone: tz });
    const s = Date.parse(w.startsAt);
    const e = Date.parse(w.endsAt);
    const probes: number[] = [];
    for (const edge of [s, e]) for (let t = Math.floor(edge / 1000) * 1000 - 90_000; t <= edge + 90_000; t += 1000) probes.push(t);
    const step = e - s > 400 * 86_400_000 ? 3_600_000 + 7_000 : 433_000;
    for (let t = s - 86_400_000; t <= e + 86_400_000; t += step) probes.push(Math.floor(t / 1000) * 1000);
    let mismatches = 0;
    for (const t of probes) if (skipped(specs, wallClock(t, tz)) !== (t >= Math.ceil(s / 1000) * 1000 && t <= e)) mismatches++;
    return { specs, mismatches };
  }

  test.each(['UTC', 'Asia/Kolkata', 'America/Los_Angeles'])('match exactly the window, in a schedule time zone of %s', (tz) => {
    for (const w of cal.windows) {
      const { mismatches, specs } = check(w, tz);
      expect({ window: w.name, mismatches }).toEqual({ window: w.name, mismatches: 0 });
      expect(specs.length).toBeLessThanOrEqual(11);
    }
  });

  test('the shape Temporal gets: fixed fields above, a range, * below; comments name the window', () => {
    const specs = freezeSkipCalendars([cal.windows[0]]);
    expect(specs.map(({ comment, ...c }) => c)).toEqual([
      { year: 2026, month: 'DECEMBER', dayOfMonth: { start: 20, end: 31 }, hour: '*', minute: '*', second: '*' },
      { year: 2027, month: 'JANUARY', dayOfMonth: { start: 1, end: 3 }, hour: '*', minute: '*', second: '*' },
    ]);
    expect(windowsFromSkip(specs)).toEqual([cal.windows[0]]);
    expect(windowsFromSkip([...specs, { hour: 3, comment: 'hand made' }])).toEqual([cal.windows[0]]);
  });

  test('windows that are over are left out', () => {
    expect(windowsFromSkip(freezeSkipCalendars(cal.windows, { now: at('2027-01-04T00:00:00Z') })).map((w) => w.name)).toEqual(['odd-seconds', 'leap', 'years', 'one-second']);
    expect(freezeSkipCalendars(cal.windows, { now: at('2040-01-01T00:00:00Z') })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// drill.guard

const base: DrillGuardInput = {
  target: 'cluster-b',
  clusters: ['cluster-a', 'cluster-b', 'cluster-c'],
  healthy: ['cluster-a', 'cluster-b', 'cluster-c'],
  minHealthyRemaining: 1,
  faultKind: 'pod-kill',
  safe: false,
  freeze: true,
  maxTargets: 1,
};
const yearEnd: FreezeCalendar = parseFreezeCalendar('f.yaml', 'freezes:\n  - { name: year-end, start: 2026-12-20, end: 2027-01-03, reason: holidays }\n');
const outside = at('2026-06-01T12:00:00Z');
const inside = at('2026-12-24T12:00:00Z');

describe('drill.guard decisions', () => {
  test('allowed outside a freeze with healthy clusters left; auto-approved only when safe and of a safe fault kind', () => {
    expect(decideDrillGuard(base, { now: outside, calendar: yearEnd })).toEqual({ allowed: true, reasons: [], freeze: null, autoApprove: false, notes: [], checkedAt: '2026-06-01T12:00:00.000Z' });
    const sim = { ...base, faultKind: 'openstack-sim', safe: true };
    expect(decideDrillGuard(sim, { now: outside, calendar: yearEnd })).toMatchObject({ allowed: true, autoApprove: true, notes: [] });
    // `safe` is the caller's word: a kind the worker does not list as safe still needs an approval (not a refusal).
    expect(decideDrillGuard({ ...base, safe: true }, { now: outside, calendar: yearEnd })).toEqual({
      allowed: true,
      reasons: [],
      freeze: null,
      autoApprove: false,
      notes: ["marked safe, but fault kind pod-kill is not one of the worker's safe kinds (RUNWRIGHT_DRILL_SAFE_KINDS: openstack-sim): approval required"],
      checkedAt: '2026-06-01T12:00:00.000Z',
    });
    // The worker's list decides.
    expect(decideDrillGuard({ ...base, safe: true }, { now: outside, safeKinds: ['latency', 'pod-kill'] })).toMatchObject({ autoApprove: true, notes: [] });
    expect(decideDrillGuard(sim, { now: outside, safeKinds: ['latency'] })).toMatchObject({ allowed: true, autoApprove: false, notes: [expect.stringContaining('(RUNWRIGHT_DRILL_SAFE_KINDS: latency)')] });
    // Not marked safe: approval, whatever the kind, and no note.
    expect(decideDrillGuard({ ...sim, safe: false }, { now: outside })).toMatchObject({ autoApprove: false, notes: [] });
  });

  test("the worker's safe kinds: RUNWRIGHT_DRILL_SAFE_KINDS, comma-separated; unset or empty: openstack-sim", () => {
    expect(safeKinds({})).toEqual(['openstack-sim']);
    expect(safeKinds({ RUNWRIGHT_DRILL_SAFE_KINDS: '' })).toEqual(['openstack-sim']);
    expect(safeKinds({ RUNWRIGHT_DRILL_SAFE_KINDS: ' latency, pod-kill ,,' })).toEqual(['latency', 'pod-kill']);
  });

  test('a change freeze refuses every drill, safe or not; freeze: false (tests, emergencies) skips the check', () => {
    const r = decideDrillGuard(base, { now: inside, calendar: yearEnd });
    expect(r).toMatchObject({ allowed: false, autoApprove: false, freeze: { name: 'year-end' } });
    expect(r.reasons).toEqual(["change freeze 'year-end' (2026-12-20..2027-01-03) is active: holidays"]);
    for (const faultKind of ['openstack-sim', 'pod-kill']) {
      expect(decideDrillGuard({ ...base, faultKind, safe: true }, { now: inside, calendar: yearEnd })).toMatchObject({
        allowed: false,
        autoApprove: false,
        reasons: ["change freeze 'year-end' (2026-12-20..2027-01-03) is active: holidays"],
        freeze: { name: 'year-end' },
      });
    }
    expect(decideDrillGuard({ ...base, freeze: false }, { now: inside, calendar: yearEnd })).toMatchObject({ allowed: true, freeze: null });
  });

  test('an unreadable calendar refuses (fail closed)', () => {
    const r = decideDrillGuard(base, { now: outside, calendar: new Error('f.yaml:2:3: error: bad') });
    expect(r).toMatchObject({ allowed: false, reasons: ['cannot check the change freeze calendar: f.yaml:2:3: error: bad'] });
  });

  test('blast radius: healthy clusters left, target health, fault kinds, target count', () => {
    const reasons = (i: Partial<DrillGuardInput>) => decideDrillGuard({ ...base, ...i }, { now: outside }).reasons;
    expect(reasons({ healthy: ['cluster-b'] })).toEqual(['target cluster-b is the only healthy cluster']);
    expect(reasons({ healthy: ['cluster-b'], minHealthyRemaining: 0 })).toEqual([]);
    expect(reasons({ healthy: ['cluster-a', 'cluster-b'], minHealthyRemaining: 2 })).toEqual(['1 healthy cluster would remain besides cluster-b (cluster-a); at least 2 required']);
    expect(reasons({ healthy: ['cluster-a', 'cluster-c'] })).toEqual(['target cluster-b is not healthy: the steady state does not hold before the fault']);
    expect(reasons({ faultKind: 'ssh-service', allowedKinds: ['pod-kill', 'latency'] })).toEqual(['fault kind ssh-service not allowed (allowed: pod-kill, latency)']);
    expect(reasons({ target: ['cluster-a', 'cluster-b'] })).toEqual(['2 target clusters (cluster-a, cluster-b); at most 1 allowed']);
    expect(reasons({ target: ['cluster-a', 'cluster-b'], maxTargets: 2 })).toEqual([]);
    expect(reasons({ target: ['cluster-a', 'cluster-b'], maxTargets: 2, healthy: ['cluster-a', 'cluster-b'] })).toEqual([
      '0 healthy clusters would remain besides cluster-a, cluster-b (none); at least 1 required',
    ]);
  });

  test('inconsistent input fails, non-retryable', () => {
    expect(() => decideDrillGuard({ ...base, target: 'cluster-x' }, { now: outside })).toThrow(
      'drill.guard: invalid input: target cluster-x is not one of clusters (cluster-a, cluster-b, cluster-c)',
    );
    try {
      decideDrillGuard({ ...base, healthy: ['cluster-z'] }, { now: outside });
    } catch (e: any) {
      expect(e).toMatchObject({ nonRetryable: true, type: 'InvalidInput', message: expect.stringContaining('healthy cluster cluster-z is not one of clusters') });
    }
    expect.assertions(2);
  });
});

describe('drill.guard in a runbook on the dev server', () => {
  let env: TestEnv;
  let worker: Worker;
  let running: Promise<void>;
  const queue = uniqueQueue('guard');
  const saved = process.env.RUNWRIGHT_FREEZE_FILE;
  const savedKinds = process.env.RUNWRIGHT_DRILL_SAFE_KINDS;
  const freezeYaml = join(tmpdir(), `rw-guard-${process.pid}-${Date.now()}.yaml`);

  beforeAll(async () => {
    env = await connectTestEnv();
    worker = await startTestWorker(env, queue);
    running = worker.run();
    process.env.RUNWRIGHT_FREEZE_FILE = freezeYaml; // read by the worker (this process) at each check
    delete process.env.RUNWRIGHT_DRILL_SAFE_KINDS; // the default list: openstack-sim
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.RUNWRIGHT_FREEZE_FILE;
    else process.env.RUNWRIGHT_FREEZE_FILE = saved;
    if (savedKinds === undefined) delete process.env.RUNWRIGHT_DRILL_SAFE_KINDS;
    else process.env.RUNWRIGHT_DRILL_SAFE_KINDS = savedKinds;
    rmSync(freezeYaml, { force: true });
    worker?.shutdown();
    await running;
    await env?.close();
  });

  const rb = runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: guarded-drill, labels: { runwright.dev/kind: drill } }
spec:
  params:
    target: { type: string }
    healthy: { type: array, items: { type: string } }
    safe: { type: boolean, default: false }
    kind: { type: string, default: openstack-sim }
  steps:
    - id: guard
      action: drill.guard
      with:
        target: "{{ params.target }}"
        clusters: [cluster-a, cluster-b, cluster-c]
        healthy: "{{ params.healthy }}"
        faultKind: "{{ params.kind }}"
        allowedKinds: [openstack-sim, pod-kill]
        safe: "{{ params.safe }}"
    - id: gate
      when: "{{ steps.guard.outputs.allowed && !steps.guard.outputs.autoApprove }}"
      approval: { message: "inject {{ params.kind }} into {{ params.target }}?", timeout: 1s, onTimeout: approve }
    - id: inject
      when: "{{ steps.guard.outputs.allowed }}"
      action: core.log
      with: { message: "fault injected into {{ params.target }}" }
`);
  const freezeNow = () => {
    const day = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(freezeYaml, `freezes:\n  - name: now\n    start: ${day(-1)}\n    end: ${day(1)}\n    reason: test freeze\n`);
  };

  test('allowed: the fault runs; refused by a freeze (safe or not) or the blast radius: it is skipped; bad input fails', async () => {
    const all = ['cluster-a', 'cluster-b', 'cluster-c'];
    writeFileSync(freezeYaml, 'freezes: []\n');
    const ok = await (await startRun(env, queue, inputFor(rb, { target: 'cluster-b', healthy: all, safe: true }))).result();
    expect(ok.outputs.guard).toMatchObject({ allowed: true, autoApprove: true, reasons: [], notes: [], freeze: null });
    expect(ok.outputs.gate).toBeNull(); // auto-approved: openstack-sim is a safe kind by default
    expect(ok.outputs.inject).toMatchObject({ message: 'fault injected into cluster-b' });

    // Marked safe, but pod-kill is not one of the worker's safe kinds: the approval gate runs (it times out to approve here).
    const podKill = await (await startRun(env, queue, inputFor(rb, { target: 'cluster-b', healthy: all, safe: true, kind: 'pod-kill' }))).result();
    expect(podKill.outputs.guard).toMatchObject({ allowed: true, autoApprove: false, reasons: [], notes: [expect.stringMatching(/^marked safe, but fault kind pod-kill is not one of the worker's safe kinds/)] });
    expect(podKill.outputs.gate).not.toBeNull();
    expect(podKill.outputs.inject).toMatchObject({ message: 'fault injected into cluster-b' });
    // The worker's RUNWRIGHT_DRILL_SAFE_KINDS (read at each check) makes it auto-approved.
    process.env.RUNWRIGHT_DRILL_SAFE_KINDS = 'openstack-sim,pod-kill';
    try {
      const listed = await (await startRun(env, queue, inputFor(rb, { target: 'cluster-b', healthy: all, safe: true, kind: 'pod-kill' }))).result();
      expect(listed.outputs.guard).toMatchObject({ allowed: true, autoApprove: true, notes: [] });
      expect(listed.outputs.gate).toBeNull();
    } finally {
      if (savedKinds === undefined) delete process.env.RUNWRIGHT_DRILL_SAFE_KINDS;
      else process.env.RUNWRIGHT_DRILL_SAFE_KINDS = savedKinds;
    }

    freezeNow();
    for (const safe of [false, true]) {
      const frozen = await (await startRun(env, queue, inputFor(rb, { target: 'cluster-b', healthy: all, safe }))).result();
      expect(frozen.outputs.guard).toMatchObject({ allowed: false, autoApprove: false, freeze: { name: 'now', reason: 'test freeze' } });
      expect((frozen.outputs.guard as DrillGuardResult).reasons).toEqual([expect.stringMatching(/^change freeze 'now' \(\d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d\) is active: test freeze$/)]);
      expect(frozen.outputs.inject).toBeNull(); // skipped: no fault
      expect(frozen.outputs.gate).toBeNull();
    }

    writeFileSync(freezeYaml, 'freezes: []\n');
    const lonely = await (await startRun(env, queue, inputFor(rb, { target: 'cluster-b', healthy: ['cluster-b'], safe: true }))).result();
    expect(lonely.outputs.guard).toMatchObject({ allowed: false, reasons: ['target cluster-b is the only healthy cluster'] });
    expect(lonely.outputs.inject).toBeNull();

    writeFileSync(freezeYaml, 'freezes:\n  - name: broken\n');
    const broken = await (await startRun(env, queue, inputFor(rb, { target: 'cluster-b', healthy: ['cluster-a', 'cluster-b'], safe: true }))).result();
    expect((broken.outputs.guard as DrillGuardResult).reasons).toEqual([expect.stringMatching(/^cannot check the change freeze calendar: .*rw-guard-.*\.yaml:2:5: error: freezes\.0: missing "start"$/)]);

    const bad = await startRun(env, queue, inputFor(rb, { target: 'cluster-x', healthy: [] }));
    await expect(bad.result()).rejects.toThrow();
    const { events } = await bad.fetchHistory();
    const failed = events!.filter((e) => e.activityTaskFailedEventAttributes);
    expect(failed).toHaveLength(1); // not retried
    expect(failed[0].activityTaskFailedEventAttributes!.failure!.message).toContain('target cluster-x is not one of clusters');
  }, 60_000);
});
