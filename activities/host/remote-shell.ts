/**
 * One long-lived shell per host connection (and per `become` user): commands are sent to it as
 * framed scripts instead of opening an SSH channel each. A channel costs a round trip or two and,
 * on the host, sshd's session set-up and a login shell; on a play of a dozen commands per host over
 * hundreds of hosts that is much of the time spent. The shell is plain POSIX sh with coreutils (no
 * Python on the host), and each command still runs in its own `sh`, in its own session, so `exit`,
 * `cd` or `set -e` in one command never touch the next, and cancellation kills its process group.
 * It forks as little as it can: per command the command's own shell, and `cat` for output there is.
 *
 * Wire format, driver stdin:  "<m> <stdin bytes> <1 if small text>\n", the script's lines, "<m>\n", the stdin.
 *              driver stdout: "RWREADY <pid>\n" once; per command "<m> <pid>\n" when it started,
 *                             then its stdout, "<m> <exit code>\n", its stderr, "<m>\n".
 * <m> is 128 random bits per command, so neither a script nor its output can end a frame early.
 * Output goes to files in a private directory (mktemp -d: 0700) before it is sent: a background
 * process that keeps the command's stdout open cannot write into the next command's frame.
 */
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';

// No umask here: commands inherit the login's.
export const DRIVER = `d=$(mktemp -d "\${TMPDIR:-/tmp}/.runwright-sh.XXXXXXXX") || exit 97
trap 'rm -rf "$d"' EXIT
trap 'exit 129' HUP
trap 'exit 141' PIPE
trap 'exit 143' TERM
command -v head >/dev/null 2>&1 || exit 98
if [ -n "\${BASH_VERSION:-}" ]; then
  # bash gives each background job its own process group (set -m) without another exec.
  # and can send a text file with builtins (read stops at a NUL byte: then cat sends it).
  set -m
  start() { /bin/sh "$d/s" < "$d/i" > "$d/o" 2> "$d/e" & }
  emit() { if LC_ALL=C IFS= read -r -d '' x < "$1"; then cat "$1"; else LC_ALL=C printf '%s' "$x"; fi; }
  # Small stdin without NUL bytes (the sender says so) is read with builtins too.
  take() { if [ "$2" = 1 ]; then LC_ALL=C IFS= read -r -N "$1" x; LC_ALL=C printf '%s' "$x" > "$d/i"; else head -c "$1" > "$d/i"; fi; }
else
  command -v setsid >/dev/null 2>&1 || exit 98
  start() { setsid /bin/sh "$d/s" < "$d/i" > "$d/o" 2> "$d/e" & }
  emit() { cat "$1"; }
  take() { head -c "$1" > "$d/i"; }
fi
echo "RWREADY $$"
while IFS=' ' read -r m n t; do
  while IFS= read -r l; do [ "$l" = "$m" ] && break; printf '%s\\n' "$l"; done > "$d/s"
  if [ "$n" -gt 0 ]; then take "$n" "$t"; else : > "$d/i"; fi
  start
  echo "$m $!"
  wait "$!"; rc=$?
  [ -s "$d/o" ] && emit "$d/o"
  echo "$m $rc"
  [ -s "$d/e" ] && emit "$d/e"
  echo "$m"
done
`;

/** Reads a channel's stdout as lines and as bytes up to a delimiter, in order; one growing buffer, so large outputs cost one copy. */
class FrameReader {
  private data = Buffer.alloc(64 << 10);
  private start = 0;
  private end = 0;
  /** How far `until` has searched (the delimiter cannot start before this). */
  private scanned = 0;
  private want: { delim: Buffer; limit: number; resolve(b: Buffer): void; reject(e: unknown): void } | undefined;
  private error: unknown;

  push(chunk: Buffer): void {
    if (this.end + chunk.length > this.data.length) {
      const live = this.end - this.start;
      const next = live + chunk.length > this.data.length / 2 ? Buffer.alloc(Math.max(this.data.length * 2, live + chunk.length)) : this.data;
      this.data.copy(next, 0, this.start, this.end);
      this.data = next;
      this.scanned -= this.start;
      this.end = live;
      this.start = 0;
    }
    chunk.copy(this.data, this.end);
    this.end += chunk.length;
    this.pump();
  }

  fail(e: unknown): void {
    this.error ??= e;
    const w = this.want;
    this.want = undefined;
    w?.reject(e);
  }

  line(): Promise<string> {
    return this.until(NL, 4096).then((b) => b.toString('latin1'));
  }

  /** The bytes before `delim` (which is consumed too); rejects with `outputLimit` past `limit` bytes. */
  until(delim: Buffer, limit: number): Promise<Buffer> {
    if (this.error !== undefined) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.want = { delim, limit, resolve, reject };
      this.scanned = this.start;
      this.pump();
    });
  }

  private pump(): void {
    const w = this.want;
    if (!w) return;
    const at = this.data.subarray(0, this.end).indexOf(w.delim, this.scanned);
    if (at < 0) {
      this.scanned = Math.max(this.start, this.end - w.delim.length + 1);
      if (this.end - this.start > w.limit + w.delim.length) {
        this.want = undefined;
        w.reject(Object.assign(new Error(`output exceeded ${w.limit} bytes`), { outputLimit: true }));
      }
      return;
    }
    this.want = undefined;
    const out = Buffer.from(this.data.subarray(this.start, at));
    this.start = at + w.delim.length;
    if (this.start === this.end) this.start = this.end = 0;
    if (out.length > w.limit) return w.reject(Object.assign(new Error(`output exceeded ${w.limit} bytes`), { outputLimit: true }));
    w.resolve(out);
  }
}

const NL = Buffer.from('\n');

export interface ShellResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class RemoteShell {
  busy = false;
  /** Set once the shell can no longer be used (closed, failed, out of step): callers fall back to a channel per command. */
  dead = false;
  private readonly reader = new FrameReader();

  private constructor(
    readonly ch: ClientChannel,
    readonly pid: number,
    reader: FrameReader,
  ) {
    this.reader = reader;
  }

  /**
   * Start the shell on a channel opened with `command` (the caller adds sudo); `password`, when
   * sudo needs one, is its first line of stdin, and nothing else is sent before the shell is up.
   * Resolves undefined when the host cannot run it (no setsid, no writable temp directory…).
   */
  static start(open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void, password: string | undefined, timeoutMs: number): Promise<RemoteShell | undefined> {
    return new Promise((resolve) => {
      open((err, ch) => {
        if (err || !ch) return resolve(undefined);
        const reader = new FrameReader();
        let shell: RemoteShell | undefined;
        const timer = setTimeout(() => {
          reader.fail(new Error('remote shell did not start'));
          ch.close();
        }, timeoutMs);
        ch.on('data', (c: Buffer) => reader.push(c));
        ch.stderr.on('data', () => undefined);
        ch.on('close', () => {
          clearTimeout(timer);
          if (shell) shell.dead = true;
          reader.fail(new Error('remote shell ended'));
        });
        ch.on('error', (e: Error) => reader.fail(e));
        if (password !== undefined) ch.write(`${password}\n`);
        reader.line().then(
          (l) => {
            clearTimeout(timer);
            const m = /^RWREADY (\d+)$/.exec(l);
            if (!m) {
              ch.close();
              return resolve(undefined);
            }
            shell = new RemoteShell(ch, Number(m[1]), reader);
            resolve(shell);
          },
          () => resolve(undefined),
        );
      });
    });
  }

  /**
   * Run one script; `onPid` gets the command's process (and session) id as soon as it started,
   * for cancellation. Rejects if the shell ends or falls out of step (and marks it dead): callers
   * do not know whether the command ran.
   */
  async run(script: string, stdin: Buffer | undefined, onPid: (pid: number) => void, maxOutput: number): Promise<ShellResult> {
    if (this.dead || this.busy) throw new Error('remote shell is not available');
    this.busy = true;
    try {
      let m: string;
      do m = randomBytes(16).toString('hex');
      while (script.includes(m));
      const body = script.endsWith('\n') ? script : `${script}\n`;
      // Small stdin without NUL bytes can be read by the shell's builtins (no `head` process).
      const text = stdin && stdin.length <= 4096 && !stdin.includes(0) ? 1 : 0;
      this.ch.write(`${m} ${stdin?.length ?? 0} ${text}\n${body}${m}\n`);
      if (stdin?.length) this.ch.write(stdin);
      const started = new RegExp(`^${m} (\\d+)$`).exec(await this.reader.line());
      if (!started) throw this.broken('unexpected reply');
      onPid(Number(started[1]));
      const stdout = await this.reader.until(Buffer.from(`${m} `), maxOutput).catch((e: { outputLimit?: boolean }) => {
        // Too much output: the shell cannot be read back into step cheaply; drop it (the command has ended or will).
        if (e.outputLimit) this.close();
        throw e;
      });
      const code = /^(\d+)$/.exec(await this.reader.line());
      if (!code) throw this.broken('unexpected reply');
      const stderr = await this.reader.until(Buffer.from(`${m}\n`), 64 << 20);
      return { code: Number(code[1]), stdout, stderr };
    } catch (e) {
      this.dead = true;
      throw e;
    } finally {
      this.busy = false;
    }
  }

  private broken(why: string): Error {
    this.close();
    return new Error(`remote shell out of step: ${why}`);
  }

  close(): void {
    this.dead = true;
    try {
      this.ch.close();
    } catch {
      /* already closed */
    }
  }
}
