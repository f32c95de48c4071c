/**
 * Ansible's YAML inventory format: nested groups under `all`, each with `hosts`, `vars` and
 * `children`. Errors carry the line and column of the offending node.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { addChild, addHost, ensureGroup, expandHostRange, InventoryError, type Inventory, type Vars } from './types';

const GROUP_KEYS = new Set(['hosts', 'vars', 'children']);

export function parseYamlInventory(inv: Inventory, file: string, text: string): void {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const at = (node: Node | null | undefined, msg: string): never => {
    const off = node?.range?.[0] ?? 0;
    const p = lc.linePos(off);
    throw new InventoryError(file, p.line, p.col, msg);
  };
  if (doc.errors.length) {
    const e = doc.errors[0];
    const p = lc.linePos(e.pos[0]);
    throw new InventoryError(file, p.line, p.col, `YAML: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return;
  if (!isMap(root)) at(root as Node, 'expected a mapping of group names (usually `all:`) at the top level');
  const plain = (n: unknown): unknown => (n && typeof n === 'object' && 'toJSON' in (n as object) ? (n as { toJSON(): unknown }).toJSON() : n);

  const walkGroup = (name: string, node: Node | null, parent: string | undefined, keyNode: Node): void => {
    if (!/^[^:\]\s]+$/.test(name)) at(keyNode, `invalid group name "${name}"`);
    ensureGroup(inv, name);
    if (parent && parent !== name) addChild(inv, parent, name);
    if (node === null || (isScalar(node) && node.value === null)) return;
    if (!isMap(node)) at(node, `group ${name}: expected a mapping with hosts, vars or children`);
    for (const pair of (node as YAMLMap).items as Pair<Node, Node | null>[]) {
      const key = String(plain(pair.key));
      if (!GROUP_KEYS.has(key)) at(pair.key, `group ${name}: unknown key "${key}" (expected hosts, vars or children)`);
      const v = pair.value;
      if (v === null || (isScalar(v) && v.value === null)) continue;
      if (!isMap(v)) at(v, `group ${name}: ${key} must be a mapping`);
      if (key === 'vars') {
        Object.assign(ensureGroup(inv, name).vars, plain(v) as Vars);
      } else if (key === 'hosts') {
        for (const hp of (v as YAMLMap).items as Pair<Node, Node | null>[]) {
          const hname = String(plain(hp.key));
          const hv = hp.value;
          let vars: Vars = {};
          if (hv && !(isScalar(hv) && hv.value === null)) {
            if (!isMap(hv)) at(hv, `host ${hname}: expected a mapping of variables`);
            vars = plain(hv) as Vars;
          }
          let names: string[];
          let port: number | undefined;
          let pattern = hname;
          const pm = /^([^:]+):(\d+)$/.exec(pattern);
          if (pm) {
            pattern = pm[1];
            port = Number(pm[2]);
          }
          try {
            names = expandHostRange(pattern);
          } catch (e: any) {
            at(hp.key, e.message);
          }
          const pos = lc.linePos(hp.key?.range?.[0] ?? 0);
          for (const h of names!) addHost(inv, name, h, port !== undefined && vars.ansible_port === undefined ? { ...vars, ansible_port: port } : vars, `${file}:${pos.line}`);
        }
      } else {
        for (const cp of (v as YAMLMap).items as Pair<Node, Node | null>[]) walkGroup(String(plain(cp.key)), cp.value, name, cp.key);
      }
    }
  };
  for (const pair of (root as YAMLMap).items as Pair<Node, Node | null>[]) walkGroup(String(plain(pair.key)), pair.value, undefined, pair.key);
}
