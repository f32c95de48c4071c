/**
 * Ansible's ways of splitting a play across files, expanded when the play file is loaded
 * (host.inventory), so host.play receives one flat list of tasks and handlers:
 *  - `roles:` with the standard layout (tasks/, handlers/, templates/, files/, defaults/, vars/,
 *    meta/main.yml `dependencies`), found next to the play (`roles/NAME`) or on the roles path
 *    (RUNWRIGHT_ROLES_PATH, else ANSIBLE_ROLES_PATH);
 *  - `pre_tasks` / `post_tasks`, in Ansible's order: pre_tasks, roles, tasks, post_tasks;
 *  - `import_tasks` / `include_tasks` (a file of tasks) and `import_role` / `include_role`,
 *    with the including task's `when`, `vars` and `become` passed to every task they bring;
 *  - `block:`, whose keywords apply to its tasks; a block with `rescue:`/`always:` stays a block
 *    (host.play runs its parts), one without is flattened into its tasks.
 * Every task remembers the file and place it came from, so a mistake is reported there, and
 * tasks of a role remember the role's folder, where their `src` files are looked up.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { BLOCK_PARTS, INHERITED, inheritKeywords } from './play-schema';
import { playReadable, WorkerFileError } from './worker-files';

export interface Source {
  file: string;
  text: string;
  doc: Document;
  lc: LineCounter;
}

/** Where an expanded task came from: its file and its path in that file. */
export interface Origin {
  src: Source;
  path: (string | number)[];
}

export class RoleError extends Error {
  constructor(
    readonly origin: Origin | undefined,
    message: string,
    /** Point at the last key of the origin's path (an unknown keyword), not its value. */
    readonly atKey = false,
  ) {
    super(message);
  }
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => !!v && typeof v === 'object' && !Array.isArray(v);


export function readYamlSource(file: string, origin?: Origin): { src: Source; value: unknown } {
  let text: string;
  try {
    playReadable(file, 'task file');
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    if (e instanceof WorkerFileError) throw new RoleError(origin, e.message);
    throw new RoleError(origin, `cannot read ${file} (${e.code ?? e.message})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, customTags: [VAULT_TAG] });
  const src = { file, text, doc, lc };
  if (doc.errors.length) {
    const p = lc.linePos(doc.errors[0].pos[0]);
    throw new RoleError({ src, path: [] }, `YAML: ${doc.errors[0].message.split('\n')[0]} (line ${p.line})`);
  }
  return { src, value: doc.toJS({ maxAliasCount: 100 }) };
}

/** `!vault |` values stay encrypted in the play (and in history); host.play decrypts them (activities/host/vault.ts). */
export const VAULT_TAG = {
  tag: '!vault',
  resolve: (str: string) => ({ __vault: str }),
} as const;

export function rolesPath(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.RUNWRIGHT_ROLES_PATH ?? env.ANSIBLE_ROLES_PATH ?? '').split(delimiter).filter(Boolean);
}

/** A file of the role or play folder: main.yml / main.yaml / main. */
function mainFile(dir: string): string | undefined {
  return ['main.yml', 'main.yaml', 'main'].map((f) => join(dir, f)).find((f) => existsSync(f) && statSync(f).isFile());
}

export interface ExpandedPlay {
  play: Dict;
  /** Where each task of the expanded play came from, by its path there (`originKey(['tasks', 3, 'rescue', 0])`). */
  origins: Map<string, Origin>;
}

export const originKey = (path: (string | number)[]): string => path.join('\u0000');

/** A task as expanded, with where it came from; a block with rescue/always keeps its parts. */
interface Entry {
  task: Dict;
  origin: Origin;
  parts?: Record<(typeof BLOCK_PARTS)[number], Entry[]>;
}

export function expandPlay(raw: Dict, src: Source, prefix: (string | number)[], baseDir: string, env: NodeJS.ProcessEnv = process.env): ExpandedPlay {
  const tasks: Entry[] = [];
  const handlers: Entry[] = [];
  let defaults: Dict = {};
  let roleVars: Dict = {};
  const seenRoles = new Set<string>();
  const searchPath = [join(baseDir, 'roles'), ...rolesPath(env).map((p) => resolve(baseDir, p)), baseDir];

  const findRole = (name: string, at: Origin): string => {
    if (isAbsolute(name) && existsSync(name)) return name;
    for (const d of searchPath) {
      const dir = resolve(d, name);
      if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
    }
    throw new RoleError(at, `role "${name}" not found (looked in ${searchPath.join(', ')}; set RUNWRIGHT_ROLES_PATH)`);
  };

  const inherit = (task: Dict, from: Dict): Dict => inheritKeywords(task, from);

  const taskList = (value: unknown, src: Source, path: (string | number)[], dir: string, role: string | undefined, from: Dict, into: Entry[], handlerInto: Entry[]): void => {
    if (value === undefined || value === null) return;
    if (!Array.isArray(value)) throw new RoleError({ src, path }, 'expected a list of tasks');
    value.forEach((t, i) => {
      const at: Origin = { src, path: [...path, i] };
      if (!isDict(t)) {
        into.push({ task: t as Dict, origin: at });
        return;
      }
      const own = Object.fromEntries(INHERITED.filter((k) => t[k] !== undefined).map((k) => [k, t[k]]));
      const scope = inheritDict(from, own);
      const inc = t.import_tasks ?? t.include_tasks ?? t['ansible.builtin.import_tasks'] ?? t['ansible.builtin.include_tasks'];
      if (inc !== undefined) {
        const rel = isDict(inc) ? inc.file : inc;
        if (typeof rel !== 'string' || !rel) throw new RoleError(at, 'import_tasks/include_tasks: expected a file name');
        if (rel.includes('{{')) throw new RoleError(at, `include_tasks: a templated file name (${rel}) is not supported natively yet; name the file, or use ansible.playbook`);
        const file = resolve(dir, rel);
        const { src: s2, value: v2 } = readYamlSource(file, at);
        taskList(v2, s2, [], dirname(file), role, scope, into, handlerInto);
        return;
      }
      const roleRef = t.import_role ?? t.include_role ?? t['ansible.builtin.import_role'] ?? t['ansible.builtin.include_role'];
      if (roleRef !== undefined) {
        const name = isDict(roleRef) ? roleRef.name : roleRef;
        if (typeof name !== 'string') throw new RoleError(at, 'import_role/include_role: expected `name:`');
        expandRole(name, at, scope, isDict(roleRef) && roleRef.tasks_from ? String(roleRef.tasks_from) : 'main');
        return;
      }
      if (t.block !== undefined) {
        if (t.rescue === undefined && t.always === undefined) {
          taskList(t.block, src, [...path, i, 'block'], dir, role, scope, into, handlerInto);
          return;
        }
        if (into === handlerInto) throw new RoleError(at, 'a handler cannot be a block with rescue/always natively; use ansible.playbook for this play');
        const extra = Object.keys(t).filter((k) => !['name', ...BLOCK_PARTS, ...INHERITED].includes(k));
        if (extra.length) throw new RoleError({ src, path: [...path, i, extra[0]] }, `a block takes name, block, rescue, always and ${INHERITED.join(', ')}; \`${extra[0]}\` is not one of them`, true);
        const parts: NonNullable<Entry['parts']> = { block: [], rescue: [], always: [] };
        for (const k of BLOCK_PARTS) taskList(t[k], src, [...path, i, k], dir, role, scope, parts[k], handlerInto);
        into.push({ task: t.name === undefined ? {} : { name: t.name }, origin: at, parts });
        return;
      }
      const task = inherit(t, from);
      // Set by the loader only: it widens where the task's `src` may be read (worker-files.ts).
      if (role) task.role_path = role;
      else delete task.role_path;
      into.push({ task, origin: at });
    });
  };

  /** Keywords of nested includes/blocks combine the same way as for a task. */
  const inheritDict = (outer: Dict, inner: Dict): Dict => inherit(inner, outer);

  const loadVarsFile = (file: string | undefined, at: Origin): Dict => {
    if (!file) return {};
    const v = readYamlSource(file, at).value;
    if (v === null || v === undefined) return {};
    // A whole file encrypted with ansible-vault: decrypted by host.play with the vault key.
    if (typeof v === 'string' && v.startsWith('$ANSIBLE_VAULT;')) return { __rw_vault_files: [v] };
    if (!isDict(v)) throw new RoleError(at, `${file}: expected a mapping of variables`);
    return v;
  };

  function expandRole(name: string, at: Origin, params: Dict, tasksFrom = 'main'): void {
    const dir = findRole(name, at);
    const key = `${dir}\0${JSON.stringify(params)}\0${tasksFrom}`;
    // A role runs once per play with the same params (Ansible's default without allow_duplicates).
    if (seenRoles.has(key)) return;
    seenRoles.add(key);
    const meta = mainFile(join(dir, 'meta'));
    if (meta) {
      const { src: ms, value: mv } = readYamlSource(meta, at);
      const deps = isDict(mv) ? mv.dependencies : undefined;
      if (Array.isArray(deps))
        deps.forEach((d, i) => {
          const dn = typeof d === 'string' ? d : isDict(d) ? (d.role ?? d.name) : undefined;
          if (typeof dn !== 'string') throw new RoleError({ src: ms, path: ['dependencies', i] }, 'a dependency is a role name or {role: NAME, …}');
          const dp = isDict(d) ? Object.fromEntries(Object.entries(d).filter(([k]) => !['role', 'name', 'when', 'tags', 'become'].includes(k))) : {};
          expandRole(dn, { src: ms, path: ['dependencies', i] }, { ...params, ...(Object.keys(dp).length ? { vars: { ...(params.vars as Dict), ...(isDict(dp.vars) ? dp.vars : dp) } } : {}) });
        });
    }
    defaults = mergeVaultFiles(defaults, loadVarsFile(mainFile(join(dir, 'defaults')), at));
    roleVars = mergeVaultFiles(roleVars, loadVarsFile(mainFile(join(dir, 'vars')), at));
    const tasksFile = tasksFrom === 'main' ? mainFile(join(dir, 'tasks')) : [`${tasksFrom}.yml`, `${tasksFrom}.yaml`, tasksFrom].map((f) => join(dir, 'tasks', f)).find((f) => existsSync(f));
    if (tasksFile) {
      const { src: ts, value: tv } = readYamlSource(tasksFile, at);
      taskList(tv, ts, [], dirname(tasksFile), dir, params, tasks, handlers);
    } else if (tasksFrom !== 'main') throw new RoleError(at, `role ${name} has no tasks file "${tasksFrom}"`);
    const handlersFile = mainFile(join(dir, 'handlers'));
    if (handlersFile) {
      const { src: hs, value: hv } = readYamlSource(handlersFile, at);
      taskList(hv, hs, [], dirname(handlersFile), dir, {}, handlers, handlers);
    }
  }

  taskList(raw.pre_tasks, src, [...prefix, 'pre_tasks'], baseDir, undefined, {}, tasks, handlers);
  if (raw.roles !== undefined) {
    if (!Array.isArray(raw.roles)) throw new RoleError({ src, path: [...prefix, 'roles'] }, 'roles: expected a list of role names or {role: NAME, vars: …}');
    raw.roles.forEach((r, i) => {
      const at: Origin = { src, path: [...prefix, 'roles', i] };
      const name = typeof r === 'string' ? r : isDict(r) ? (r.role ?? r.name) : undefined;
      if (typeof name !== 'string') throw new RoleError(at, 'a role is a name or {role: NAME, vars: …, when: …}');
      const extra = isDict(r) ? Object.fromEntries(Object.entries(r).filter(([k]) => !['role', 'name', 'vars', ...INHERITED].includes(k))) : {};
      const params: Dict = isDict(r) ? { ...Object.fromEntries(INHERITED.filter((k) => r[k] !== undefined && k !== 'vars').map((k) => [k, r[k]])), vars: { ...extra, ...(isDict(r.vars) ? r.vars : {}) } } : {};
      if (isDict(params.vars) && !Object.keys(params.vars).length) delete params.vars;
      expandRole(name, at, params);
    });
  }
  taskList(raw.tasks, src, [...prefix, 'tasks'], baseDir, undefined, {}, tasks, handlers);
  taskList(raw.post_tasks, src, [...prefix, 'post_tasks'], baseDir, undefined, {}, tasks, handlers);
  const playHandlers: typeof handlers = [];
  taskList(raw.handlers, src, [...prefix, 'handlers'], baseDir, undefined, {}, playHandlers, playHandlers);

  const origins = new Map<string, Origin>();
  const build = (entries: Entry[], path: (string | number)[]): Dict[] =>
    entries.map((e, i) => {
      origins.set(originKey([...path, i]), e.origin);
      if (!e.parts) return e.task;
      const parts = e.parts;
      return { ...e.task, ...Object.fromEntries(BLOCK_PARTS.map((k) => [k, build(parts[k], [...path, i, k])])) };
    });
  const { roles: _r, pre_tasks: _p, post_tasks: _q, ...rest } = raw;
  const play: Dict = { ...rest, tasks: build(tasks, ['tasks']), handlers: build([...handlers, ...playHandlers], ['handlers']) };
  // Ansible's precedence: role defaults < inventory < play vars < role vars (< task vars).
  if (Object.keys(defaults).length) play.defaults = defaults;
  if (Object.keys(roleVars).length) play.vars = mergeVaultFiles(isDict(raw.vars) ? raw.vars : {}, roleVars);
  return { play, origins };
}

function mergeVaultFiles(a: Dict, b: Dict): Dict {
  const files = [...((a.__rw_vault_files as unknown[]) ?? []), ...((b.__rw_vault_files as unknown[]) ?? [])];
  const out = { ...a, ...b };
  if (files.length) out.__rw_vault_files = files;
  return out;
}
