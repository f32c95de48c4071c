/**
 * ansible-playbook as a process group the step owns, crash-safe:
 *
 * - It runs in its own session and process group (detached), stdout and stderr into files in
 *   the attempt's private folder: it does not depend on the worker staying alive, and the
 *   worker reads its events by following the file.
 * - Cancellation, worker shutdown and the step's own timeout kill the whole group (SIGTERM, then
 *   SIGKILL after a grace time), so no ansible fork or ssh is left behind.
 * - A lock file per step (keyed by the step's idempotency key, in the state folder) names the
 *   group, with the leader's start time so a reused pid is never mistaken for it. When a worker
 *   dies (SIGKILL, OOM) its ansible-playbook keeps running; the retry reads the lock, kills that
 *   group and waits until it is gone before starting its own, so two ansible-playbooks of one
 *   step never run against the same hosts at once. Each run also carries a marker in its
 *   environment, which finds a group the lock did not get to name (a crash right after spawn).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, sep } from 'node:path';

export const RUN_MARKER_ENV = 'RUNWRIGHT_ANSIBLE_RUN';
const KILL_GRACE_MS = 5000;
const GONE_WAIT_MS = 15000;
/** An event line longer than this is not parsed (its head is still read). */
const MAX_LINE = 8 * 1024 * 1024;

export interface LockRecord {
  /** Which attempt wrote it, and its private folder. */
  token: string;
  attempt: number;
  key: string;
  runDir: string;
  /** The group leader (= the process group id); absent while the attempt is starting it. */
  pid?: number;
  /** The leader's start time (/proc/<pid>/stat field 22), so a reused pid is not taken for it. */
  startTime?: string;
  started: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function lockFile(state: string, key: string): string {
  return join(state, 'locks', `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
}

/** The start time of a process, or undefined when there is no such process (Linux /proc). */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): field 3 is the state.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z') return undefined; // a zombie is gone for our purposes
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Is any process of the group alive? */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e: any) {
    return e?.code === 'EPERM';
  }
}

/** Groups (leader pids) of processes whose environment carries the run marker. */
function groupsWithMarker(token: string): number[] {
  const found = new Set<number>();
  const needle = Buffer.from(`${RUN_MARKER_ENV}=${token}\0`);
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  for (const d of entries) {
    try {
      if (!readFileSync(`/proc/${d}/environ`).includes(needle)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgid > 1) found.add(pgid);
    } catch {
      /* gone, or not ours */
    }
  }
  return [...found];
}

/** SIGTERM the group, SIGKILL it after the grace time, and wait until no process of it is left. */
export async function killGroup(pgid: number, graceMs = KILL_GRACE_MS): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pgid, s);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const killAt = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < killAt) await sleep(100);
  if (!groupAlive(pgid)) return;
  signal('SIGKILL');
  const until = Date.now() + GONE_WAIT_MS;
  while (groupAlive(pgid)) {
    if (Date.now() > until) throw new Error(`process group ${pgid} survived SIGKILL for ${GONE_WAIT_MS / 1000}s`);
    await sleep(100);
  }
}

function readLock(path: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockRecord;
  } catch {
    return undefined;
  }
}

function writeLock(path: string, rec: LockRecord): void {
  const tmp = `${path}.${rec.token}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  renameSync(tmp, path);
}

/** A previous attempt's process group that was found (and killed) before this attempt started. */
export interface TakeOver {
  pid: number;
  attempt: number;
  started: string;
  killed: boolean;
}

/** Remove a run folder, but only one inside the state folder's runs/. */
function removeRunDir(state: string, dir: string | undefined): void {
  if (dir && dir.startsWith(join(state, 'runs') + sep)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Before starting: kill whatever a previous attempt of this step left running, and clean up
 * after it. Returns what was found (undefined: nothing was running).
 */
export async function takeOver(state: string, key: string, log: (m: string) => void): Promise<TakeOver[]> {
  const path = lockFile(state, key);
  const prev = readLock(path);
  if (!prev) return [];
  const found: TakeOver[] = [];
  const groups = new Set<number>();
  if (prev.pid) {
    const start = procStartTime(prev.pid);
    // The leader alive and the same process, or the leader gone and members of its group left.
    if (start !== undefined ? start === prev.startTime : groupAlive(prev.pid)) groups.add(prev.pid);
  }
  for (const g of groupsWithMarker(prev.token)) groups.add(g);
  for (const g of groups) {
    log(`attempt ${prev.attempt}'s ansible-playbook (process group ${g}, started ${prev.started}) is still running: killing it before starting again`);
    await killGroup(g);
    found.push({ pid: g, attempt: prev.attempt, started: prev.started, killed: true });
  }
  removeRunDir(state, prev.runDir);
  rmSync(path, { force: true });
  return found;
}

/**
 * Clean up after crashes that no retry came for: run folders no lock names (older than ten
 * minutes), and locks a day old whose process is gone (with their run folders). A lock whose
 * group still runs is left alone: its step's retry (or an operator) decides.
 */
export function sweep(state: string): void {
  const named = new Set<string>();
  const locks = join(state, 'locks');
  for (const n of safeList(locks)) {
    const path = join(locks, n);
    const rec = readLock(path);
    try {
      if (!rec) {
        if (Date.now() - statSync(path).mtimeMs > 600_000) rmSync(path, { force: true });
        continue;
      }
      const alive = !!rec.pid && (procStartTime(rec.pid) === rec.startTime || (procStartTime(rec.pid) === undefined && groupAlive(rec.pid)));
      if (!alive && Date.now() - statSync(path).mtimeMs > 86_400_000) {
        removeRunDir(state, rec.runDir);
        rmSync(path, { force: true });
        continue;
      }
    } catch {
      continue;
    }
    named.add(rec.runDir);
  }
  const runs = join(state, 'runs');
  for (const n of safeList(runs)) {
    const dir = join(runs, n);
    try {
      if (named.has(dir) || Date.now() - statSync(dir).mtimeMs < 600_000) continue;
    } catch {
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** This attempt's hold on the step: written before anything runs, released at its end. */
export interface StepLock {
  path: string;
  rec: LockRecord;
}

/** Take the step's lock for this attempt (call takeOver first); runGroup records each process in it. */
export function acquireLock(state: string, key: string, attempt: number, runDir: string): StepLock {
  const rec: LockRecord = { token: runDir.split(sep).pop()!, attempt, key, runDir, started: new Date().toISOString() };
  const lock = { path: lockFile(state, key), rec };
  writeLock(lock.path, rec);
  return lock;
}

function recordInLock(lock: StepLock, pid: number | undefined, startTime: string | undefined): void {
  // Only while it is still ours: a later attempt (this worker was cut off) may have taken over.
  if (readLock(lock.path)?.token !== lock.rec.token) return;
  lock.rec = { ...lock.rec, pid, startTime };
  writeLock(lock.path, lock.rec);
}

/** Release the lock if it is still ours. */
export function releaseLock(lock: StepLock): void {
  if (readLock(lock.path)?.token === lock.rec.token) rmSync(lock.path, { force: true });
}

/** Follows a file that another process appends lines to. */
export class LineFollower {
  private offset = 0;
  private partial: Buffer[] = [];
  private partialLen = 0;
  private skipping = false;
  private head = '';

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly onOversized: (head: string) => void,
  ) {}

  /** Read what was appended since the last call; `final` also takes a last line with no newline. */
  async poll(final = false): Promise<void> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (!bytesRead) break;
        this.offset += bytesRead;
        this.feed(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
    if (final && (this.partialLen || this.skipping)) this.flush();
  }

  private feed(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      if (!this.skipping) {
        if (this.partialLen + piece.length > MAX_LINE) {
          this.head = Buffer.concat([...this.partial, piece]).subarray(0, 64 * 1024).toString('utf8');
          this.partial = [];
          this.partialLen = 0;
          this.skipping = true;
        } else {
          this.partial.push(Buffer.from(piece));
          this.partialLen += piece.length;
        }
      }
      if (nl === -1) return;
      this.flush();
      start = nl + 1;
    }
  }

  private flush(): void {
    if (this.skipping) this.onOversized(this.head);
    else this.onLine(Buffer.concat(this.partial).toString('utf8'));
    this.partial = [];
    this.partialLen = 0;
    this.skipping = false;
    this.head = '';
  }
}

export interface GroupRun {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why we killed it, if we did. */
  killedFor?: 'abort' | 'timeout';
}

export interface RunGroupOptions {
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The step's lock (acquireLock): names the running group, for a retry after a crash. */
  lock: StepLock;
  runDir: string;
  signal: AbortSignal;
  timeoutMs?: number;
  /** Called with each stdout line as it is written, and for lines too long to read whole. */
  onLine(line: string): void;
  onOversized(head: string): void;
  /** Called every poll (heartbeat). */
  onTick?(): void;
  log(m: string): void;
  pollMs?: number;
}

export class SpawnError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * Run the command as its own process group, stdout/stderr to <runDir>/<name>.stdout and
 * .stderr, lines of stdout handed over as they come. The step's lock names the group while it
 * runs. Kills the group on abort or timeout, and waits until it is gone.
 */
export async function runGroup(o: RunGroupOptions, name: string): Promise<GroupRun> {
  const token = o.lock.rec.token;
  const outPath = join(o.runDir, `${name}.stdout`);
  const errPath = join(o.runDir, `${name}.stderr`);
  const out = openSync(outPath, 'wx', 0o600);
  const err = openSync(errPath, 'wx', 0o600);
  const child = spawn(o.cmd, o.args, { cwd: o.cwd, env: { ...o.env, [RUN_MARKER_ENV]: token }, detached: true, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => reject(new SpawnError(e.message, e.code)));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve) => {
    child.once('spawn', resolve);
    exited.catch(() => resolve());
  });
  if (!child.pid) await exited; // throws the spawn error
  const pid = child.pid!;
  recordInLock(o.lock, pid, procStartTime(pid));

  const follower = new LineFollower(outPath, o.onLine, o.onOversized);
  let killedFor: GroupRun['killedFor'];
  let killing: Promise<void> | undefined;
  const kill = (why: 'abort' | 'timeout') => {
    if (killing) return;
    killedFor = why;
    o.log(`${why === 'timeout' ? 'timed out' : 'cancelled'}: killing ansible-playbook (process group ${pid})`);
    killing = killGroup(pid);
  };
  const onAbort = () => kill('abort');
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) kill('abort');
  const timer = o.timeoutMs ? setTimeout(() => kill('timeout'), o.timeoutMs) : undefined;
  let done = false;
  const result = exited.then((r) => ((done = true), r));
  try {
    while (!done) {
      await Promise.race([result, sleep(o.pollMs ?? 250)]);
      await follower.poll();
      o.onTick?.();
    }
    const r = await result;
    // The leader is gone; its forks (and their ssh) must be too before anything else starts.
    if (groupAlive(pid)) await killGroup(pid, 2000);
    if (killing) await killing;
    await follower.poll(true);
    return { ...r, killedFor };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
    if (killing) await killing.catch(() => undefined);
  }
}

/** A new private folder for one attempt (0700, under the state folder's runs/). */
export function newRunDir(state: string, attempt: number): string {
  const dir = join(state, 'runs', `${Date.now().toString(36)}-${attempt}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 }); // not recursive: an existing path (never expected) fails
  return dir;
}

/** The last bytes of a file, as text (stderr for error messages). */
export function tail(path: string, max = 4000): string {
  try {
    const b = readFileSync(path);
    return b.subarray(Math.max(0, b.length - max)).toString('utf8');
  } catch {
    return '';
  }
}
