/**
 * Jinja2 for plays, templates and group_vars written for Ansible: nunjucks (a Jinja2 port) with
 * Ansible's Python-side additions written here: the filters and tests plays rely on most, Python
 * literals (True/False/None), keyword arguments (`combine(b, recursive=True)`), and Ansible's
 * "a string that is one `{{ expr }}` keeps the value's type" (a list stays a list).
 * Runbooks (and inline plays inside them) speak CEL (dsl/expr.ts); play files speak Jinja2.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import nunjucks from 'nunjucks';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

export class JinjaError extends Error {
  name = 'JinjaError';
}

type Dict = Record<string, unknown>;
/** Python's == for the values templates compare (lists, dicts, scalars). */
const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const isDict = (v: unknown): v is Dict => !!v && typeof v === 'object' && !Array.isArray(v);
/** nunjucks passes keyword arguments as a last object marked __keywords. */
function splitKw(args: unknown[]): { pos: unknown[]; kw: Dict } {
  const last = args[args.length - 1];
  if (isDict(last) && (last as { __keywords?: boolean }).__keywords) {
    const { __keywords: _k, ...kw } = last as Dict;
    return { pos: args.slice(0, -1), kw };
  }
  return { pos: args, kw: {} };
}

/** Python's truthiness of strings as Ansible's `bool` filter reads them. */
function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1;
  if (typeof v === 'string') return ['yes', 'on', '1', 'true', 't', 'y'].includes(v.trim().toLowerCase());
  return false;
}

/** Python regex syntax that JS spells differently: named groups (?P<n>…) and backreferences \g<n>. */
const pyRegex = (re: string) => re.replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>');
const pyReplacement = (s: string) => s.replace(/\\g<(\d+)>/g, '$$$1').replace(/\\g<([A-Za-z_]\w*)>/g, '$$<$1>').replace(/\\(\d)/g, '$$$1');
function flags(kw: Dict): string {
  return `${kw.ignorecase ? 'i' : ''}${kw.multiline ? 'm' : ''}`;
}

function deepMerge(a: unknown, b: unknown, recursive: boolean, listMerge: string): unknown {
  if (!isDict(a) || !isDict(b)) {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (listMerge === 'append') return [...a, ...b];
      if (listMerge === 'prepend') return [...b, ...a];
      if (listMerge === 'append_rp') return [...a.filter((x) => !b.some((y) => same(y, x))), ...b];
      if (listMerge === 'keep') return a;
    }
    return b;
  }
  const out: Dict = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = recursive && k in out ? deepMerge(out[k], v, recursive, listMerge) : v;
  return out;
}

// ipaddr basics (ansible.utils.ipaddr): IPv4 address/prefix handling.
function parseCidr(v: string): { addr: number; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(v.trim());
  if (!m) return undefined;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix > 32) return undefined;
  return { addr: ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0, prefix };
}
const ipStr = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const maskOf = (p: number) => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0);
function ipaddr(v: unknown, query = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => ipaddr(x, query)).filter((x) => x !== false);
  if (typeof v !== 'string') return false;
  const c = parseCidr(v);
  if (!c) return false;
  const net = (c.addr & maskOf(c.prefix)) >>> 0;
  switch (query) {
    case '':
      return v;
    case 'address':
      return ipStr(c.addr);
    case 'network':
      return ipStr(net);
    case 'netmask':
      return ipStr(maskOf(c.prefix));
    case 'prefix':
      return c.prefix;
    case 'broadcast':
      return ipStr((net | (~maskOf(c.prefix) >>> 0)) >>> 0);
    case 'net':
      return c.prefix < 32 || v.includes('/') ? `${ipStr(net)}/${c.prefix}` : false;
    case 'host':
      return `${ipStr(c.addr)}/${c.prefix}`;
    case 'cidr':
    case 'subnet':
      return `${ipStr(net)}/${c.prefix}`;
    case 'private': {
      const a = c.addr >>> 24;
      const b = (c.addr >>> 16) & 255;
      return a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) ? v : false;
    }
    case 'public': {
      const a = c.addr >>> 24;
      const b = (c.addr >>> 16) & 255;
      return a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || a === 127 ? false : v;
    }
    default:
      throw new JinjaError(`ipaddr: query "${query}" is not supported natively (address, network, netmask, prefix, broadcast, net, host, cidr, subnet, private, public)`);
  }
}

/** Python's json.dumps: ", " and ": " separators, non-ASCII escaped (ensure_ascii), optional indent and sorted keys. */
export function pythonJson(v: unknown, indent?: number, sortKeys = false, level = 0): string {
  const esc = (x: string) => JSON.stringify(x).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const nl = indent === undefined ? '' : `\n${' '.repeat(indent * (level + 1))}`;
  const end = indent === undefined ? '' : `\n${' '.repeat(indent * level)}`;
  const sep = indent === undefined ? ', ' : ',';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return esc(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return v.length ? `[${nl}${v.map((x) => pythonJson(x, indent, sortKeys, level + 1)).join(`${sep}${nl}`)}${end}]` : '[]';
  const entries = Object.entries(v as Dict);
  if (sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? `{${nl}${entries.map(([k, x]) => `${esc(k)}: ${pythonJson(x, indent, sortKeys, level + 1)}`).join(`${sep}${nl}`)}${end}}` : '{}';
}

function sortedDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedDeep);
  if (isDict(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedDeep(v[k])]));
  return v;
}

/** Python's repr() of a str: single quotes unless the text has one and no double quote; escapes. */
function pyRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === q) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return q + out + q;
}

/** Python-style str() of a value, as Jinja2 prints it. */
function pyStr(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  const repr = (x: unknown): string =>
    typeof x === 'string' ? pyRepr(x) : Array.isArray(x) ? `[${x.map(repr).join(', ')}]` : isDict(x) ? `{${Object.entries(x).map(([k, y]) => `${repr(k)}: ${repr(y)}`).join(', ')}}` : pyStr(x);
  return repr(v);
}

function compareVersions(a: string, b: string): number {
  const pa = String(a).split(/[.-]/);
  const pb = String(b).split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const d = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

const attrOf = (o: unknown, path: string): unknown => path.split('.').reduce<unknown>((x, k) => dataKey(x, k), o);

/** A registered result's state, as Ansible's `is succeeded` and friends read it. */
const failed = (r: unknown) => isDict(r) && (r.failed === true || (typeof r.rc === 'number' && r.rc !== 0 && r.failed !== false));

/**
 * Jinja2 prints values the Python way ([1, 'a'], True, None); nunjucks the JS way (1,a / true).
 * Its compiled templates call runtime.suppressValue / ensureDefined at output time: wrap them
 * once so output reads as Ansible's does and only undefined (not None) is an error.
 */
function pythonOutput(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rt = require('nunjucks/src/runtime') as { suppressValue(v: unknown, ae: boolean): unknown; ensureDefined(v: unknown, l: number, c: number): unknown; SafeString: new (...a: unknown[]) => unknown; __rwPython?: boolean };
  if (rt.__rwPython) return;
  rt.__rwPython = true;
  const suppress = rt.suppressValue;
  const ensure = rt.ensureDefined;
  // None prints as '' in text (`x{{ none }}` is "x" under Ansible); inside a list it is None.
  rt.suppressValue = (v, ae) => suppress(typeof v === 'string' || typeof v === 'number' || v instanceof rt.SafeString || v === undefined || v === null ? v : pyStr(v), ae);
  rt.ensureDefined = (v, l, c) => (v === undefined ? ensure(v, l, c) : v);
  sandbox();
  jinjaParsing();
}

/**
 * nunjucks runs templates as JavaScript with no sandbox: `{{ x.constructor.constructor("…")() }}`
 * (or `range.constructor`, or a bare `{{ constructor }}` resolved through Object.prototype) runs
 * any code in the worker, which holds other runs' credentials. A play or role, even one nobody
 * here wrote, must not get that far. As Jinja2's own sandbox refuses `_` names, templates here may
 * not read JS internals (`constructor`, `prototype`, `__proto__`, any `__` name) except as a data
 * key of a plain mapping, and names resolve to own properties only (variables, globals, filters,
 * tests: never something inherited from Object.prototype).
 */
function sandbox(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const rt = require('nunjucks/src/runtime') as {
    memberLookup(obj: unknown, val: unknown, ...rest: unknown[]): unknown;
    contextOrFrameLookup(context: unknown, frame: unknown, name: string): unknown;
    Frame: { prototype: any };
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const member = rt.memberLookup;
  rt.memberLookup = function (this: unknown, obj: unknown, val: unknown, ...rest: unknown[]) {
    if (internalName(val) && !(isPlainData(obj) && hasOwn(obj, val as string))) {
      throw new JinjaError(`Jinja2: access to ${JSON.stringify(val)} is not allowed in templates (a JavaScript internal; Runwright's templates are sandboxed)`);
    }
    if (typeof val === 'string' && !rest.length) {
      const py = pythonMethod(obj, val);
      if (py) return py;
    }
    return member.call(this, obj, val, ...rest);
  };
  // Frame.lookup is used both when compiling (a frame variable) and when running.
  rt.Frame.prototype.lookup = function (this: { variables: Dict; parent?: { lookup(n: string): unknown } }, name: string): unknown {
    const v = hasOwn(this.variables, name) ? this.variables[name] : undefined;
    return v !== undefined ? v : this.parent?.lookup(name);
  };
  rt.contextOrFrameLookup = (context: any, frame: any, name: string) => {
    const v = frame.lookup(name);
    if (v !== undefined) return v;
    if (hasOwn(context.ctx, name)) return context.ctx[name];
    return hasOwn(context.env.globals, name) ? context.env.globals[name] : undefined;
  };
}

/** Python's str.split / rsplit: no separator splits on runs of whitespace and drops empty ends. */
function pySplit(s: string, args: unknown[], fromRight: boolean): string[] {
  const { pos, kw } = splitKw(args);
  const sep = (kw.sep ?? pos[0] ?? null) as string | null;
  const max = Number(kw.maxsplit ?? pos[1] ?? -1);
  if (sep === '') throw new JinjaError('split: empty separator');
  let parts = sep === null ? s.split(/\s+/).filter((x, i, a) => x !== '' || (i > 0 && i < a.length - 1)) : s.split(sep);
  if (sep === null && s.trim() === '') parts = [];
  if (max < 0 || parts.length <= max + 1) return parts;
  const glue = sep ?? ' ';
  return fromRight ? [parts.slice(0, parts.length - max).join(glue), ...parts.slice(parts.length - max)] : [...parts.slice(0, max), parts.slice(max).join(glue)];
}

function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? undefined : new Set([...String(chars)]);
  const drop = (c: string) => (set ? set.has(c) : /\s/.test(c));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && drop(s[a])) a++;
  if (right) while (b > a && drop(s[b - 1])) b--;
  return s.slice(a, b);
}


/**
 * The methods of Python's str, dict and list that templates written for Ansible call
 * (`line.split()`, `name.startswith('web')`, `d.items()`), with Python's meaning where JavaScript
 * has a method of the same name that differs (split, replace, index, count).
 */
const PY_STR: Record<string, (s: string, ...a: any[]) => unknown> = {
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  capitalize: (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  title: (s) => s.toLowerCase().replace(/(^|[^\p{L}])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  strip: (s, c) => pyStrip(s, c, true, true),
  lstrip: (s, c) => pyStrip(s, c, true, false),
  rstrip: (s, c) => pyStrip(s, c, false, true),
  startswith: (s, p) => (Array.isArray(p) ? p : [p]).some((x) => s.startsWith(String(x))),
  endswith: (s, p) => (Array.isArray(p) ? p : [p]).some((x) => s.endsWith(String(x))),
  split: (s, ...a) => pySplit(s, a, false),
  rsplit: (s, ...a) => pySplit(s, a, true),
  splitlines: (s) => s.split(/\r\n|\r|\n/).filter((x, i, a) => i < a.length - 1 || x !== ''),
  replace: (s, from, to, count = -1) => {
    const parts = s.split(String(from));
    const n = Number(count) < 0 ? parts.length - 1 : Math.min(Number(count), parts.length - 1);
    return parts.slice(0, n + 1).join(String(to)) + (n < parts.length - 1 ? String(from) + parts.slice(n + 1).join(String(from)) : '');
  },
  join: (s, items) => (Array.isArray(items) ? items : isDict(items) ? Object.keys(items) : [...String(items ?? '')]).map((x) => (typeof x === 'string' ? x : pyStr(x))).join(s),
  find: (s, sub) => s.indexOf(String(sub)),
  rfind: (s, sub) => s.lastIndexOf(String(sub)),
  index: (s, sub) => {
    const i = s.indexOf(String(sub));
    if (i < 0) throw new JinjaError('index: substring not found');
    return i;
  },
  count: (s, sub) => (String(sub) === '' ? [...s].length + 1 : s.split(String(sub)).length - 1),
  isdigit: (s) => /^\d+$/u.test(s),
  isalpha: (s) => /^\p{L}+$/u.test(s),
  isalnum: (s) => /^[\p{L}\p{N}]+$/u.test(s),
  isspace: (s) => /^\s+$/.test(s),
  islower: (s) => /\p{Ll}/u.test(s) && s === s.toLowerCase(),
  isupper: (s) => /\p{Lu}/u.test(s) && s === s.toUpperCase(),
  zfill: (s, w) => (s.startsWith('-') || s.startsWith('+') ? s[0] + s.slice(1).padStart(Number(w) - 1, '0') : s.padStart(Number(w), '0')),
};
const PY_DICT: Record<string, (d: Dict, ...a: any[]) => unknown> = {
  items: (d) => Object.entries(d),
  keys: (d) => Object.keys(d),
  values: (d) => Object.values(d),
  get: (d, k, dflt = null) => (hasOwn(d, String(k)) ? d[String(k)] : dflt),
};
const PY_LIST: Record<string, (l: unknown[], ...a: any[]) => unknown> = {
  index: (l, x) => {
    const i = l.findIndex((y) => same(x, y));
    if (i < 0) throw new JinjaError(`index: ${pyStr(x)} is not in list`);
    return i;
  },
  count: (l, x) => l.filter((y) => same(x, y)).length,
  // Mutating, as in Python (`{% set _ = acc.append(x) %}` is a common Ansible idiom); returns None.
  append: (l, x) => (l.push(x), null),
  extend: (l, xs) => (l.push(...(Array.isArray(xs) ? xs : [])), null),
};

/** A Python method of a str, a dict (unless it has a key of that name) or a list, bound to it. */
function pythonMethod(obj: unknown, name: string): ((...a: unknown[]) => unknown) | undefined {
  const table: Record<string, (o: any, ...a: any[]) => unknown> | undefined = typeof obj === 'string' ? PY_STR : Array.isArray(obj) ? PY_LIST : isDict(obj) && isPlainData(obj) && !hasOwn(obj, name) ? PY_DICT : undefined;
  const f = table && hasOwn(table, name) ? table[name] : undefined;
  return f && ((...a: unknown[]) => f(obj, ...a));
}

const hasOwn = (o: unknown, k: string): boolean => o !== null && o !== undefined && Object.prototype.hasOwnProperty.call(o, k);
const INTERNAL = new Set(['constructor', 'prototype', 'caller', 'callee', 'arguments']);
const internalName = (k: unknown): boolean => typeof k === 'string' && (INTERNAL.has(k) || k.startsWith('__'));
/** A mapping or list built from data (YAML, JSON, a registered result), not a class instance or function. */
const isPlainData = (o: unknown): boolean => Array.isArray(o) || (isDict(o) && [Object.prototype, null].includes(Object.getPrototypeOf(o)));
/** A data key of a mapping (or index of a list): own properties only, never something inherited. */
const dataKey = (o: unknown, k: string): unknown => (isPlainData(o) && hasOwn(o, k) ? (o as Dict)[k] : undefined);

/**
 * Two places where nunjucks parses differently from Jinja2, fixed on its prototypes once:
 *  - string literals: Python keeps unknown escapes ('\s+' is a regex's \s), nunjucks drops the
 *    backslash, which breaks every regex_replace written for Ansible;
 *  - tests with several arguments (`is version('1.9', '>')`): nunjucks emits them without commas.
 */
/** Task values (true) or template files (false): see _parseString below. Rendering is synchronous, so a flag is safe. */
let rawStrings = false;

function jinjaParsing(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const lexer = require('nunjucks/src/lexer') as { lex(src: string): object };
  const { Compiler } = require('nunjucks/src/compiler') as { Compiler: { prototype: any } };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const Tok = Object.getPrototypeOf(lexer.lex('')) as any;
  Tok._parseString = function (this: any, delimiter: string): string {
    this.forward();
    let str = '';
    while (!this.isFinished() && this.current() !== delimiter) {
      const cur = this.current();
      if (cur === '\\' && rawStrings) {
        // Ansible doubles backslashes inside {{ }} of task values before Jinja sees them: a
        // string literal there keeps every backslash ('\d+' is the regex \d+, "\n" two characters).
        str += cur;
        this.forward();
      } else if (cur === '\\') {
        this.forward();
        const n = this.current();
        const hex = n === 'x' ? 2 : n === 'u' ? 4 : 0;
        const digits = hex ? Array.from({ length: hex }, (_, i) => this.str[this.index + 1 + i] ?? '').join('') : '';
        if (hex && /^[0-9a-fA-F]+$/.test(digits) && digits.length === hex) {
          // Python's \xNN and \uNNNN (what repr() writes for control characters).
          str += String.fromCharCode(parseInt(digits, 16));
          for (let i = 0; i < hex; i++) this.forward();
        } else str += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '\\' || n === "'" || n === '"' ? n : `\\${n}`;
        this.forward();
      } else {
        str += cur;
        this.forward();
      }
    }
    this.forward();
    return str;
  };
  Compiler.prototype.compileIs = function (this: any, node: any, frame: unknown): void {
    const right = node.right.name ? node.right.name.value : node.right.value;
    this._emit(`env.getTest(${JSON.stringify(right)}).call(context, `);
    this.compile(node.left, frame);
    if (node.right.args) {
      this._emit(',');
      this._compileAggregate(node.right.args, frame);
    }
    this._emit(') === true');
  };
}

const MAX_RANGE = 100_000;

function makeEnv(): nunjucks.Environment {
  pythonOutput();
  // trim_blocks as Ansible sets it: the newline after a block tag is dropped.
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: true });
  // Filters and tests by own name only (`x | constructor` must not find Object.prototype's).
  const own = env as unknown as { filters: Dict; tests: Dict; getFilter(n: string): unknown; getTest(n: string): unknown };
  own.getFilter = (n) => {
    if (!hasOwn(own.filters, n)) throw new Error(`filter not found: ${n}`);
    return own.filters[n];
  };
  own.getTest = (n) => {
    if (!hasOwn(own.tests, n)) throw new Error(`test not found: ${n}`);
    return own.tests[n];
  };
  env.addGlobal('True', true).addGlobal('False', false).addGlobal('None', null);
  env.addGlobal('range', (a: number, b?: number, step = 1) => {
    const [from, to] = b === undefined ? [0, a] : [a, b];
    if (!step) throw new JinjaError('range: step must not be zero');
    // Jinja2's sandbox limit (MAX_RANGE): one template must not exhaust the worker's memory.
    if (Math.ceil((to - from) / step) > MAX_RANGE) throw new JinjaError(`range: more than ${MAX_RANGE} items`);
    const out: number[] = [];
    for (let i = from; step > 0 ? i < to : i > to; i += step) out.push(i);
    return out;
  });
  env.addGlobal('lookup', () => {
    throw new JinjaError('lookup() is not supported natively (it runs on the controller in Ansible); pass the value as a var, or use ansible.playbook');
  });
  const F: Record<string, (...a: any[]) => unknown> = {
    d: (v: unknown, dflt: unknown = '', bool = false) => (v === undefined || (bool && !v) ? dflt : v),
    default: (v: unknown, dflt: unknown = '', bool = false) => (v === undefined || (bool && !v) ? dflt : v),
    mandatory: (v: unknown, msg?: string) => {
      if (v === undefined) throw new JinjaError(msg ?? 'a mandatory variable is not defined');
      return v;
    },
    bool: toBool,
    int: (v: unknown, dflt = 0) => {
      const n = typeof v === 'boolean' ? Number(v) : parseInt(String(v), 10);
      return Number.isNaN(n) ? dflt : n;
    },
    float: (v: unknown, dflt = 0) => {
      const n = parseFloat(String(v));
      return Number.isNaN(n) ? dflt : n;
    },
    string: (v: unknown) => pyStr(v),
    to_json: (v: unknown) => pythonJson(v),
    // Ansible: json.dumps(indent=4, sort_keys=True, separators=(',', ': ')).
    to_nice_json: (v: unknown, ...rest: unknown[]) => pythonJson(v, Number(splitKw(rest).kw.indent ?? 4), true),
    from_json: (v: string) => {
      try {
        return JSON.parse(v);
      } catch (e) {
        throw new JinjaError(`from_json: ${(e as Error).message}`);
      }
    },
    to_yaml: (v: unknown) => toYaml(v, { lineWidth: 0 }).replace(/\n$/, ''),
    // Ansible: yaml.dump(indent=4, default_flow_style=False), keys sorted as PyYAML does.
    to_nice_yaml: (v: unknown, ...rest: unknown[]) => toYaml(sortedDeep(v), { indent: Number(splitKw(rest).kw.indent ?? 4), lineWidth: 0 }),
    from_yaml: (v: string) => parseYaml(v),
    regex_replace: (v: unknown, re: string, rep = '', ...rest: unknown[]) => String(v ?? '').replace(new RegExp(pyRegex(re), `g${flags(splitKw(rest).kw)}`), pyReplacement(rep)),
    regex_search: (v: unknown, re: string, ...rest: unknown[]) => {
      const { pos, kw } = splitKw(rest);
      const m = new RegExp(pyRegex(re), flags(kw)).exec(String(v ?? ''));
      if (!m) return null;
      if (!pos.length) return m[0];
      return pos.map((g) => (typeof g === 'string' && g.startsWith('\\g<') ? m.groups?.[g.slice(3, -1)] : m[Number(String(g).replace(/^\\/, ''))]));
    },
    regex_findall: (v: unknown, re: string, ...rest: unknown[]) => [...String(v ?? '').matchAll(new RegExp(pyRegex(re), `g${flags(splitKw(rest).kw)}`))].map((m) => (m.length > 2 ? m.slice(1) : (m[1] ?? m[0]))),
    regex_escape: (v: string) => String(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    quote: (v: unknown) => `'${String(v ?? '').replace(/'/g, `'"'"'`)}'`,
    combine: (...args: unknown[]) => {
      const { pos, kw } = splitKw(args);
      const dicts = pos.flatMap((x) => (Array.isArray(x) ? x : [x]));
      return dicts.reduce((acc, x) => deepMerge(acc, x, toBool(kw.recursive ?? false), String(kw.list_merge ?? 'replace')), {});
    },
    dict2items: (v: Dict, ...rest: unknown[]) => {
      const { kw } = splitKw(rest);
      const k = String(kw.key_name ?? 'key');
      const val = String(kw.value_name ?? 'value');
      return Object.entries(v ?? {}).map(([a, b]) => ({ [k]: a, [val]: b }));
    },
    items2dict: (v: Dict[], ...rest: unknown[]) => {
      const { kw } = splitKw(rest);
      const k = String(kw.key_name ?? 'key');
      const val = String(kw.value_name ?? 'value');
      return Object.fromEntries((v ?? []).map((x) => [dataKey(x, k), dataKey(x, val)]));
    },
    map: (v: unknown[], ...args: unknown[]) => {
      const { pos, kw } = splitKw(args);
      const list = Array.isArray(v) ? v : isDict(v) ? Object.keys(v) : [];
      if (pos[0] === 'attribute' || kw.attribute !== undefined) {
        const a = String(kw.attribute ?? pos[1]);
        return list.map((x) => attrOf(x, a) ?? kw.default);
      }
      const name = String(pos[0]);
      const f = env.getFilter(name) as (...a: unknown[]) => unknown;
      return list.map((x) => f(x, ...pos.slice(1)));
    },
    selectattr: (v: unknown[], attr: string, test?: string, ...arg: unknown[]) => (v ?? []).filter((x) => runTest(env, test ?? 'truthy', attrOf(x, attr), arg)),
    rejectattr: (v: unknown[], attr: string, test?: string, ...arg: unknown[]) => (v ?? []).filter((x) => !runTest(env, test ?? 'truthy', attrOf(x, attr), arg)),
    select: (v: unknown[], test?: string, ...arg: unknown[]) => (v ?? []).filter((x) => runTest(env, test ?? 'truthy', x, arg)),
    reject: (v: unknown[], test?: string, ...arg: unknown[]) => (v ?? []).filter((x) => !runTest(env, test ?? 'truthy', x, arg)),
    unique: (v: unknown[]) => (v ?? []).filter((x, i, a) => a.findIndex((y) => same(y, x)) === i),
    union: (a: unknown[], b: unknown[]) => F.unique([...(a ?? []), ...(b ?? [])]),
    intersect: (a: unknown[], b: unknown[]) => F.unique((a ?? []).filter((x) => (b ?? []).some((y) => same(y, x)))),
    difference: (a: unknown[], b: unknown[]) => F.unique((a ?? []).filter((x) => !(b ?? []).some((y) => same(y, x)))),
    symmetric_difference: (a: unknown[], b: unknown[]) => [...(F.difference(a, b) as unknown[]), ...(F.difference(b, a) as unknown[])],
    flatten: (v: unknown[], levels?: number) => (v ?? []).flat(levels === undefined ? Infinity : levels),
    zip: (a: unknown[], ...rest: unknown[][]) => (a ?? []).map((x, i) => [x, ...rest.map((r) => r?.[i])]),
    ternary: (v: unknown, yes: unknown, no: unknown, none?: unknown) => (v === null && none !== undefined ? none : v ? yes : no),
    basename: (v: string) => posix.basename(String(v)),
    dirname: (v: string) => posix.dirname(String(v)),
    b64encode: (v: string) => Buffer.from(String(v), 'utf8').toString('base64'),
    b64decode: (v: string) => Buffer.from(String(v), 'base64').toString('utf8'),
    hash: (v: string, alg = 'sha1') => createHash(alg).update(String(v)).digest('hex'),
    checksum: (v: string) => createHash('sha1').update(String(v)).digest('hex'),
    min: (v: number[]) => Math.min(...(v ?? [])),
    max: (v: number[]) => Math.max(...(v ?? [])),
    type_debug: (v: unknown) => (v === null ? 'NoneType' : Array.isArray(v) ? 'list' : isDict(v) ? 'dict' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : Number.isInteger(v) ? 'int' : 'float'),
    ipaddr,
    ipv4: (v: unknown, q = '') => ipaddr(v, q),
    split: (v: string, sep?: string) => (sep === undefined ? String(v).trim().split(/\s+/) : String(v).split(sep)),
    items: (v: Dict) => Object.entries(v ?? {}),
  };
  for (const [name, f] of Object.entries(F)) env.addFilter(name, f);

  const T: Record<string, (v: unknown, ...a: any[]) => boolean> = {
    none: (v) => v === null,
    boolean: (v) => typeof v === 'boolean',
    mapping: (v) => isDict(v),
    sequence: (v) => Array.isArray(v) || typeof v === 'string',
    iterable: (v) => Array.isArray(v) || typeof v === 'string' || isDict(v),
    succeeded: (r) => !failed(r),
    success: (r) => !failed(r),
    failed: (r) => failed(r),
    failure: (r) => failed(r),
    changed: (r) => isDict(r) && r.changed === true,
    change: (r) => isDict(r) && r.changed === true,
    skipped: (r) => isDict(r) && r.skipped === true,
    skip: (r) => isDict(r) && r.skipped === true,
    match: (v, re: string, ...rest) => new RegExp(`^(?:${pyRegex(re)})`, flags(splitKw(rest).kw)).test(String(v ?? '')),
    search: (v, re: string, ...rest) => new RegExp(pyRegex(re), flags(splitKw(rest).kw)).test(String(v ?? '')),
    regex: (v, re: string, ...rest) => new RegExp(pyRegex(re), flags(splitKw(rest).kw)).test(String(v ?? '')),
    in: (v, list: unknown) => (Array.isArray(list) ? list.some((x) => same(x, v)) : typeof list === 'string' ? list.includes(String(v)) : isDict(list) ? String(v) in list : false),
    contains: (list, v) => (Array.isArray(list) ? list.some((x) => same(x, v)) : typeof list === 'string' ? list.includes(String(v)) : false),
    subset: (a, b: unknown[]) => Array.isArray(a) && a.every((x) => b.includes(x)),
    superset: (a, b: unknown[]) => Array.isArray(a) && b.every((x) => a.includes(x)),
    version: (v, other: string, op = 'eq') => {
      const c = compareVersions(String(v), String(other));
      const ops: Record<string, boolean> = { eq: c === 0, '==': c === 0, ne: c !== 0, '!=': c !== 0, lt: c < 0, '<': c < 0, le: c <= 0, '<=': c <= 0, gt: c > 0, '>': c > 0, ge: c >= 0, '>=': c >= 0 };
      if (!(op in ops)) throw new JinjaError(`version: unknown operator "${op}"`);
      return ops[op];
    },
    ip: (v) => typeof v === 'string' && parseCidr(v) !== undefined,
    ipaddr: (v) => typeof v === 'string' && parseCidr(v) !== undefined,
  };
  for (const [name, t] of Object.entries(T)) (env as unknown as { addTest(n: string, f: unknown): void }).addTest(name, t);
  return env;
}

function runTest(env: nunjucks.Environment, name: string, v: unknown, args: unknown[]): boolean {
  const aliases: Record<string, string> = { '==': 'equalto', eq: 'equalto', '!=': 'ne', '>': 'gt', '<': 'lt', '>=': 'ge', '<=': 'le' };
  const t = (env as unknown as { getTest(n: string): ((v: unknown, ...a: unknown[]) => boolean) | undefined }).getTest(aliases[name] ?? name);
  if (!t) throw new JinjaError(`no test named "${name}"`);
  return !!t(v, ...args);
}

let shared: nunjucks.Environment | undefined;
const environment = () => (shared ??= makeEnv());

/** nunjucks' errors carry its template machinery in the message; keep the reason. */
function reason(e: unknown): string {
  const m = String((e as Error)?.message ?? e);
  const last = m.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? m;
  if (/attempted to output null or undefined value/.test(last)) return 'a variable is undefined; define it or use `| default(...)`';
  return last.replace(/^\(unknown path\)\s*/, '').replace(/^(Error|JinjaError):\s*/, '').replace(/^Jinja2:\s*/, '');
}

/**
 * Jinja2 balances braces inside a tag (`{{ {'a': {'b': 1}} }}`); nunjucks ends the tag at the
 * first `}}`. Inside `{{ }}` and `{% %}`, a `}` that closes an inner brace gets a space after it.
 */
export function balanceBraces(src: string): string {
  if (!src.includes('}}') || src.includes('{% raw') || src.includes('{%- raw')) return src;
  let out = '';
  let i = 0;
  while (i < src.length) {
    const m = /\{\{|\{%/.exec(src.slice(i));
    if (!m) {
      out += src.slice(i);
      break;
    }
    const start = i + m.index;
    const close = m[0] === '{{' ? '}}' : '%}';
    out += src.slice(i, start + 2);
    i = start + 2;
    let depth = 0;
    let quote: string | null = null;
    while (i < src.length) {
      const c = src[i];
      if (quote) {
        out += c;
        if (c === '\\' && i + 1 < src.length) {
          out += src[i + 1];
          i += 2;
          continue;
        }
        if (c === quote) quote = null;
        i++;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '{') depth++;
      else if (depth === 0 && src.startsWith(close, i)) {
        out += close;
        i += 2;
        break;
      } else if (c === '}' && depth > 0) {
        depth--;
        out += '} ';
        i++;
        continue;
      }
      out += c;
      i++;
    }
  }
  return out;
}

/** Render Jinja2 text (a template file, a task argument) to a string. */
export function renderJinjaString(text: string, scope: Dict): string {
  if (LOOP_FILTER.test(text)) throw new JinjaError(`Jinja2: ${LOOP_FILTER_MSG}`);
  try {
    return environment().renderString(balanceBraces(text), scope);
  } catch (e) {
    if (e instanceof JinjaError) throw e;
    throw new JinjaError(`Jinja2: ${reason(e)} in ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}`);
  }
}

function withRawStrings<T>(f: () => T): T {
  return withStringMode(true, f);
}

function withStringMode<T>(raw: boolean, f: () => T): T {
  const before = rawStrings;
  rawStrings = raw;
  try {
    return f();
  } finally {
    rawStrings = before;
  }
}

/** The value of one Jinja2 expression (`when:`, `loop:`, the inside of `{{ }}` of a task value), with its type. */
export function evaluateJinja(expr: string, scope: Dict): unknown {
  return withRawStrings(() => evaluateRaw(expr, scope));
}

function evaluateRaw(expr: string, scope: Dict): unknown {
  const box: { v?: unknown } = {};
  try {
    environment().renderString(balanceBraces(`{{ __rw_capture((${expr})) }}`), { ...scope, __rw_capture: (v: unknown) => ((box.v = v), '') });
  } catch (e) {
    if (e instanceof JinjaError) throw e;
    throw new JinjaError(`Jinja2: ${reason(e)} in ${JSON.stringify(expr)}`);
  }
  if (box.v === undefined) throw new JinjaError(`Jinja2: ${JSON.stringify(expr.trim())} is undefined; define it or use \`| default(...)\``);
  return box.v;
}

/** The expression when `s` is exactly one `{{ expr }}` tag (braces inside balanced), else undefined. */
function singleExpression(s: string): string | undefined {
  // Text around the tag (a YAML block's final newline, spaces) makes it a string, as in Ansible.
  const t = s;
  if (!t.startsWith('{{') || !t.endsWith('}}')) return undefined;
  const b = balanceBraces(t);
  const end = b.indexOf('}}', 2);
  // The first tag must end where the string ends (its inner `}}` were spaced out by balanceBraces).
  let i = 2;
  let quote: string | null = null;
  for (; i < b.length; i++) {
    const c = b[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (b.startsWith('}}', i)) break;
  }
  return end >= 0 && i === b.length - 2 ? b.slice(2, i) : undefined;
}

/** nunjucks ignores Jinja2's loop filter (`for x in y if cond`) silently: refuse it instead. */
const LOOP_FILTER = /\{%-?\s*for\s[^%]*?\sin\s[^%]*?\sif\s/;
const LOOP_FILTER_MSG = 'loop filtering (`{% for x in y if cond %}`) is not supported; filter the list first (`y | selectattr(...)`) or put an `{% if %}` inside the loop';

/**
 * Ansible's rendering of a value: strings are templates; a string that is exactly one
 * `{{ expr }}` keeps the expression's type; lists and mappings are rendered inside.
 */
export function renderJinja(value: unknown, scope: Dict): unknown {
  if (typeof value === 'string') {
    if (!value.includes('{{') && !value.includes('{%')) return value;
    const single = singleExpression(value);
    if (single !== undefined && !single.includes('{{')) return evaluateJinja(single, scope);
    const text = withRawStrings(() => renderJinjaString(value, scope));
    const literal = pythonLiteral(text);
    return literal ? literal.value : text;
  }
  if (Array.isArray(value)) return value.map((v) => renderJinja(v, scope));
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderJinja(v, scope)]));
  return value;
}

/** `[1, 2, ]` → `[1, 2]` outside string literals: Python allows a trailing comma, nunjucks does not. */
function dropTrailingCommas(text: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    if (c === ',' && /^\s*[\]}]/.test(text.slice(i + 1))) continue;
    out += c;
  }
  return out;
}

const LITERAL_NODES = new Set(['Root', 'Output', 'Array', 'Dict', 'Pair', 'Literal']);

/**
 * Ansible's last step when a template mixes text and placeholders: a result that reads as a
 * Python list, dict or bool literal becomes that value (`[{% for … %}'{{ x }}', {% endfor %}]` is a
 * list; `[section]` stays text). Only literals: numbers, strings, True/False/None, lists, dicts.
 */
function pythonLiteral(text: string): { value: unknown } | undefined {
  if (text === 'True' || text === 'False') return { value: text === 'True' };
  if (!text.startsWith('[') && !text.startsWith('{')) return undefined;
  text = dropTrailingCommas(text);
  let root: any;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    root = withStringMode(false, () => (require('nunjucks/src/parser') as { parse(src: string): unknown }).parse(balanceBraces(`{{ ${text} }}`)));
  } catch {
    return undefined;
  }
  const ok = (n: any): boolean => {
    if (!n || typeof n !== 'object') return true;
    if (n.typename === 'Symbol') return ['True', 'False', 'None'].includes(n.value);
    if (n.typename === 'Neg' || n.typename === 'Pos') return n.target?.typename === 'Literal' && typeof n.target.value === 'number';
    if (n.typename === 'Group') return n.children.length === 1 && ok(n.children[0]);
    if (!LITERAL_NODES.has(n.typename)) return false;
    return (n.fields as string[]).every((f) => (Array.isArray(n[f]) ? n[f].every(ok) : typeof n[f] !== 'object' || n[f] === null || ok(n[f])));
  };
  if (root?.children?.length !== 1 || root.children[0].children?.length !== 1 || !ok(root)) return undefined;
  try {
    return { value: withStringMode(false, () => evaluateRaw(text, {})) };
  } catch {
    return undefined;
  }
}

/** Python-style text of a value (what `{{ x }}` prints for lists, dicts, booleans). */
export { pyStr };

/** A Jinja2 syntax error in text (template) or a bare expression, else undefined. */
export function jinjaSyntaxProblem(source: string, kind: 'text' | 'expression'): string | undefined {
  const src = kind === 'expression' ? `{{ (${source}) }}` : source;
  if (LOOP_FILTER.test(src)) return `Jinja2: ${LOOP_FILTER_MSG}`;
  try {
    // eagerCompile: parse now, so a play file's mistake is found before any host is touched
    // (task values: string literals keep their backslashes, as under Ansible).
    withRawStrings(() => new nunjucks.Template(balanceBraces(src), environment(), undefined, true));
    return undefined;
  } catch (e) {
    return `Jinja2 syntax: ${reason(e)}`;
  }
}
