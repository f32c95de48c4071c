/**
 * Host modules: Ansible-style units of desired state, one file each under modules/. A module
 * declares its args (zod), inspects the host, and changes it only when needed (never in check
 * mode), returning `changed` and, in diff mode, a diff.
 */
import { z } from 'zod';
import { createTwoFilesPatch } from 'diff';
import type { ExecResult } from './ssh';
import { shq } from './ssh';
import { withContext, type CheckablePlugin } from '../plugin';

export interface Facts {
  hostname: string;
  os: { id: string; version: string; name: string; family: string };
  kernel: string;
  arch: string;
  /** apt, dnf, yum, or null */
  pkgMgr: string | null;
  /** systemd or none */
  serviceMgr: string;
  python: string | null;
  user: string;
  addresses: { dev: string; address: string }[];
  defaultRoute: string | null;
  routeCount: number;
  routes: string[];
}

export interface ExecOpts {
  stdin?: string | Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Run without sudo even if the task uses become (e.g. reading a world-readable file). */
  noBecome?: boolean;
}

export interface ModuleContext {
  /** Inventory name of the host. */
  host: string;
  check: boolean;
  diff: boolean;
  /** Run a shell script on the host (through sudo when the task uses become). Values must be quoted with shq. */
  exec(script: string, opts?: ExecOpts): Promise<ExecResult>;
  facts(): Promise<Facts>;
  /** Read a file on the worker (copy/template `src`), relative to the play's folder. */
  readLocal(path: string): Promise<Buffer>;
  /** Render a template in the play's language (Jinja2 for play files, CEL for inline plays) with the host's variables, facts and registered results. */
  render(template: string): string;
  /** Render Jinja2 whatever the play's language (`.j2` files are Jinja2 by name). */
  renderJinja?(template: string): string;
  /** Evaluate a bare expression in the play's language (assert's `that`, debug's `var`). */
  evaluate(expr: string): unknown;
  signal: AbortSignal;
}

export interface ModuleResult {
  changed: boolean;
  /** Unified diff (files) or +/- lines (routes, packages), when diff mode is on. */
  diff?: string;
  msg?: string;
  rc?: number;
  stdout?: string;
  stderr?: string;
  /** The module chose not to act (command in check mode, `creates` exists). */
  skipped?: boolean;
  /** Anything else a later task may use through `register`. */
  [key: string]: unknown;
}

/** What a module file writes (defineModule fills in the Plugin fields from it). */
export interface HostModuleSpec<S extends z.ZodTypeAny = z.ZodTypeAny> {
  name: string;
  description: string;
  args: S;
  /** Arg keys that are shell scripts: placeholders become env-var references, values travel in `env` (shell: cmd). */
  shellTextArgs?: string[];
  /** Arg keys that are command lines: split into `argv` words first, then values go inside their words (command: cmd). */
  argvTextArgs?: string[];
  /** Arg keys left unrendered by the play (the module renders them itself: template content). */
  rawArgs?: string[];
  /** Accept Ansible's free-form string (`command: ls -l`) as this arg. */
  freeForm?: string;
  /** Changes the host only when `ctx.check` is off; in check mode it reports what it would change. */
  run(args: z.output<S>, ctx: ModuleContext): Promise<ModuleResult>;
}

/**
 * A host module is a Plugin (activities/plugin.ts): `input` is `args`, and its dry run is `run`
 * in check mode with diff on.
 */
export interface HostModule<S extends z.ZodTypeAny = z.ZodTypeAny> extends HostModuleSpec<S>, CheckablePlugin<S, ModuleContext, ModuleResult> {}

export function defineModule<S extends z.ZodTypeAny>(m: HostModuleSpec<S>): HostModule<S> {
  return {
    ...m,
    input: m.args,
    async dryRun(args, ctx) {
      const r = await m.run(args, withContext(ctx, { check: true, diff: true }));
      return { changed: !!r.changed, effect: r.changed ? 'change' : 'none', summary: typeof r.msg === 'string' && r.msg ? r.msg : `${m.name}: ${r.changed ? 'would change' : 'no change'}`, ...(typeof r.diff === 'string' && r.diff ? { diff: r.diff } : {}) };
    },
  };
}

/** A module's own failure: the task fails with this message (no retry of the activity). */
export class ModuleError extends Error {
  name = 'ModuleError';
  constructor(
    message: string,
    readonly extra: Partial<ModuleResult> = {},
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------------ shared helpers

export const Mode = z
  .union([z.string(), z.number().int()])
  .transform((v, c) => {
    // YAML 0644 is the number 420 in YAML 1.2 core? (`yaml` reads 0644 as 644); accept strings and numbers.
    const s = typeof v === 'number' ? String(v) : v.trim();
    if (!/^0?[0-7]{3,4}$/.test(s)) {
      c.addIssue({ code: 'custom', message: `mode must be octal like "0644", got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return parseInt(s, 8).toString(8);
  })
  .describe('Octal mode, e.g. "0644"');

export const Owner = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/, 'expected a user or group name');
export const AbsPath = z
  .string()
  .regex(/^\//, 'must be an absolute path')
  .refine((p) => !p.includes('\0') && !p.includes('\n'), 'must not contain NUL or newlines');

/** Parse `key=value` lines printed by a remote script. */
export function kv(stdout: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

export function failed(r: ExecResult, what: string): ModuleError {
  const msg = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
  return new ModuleError(`${what} failed (rc=${r.code ?? r.signal ?? 'none'})${msg ? `: ${msg}` : ''}`, { rc: r.code ?? undefined, stderr: r.stderr.slice(-2000) });
}

const MAX_DIFF_SOURCE = 256 * 1024;

export function isText(b: Buffer | string): boolean {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  return buf.length <= MAX_DIFF_SOURCE && !buf.includes(0);
}

export function textDiff(path: string, before: string | null, after: string | null): string {
  return createTwoFilesPatch(before === null ? '/dev/null' : `${path} (before)`, after === null ? '/dev/null' : `${path} (after)`, before ?? '', after ?? '', undefined, undefined, { context: 3 });
}

export interface RemoteFile {
  exists: boolean;
  isFile: boolean;
  content: Buffer | null;
  mode?: string;
  owner?: string;
  group?: string;
}

/** Read a file (up to `max` bytes) with its attributes, in one round trip. */
export async function readRemoteFile(ctx: ModuleContext, path: string, max = 8 << 20): Promise<RemoteFile> {
  const script = `p=${shq(path)}
if [ -L "$p" ] && [ ! -e "$p" ]; then echo dangling; exit 0; fi
if [ ! -e "$p" ]; then echo absent; exit 0; fi
if [ ! -f "$p" ]; then echo notfile; exit 0; fi
set -- $(stat -L -c '%a %U %G %s' -- "$p")
echo "file $1 $2 $3 $4"
if [ "$4" -le ${max} ]; then base64 -w0 -- "$p"; else head -c ${max + 1} -- "$p" | base64 -w0; fi`;
  const r = await ctx.exec(script);
  if (r.code !== 0) throw failed(r, `reading ${path}`);
  const nl = r.stdout.indexOf('\n');
  const first = nl < 0 ? r.stdout.trim() : r.stdout.slice(0, nl);
  if (first === 'absent' || first === 'dangling') return { exists: false, isFile: false, content: null };
  if (first === 'notfile') return { exists: true, isFile: false, content: null };
  const [, mode, owner, group] = first.split(' ');
  const content = Buffer.from(r.stdout.slice(nl + 1).trim(), 'base64');
  if (content.length > max) throw new ModuleError(`${path} is larger than ${max} bytes`);
  return { exists: true, isFile: true, content, mode, owner, group };
}

export interface EnsureFileArgs {
  path: string;
  content: Buffer;
  mode?: string;
  owner?: string;
  group?: string;
  /** Fail if the file's sha256 is no longer this (read-modify-write modules). */
  expectSha?: string | null;
  /** Back up the old file to path.<timestamp>~ before replacing. */
  backup?: boolean;
}

export interface EnsureFileResult {
  changed: boolean;
  contentChanged: boolean;
  existed: boolean;
  attrChanges: string[];
  backupFile?: string;
}

/**
 * Make a file have this content and these attributes, in one round trip: the host compares
 * checksums, writes atomically (temp file + rename in the same folder) only if they differ,
 * and fixes mode/owner/group. In check mode it only reports what it would do.
 */
export async function ensureFile(ctx: ModuleContext, a: EnsureFileArgs): Promise<EnsureFileResult> {
  const { createHash, randomBytes } = await import('node:crypto');
  const want = createHash('sha256').update(a.content).digest('hex');
  const script = `dest=${shq(a.path)}; want=${shq(want)}; mode=${shq(a.mode ?? '')}; owner=${shq(a.owner ?? '')}; group=${shq(a.group ?? '')}; check=${ctxFlag(ctx.check)}; expect=${shq(a.expectSha === undefined ? '-' : a.expectSha ?? 'absent')}; backup=${a.backup ? 1 : 0}; tok=${randomBytes(12).toString('hex')}
# Few processes (this runs for every file of every host): unread stdin is fine (a file or a pipe
# the sender does not wait on); the attributes are read once, before any change.
if [ -e "$dest" ] && [ ! -f "$dest" ]; then echo "err=$dest exists and is not a regular file"; exit 0; fi
if [ -f "$dest" ]; then existed=1; set -- $(sha256sum < "$dest"); before=$1; set -- $(stat -c '%a %U %G' -- "$dest"); else existed=0; before=absent; fi
echo "existed=$existed"
if [ "$expect" != "-" ] && [ "$expect" != "$before" ]; then echo "err=$dest changed while it was being edited; run again"; exit 0; fi
if [ "$before" != "$want" ]; then
  echo content=1
  if [ "$check" != 1 ]; then
    case "$dest" in */*) d=\${dest%/*}; d=\${d:-/} ;; *) d=. ;; esac
    if [ ! -d "$d" ]; then echo "err=folder $d does not exist"; exit 0; fi
    # The temporary name is random (from the worker) and created exclusively (set -C: O_EXCL),
    # as mktemp would, without its process; umask 022 makes a new file 0644 without chmod.
    tmp="$d/.rw-$tok"; umask 022; set -C
    if ! { true > "$tmp"; } 2>/dev/null; then echo "err=cannot create a temporary file in $d"; exit 0; fi
    set +C
    if ! cat > "$tmp"; then rm -f "$tmp"; echo "err=cannot write $tmp"; exit 0; fi
    if [ "$existed" = 1 ]; then chmod --reference="$dest" "$tmp"; chown --reference="$dest" "$tmp" 2>/dev/null
      if [ "$backup" = 1 ]; then b="$dest.$(date +%Y%m%d%H%M%S)~"; cp -p -- "$dest" "$b" && echo "backup=$b"; fi
    fi
    mv -f -- "$tmp" "$dest" || { rm -f "$tmp"; echo "err=cannot replace $dest"; exit 0; }
  fi
fi
# A file this script created is 0644 and ours: stat only when owner or group is asked for.
if [ "$existed" = 0 ]; then if [ -z "$owner$group" ]; then set -- 644; elif [ -e "$dest" ]; then set -- $(stat -c '%a %U %G' -- "$dest"); else set -- 644 $(id -un) $(id -gn); fi; fi
if [ -n "$mode" ] && [ "$1" != "$mode" ]; then echo "mode=$1 -> $mode"; [ "$check" = 1 ] || chmod "$mode" -- "$dest" || echo "err=chmod failed"; fi
if [ -n "$owner" ] && [ "$2" != "$owner" ]; then echo "owner=$2 -> $owner"; [ "$check" = 1 ] || chown -- "$owner" "$dest" || echo "err=chown failed"; fi
if [ -n "$group" ] && [ "$3" != "$group" ]; then echo "group=$3 -> $group"; [ "$check" = 1 ] || chgrp -- "$group" "$dest" || echo "err=chgrp failed"; fi
exit 0`;
  const r = await ctx.exec(script, { stdin: a.content });
  const o = kv(r.stdout);
  if (r.code !== 0) throw failed(r, `writing ${a.path}`);
  if (o.err) throw new ModuleError(`${a.path}: ${o.err}${r.stderr ? ` (${r.stderr.trim().split('\n').pop()})` : ''}`);
  const attrChanges = (['mode', 'owner', 'group'] as const).filter((k) => o[k]).map((k) => `${k}: ${o[k]}`);
  const contentChanged = o.content === '1';
  return { changed: contentChanged || attrChanges.length > 0, contentChanged, existed: o.existed === '1', attrChanges, backupFile: o.backup };
}

export const ctxFlag = (b: boolean): string => (b ? '1' : '0');

/**
 * Write the edited text of a file read earlier with readRemoteFile (lineinfile, blockinfile):
 * refuses if the file changed in between (its checksum is the precondition), returns the
 * module result with the diff when asked.
 */
export async function writeEditedFile(
  ctx: ModuleContext,
  a: Pick<EnsureFileArgs, 'path' | 'mode' | 'owner' | 'group' | 'backup'>,
  cur: RemoteFile,
  after: string | null,
): Promise<{ changed: boolean; diff?: string }> {
  const { createHash } = await import('node:crypto');
  const content = Buffer.from(after ?? '');
  const res = await ensureFile(ctx, {
    path: a.path,
    content,
    mode: a.mode,
    owner: a.owner,
    group: a.group,
    backup: a.backup,
    expectSha: cur.content ? createHash('sha256').update(cur.content).digest('hex') : null,
  });
  return { changed: res.changed, diff: ctx.diff ? fileDiff(a.path, cur, content, res) : undefined };
}

/** Diff text for a file write: content diff (text only) plus attribute changes. */
export function fileDiff(path: string, before: RemoteFile | null, after: Buffer, res: EnsureFileResult): string | undefined {
  const parts: string[] = [];
  if (res.contentChanged) {
    const b = before?.content ?? null;
    if ((b === null || isText(b)) && isText(after)) parts.push(textDiff(path, b === null ? null : b.toString('utf8'), after.toString('utf8')));
    else parts.push(`${path}: binary or large content changed (${b?.length ?? 0} -> ${after.length} bytes)`);
  }
  for (const c of res.attrChanges) parts.push(`${path}: ${c}`);
  return parts.length ? parts.join('\n') : undefined;
}
