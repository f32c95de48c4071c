/**
 * `host.inventory`: resolve an Ansible inventory, a host pattern and --limit into rolling
 * batches (`serial`), and load the play file, before anything touches a host. Its output (host
 * names, batches and the play's tasks) is recorded in history; host vars are not.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { defineAction } from '../define';
import { InventoryError, loadInventory, PatternError, selectHosts, serialBatches } from './inventory-files';
import { PlaySchema } from './play-schema';
import { playJinjaProblems } from './play-jinja';
import { expandPlay, originKey, RoleError, VAULT_TAG, type ExpandedPlay, type Source } from './roles';
import { playReadable, WorkerFileError } from './worker-files';

const SerialInput = z.union([z.number().int().min(0), z.string(), z.array(z.union([z.number().int().min(0), z.string()]))]);

export const InventoryInput = z.strictObject({
  inventory: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Inventory file(s) or folder(s), INI or YAML'),
  pattern: z.string().default('').describe('Host pattern; default: the play\'s `hosts`, else all'),
  limit: z.string().default('').describe('Further limit, like ansible-playbook --limit'),
  serial: SerialInput.optional().describe('Batch size, percentage or list; default: the play\'s serial, else one batch'),
  play: z.string().optional().describe('Play file (YAML): tasks, handlers, vars, become, serial...'),
});

/** Load and check a play file; errors carry file:line:column. Returns the play as written (plus base_dir). */
export function loadPlayFile(path: string): Record<string, unknown> {
  const file = resolve(path);
  let text: string;
  try {
    // A run param may name the play file: never one of the worker's secrets (worker-files.ts).
    playReadable(file, 'play file');
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    if (e instanceof WorkerFileError) throw new InventoryError(path, 1, 1, e.message);
    throw new InventoryError(path, 1, 1, `cannot read play file (${e.code ?? e.message})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, customTags: [VAULT_TAG] });
  if (doc.errors.length) {
    const p = lc.linePos(doc.errors[0].pos[0]);
    throw new InventoryError(path, p.line, p.col, `YAML: ${doc.errors[0].message.split('\n')[0]}`);
  }
  let raw = doc.toJS({ maxAliasCount: 100 });
  // An Ansible playbook is a list of plays: accept a list with exactly one.
  let prefix: (string | number)[] = [];
  if (Array.isArray(raw)) {
    if (raw.length !== 1) throw new InventoryError(path, 1, 1, `expected one play, found ${raw.length}`);
    raw = raw[0];
    prefix = [0];
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new InventoryError(path, 1, 1, `expected a play: a mapping with tasks (and hosts, vars, handlers, roles…), got ${Array.isArray(raw) ? 'a list' : typeof raw === 'string' ? 'text' : typeof raw}`);
  }
  // Roles, pre/post_tasks, import/include_tasks and blocks become one flat play; every task keeps
  // the file and place it came from, so a mistake in a role is reported in the role's file.
  const playSrc: Source = { file, text, doc, lc };
  let expanded: ExpandedPlay;
  try {
    expanded = expandPlay((raw ?? {}) as Record<string, unknown>, playSrc, prefix, dirname(file));
  } catch (e) {
    if (!(e instanceof RoleError)) throw e;
    const o = e.origin ?? { src: playSrc, path: prefix };
    const where = playPosition(o.src.doc, o.src.lc, o.src.text, o.path, e.atKey);
    throw new InventoryError(o.src.file === file ? path : o.src.file, where.line, where.col, e.message);
  }
  /** A path in the expanded play → the file and position it came from. */
  const locate = (p: (string | number)[], key: boolean): { file: string; line: number; col: number } => {
    // The deepest task on the path (a task in a block's rescue is deeper than its block).
    for (let n = p.length; n >= 2; n--) {
      const o = expanded.origins.get(originKey(p.slice(0, n)));
      if (!o) continue;
      const where = playPosition(o.src.doc, o.src.lc, o.src.text, [...o.path, ...p.slice(n)], key);
      return { file: o.src.file === file ? path : o.src.file, ...where };
    }
    return { file: path, ...playPosition(doc, lc, text, [...prefix, ...p], key) };
  };
  const play = expanded.play;
  const parsed = PlaySchema.safeParse(play);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    // An unknown key, or an option a module refuses, is pointed at by its key; other mistakes by their value.
    const unknownKey = i.code === 'unrecognized_keys' ? i.keys[0] : undefined;
    const at = [...(i.path as (string | number)[]), ...(unknownKey !== undefined ? [unknownKey] : [])];
    const where = locate(at, unknownKey !== undefined || (i as { params?: { at?: string } }).params?.at === 'key');
    throw new InventoryError(where.file, where.line, where.col, `${i.path.join('.') || 'play'}: ${i.message}${parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : ''}`);
  }
  // A play file is Ansible's: Jinja2, unless it says `templating: cel`.
  if ((play as { templating?: string }).templating !== 'cel') {
    const [problem] = playJinjaProblems(play);
    if (problem) {
      const where = locate(problem.path, false);
      throw new InventoryError(where.file, where.line, where.col, `${problem.path.join('.')}: ${problem.message}`);
    }
  }
  return { templating: 'jinja2', ...play, base_dir: dirname(file) };
}

/**
 * Where a path of a play file is: its node, or the deepest part of the path that exists (the
 * task, the module's mapping) when the rest is missing; with `key`, the last key itself. Inside
 * a free-form `key=value` string, the `key=` word.
 */
function playPosition(doc: Document, lc: LineCounter, text: string, path: (string | number)[], key: boolean): { line: number; col: number } {
  let node: unknown = doc.contents;
  let best = isNode(node) && node.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const k = pair.key as { range?: [number, number, number] };
      const v = pair.value as { range?: [number, number, number] } | null;
      // The key itself for "unknown option" mistakes, and when the value is empty (`file:`).
      if ((i === path.length - 1 && key) || !v?.range || v.range[0] === v.range[1]) {
        if (k.range) best = lc.linePos(k.range[0]);
        break;
      }
      node = v;
      best = lc.linePos(v.range[0]);
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as { range?: [number, number, number] } | undefined;
      if (!item?.range) break;
      node = item;
      best = lc.linePos(item.range[0]);
    } else {
      // A free-form string (`file: path=/x state=hard`): the `state=` word in it.
      if (isScalar(node) && typeof node.value === 'string' && node.range) {
        const src = text.slice(node.range[0], node.range[1]);
        const m = new RegExp(`(^|[\\s"'])${String(seg).replace(/[^\w-]/g, '\\$&')}=`).exec(src);
        if (m) best = lc.linePos(node.range[0] + m.index + m[1].length);
      }
      break;
    }
  }
  return best;
}

/** '' means "not set"; "1,10%,100%" (handy with --set) is a list. */
function normSerial(s: unknown): unknown {
  if (s === '' || s === null || s === undefined) return undefined;
  if (typeof s === 'string' && s.includes(',')) return s.split(',').map((x) => x.trim());
  return s;
}

export default defineAction({
  name: 'host.inventory',
  readOnly: true,
  // A quick local read whose batches a plan walks item by item (and an apply re-checks).
  predicts: true,
  description: 'Resolve an Ansible inventory + host pattern + limit into rolling batches, and load a play file. Changes nothing.',
  input: InventoryInput,
  async run(input) {
    try {
      const play = input.play ? loadPlayFile(input.play) : undefined;
      const pattern = input.pattern || (play?.hosts as string | undefined) || 'all';
      const inv = loadInventory(input.inventory);
      const hosts = selectHosts(inv, pattern, input.limit);
      const batches = serialBatches(hosts, (normSerial(input.serial) ?? play?.serial) as never);
      return {
        hosts,
        count: hosts.length,
        batches,
        pattern,
        limit: input.limit,
        groups: [...inv.groups.keys()].filter((g) => g !== 'ungrouped'),
        play: play ?? null,
        changed: false,
      };
    } catch (e: any) {
      if (e instanceof InventoryError || e instanceof PatternError) throw ApplicationFailure.nonRetryable(e.message, e.name);
      if (/^serial:/.test(e?.message ?? '')) throw ApplicationFailure.nonRetryable(e.message, 'InvalidInput');
      throw e;
    }
  },
  plan(input) {
    try {
      const play = input.play ? loadPlayFile(input.play) : undefined;
      const pattern = input.pattern || (play?.hosts as string | undefined) || 'all';
      const hosts = selectHosts(loadInventory(input.inventory), pattern, input.limit);
      const batches = serialBatches(hosts, (normSerial(input.serial) ?? play?.serial) as never);
      const tasks = (play?.tasks as unknown[] | undefined)?.length ?? 0;
      return `${hosts.length} host(s) match "${pattern}"${input.limit ? ` limited to "${input.limit}"` : ''} in ${batches.length} batch(es): ${batches.map((b) => b.join(',')).join(' | ')}${play ? `; play ${input.play}: ${tasks} task(s)` : ''}`;
    } catch (e: any) {
      return `error: ${e.message}`;
    }
  },
});
