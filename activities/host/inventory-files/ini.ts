/**
 * Ansible's INI inventory format, which is not plain INI: host lines carry `k=v` vars (Python
 * literals, shell-quoted), sections are `[group]`, `[group:vars]` and `[group:children]`,
 * and host names may be ranges (`web[01:20]`). A small dedicated parser keeps line numbers
 * for every error, as Ansible's own `ini` plugin does (whose rules this follows).
 */
import { addChild, addHost, ensureGroup, expandHostRange, InventoryError, type Inventory, type Vars } from './types';

/** Split like Python's shlex.split(line, comments=True) (POSIX mode). */
export function shlexSplit(line: string, comments = true): string[] {
  const out: string[] = [];
  let tok = '';
  let inTok = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inTok) out.push(tok);
      tok = '';
      inTok = false;
      i++;
    } else if (c === '#' && comments && !inTok) {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('No closing quotation');
      tok += line.slice(i + 1, end);
      inTok = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '\\"$`\n'.includes(line[i + 1])) {
          tok += line[i + 1];
          i += 2;
          continue;
        }
        tok += d;
        i++;
      }
      if (!closed) throw new Error('No closing quotation');
      inTok = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('No escaped character');
      tok += line[i + 1];
      inTok = true;
      i += 2;
    } else {
      tok += c;
      inTok = true;
      i++;
    }
  }
  if (inTok) out.push(tok);
  return out;
}

/**
 * Python's ast.literal_eval for the values INI inventories use (numbers, True/False/None,
 * quoted strings, lists, tuples, dicts); anything else stays the original string.
 */
export function parseIniValue(v: string): unknown {
  try {
    const p = new LiteralParser(v);
    const value = p.value();
    p.ws();
    if (p.i !== v.length) return v;
    return value;
  } catch {
    return v;
  }
}

class LiteralParser {
  i = 0;
  constructor(private readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  fail(): never {
    throw new Error('not a literal');
  }
  value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) this.fail();
    if (c === "'" || c === '"') return this.str();
    if (c === '[' || c === '(') return this.list(c === '[' ? ']' : ')');
    if (c === '{') return this.dict();
    const m = /^(True|False|None|[-+]?(?:\d[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+))/.exec(this.s.slice(this.i));
    if (!m) this.fail();
    this.i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    const n = Number(m[0].replace(/_/g, ''));
    if (Number.isNaN(n)) this.fail();
    return n;
  }
  str(): string {
    const q = this.s[this.i++];
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === q) return out;
      if (c === '\\') {
        const e = this.s[this.i++];
        out += ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' } as Record<string, string>)[e] ?? `\\${e}`;
      } else out += c;
    }
    this.fail();
  }
  list(close: string): unknown[] {
    this.i++;
    const out: unknown[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) this.fail();
    }
  }
  dict(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const k = this.value();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail();
      out[String(k)] = this.value();
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.fail();
    }
  }
}

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

/** Parse one INI inventory source into `inv`. */
export function parseIniInventory(inv: Inventory, file: string, text: string): void {
  const pending = new Map<string, { line: number; state: 'vars' | 'children'; parents: string[] }>();
  let group = 'ungrouped';
  let state = 'hosts';
  const lines = text.split(/\r?\n/);
  const err = (n: number, msg: string, col = 1): never => {
    throw new InventoryError(file, n, col, msg);
  };
  const addPendingChildren = (g: string): void => {
    const p = pending.get(g)!;
    pending.delete(g);
    for (const parent of p.parents) addChild(inv, parent, g);
  };
  for (let n = 1; n <= lines.length; n++) {
    const raw = lines[n - 1];
    const line = raw.trim();
    const col = raw.length - raw.trimStart().length + 1;
    if (!line || line[0] === '#' || line[0] === ';') continue;
    const m = SECTION.exec(line);
    if (m) {
      group = m[1];
      state = m[2] ?? 'hosts';
      if (!['hosts', 'children', 'vars'].includes(state)) err(n, `section [${m[1]}:${m[2]}] has unknown type "${m[2]}" (expected :vars or :children)`, col);
      if (group === 'all' && state === 'children') {
        /* [all:children] is fine: every group is a child of all anyway */
      }
      if (!inv.groups.has(group)) {
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: n, state: 'vars', parents: [] });
        ensureGroup(inv, group);
      }
      const p = pending.get(group);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(group);
        else pending.delete(group);
      }
      continue;
    }
    if (line.startsWith('[')) err(n, `invalid section "${line}": expected [group], [group:vars] or [group:children], without spaces`, col);
    if (state === 'hosts') {
      let tokens: string[];
      try {
        tokens = shlexSplit(line);
      } catch (e: any) {
        err(n, `cannot parse host line: ${e.message}`, col);
      }
      const vars: Vars = {};
      for (const t of tokens!.slice(1)) {
        const i = t.indexOf('=');
        if (i <= 0) err(n, `expected key=value host variable, got "${t}"`, col + raw.trim().indexOf(t));
        vars[t.slice(0, i)] = parseIniValue(t.slice(i + 1));
      }
      let pattern = tokens![0];
      if (pattern === '---') err(n, `"---" is not a host name: is this a YAML inventory with an .ini name?`, col);
      // host:port (not IPv6: those have several colons and no port here).
      const pm = /^([^:]+):(\d+)$/.exec(pattern);
      if (pm) {
        pattern = pm[1];
        if (vars.ansible_port === undefined) vars.ansible_port = Number(pm[2]);
      } else if (pattern.endsWith(':')) err(n, `invalid host "${pattern}": a trailing ":" must be followed by a port`, col);
      let names: string[];
      try {
        names = expandHostRange(pattern);
      } catch (e: any) {
        err(n, e.message, col);
      }
      for (const h of names!) addHost(inv, group, h, vars, `${file}:${n}`);
    } else if (state === 'vars') {
      const i = line.indexOf('=');
      if (i <= 0) err(n, `expected key=value in [${group}:vars], got "${line}"`, col);
      ensureGroup(inv, group).vars[line.slice(0, i).trim()] = parseIniValue(line.slice(i + 1).trim());
    } else {
      const gm = GROUP_NAME.exec(line);
      if (!gm) err(n, `expected a group name in [${group}:children], got "${line}"`, col);
      const child = gm![1];
      if (child === group) err(n, `group ${group} cannot be its own child`, col);
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (p && p.state === 'children') p.parents.push(group);
        else pending.set(child, { line: n, state: 'children', parents: [group] });
      } else addChild(inv, group, child);
    }
  }
  for (const [g, p] of pending) {
    if (p.state === 'vars') throw new InventoryError(file, p.line, 1, `section [${g}:vars] is for a group that is defined nowhere: ${g}`);
    throw new InventoryError(file, p.line, 1, `section [${p.parents[p.parents.length - 1]}:children] names an undefined group: ${g}`);
  }
}
