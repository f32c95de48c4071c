/**
 * Plays and tasks, with Ansible's keywords (a play file reads like an Ansible play): one module
 * key per task plus name, when, register, notify, loop, become, changed_when, failed_when...
 */
import { z } from 'zod';
import { commandTemplateProblem, describeSlot, shellProblems } from './shell-values';
import type { HostModule } from './module';
import { HOST_MODULES } from './modules';
import { convert, freeFormArgs, normalizeArgs, spellingOf, USE_ANSIBLE, type ArgIssue } from './ansible-args';

/** A boolean keyword, also in Ansible's spelling (`yes`, `no`, `on`, `off`, …: strings in YAML 1.2). */
const Bool = z.preprocess((v) => {
  const c = typeof v === 'string' ? convert('bool', v) : undefined;
  return c && 'value' in c ? c.value : v;
}, z.boolean());
const Cond = z.union([z.string().min(1), z.boolean(), z.array(z.union([z.string().min(1), z.boolean()])).min(1)]);
const Names = z.union([z.string().min(1), z.array(z.string().min(1))]).transform((v) => ([] as string[]).concat(v));
const Ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, _)');
/** Tags as Ansible takes them: a list, or one string of comma-separated names. */
export const Tags = z
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
  .transform((v) => ([] as (string | number)[]).concat(v).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean));

/** Ansible's loop_control (`label` only changes what Ansible prints; accepted, not needed here). */
const LoopControl = z.strictObject({
  loop_var: Ident.optional(),
  index_var: Ident.optional(),
  label: z.unknown().optional(),
  pause: z.number().min(0).max(3600).optional(),
  extended: Bool.optional(),
  extended_allitems: Bool.optional(),
});

/** Where a task may be delegated natively: the worker itself (Ansible's controller). */
const LOCALHOST = ['localhost', '127.0.0.1', '::1'];
const DelegateTo = z.string().refine((h) => LOCALHOST.includes(h.trim()), {
  message: `delegate_to: only localhost (the worker) is supported natively; delegating to another host needs ansible.playbook`,
});

export const TASK_KEYWORDS = [
  'name',
  'when',
  'register',
  'notify',
  'listen',
  'become',
  'become_user',
  'changed_when',
  'failed_when',
  'ignore_errors',
  'loop',
  'loop_var',
  'loop_control',
  'run_once',
  'delegate_to',
  'until',
  'retries',
  'delay',
  'check_mode',
  'diff',
  'no_log',
  'tags',
  'vars',
  'role_path',
] as const;

const TaskBase = z.object({
  name: z.string().optional(),
  when: Cond.optional(),
  register: Ident.optional(),
  notify: Names.optional(),
  listen: Names.optional(),
  become: Bool.optional(),
  become_user: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/).optional(),
  changed_when: Cond.optional(),
  failed_when: Cond.optional(),
  ignore_errors: Bool.optional(),
  loop: z.union([z.array(z.unknown()), z.string()]).optional(),
  loop_var: Ident.optional(),
  loop_control: LoopControl.optional(),
  run_once: Bool.optional(),
  delegate_to: DelegateTo.optional(),
  until: Cond.optional(),
  retries: z.coerce.number().int().min(0).max(1000).optional(),
  delay: z.coerce.number().min(0).max(3600).optional(),
  check_mode: Bool.optional(),
  diff: Bool.optional(),
  no_log: Bool.optional(),
  tags: Tags.optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  /** Set when the task came from a role (activities/host/roles.ts): its `src` files are looked up there. */
  role_path: z.string().optional(),
});

export interface Task extends z.output<typeof TaskBase> {
  /** Module name and its (unrendered) args; `block` for a block. */
  module: string;
  args: unknown;
  /** A `block:` with `rescue:`/`always:` (blocks without them are flattened when a play file is loaded). */
  parts?: BlockParts;
}

export interface BlockParts {
  block: Task[];
  rescue: Task[];
  always: Task[];
}

export const BLOCK_PARTS = ['block', 'rescue', 'always'] as const;

/** Keywords of a block (or an include) that the tasks in it inherit, as in Ansible. */
export const INHERITED = ['when', 'vars', 'become', 'become_user', 'tags', 'check_mode', 'diff', 'no_log', 'ignore_errors'] as const;

/** A block's or include's keywords merged into a task it holds: `when` conditions add up, vars and tags layer. */
export function inheritKeywords(task: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  const out = { ...task };
  const list = (v: unknown): unknown[] => (v === undefined ? [] : ([] as unknown[]).concat(v));
  for (const k of INHERITED) {
    if (from[k] === undefined) continue;
    if (k === 'when' || k === 'tags') out[k] = [...list(from[k]), ...list(out[k])];
    else if (k === 'vars') out.vars = { ...(from.vars as object), ...(out.vars && typeof out.vars === 'object' ? out.vars : {}) };
    else if (out[k] === undefined) out[k] = from[k];
  }
  return out;
}

/** Placeholders in a task's shell text or command line that could not be carried as data. */
export function valueProblems(mod: HostModule, args: unknown, module: string, freeForm = false): { path: (string | number)[]; message: string; offset: number }[] {
  if (!args || typeof args !== 'object') return [];
  const out: { path: (string | number)[]; message: string; offset: number }[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (typeof v === 'string' && /\{%/.test(v) && (mod.shellTextArgs?.includes(k) || mod.argvTextArgs?.includes(k)))
      out.push({ path: freeForm ? [module] : [module, k], offset: v.indexOf('{%'), message: `${module}: Jinja2 statements ({% %}) cannot be carried safely in a command; compute the value in \`vars:\` and use {{ name }}` });
    if (typeof v !== 'string' || !v.includes('{{')) continue;
    const path = freeForm ? [module] : [module, k];
    if (mod.shellTextArgs?.includes(k)) for (const p of shellProblems(v)) out.push({ path, offset: p.start, message: `${module}: ${describeSlot(v, p)}` });
    if (mod.argvTextArgs?.includes(k) && !('argv' in args)) {
      const m = commandTemplateProblem(v);
      if (m) out.push({ path, offset: 0, message: `${module}: ${m}` });
    }
  }
  return out;
}

/** Ansible task keywords a play may hold that have no native meaning yet (for a clear refusal). */
const ANSIBLE_ONLY_KEYWORDS = ['action', 'any_errors_fatal', 'args', 'async', 'become_exe', 'become_flags', 'become_method', 'collections', 'connection', 'debugger', 'delegate_facts', 'environment', 'ignore_unreachable', 'local_action', 'module_defaults', 'poll', 'port', 'remote_user', 'throttle', 'timeout'];
const isAnsibleKeyword = (k: string): boolean => ANSIBLE_ONLY_KEYWORDS.includes(k) || /^with_[a-z_]+$/.test(k);

function keywordMessage(k: string): string {
  if (k === 'args') return `task keyword \`args\` is not supported natively yet: put the options in the module's own mapping (\`command: {cmd: …, chdir: …}\`)`;
  if (k.startsWith('with_')) return `task keyword \`${k}\` is not supported natively yet: write \`loop:\` instead, or ${USE_ANSIBLE}`;
  return `task keyword \`${k}\` is not supported natively yet; ${USE_ANSIBLE}`;
}

/** A zod issue for a task, keeping "point at the key" (unknown or unsupported options) for the play loader. */
function taskIssue(ctx: z.RefinementCtx, message: string, path: PropertyKey[], key = false): void {
  ctx.addIssue({ code: 'custom', message, path, ...(key ? { params: { at: 'key' } } : {}) });
}

/**
 * A task: its keywords plus exactly one module key (`copy: {...}`, or `command: ls -l`). The
 * module may be named as in Ansible (`ansible.builtin.copy`, `apt`) and its args spelled as in
 * Ansible (options, aliases, `key=value` text: ./ansible-args.ts); the task keeps the native
 * module name and args in native names.
 */
export const TaskSchema: z.ZodType<Task, unknown> = z.record(z.string(), z.unknown()).transform((raw, ctx): Task => {
  if (raw.block !== undefined) return blockTask(raw, ctx);
  const keys = Object.keys(raw).filter((k) => !(TASK_KEYWORDS as readonly string[]).includes(k));
  const mods = keys.filter((k) => !isAnsibleKeyword(k));
  const unsupportedKeywords = keys.filter(isAnsibleKeyword);
  if (mods.length === 1 && unsupportedKeywords.length) {
    for (const k of unsupportedKeywords) taskIssue(ctx, keywordMessage(k), [k], true);
    return z.NEVER;
  }
  if (mods.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: keys.length
        ? `a task has exactly one module; found ${keys.map((m) => `"${m}"`).join(', ')}`
        : `a task needs a module (one of ${[...HOST_MODULES.keys()].join(', ')})`,
    });
    return z.NEVER;
  }
  const module = mods[0];
  const mod = HOST_MODULES.get(module);
  if (!mod) {
    const ansible = /^[a-z0-9_]+\.[a-z0-9_]+\./.test(module) ? ` (not available natively yet; ${USE_ANSIBLE})` : '';
    ctx.addIssue({ code: 'custom', message: `unknown module "${module}"${ansible} (modules: ${[...HOST_MODULES.keys()].join(', ')}; Ansible's names for them work too, e.g. ansible.builtin.copy)`, path: [module] });
    return z.NEVER;
  }
  const base = TaskBase.safeParse(Object.fromEntries(Object.entries(raw).filter(([k]) => k !== module)));
  if (!base.success) {
    for (const i of base.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  let args: unknown = raw[module] ?? {};
  const spelled: ArgIssue[] = [];
  if (typeof args === 'string') {
    // Ansible's free form: the command for command/shell (with its creates=/chdir=… words taken out), key=value words for the others.
    const f = freeFormArgs(args, mod.freeForm);
    spelled.push(...f.issues);
    args = f.args;
  }
  const known = spellingOf(mod.name);
  if (known && !spelled.length) {
    const n = normalizeArgs(known.spelling, args, known.keys, 'load');
    spelled.push(...n.issues);
    args = n.args;
  }
  if (spelled.length) {
    for (const i of spelled) taskIssue(ctx, `${module}: ${i.message}`, [module, ...i.path], i.key);
    return z.NEVER;
  }
  // A placeholder in shell text that cannot carry a value safely is refused before any host is touched.
  const problems = valueProblems(mod, args, module, typeof raw[module] === 'string');
  if (problems.length) {
    for (const p of problems) ctx.addIssue({ code: 'custom', message: p.message, path: p.path });
    return z.NEVER;
  }
  // Args without templates are checked now; the rest once rendered for each host.
  if (!JSON.stringify(args).includes('{{') && base.data.loop === undefined) {
    const p = mod.args.safeParse(args);
    if (!p.success) {
      for (const i of p.error.issues) taskIssue(ctx, `${module}: ${i.message}`, [module, ...i.path], (i as { params?: { at?: string } }).params?.at === 'key');
      return z.NEVER;
    }
  }
  return { ...base.data, module: mod.name, args };
});

/** A block: its keywords pass to the tasks in it; `rescue` runs if one of them fails, `always` in any case. */
const BLOCK_KEYS = new Set<string>(['name', ...BLOCK_PARTS, ...INHERITED]);
function blockTask(raw: Record<string, unknown>, ctx: z.RefinementCtx): Task {
  const extra = Object.keys(raw).filter((k) => !BLOCK_KEYS.has(k));
  if (extra.length) {
    for (const k of extra) taskIssue(ctx, `a block takes ${[...BLOCK_KEYS].join(', ')}; \`${k}\` is not one of them (put it on the tasks inside)`, [k], true);
    return z.NEVER;
  }
  const own = Object.fromEntries(INHERITED.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
  const parts = {} as BlockParts;
  let ok = true;
  for (const part of BLOCK_PARTS) {
    const list = raw[part] ?? [];
    if (!Array.isArray(list)) {
      taskIssue(ctx, `${part}: expected a list of tasks`, [part]);
      ok = false;
      continue;
    }
    const r = z.array(TaskSchema).safeParse(list.map((t) => (t && typeof t === 'object' && !Array.isArray(t) ? inheritKeywords(t as Record<string, unknown>, own) : t)));
    if (!r.success) {
      for (const i of r.error.issues) {
        // Keep "point at the key" for the play loader's file:line:column.
        const key = i.code === 'unrecognized_keys' ? [i.keys[0]] : [];
        const atKey = key.length > 0 || (i as { params?: { at?: string } }).params?.at === 'key';
        taskIssue(ctx, i.message, [part, ...i.path, ...key], atKey);
      }
      ok = false;
      continue;
    }
    parts[part] = r.data;
  }
  if (!ok) return z.NEVER;
  return { name: typeof raw.name === 'string' ? raw.name : undefined, module: 'block', args: {}, parts };
}

const Serial = z.union([z.number().int().min(0), z.string().regex(/^\s*\d+(\.\d+)?\s*%?\s*$/), z.array(z.union([z.number().int().min(0), z.string().regex(/^\s*\d+(\.\d+)?\s*%?\s*$/)])).min(1)]);

export const PlaySchema = z.strictObject({
  name: z.string().optional(),
  hosts: z.string().optional().describe('Host pattern (the runbook may override it)'),
  serial: Serial.optional(),
  max_fail_percentage: z.number().min(0).max(100).optional(),
  forks: z.number().int().min(1).max(1000).optional(),
  become: Bool.optional(),
  become_user: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/).optional(),
  gather_facts: Bool.default(true),
  tags: Tags.optional().describe('Tags every task of the play carries'),
  vars: z.record(z.string(), z.unknown()).default({}),
  /** Role defaults (activities/host/roles.ts): below inventory vars in precedence, as in Ansible. */
  defaults: z.record(z.string(), z.unknown()).default({}),
  tasks: z.array(TaskSchema).default([]),
  handlers: z.array(TaskSchema).default([]),
  templating: z
    .enum(['jinja2', 'cel'])
    .default('cel')
    .describe('Language of the placeholders, when, loop and templates: jinja2 (play files, as Ansible) or cel (inline plays in a runbook, the runbook\'s language)'),
  /** Folder that relative `src` paths are read from (set when the play is loaded from a file). */
  base_dir: z.string().optional(),
});
export type Play = z.output<typeof PlaySchema>;
export type PlayInput = z.input<typeof PlaySchema>;

/**
 * For the validator: placeholders in an inline play (a runbook step's `with.play`) whose shell
 * text or command line cannot carry their values. The workflow turns runbook values there into
 * task vars (dsl/play-values.ts), so they land in exactly the contexts checked here.
 */
export function inlinePlayProblems(input: unknown): { path: (string | number)[]; offset: number; message: string }[] {
  const play = (input as { play?: unknown } | null)?.play;
  if (!play || typeof play !== 'object' || Array.isArray(play)) return [];
  const out: { path: (string | number)[]; offset: number; message: string }[] = [];
  const walk = (tasks: unknown, at: (string | number)[]): void => {
    if (!Array.isArray(tasks)) return;
    tasks.forEach((t, i) => {
      if (!t || typeof t !== 'object' || Array.isArray(t)) return;
      if ('block' in t) {
        for (const part of BLOCK_PARTS) walk((t as Record<string, unknown>)[part], [...at, i, part]);
        return;
      }
      const mods = Object.keys(t).filter((k) => !(TASK_KEYWORDS as readonly string[]).includes(k));
      const mod = mods.length === 1 ? HOST_MODULES.get(mods[0]) : undefined;
      if (!mod) return;
      const raw = (t as Record<string, unknown>)[mods[0]];
      const args = typeof raw === 'string' && mod.freeForm ? { [mod.freeForm]: raw } : raw;
      for (const p of valueProblems(mod, args, mods[0], typeof raw === 'string')) out.push({ ...p, path: ['play', ...at, i, ...p.path] });
    });
  };
  for (const list of ['tasks', 'handlers'] as const) walk((play as Record<string, unknown>)[list], [list]);
  return out;
}
