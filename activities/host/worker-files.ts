/**
 * Which files of the worker a play may read: its play file, included task files and roles, and
 * the `src` of copy/template (content that then goes to hosts). The worker holds other runs'
 * credentials, so a play (or a role nobody here wrote, or a run param naming a file) must not
 * read them and ship them to a host:
 *
 * - never, whatever the path: the worker's secret locations (RUNWRIGHT_SECRET_DIRS, every
 *   `file:` of the secrets policy, the policy files, the data folder with its codec key and
 *   approvals, the signing key and allowed signers), `.ssh`/`.gnupg` folders, and the kernel's
 *   files (/proc, /sys, /dev: /proc/self/environ is the worker's environment);
 * - `src` of copy/template/route only inside the play's own folder and its roles' folders (an
 *   inline play: the worker's working folder) and RUNWRIGHT_PLAY_FILE_DIRS (`:`-separated), as
 *   ansible.playbook keeps to its playbook folder.
 *
 * Checked on real paths (`..` and symlinks resolved), so a link inside an allowed folder that
 * points out of it is refused too.
 */
import { realpathSync } from 'node:fs';
import { delimiter, resolve, sep } from 'node:path';
import { dataDir } from '../../lib/connect';
import { isWithin } from '../../lib/paths';
import { ENV } from '../../lib/config';
import { loadSecretsPolicy, SECRET_DIRS_ENV, secretsPolicyFile } from '../../lib/secrets';

export const PLAY_FILE_DIRS_ENV = 'RUNWRIGHT_PLAY_FILE_DIRS';

export class WorkerFileError extends Error {
  name = 'WorkerFileError';
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};
const list = (v: string | undefined) => (v ?? '').split(delimiter).filter(Boolean);

/** Places no play may read, as real paths, with what each is (for the message). */
function forbidden(env: NodeJS.ProcessEnv): { path: string; what: string; tree: boolean }[] {
  const out: { path: string; what: string; tree: boolean }[] = [
    ...['/proc', '/sys', '/dev'].map((p) => ({ path: p, what: "the kernel's files", tree: true })),
    ...list(env[SECRET_DIRS_ENV]).map((p) => ({ path: real(p), what: `a secret folder (${SECRET_DIRS_ENV})`, tree: true })),
    { path: real(dataDir(env)), what: "the worker's data folder (codec key, approvals)", tree: true },
  ];
  const file = (p: string | undefined, what: string) => p && out.push({ path: real(p), what, tree: false });
  file(secretsPolicyFile(env), 'the secrets policy');
  file(env[ENV.accessPolicy], 'the access policy');
  file(env[ENV.allowedSigners], 'the allowed signers');
  file(env[ENV.signingKey], 'the signing key');
  try {
    for (const [name, g] of Object.entries(loadSecretsPolicy(env)?.secrets ?? {})) if (g.ref.startsWith('file:')) file(g.ref.slice(5), `secret ${name}`);
  } catch {
    /* an invalid policy fails the steps that use secrets; here it names no more files */
  }
  return out;
}

/**
 * The real path of a file a play reads on the worker, or a WorkerFileError saying why not.
 * `roots`: where it must be (copy/template `src`); undefined: anywhere but the forbidden places.
 */
export function playReadable(path: string, what: string, roots?: string[], env: NodeJS.ProcessEnv = process.env): string {
  if (path.includes('\0')) throw new WorkerFileError(`${what} ${JSON.stringify(path)}: not a path`);
  const p = real(path);
  const parts = p.split(sep);
  if (parts.includes('.ssh') || parts.includes('.gnupg')) throw new WorkerFileError(`${what} ${path}: a key folder of the worker (${p}); a play may not read it`);
  for (const f of forbidden(env)) {
    if (f.tree ? isWithin(p, f.path) : p === f.path) throw new WorkerFileError(`${what} ${path}: ${f.what} (${p}); a play may not read it`);
  }
  if (roots) {
    const dirs = [...roots, ...list(env[PLAY_FILE_DIRS_ENV])].map(real);
    if (!dirs.some((d) => isWithin(p, d))) {
      throw new WorkerFileError(
        `${what} ${path}: ${p} is outside the folders a play may read on the worker (${dirs.join(', ') || 'none'}); put it next to the play file or in its role, or let the worker's operator add its folder to ${PLAY_FILE_DIRS_ENV}`,
      );
    }
  }
  return p;
}
