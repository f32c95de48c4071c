/**
 * Ansible inventories, unchanged: INI or YAML sources (a file or a folder of them), host and
 * group vars inline and in group_vars/ and host_vars/ folders, host patterns and --limit.
 * Everything here runs inside activities (it reads files); errors are InventoryErrors with
 * file:line:column.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { LineCounter, parseDocument } from 'yaml';
import { playReadable, WorkerFileError } from '../worker-files';
import { parseIniInventory } from './ini';
import { parseYamlInventory } from './yaml';
import { emptyInventory, InventoryError, type Group, type Inventory, type Vars } from './types';

export { InventoryError, type Inventory, type Group, type Host, type Vars } from './types';
export { parseIniInventory, shlexSplit, parseIniValue } from './ini';
export { parseYamlInventory } from './yaml';

const YAML_EXT = new Set(['.yml', '.yaml', '.json']);
const SKIP_IN_DIR = /(^\.|~$|\.(md|txt|retry|orig|bak|swp|cfg)$)/;

function looksLikeYaml(text: string): boolean {
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#') || l.startsWith(';')) continue;
    return l === '---' || /^[^[\s=]+:\s*(#.*)?$/.test(l) || l.startsWith('{');
  }
  return false;
}

function loadSource(inv: Inventory, file: string): void {
  let text: string;
  try {
    // A run param names the inventory: never one of the worker's secrets (worker-files.ts).
    playReadable(file, 'inventory');
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    if (e instanceof WorkerFileError) throw new InventoryError(file, 1, 1, e.message);
    throw new InventoryError(file, 1, 1, `cannot read inventory (${e.code ?? e.message})`);
  }
  inv.sources.push(file);
  if (YAML_EXT.has(extname(file)) || (extname(file) !== '.ini' && looksLikeYaml(text))) parseYamlInventory(inv, file, text);
  else parseIniInventory(inv, file, text);
}

/** YAML (or JSON) variable files: group_vars/<name>[.yml|.yaml|.json] or a folder of them. */
function readVarsFile(file: string): Vars {
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const p = lc.linePos(doc.errors[0].pos[0]);
    throw new InventoryError(file, p.line, p.col, `YAML: ${doc.errors[0].message.split('\n')[0]}`);
  }
  const v = doc.toJS({ maxAliasCount: 100 });
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InventoryError(file, 1, 1, 'expected a mapping of variable names to values');
  return v as Vars;
}

function varsFor(dir: string, name: string): Vars {
  const out: Vars = {};
  for (const cand of [name, `${name}.yml`, `${name}.yaml`, `${name}.json`]) {
    const p = join(dir, cand);
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        if (SKIP_IN_DIR.test(f)) continue;
        const fp = join(p, f);
        if (statSync(fp).isFile() && (YAML_EXT.has(extname(f)) || !extname(f))) Object.assign(out, readVarsFile(fp));
      }
    } else Object.assign(out, readVarsFile(p));
  }
  return out;
}

export interface LoadOptions {
  /** Resolve relative paths against this folder (default: the process's working directory). */
  cwd?: string;
}

/** Load one or more inventory sources (files or folders), then their group_vars/host_vars. */
export function loadInventory(sources: string | readonly string[], opts: LoadOptions = {}): Inventory {
  const inv = emptyInventory();
  const varDirs: string[] = [];
  for (const src of ([] as string[]).concat(sources)) {
    const p = resolve(opts.cwd ?? process.cwd(), src.replace(/^~(?=\/|$)/, homedir()));
    if (!existsSync(p)) throw new InventoryError(src, 1, 1, 'inventory not found');
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        const fp = join(p, f);
        if (SKIP_IN_DIR.test(f) || f === 'group_vars' || f === 'host_vars' || !statSync(fp).isFile()) continue;
        loadSource(inv, fp);
      }
      varDirs.push(p);
    } else {
      loadSource(inv, p);
      varDirs.push(dirname(p));
    }
  }
  checkCycles(inv);
  for (const d of [...new Set(varDirs)]) {
    const gv = join(d, 'group_vars');
    const hv = join(d, 'host_vars');
    if (existsSync(gv)) for (const g of inv.groups.values()) Object.assign(g.fileVars, varsFor(gv, g.name));
    if (existsSync(hv)) for (const h of inv.hosts.values()) Object.assign(h.fileVars, varsFor(hv, h.name));
  }
  return inv;
}

function checkCycles(inv: Inventory): void {
  const state = new Map<string, 1 | 2>();
  const visit = (g: string, path: string[]): void => {
    if (state.get(g) === 2) return;
    if (state.get(g) === 1) throw new InventoryError(inv.sources[0] ?? 'inventory', 1, 1, `group cycle: ${[...path, g].join(' -> ')}`);
    state.set(g, 1);
    for (const c of inv.groups.get(g)?.children ?? []) visit(c, [...path, g]);
    state.set(g, 2);
  };
  for (const g of inv.groups.keys()) visit(g, []);
}

/** Hosts of a group, through its children, in inventory order. */
export function groupHosts(inv: Inventory, name: string): string[] {
  if (name === 'all') return [...inv.hosts.values()].sort((a, b) => a.order - b.order).map((h) => h.name);
  if (name === 'ungrouped') {
    const grouped = new Set<string>();
    for (const g of inv.groups.values()) if (g.name !== 'all' && g.name !== 'ungrouped') for (const h of g.hosts) grouped.add(h);
    return [...inv.hosts.values()].filter((h) => !grouped.has(h.name)).sort((a, b) => a.order - b.order).map((h) => h.name);
  }
  const seen = new Set<string>();
  const out = new Set<string>();
  const walk = (g: string): void => {
    if (seen.has(g)) return;
    seen.add(g);
    const grp = inv.groups.get(g);
    if (!grp) return;
    for (const h of grp.hosts) out.add(h);
    for (const c of grp.children) walk(c);
  };
  walk(name);
  return [...out].sort((a, b) => inv.hosts.get(a)!.order - inv.hosts.get(b)!.order);
}

/** Every group a host belongs to (directly or through parents), `all` included. */
export function hostGroups(inv: Inventory, host: string): Group[] {
  const out = new Set<string>(['all']);
  const up = (g: string): void => {
    if (out.has(g) && g !== 'all') return;
    out.add(g);
    for (const p of inv.groups.get(g)?.parents ?? []) up(p);
  };
  for (const g of inv.groups.values()) if (g.name !== 'ungrouped' && g.hosts.includes(host)) up(g.name);
  if (out.size === 1) out.add('ungrouped');
  return [...out].map((n) => inv.groups.get(n)!).filter(Boolean);
}

function depth(inv: Inventory, g: string, memo = new Map<string, number>()): number {
  if (g === 'all') return 0;
  const m = memo.get(g);
  if (m !== undefined) return m;
  const parents = inv.groups.get(g)?.parents ?? [];
  const d = 1 + Math.max(0, ...parents.filter((p) => p !== 'all').map((p) => depth(inv, p, memo)));
  memo.set(g, d);
  return d;
}

/**
 * A host's variables with Ansible's precedence (lowest first): inventory group vars (parents
 * before children, then by name), group_vars/all, group_vars/<group>, inventory host vars,
 * host_vars/<host>. Plus inventory_hostname and group_names.
 */
export function hostVars(inv: Inventory, host: string): Vars {
  const h = inv.hosts.get(host);
  if (!h) throw new Error(`unknown host ${host}`);
  const memo = new Map<string, number>();
  const groups = hostGroups(inv, host).sort((a, b) => depth(inv, a.name, memo) - depth(inv, b.name, memo) || a.name.localeCompare(b.name));
  const v: Vars = {};
  for (const g of groups) Object.assign(v, g.vars);
  Object.assign(v, inv.groups.get('all')!.fileVars);
  for (const g of groups) if (g.name !== 'all') Object.assign(v, g.fileVars);
  Object.assign(v, h.vars, h.fileVars);
  v.inventory_hostname = host;
  v.inventory_hostname_short = host.split('.')[0];
  v.group_names = groups.map((g) => g.name).filter((n) => n !== 'all' && n !== 'ungrouped').sort();
  return v;
}

// ------------------------------------------------------------------------------- patterns

export class PatternError extends Error {
  name = 'PatternError';
}

/** fnmatch, as Ansible uses for patterns: `*`, `?`, `[abc]`, `[!abc]`. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    const close = c === '[' ? glob.indexOf(']', i + 2) : -1;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (close > 0) {
      const body = glob.slice(i + 1, close);
      re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`.replace(/\\/g, '\\\\');
      i = close;
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Split a pattern like Ansible: on commas, or on colons when there is no comma (not IPv6). */
export function splitPattern(pattern: string): string[] {
  const p = pattern.trim();
  if (!p) return [];
  if (p.includes(',')) return p.split(',').map((s) => s.trim()).filter(Boolean);
  // A bare IPv6 address is one term.
  if (/^[!&]?[0-9a-fA-F]*:[0-9a-fA-F:]+$/.test(p) && (p.match(/:/g) ?? []).length > 1) return [p];
  return p.split(':').map((s) => s.trim()).filter(Boolean);
}

function matchTerm(inv: Inventory, term: string, what: string): string[] {
  if (term === 'all' || term === '*') return groupHosts(inv, 'all');
  if (term.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(term.slice(1));
    } catch (e: any) {
      throw new PatternError(`${what}: bad regular expression "${term}": ${e.message}`);
    }
    return unionInOrder(inv, [...[...inv.groups.keys()].filter((g) => re.test(g)).flatMap((g) => groupHosts(inv, g)), ...[...inv.hosts.keys()].filter((h) => re.test(h))]);
  }
  if (/[*?[]/.test(term)) {
    const re = globToRegExp(term);
    return unionInOrder(inv, [...[...inv.groups.keys()].filter((g) => re.test(g)).flatMap((g) => groupHosts(inv, g)), ...[...inv.hosts.keys()].filter((h) => re.test(h))]);
  }
  if (inv.groups.has(term)) return groupHosts(inv, term);
  if (inv.hosts.has(term)) return [term];
  throw new PatternError(`${what}: "${term}" is neither a group nor a host in ${inv.sources.join(', ') || 'the inventory'}`);
}

function unionInOrder(inv: Inventory, names: string[]): string[] {
  return [...new Set(names)].sort((a, b) => inv.hosts.get(a)!.order - inv.hosts.get(b)!.order);
}

/**
 * Ansible host patterns: `group`, `host`, `a:b` (union), `a:&b` (intersection), `a:!b`
 * (exclusion), wildcards (`web*`), regexes (`~web\d+`), comma-separated lists. Unions first,
 * then intersections, then exclusions, as Ansible does. Unknown names are errors.
 */
export function matchPattern(inv: Inventory, pattern: string, what = 'pattern'): string[] {
  const terms = splitPattern(pattern);
  if (!terms.length) throw new PatternError(`${what}: empty pattern`);
  const plus = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  const and = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1));
  const not = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  let hosts = new Set<string>(plus.length ? plus.flatMap((t) => matchTerm(inv, t, what)) : groupHosts(inv, 'all'));
  for (const t of and) {
    const m = new Set(matchTerm(inv, t, what));
    hosts = new Set([...hosts].filter((h) => m.has(h)));
  }
  for (const t of not) {
    const m = new Set(matchTerm(inv, t, what));
    hosts = new Set([...hosts].filter((h) => !m.has(h)));
  }
  return unionInOrder(inv, [...hosts]);
}

/** Hosts a play targets: the pattern, intersected with --limit (same syntax) when given. */
export function selectHosts(inv: Inventory, pattern: string, limit?: string): string[] {
  const hosts = matchPattern(inv, pattern, `hosts pattern "${pattern}"`);
  if (!limit || !limit.trim()) return hosts;
  const lim = new Set(matchPattern(inv, limit, `limit "${limit}"`));
  return hosts.filter((h) => lim.has(h));
}

// ------------------------------------------------------------------------------- batches

export type Serial = number | string | (number | string)[];

/**
 * Ansible's `serial`: a batch size, a percentage ("30%"), or a list of them (the last one
 * repeats). Percentages round down, with at least one host per batch.
 */
export function serialBatches<T>(hosts: readonly T[], serial: Serial | undefined | null): T[][] {
  if (!hosts.length) return [];
  const specs = serial === undefined || serial === null || (Array.isArray(serial) && !serial.length) ? [hosts.length] : ([] as (number | string)[]).concat(serial);
  const size = (s: number | string): number => {
    if (typeof s === 'number') {
      if (!Number.isInteger(s) || s < 0) throw new Error(`serial: expected a whole number or a percentage, got ${s}`);
      return s === 0 ? hosts.length : s;
    }
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(s);
    if (m) return Math.max(1, Math.floor((Number(m[1]) * hosts.length) / 100));
    if (/^\s*\d+\s*$/.test(s)) return size(Number(s));
    throw new Error(`serial: expected a number, a percentage like "30%" or a list of them, got "${s}"`);
  };
  const out: T[][] = [];
  let i = 0;
  let k = 0;
  while (i < hosts.length) {
    const n = size(specs[Math.min(k, specs.length - 1)]);
    out.push(hosts.slice(i, i + n));
    i += n;
    k++;
  }
  return out;
}

// ------------------------------------------------------------------------------- connection

export interface ConnectionVars {
  host: string;
  port: number;
  user?: string;
  privateKeyFile?: string;
  /** Secret reference or literal from the inventory (ansible_password / ansible_ssh_pass). */
  password?: string;
  become?: boolean;
  becomeUser?: string;
  becomeMethod?: string;
  becomePassword?: string;
  python?: string;
}

const truthy = (v: unknown): boolean | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'boolean' ? v : ['yes', 'true', 'on', '1', 'y'].includes(String(v).toLowerCase());

/** The connection settings Ansible reads from a host's vars. */
export function connectionVars(name: string, vars: Vars): ConnectionVars {
  const str = (...keys: string[]): string | undefined => {
    for (const k of keys) if (vars[k] !== undefined && vars[k] !== null && vars[k] !== '') return String(vars[k]);
    return undefined;
  };
  const port = Number(str('ansible_port', 'ansible_ssh_port') ?? 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`host ${name}: ansible_port must be 1..65535, got ${str('ansible_port')}`);
  const key = str('ansible_ssh_private_key_file', 'ansible_private_key_file');
  return {
    host: str('ansible_host', 'ansible_ssh_host') ?? name,
    port,
    user: str('ansible_user', 'ansible_ssh_user', 'ansible_ssh_user'),
    privateKeyFile: key?.replace(/^~(?=\/|$)/, homedir()),
    password: str('ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'),
    become: truthy(vars.ansible_become),
    becomeUser: str('ansible_become_user'),
    becomeMethod: str('ansible_become_method'),
    becomePassword: str('ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass'),
    python: str('ansible_python_interpreter'),
  };
}
