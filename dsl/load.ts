/**
 * YAML text -> plain object, keeping source positions so every later check can point at
 * file:line:column. Collects all problems instead of stopping at the first.
 */
import { isAlias, isMap, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic } from './diagnostics';

/** Expanding aliases is bounded: a "billion laughs" file fails fast with a clear message. */
export const MAX_ALIAS_COUNT = 100;
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

export interface LoadedYaml {
  value: unknown;
  /** Position of the node at a path (or the nearest ancestor that exists). */
  position(path: readonly PropertyKey[], opts?: { key?: boolean }): { line: number; column: number };
}

export function loadYaml(file: string, bytes: Buffer | string): { doc?: LoadedYaml; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const at = (line: number, column: number, message: string) => diagnostics.push({ file, line, column, message });

  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buf.length > MAX_FILE_BYTES) {
    at(1, 1, `file is ${buf.length} bytes; runbooks are limited to ${MAX_FILE_BYTES} bytes`);
    return { diagnostics };
  }
  const binary = findBinary(buf);
  if (binary) {
    at(binary.line, binary.column, `file is not UTF-8 text (${binary.what}); expected a YAML runbook`);
    return { diagnostics };
  }
  const text = buf.toString('utf8');
  if (text.trim() === '' || /^(\s*#.*\n?)*\s*$/.test(text)) {
    at(1, 1, 'file is empty; expected a YAML mapping with apiVersion, kind, metadata and spec');
    return { diagnostics };
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, strict: true, prettyErrors: false, keepSourceTokens: false });
  const pos = (offset: number) => lineCounter.linePos(offset);
  for (const e of [...doc.errors, ...doc.warnings]) {
    const p = pos(e.pos[0]);
    at(p.line, p.col, yamlMessage(e.code, e.message));
  }
  if (diagnostics.length) return { diagnostics };

  // Unknown aliases and alias bombs only show up when converting; find the culprit node.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e: any) {
    const alias = firstAlias(doc, String(e?.message));
    const p = alias?.range ? pos(alias.range[0]) : { line: 1, col: 1 };
    const msg = /excessive alias count/i.test(String(e?.message))
      ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}); aliases are limited to prevent "billion laughs" files`
      : `${String(e?.message).split('\n')[0]}`;
    at(p.line, p.col, msg);
    return { diagnostics };
  }

  const position: LoadedYaml['position'] = (path, opts = {}) => {
    let node: unknown = doc.contents;
    let best: { line: number; col: number } = { line: 1, col: 1 };
    const mark = (n: unknown) => {
      if (isNode(n) && n.range) best = pos(n.range[0]);
    };
    mark(node);
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      if (!isNode(node) || !('items' in (node as object))) break;
      const items = (node as any).items as unknown[];
      let next: unknown;
      if (isMap(node)) {
        const pair = items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair || !isPair(pair)) break;
        // For "unknown field" and "missing value" errors, the key itself is the best place.
        if (i === path.length - 1 && opts.key) {
          mark(pair.key);
          return { line: best.line, column: best.col };
        }
        mark(pair.key);
        next = pair.value ?? pair.key;
      } else {
        next = items[Number(key)];
      }
      if (next === undefined || next === null) break;
      node = next;
      mark(node);
    }
    return { line: best.line, column: best.col };
  };
  return { doc: { value, position }, diagnostics };
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear once in a mapping';
    case 'TAB_AS_INDENT':
      return 'tab character used for indentation; YAML requires spaces';
    default:
      return `YAML syntax error: ${first}`;
  }
}

function firstAlias(doc: Document, message: string): Node | undefined {
  const name = /alias\s+\*?([^\s:]+)/i.exec(message)?.[1];
  let found: Node | undefined;
  visit(doc, {
    Alias(_k, node) {
      if (!found && (!name || node.source === name)) found = node;
      if (!found) return;
      return visit.BREAK;
    },
  });
  if (!found) visit(doc, { Alias(_k, node) { found ??= node; return visit.BREAK; } });
  return found && isAlias(found) ? found : found;
}

/** NUL bytes or invalid UTF-8 mean this is not a text file. Returns the first bad byte. */
function findBinary(buf: Buffer): { line: number; column: number; what: string } | undefined {
  let off = -1;
  let what = '';
  for (let i = 0; i < buf.length; ) {
    const b = buf[i];
    if (b === 0) {
      off = i;
      what = 'NUL byte';
      break;
    }
    const need = b < 0x80 ? 0 : (b & 0xe0) === 0xc0 && b >= 0xc2 ? 1 : (b & 0xf0) === 0xe0 ? 2 : (b & 0xf8) === 0xf0 && b <= 0xf4 ? 3 : -1;
    let ok = need >= 0 && i + need < buf.length;
    for (let k = 1; ok && k <= need; k++) ok = (buf[i + k] & 0xc0) === 0x80;
    if (!ok) {
      off = i;
      what = 'invalid UTF-8 byte';
      break;
    }
    i += need + 1;
  }
  if (off < 0) return undefined;
  const before = buf.subarray(0, off).toString('latin1');
  return { line: before.split('\n').length, column: off - before.lastIndexOf('\n'), what };
}
