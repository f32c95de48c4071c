/** The inventory model shared by the INI and YAML loaders (Ansible's semantics). */

export type Vars = Record<string, unknown>;

export interface Group {
  name: string;
  /** Hosts listed directly in this group (not through children), in file order. */
  hosts: string[];
  children: string[];
  parents: string[];
  /** Vars set in the inventory source itself ([g:vars], `vars:`). */
  vars: Vars;
  /** Vars from group_vars/<name> files next to the inventory. */
  fileVars: Vars;
}

export interface Host {
  name: string;
  /** Position in the inventory (first definition): patterns return hosts in this order. */
  order: number;
  /** Vars from the inventory source (inline `k=v`, `hosts: {h: {...}}`); merged over redefinitions. */
  vars: Vars;
  /** Vars from host_vars/<name> files. */
  fileVars: Vars;
  /** Where the host was first defined, for messages. */
  source: string;
}

export interface Inventory {
  groups: Map<string, Group>;
  hosts: Map<string, Host>;
  sources: string[];
}

/** An inventory problem, reported as file:line:column before anything runs. */
export class InventoryError extends Error {
  name = 'InventoryError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
  }
}

export function emptyInventory(): Inventory {
  const inv: Inventory = { groups: new Map(), hosts: new Map(), sources: [] };
  ensureGroup(inv, 'all');
  ensureGroup(inv, 'ungrouped');
  addChild(inv, 'all', 'ungrouped');
  return inv;
}

export function ensureGroup(inv: Inventory, name: string): Group {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, hosts: [], children: [], parents: [], vars: {}, fileVars: {} };
    inv.groups.set(name, g);
    if (name !== 'all' && inv.groups.has('all')) addChild(inv, 'all', name);
  }
  return g;
}

export function addChild(inv: Inventory, parent: string, child: string): void {
  const p = ensureGroup(inv, parent);
  const c = ensureGroup(inv, child);
  if (!p.children.includes(child)) p.children.push(child);
  if (!c.parents.includes(parent)) c.parents.push(parent);
}

export function addHost(inv: Inventory, group: string, name: string, vars: Vars, source: string): Host {
  let h = inv.hosts.get(name);
  if (!h) {
    h = { name, order: inv.hosts.size, vars: {}, fileVars: {}, source };
    inv.hosts.set(name, h);
  }
  Object.assign(h.vars, vars);
  const g = ensureGroup(inv, group);
  if (!g.hosts.includes(name)) g.hosts.push(name);
  return h;
}

/**
 * Expand Ansible host ranges: `web[01:10].example.com`, `db-[a:c]`, `h[1:9:2]`. Leading zeros
 * set the width. Returns the names in order.
 */
export function expandHostRange(pattern: string): string[] {
  const m = /^(.*?)\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\](.*)$/.exec(pattern);
  if (!m) return [pattern];
  const [, head, beg, end, strideRaw, tail] = m;
  const stride = strideRaw ? Number(strideRaw) : 1;
  if (!(stride >= 1)) throw new Error(`bad stride in host range ${pattern}`);
  const out: string[] = [];
  if (/^\d+$/.test(beg) && /^\d+$/.test(end)) {
    const a = Number(beg);
    const b = Number(end);
    if (a > b) throw new Error(`host range ${pattern}: start is after end`);
    const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
    for (let i = a; i <= b; i += stride) for (const rest of expandHostRange(tail)) out.push(`${head}${String(i).padStart(width, '0')}${rest}`);
  } else if (/^[a-zA-Z]$/.test(beg) && /^[a-zA-Z]$/.test(end)) {
    const a = beg.charCodeAt(0);
    const b = end.charCodeAt(0);
    if (a > b) throw new Error(`host range ${pattern}: start is after end`);
    for (let c = a; c <= b; c += stride) for (const rest of expandHostRange(tail)) out.push(`${head}${String.fromCharCode(c)}${rest}`);
  } else {
    throw new Error(`host range ${pattern}: expected [start:end] with numbers or single letters`);
  }
  if (out.length > 100_000) throw new Error(`host range ${pattern}: more than 100000 hosts`);
  return out;
}
