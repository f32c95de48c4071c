/**
 * Where ansible.playbook finds its files and keeps its state, on the worker.
 *
 * - Playbooks and inventory files are named relative to the worker's playbook folder
 *   (RUNWRIGHT_PLAYBOOK_DIR, else ./playbooks in the worker's working directory): the operator's
 *   reviewed Ansible project. A runbook cannot name a file outside it: `..` and symlinks are
 *   resolved first, then checked.
 * - The state folder (RUNWRIGHT_ANSIBLE_STATE_DIR, else <RUNWRIGHT_HOME or ./.runwright>/ansible)
 *   holds one lock file per running step (the process group of its ansible-playbook) and the
 *   private folders of running attempts. It must survive a worker crash, not a reboot: a tmpfs
 *   such as /run/runwright is the best place.
 */
import { lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { dataDir } from '../../lib/connect';
import { isWithin } from '../../lib/paths';

export const PLAYBOOK_DIR_ENV = 'RUNWRIGHT_PLAYBOOK_DIR';
export const STATE_DIR_ENV = 'RUNWRIGHT_ANSIBLE_STATE_DIR';
/** The ansible-playbook to run (a path, or a name looked up in PATH); default `ansible-playbook`. */
export const ANSIBLE_PLAYBOOK_ENV = 'RUNWRIGHT_ANSIBLE_PLAYBOOK';

export class PathError extends Error {
  name = 'PathError';
}

/** The playbook folder: where it came from (for messages) and its real path. */
export function playbookRoot(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): { dir: string; from: string } {
  const set = env[PLAYBOOK_DIR_ENV];
  const dir = resolve(cwd, set || 'playbooks');
  const from = set ? `${PLAYBOOK_DIR_ENV}=${set}` : `the default ./playbooks of the worker (${cwd}); set ${PLAYBOOK_DIR_ENV}`;
  let real: string;
  try {
    real = realpathSync(dir);
    if (!statSync(real).isDirectory()) throw new PathError(`the playbook folder ${dir} is not a folder (${from})`);
  } catch (e: any) {
    if (e instanceof PathError) throw e;
    throw new PathError(`the playbook folder ${dir} does not exist (${from})`);
  }
  return { dir: real, from };
}

/**
 * A file named by a runbook, inside the playbook folder: relative to it, or absolute inside it.
 * Refuses `..` escapes (also through symlinks) with a message naming the path; a missing file
 * is named with where it was looked for.
 */
export function fileInRoot(root: { dir: string; from: string }, name: string, what: string): string {
  if (name.includes('\0')) throw new PathError(`${what} ${JSON.stringify(name)}: not a path`);
  const abs = isAbsolute(name) ? resolve(name) : resolve(root.dir, name);
  const inside = (p: string) => isWithin(p, root.dir);
  if (!inside(abs)) throw new PathError(`${what} ${name}: outside the playbook folder ${root.dir} (${root.from}); name it relative to that folder, without ".."`);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new PathError(`${what} ${name} not found: no ${abs} (playbook folder ${root.dir}, ${root.from})`);
  }
  if (!inside(real)) throw new PathError(`${what} ${name}: resolves to ${real}, outside the playbook folder ${root.dir} (a symlink out of it)`);
  return real;
}

/** The path as the runbook would write it: relative to the playbook folder. */
export function shown(root: { dir: string }, p: string): string {
  const r = relative(root.dir, p);
  return r && !r.startsWith('..') ? r : p;
}

/**
 * The state folder, created private (0700) if missing. One that exists must be a real folder
 * owned by this user and closed to others: lock files there decide which processes get killed.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolve(env[STATE_DIR_ENV] || join(dataDir(env), 'ansible'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new PathError(`ansible state folder ${dir}: not a folder (a symlink?); set ${STATE_DIR_ENV}`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new PathError(`ansible state folder ${dir}: owned by uid ${st.uid}, not by the worker's user; set ${STATE_DIR_ENV}`);
  if (st.mode & 0o022) throw new PathError(`ansible state folder ${dir}: writable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it or set ${STATE_DIR_ENV}`);
  for (const sub of ['locks', 'runs']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  return dir;
}
