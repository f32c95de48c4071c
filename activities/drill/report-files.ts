/**
 * Where drill reports live on disk: <reportsDir>/<safe workflow id>/{report.json, report.md,
 * timeline.png}. Shared by the `drill.report` action (writes) and `runwright drill report` (reads).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENV } from '../../lib/config';

export function defaultReportsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env[ENV.reportsDir] || join('.runwright', 'reports'));
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
