/**
 * Ansible's own spelling of module arguments: its option names and aliases, its `key=value`
 * free-form strings, its loose types (`create: yes`, `name: "a,b"`), and a clear refusal for
 * each Ansible option a native module does not implement. Each module file declares its table
 * (an `AnsibleSpelling`) and wraps its zod args with `ansibleArgs`, so the same rules apply when
 * a play file is loaded (play-schema.ts) and when a task's rendered args are parsed on the
 * worker (runner.ts).
 *
 * The tables come from `ansible-doc -j` of ansible-core 2.14 (and ansible.posix for sysctl);
 * test/unit/ansible-args.test.ts holds every table to the ansible-doc output kept in
 * test/fixtures/ansible-doc/: every Ansible option and alias is either supported or refused with
 * a reason, and nothing else is claimed.
 */
import { z } from 'zod';
import { pyStr } from './jinja';

/** Ansible's argument types, as far as they matter for converting values. */
export type AnsibleType = 'bool' | 'int' | 'str' | 'path' | 'list' | 'raw' | 'dict';
type Scalar = string | number | boolean;

export interface AnsibleOption {
  /** Ansible's aliases of the option (ansible-doc `aliases`). */
  aliases?: readonly string[];
  /** Ansible's type: values are converted the way Ansible converts them ("yes" → true, "a,b" → [a, b]). */
  type?: AnsibleType;
  /** The native arg the option sets (default: the option's own name); null: none (the value is only checked). */
  to?: string | null;
  /** Ansible values written differently natively (`state: installed` → `present`). */
  rename?: Readonly<Record<string, Scalar>>;
  /** Only these values are supported natively; any other is refused with `unsupported`. */
  only?: readonly (Scalar | readonly Scalar[])[];
  /** What the option does that the native module does not (the option, or its values outside `only`, are refused). */
  unsupported?: string;
  /** Accepted with any value and has no native effect; says why that is right. */
  ignored?: string;
  /** Turns the option into native args (after every other option is in); returns a message to refuse it. */
  apply?: (value: unknown, args: Record<string, unknown>) => string | void;
  /** Listed by ansible-doc but not an option one can write (`free_form`, `others`): what to write instead. */
  docOnly?: string;
  /** Accepted by Ansible although ansible-doc does not list it (`_raw_params`). */
  undocumented?: boolean;
}

export interface AnsibleSpelling {
  /** The native module. */
  module: string;
  /** Ansible module names that resolve to it (besides the native name). */
  names: readonly string[];
  /** The Ansible modules (ansible-doc names) whose options the table covers. */
  docs: readonly string[];
  options: Readonly<Record<string, AnsibleOption>>;
  /** Native args that are not Ansible options, with the type used to read them from `key=value` text. */
  native?: Readonly<Record<string, AnsibleType>>;
}

export const USE_ANSIBLE = 'use ansible.playbook for this task';

/** The message for an Ansible option (or value) the native module does not implement. */
export function notSupported(what: string, why?: string): string {
  return `${what} is not supported natively yet${why ? ` (${why})` : ''}; ${USE_ANSIBLE}`;
}

// ------------------------------------------------------------------------ value conversion

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** Converts a value the way Ansible's argument spec does for its type (module_utils/common/validation.py). */
export function convert(type: AnsibleType | undefined, v: unknown): { value: unknown } | { error: string } {
  switch (type) {
    case 'bool':
      if (typeof v === 'boolean') return { value: v };
      if (typeof v === 'number' && (v === 0 || v === 1)) return { value: v === 1 };
      if (typeof v === 'string') {
        const s = v.trim().toLowerCase();
        if (TRUE.has(s)) return { value: true };
        if (FALSE.has(s)) return { value: false };
      }
      return { error: `expected a boolean (yes/no, true/false), got ${show(v)}` };
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) return { value: v };
      if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return { value: Number(v) };
      return { error: `expected an integer, got ${show(v)}` };
    case 'str':
    case 'path':
      // Python's str(): a template that rendered to a list or bool (`[{{ a }}]`) is text again.
      return { value: typeof v === 'number' || typeof v === 'boolean' || (v !== null && typeof v === 'object') ? pyStr(v) : v };
    case 'list':
      if (typeof v === 'string') return { value: v.split(',') };
      if (typeof v === 'number') return { value: [String(v)] };
      return { value: v };
    default:
      return { value: v };
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

export function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('{{') || v.includes('{%');
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === 'object') return Object.values(v).some(hasTemplate);
  return false;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

// ------------------------------------------------------------------------ normalizing args

export interface ArgIssue {
  path: (string | number)[];
  message: string;
  /** The mistake is the key itself (unknown or unsupported option): point at the key, not its value. */
  key?: boolean;
}

interface Compiled {
  byName: Map<string, { name: string; opt: AnsibleOption }>;
}
const compiled = new WeakMap<AnsibleSpelling, Compiled>();

function compile(sp: AnsibleSpelling): Compiled {
  let c = compiled.get(sp);
  if (!c) {
    const byName = new Map<string, { name: string; opt: AnsibleOption }>();
    for (const [name, opt] of Object.entries(sp.options)) for (const n of [name, ...(opt.aliases ?? [])]) byName.set(n, { name, opt });
    c = { byName };
    compiled.set(sp, c);
  }
  return c;
}

/** Every name that sets a native arg: native args, and Ansible's options and aliases for them. */
export function acceptedNames(sp: AnsibleSpelling, nativeKeys: Iterable<string>): string[] {
  const names = new Set(nativeKeys);
  for (const [n, { opt }] of compile(sp).byName) if (!opt.docOnly && !opt.ignored && opt.to !== null && !(opt.unsupported && !opt.only) && !n.startsWith('_')) names.add(n);
  return [...names];
}

/** The other spellings of a native arg (`path`: dest, name). */
export function spellingsOf(sp: AnsibleSpelling, arg: string): string[] {
  return [...compile(sp).byName].filter(([n, { name, opt }]) => (opt.to ?? name) === arg && n !== arg && !n.startsWith('_')).map(([n]) => n);
}

/**
 * Ansible's spelling → native args. `load`: when a play is loaded, values may still hold
 * `{{ }}`; renames of plain options happen anyway (so shell/command text keeps its native key,
 * whose placeholders are carried as data), and value-dependent options keep Ansible's name
 * until the rendered args are parsed (`parse`).
 */
export function normalizeArgs(sp: AnsibleSpelling, input: unknown, nativeKeys: ReadonlySet<string>, phase: 'load' | 'parse'): { args: unknown; issues: ArgIssue[] } {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { args: input, issues: [] };
  const { byName } = compile(sp);
  const out: Record<string, unknown> = {};
  const spelledAs: Record<string, string> = {};
  const issues: ArgIssue[] = [];
  const later: [string, AnsibleOption, unknown][] = [];
  const put = (nk: string, v: unknown, key: string) => {
    if (nk in out) {
      issues.push({ path: [key], key: true, message: `\`${spelledAs[nk]}\` and \`${key}\` are the same option (${nk}); give it once` });
      return;
    }
    out[nk] = v;
    spelledAs[nk] = key;
  };
  for (const [key, raw] of Object.entries(input)) {
    const hit = byName.get(key);
    if (!hit) {
      if (nativeKeys.has(key)) {
        const c = phase === 'load' && hasTemplate(raw) ? { value: raw } : convert(sp.native?.[key], raw);
        if ('error' in c) issues.push({ path: [key], message: c.error });
        else put(key, c.value, key);
      } else issues.push({ path: [key], key: true, message: unknownOption(sp, key, nativeKeys) });
      continue;
    }
    const { name, opt } = hit;
    if (opt.docOnly) {
      issues.push({ path: [key], key: true, message: `\`${key}\` is not an option: ${opt.docOnly}` });
      continue;
    }
    if (opt.unsupported && !opt.only) {
      issues.push({ path: [key], key: true, message: notSupported(`option \`${key}\``, opt.unsupported) });
      continue;
    }
    // Ansible reads an empty value (`key:` or `key: null`) as "not set".
    if (raw === null || raw === undefined) continue;
    if (phase === 'load' && hasTemplate(raw)) {
      const plain = !opt.only && !opt.rename && !opt.apply && !opt.ignored && opt.to !== null;
      put(plain ? (opt.to ?? name) : name, raw, key);
      continue;
    }
    const c = convert(opt.type, raw);
    if ('error' in c) {
      issues.push({ path: [key], message: c.error });
      continue;
    }
    let v = c.value;
    if (opt.rename && typeof v === 'string' && Object.hasOwn(opt.rename, v)) v = opt.rename[v];
    if (opt.only && !opt.only.some((o) => same(o, v))) {
      issues.push({ path: [key], message: notSupported(`\`${key}: ${typeof v === 'string' ? v : show(v)}\``, opt.unsupported) });
      continue;
    }
    if (opt.ignored) continue;
    if (opt.apply) {
      later.push([key, opt, v]);
      continue;
    }
    if (opt.to === null) continue;
    put(opt.to ?? name, v, key);
  }
  for (const [key, opt, v] of later) {
    const m = opt.apply!(v, out);
    if (m) issues.push({ path: [key], message: m });
  }
  return { args: out, issues };
}

function unknownOption(sp: AnsibleSpelling, key: string, nativeKeys: ReadonlySet<string>): string {
  const names = acceptedNames(sp, nativeKeys);
  const near = names.filter((n) => editDistance(n, key) <= (key.length <= 3 ? 1 : 2));
  const ansible = sp.docs.length ? ` (not an option of ${sp.docs.join(' or ')} either)` : '';
  return `unknown option \`${key}\`${ansible}${near.length ? `; did you mean ${near.map((n) => `\`${n}\``).join(' or ')}?` : ''} (options: ${native(names, nativeKeys).join(', ')})`;
}

/** Native names first, then Ansible's spellings. */
const native = (names: string[], nativeKeys: ReadonlySet<string>): string[] => [...names.filter((n) => nativeKeys.has(n)), ...names.filter((n) => !nativeKeys.has(n)).sort()];

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The keys of a zod object schema (refinements in zod 4 keep the object). */
export function schemaKeys(schema: z.ZodTypeAny): Set<string> {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  if (!shape) throw new Error('ansibleArgs: expected a zod object schema');
  return new Set(Object.keys(shape));
}

/** Spellings by native module name (filled by ansibleArgs). */
const SPELLINGS = new Map<string, { spelling: AnsibleSpelling; keys: ReadonlySet<string> }>();

export function spellingOf(module: string): { spelling: AnsibleSpelling; keys: ReadonlySet<string> } | undefined {
  return SPELLINGS.get(module);
}

/**
 * A module's args that also read Ansible's spelling: the table's names and types are applied
 * first, then the native schema checks the result. Issues of both are reported together.
 */
export function ansibleArgs<S extends z.ZodTypeAny>(sp: AnsibleSpelling, schema: S): z.ZodType<z.output<S>> {
  const keys = schemaKeys(schema);
  SPELLINGS.set(sp.module, { spelling: sp, keys });
  return z.unknown().transform((input, ctx): z.output<S> => {
    const n = normalizeArgs(sp, input, keys, 'parse');
    for (const i of n.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path, params: i.key ? { at: 'key' } : undefined });
    const r = schema.safeParse(n.args);
    if (!r.success)
      for (const i of r.error.issues) {
        // A required arg that is missing: say so, with Ansible's other names for it.
        const missing = i.code === 'invalid_type' && i.path.length === 1 && !Object.hasOwn(n.args as object, i.path[0]);
        if (missing) {
          const also = spellingsOf(sp, String(i.path[0]));
          ctx.addIssue({ code: 'custom', path: [...i.path], message: `missing required option \`${String(i.path[0])}\`${also.length ? ` (or ${also.map((a) => `\`${a}\``).join(', ')})` : ''}` });
        } else ctx.addIssue({ ...(i as object), path: [...i.path] } as never);
      }
    return n.issues.length || !r.success ? z.NEVER : r.data;
  }) as unknown as z.ZodType<z.output<S>>;
}

// ------------------------------------------------------------------------ free-form strings

/** The k=v options Ansible takes out of command/shell free-form text (parsing/splitter.py). */
export const RAW_PARAM_OPTIONS = ['creates', 'removes', 'chdir', 'executable', 'warn', 'stdin', 'stdin_add_newline', 'strip_empty_ends'];

export class SplitError extends Error {}

function quoteState(token: string, quote: string | null): string | null {
  let q = quote;
  for (let i = 0; i < token.length; i++) {
    const c = token[i];
    if ((c === '"' || c === "'") && (i === 0 || token[i - 1] !== '\\')) {
      if (q) {
        if (c === q) q = null;
      } else q = c;
    }
  }
  return q;
}

function count(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

function depth(token: string, cur: number, open: string, close: string): number {
  const o = count(token, open);
  const c = count(token, close);
  return o !== c ? Math.max(0, cur + o - c) : cur;
}

/** Ansible's split_args: whitespace-separated words, keeping quotes and {{ }} blocks whole. */
export function splitArgs(args: string): string[] {
  const params: string[] = [];
  const items = args.split('\n');
  let quote: string | null = null;
  let inside = false;
  let printDepth = 0;
  let blockDepth = 0;
  let commentDepth = 0;
  items.forEach((item, itemIdx) => {
    const tokens = item.split(' ');
    let continuation = false;
    tokens.forEach((token, idx) => {
      if (token.length === 0 && idx !== 0) {
        if (!params.length) throw new SplitError('cannot split the arguments (leading spaces)');
        params[params.length - 1] += ' ';
        return;
      }
      if (token === '\\' && !inside) {
        continuation = true;
        return;
      }
      const wasInside = inside;
      quote = quoteState(token, quote);
      inside = quote !== null;
      let appended = false;
      if (inside && !wasInside && !(printDepth || blockDepth || commentDepth)) {
        params.push(token);
        appended = true;
      } else if (printDepth || blockDepth || commentDepth || inside || wasInside) {
        if (!params.length) throw new SplitError('unbalanced quotes or {{ }}');
        const last = params.length - 1;
        if (idx === 0 && wasInside) params[last] = `${params[last]}${token}`;
        else if (tokens.length > 1) params[last] = `${params[last]}${idx > 0 ? ' ' : ''}${token}`;
        else params[last] = `${params[last]}\n${token}`;
        appended = true;
      }
      const pp = printDepth;
      printDepth = depth(token, printDepth, '{{', '}}');
      if (printDepth !== pp && !appended) {
        params.push(token);
        appended = true;
      }
      const pb = blockDepth;
      blockDepth = depth(token, blockDepth, '{%', '%}');
      if (blockDepth !== pb && !appended) {
        params.push(token);
        appended = true;
      }
      const pc = commentDepth;
      commentDepth = depth(token, commentDepth, '{#', '#}');
      if (commentDepth !== pc && !appended) {
        params.push(token);
        appended = true;
      }
      if (!(printDepth || blockDepth || commentDepth) && !inside && !appended && token !== '') params.push(token);
    });
    if (items.length > 1 && itemIdx !== items.length - 1 && !continuation) {
      if (!params.length) throw new SplitError('cannot split the arguments (leading newline)');
      params[params.length - 1] += '\n';
    }
  });
  if (printDepth || blockDepth || commentDepth || inside) throw new SplitError('unbalanced quotes or {{ }} / {% %} / {# #} block');
  return params;
}

/** Ansible's join_args: the words back into one string, newlines kept. */
export function joinArgs(words: string[]): string {
  let r = '';
  for (const p of words) r += r.length === 0 || r.endsWith('\n') ? p : ` ${p}`;
  return r;
}

const ESCAPE = /\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[\\'"abfnrtv]/g;
const SIMPLE: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Ansible's _decode_escapes (\n, \t, \xNN, \uNNNN, ... in key=value words). */
export function decodeEscapes(s: string): string {
  return s.replace(ESCAPE, (m) => (m.length === 2 ? SIMPLE[m[1]] : String.fromCodePoint(parseInt(m.slice(2), 16))));
}

export function unquote(s: string): string {
  const quoted = s.length > 1 && s[0] === s[s.length - 1] && (s[0] === '"' || s[0] === "'") && s[s.length - 2] !== '\\';
  return quoted ? s.slice(1, -1) : s;
}

/** Ansible's parse_kv: `a=1 b="x y"` → {a: '1', b: 'x y'}; other words go to `_raw_params`. */
export function parseKv(args: string, checkRaw: boolean): Record<string, string> {
  const options: Record<string, string> = {};
  const raw: string[] = [];
  for (const orig of splitArgs(args)) {
    const x = decodeEscapes(orig);
    let pos = -1;
    for (let i = x.indexOf('=', 1); i >= 0; i = x.indexOf('=', i + 1)) {
      if (x[i - 1] !== '\\') {
        pos = i;
        break;
      }
    }
    if (!x.includes('=')) raw.push(orig);
    else if (pos < 0) raw.push(x.replace(/\\=/g, '='));
    else {
      const k = x.slice(0, pos);
      const v = x.slice(pos + 1);
      if (checkRaw && !RAW_PARAM_OPTIONS.includes(k)) raw.push(orig);
      else options[k.trim()] = unquote(v.trim());
    }
  }
  if (raw.length) options._raw_params = joinArgs(raw);
  return options;
}

/**
 * A task's module value given as a string: command/shell take it as the command (with
 * Ansible's `creates=`, `chdir=`... words taken out); other modules read `key=value` words.
 * A command line that has none of those words is kept exactly as written.
 */
export function freeFormArgs(text: string, freeForm: string | undefined): { args: Record<string, unknown>; issues: ArgIssue[] } {
  if (freeForm) {
    let kv: Record<string, string>;
    try {
      kv = parseKv(text, true);
    } catch {
      return { args: { [freeForm]: text }, issues: [] };
    }
    const { _raw_params: cmd, ...opts } = kv;
    if (!Object.keys(opts).length) return { args: { [freeForm]: text }, issues: [] };
    return { args: { ...(cmd !== undefined ? { [freeForm]: cmd } : {}), ...opts }, issues: [] };
  }
  let kv: Record<string, string>;
  try {
    kv = parseKv(text, false);
  } catch (e: any) {
    return { args: {}, issues: [{ path: [], message: `cannot read \`key=value\` arguments: ${e.message}` }] };
  }
  const { _raw_params: words, ...opts } = kv;
  if (words !== undefined) return { args: opts, issues: [{ path: [], message: `expected \`key=value\` arguments or a mapping; ${JSON.stringify(words)} is neither` }] };
  return { args: opts, issues: [] };
}

// ------------------------------------------------------------------------ Python regular expressions

/**
 * Ansible's regexp options are Python regular expressions; the native modules use JavaScript's.
 * The common syntax is the same; Python's named groups (`(?P<n>…)`, `(?P=n)`) and `\A`/`\Z` are
 * rewritten here. Anything else JavaScript cannot read fails as an invalid expression.
 */
export function pyRegExp(src: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (!inClass && n === 'A') out += '^';
      else if (!inClass && n === 'Z') out += '$';
      else out += c + (n ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') out += `\\${src[++i]}`;
      continue;
    }
    if (src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    const back = /^\(\?P=(\w+)\)/.exec(src.slice(i));
    if (back) {
      out += `\\k<${back[1]}>`;
      i += back[0].length - 1;
      continue;
    }
    out += c;
  }
  return new RegExp(out);
}

export function isPyRegExp(src: string): boolean {
  try {
    pyRegExp(src);
    return true;
  } catch {
    return false;
  }
}

/** Python's match.expand(template): \1, \g<1>, \g<name>, and \n-style escapes (lineinfile backrefs). */
export function expandBackrefs(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '\\' || i === template.length - 1) {
      out += c;
      continue;
    }
    const n = template[i + 1];
    const digits = /^\d\d?/.exec(template.slice(i + 1));
    const named = /^g<([^>]*)>/.exec(template.slice(i + 1));
    if (digits) {
      const g = Number(digits[0]);
      if (g >= m.length) throw new Error(`invalid group reference ${g}`);
      out += m[g] ?? '';
      i += digits[0].length;
    } else if (named) {
      const ref = named[1];
      const v = /^\d+$/.test(ref) ? (Number(ref) < m.length ? m[Number(ref)] : undefined) : m.groups && ref in m.groups ? m.groups[ref] : undefined;
      if (v === undefined && !(/^\d+$/.test(ref) ? Number(ref) < m.length : m.groups && ref in m.groups)) throw new Error(`unknown group name ${ref}`);
      out += v ?? '';
      i += named[0].length;
    } else if (n in SIMPLE && n !== "'" && n !== '"') {
      out += SIMPLE[n];
      i++;
    } else if (/[A-Za-z]/.test(n)) {
      throw new Error(`bad escape \\${n}`);
    } else {
      out += c + n;
      i++;
    }
  }
  return out;
}

// ------------------------------------------------------------------------ options every file-writing module shares

/** Ansible's file options (doc fragment `files`) that the native file writers do not implement. */
export const FILE_COMMON: Readonly<Record<string, AnsibleOption>> = {
  attributes: { aliases: ['attr'], unsupported: 'file attributes set with chattr' },
  selevel: { unsupported: 'SELinux contexts' },
  serole: { unsupported: 'SELinux contexts' },
  setype: { unsupported: 'SELinux contexts' },
  seuser: { unsupported: 'SELinux contexts' },
  unsafe_writes: { type: 'bool', to: null, only: [false], unsupported: 'non-atomic writes: Runwright always writes a temporary file and renames it' },
};

export const VALIDATE: AnsibleOption = { unsupported: 'checking the new file with a command before it replaces the old one' };

/** Ansible's module names for a builtin: `ansible.builtin.x` and `ansible.legacy.x`. */
export const builtin = (...names: string[]): string[] => names.flatMap((n) => [`ansible.builtin.${n}`, `ansible.legacy.${n}`]);
