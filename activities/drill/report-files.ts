/**
 * Where drill reports live on disk: <reportsDir>/<safe workflow id>/{report.json, report.md,
 * timeline.png}. Shared by the `drill.report` action (writes) and `runwright drill report` (reads).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ENV } from '../../lib/config';

export function defaultReportsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env[ENV.reportsDir] || join('.runwright', 'reports'));
}

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

/** The real path of `p`'s deepest existing ancestor, with the rest appended (symlinks resolved). */
function realish(p: string): string {
  let head = p;
  const rest: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    rest.unshift(basename(head));
    head = dirname(head);
  }
  return join(realpathSync(head), ...rest);
}

/**
 * Where a run may ask the worker to write: `requested` (a run param, so chosen by whoever starts
 * the drill) must stay inside the worker's reports root. A relative path is a subfolder of the
 * root; an absolute one must already be inside it; ".." and symlinks may not lead out. Returns
 * the absolute folder, or an error message.
 */
export function confineReportsDir(root: string, requested: string | undefined): { dir: string } | { error: string } {
  const base = resolve(root);
  if (!requested) return { dir: base };
  const dir = resolve(base, requested);
  const refuse = { error: `reportsDir "${requested}" is outside the worker's reports folder ${base} (${ENV.reportsDir}); give a subfolder name` };
  if (!inside(base, dir)) return refuse;
  // A symlink inside the root must not lead out of it either.
  if (!inside(realish(base), realish(dir))) return refuse;
  return { dir };
}

/**
 * A workflow id as one folder name: unsafe characters become "_", and then a short hash of the
 * id keeps "a/b" and "a_b" apart.
 */
export function safeId(id: string): string {
  const s = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 120);
  return s === id ? s : `${s}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}

export function reportPaths(reportsDir: string, id: string): { dir: string; json: string; markdown: string; png: string } {
  const dir = join(resolve(reportsDir), safeId(id));
  return { dir, json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), png: join(dir, 'timeline.png') };
}

/** Replace a file as a whole (write then rename), so a retry or a reader never sees half a file. */
export function writeWhole(path: string, data: string | Buffer): void {
  mkdirSync(resolve(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
