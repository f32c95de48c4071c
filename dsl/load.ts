/**
 * YAML text -> plain object, keeping source positions so every later check can point at
 * file:line:column. Collects all problems instead of stopping at the first.
 */
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Alias, type Document } from 'yaml';
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
  // A byte order mark is allowed; everything else is judged on the text after it.
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  // Line by line (a single regex over the whole text backtracks exponentially on long comment headers).
  const lines = text.split(/\r?\n/);
  if (lines.every((l) => l.trim() === '')) {
    at(1, 1, 'file is empty; expected a YAML mapping with apiVersion, kind, metadata and spec');
    return { diagnostics };
  }
  if (lines.every((l) => /^\s*(#.*)?$/.test(l))) {
    at(1, 1, 'file contains only comments; expected a YAML mapping with apiVersion, kind, metadata and spec');
    return { diagnostics };
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, strict: true, prettyErrors: false, keepSourceTokens: false });
  const pos = (offset: number) => lineCounter.linePos(offset);
  // After the first real syntax error the parser is out of step and what follows is mostly
  // noise; duplicate keys and tab indentation are independent of each other, so all are shown.
  let syntaxError = false;
  for (const e of [...doc.errors, ...doc.warnings]) {
    const independent = e.code === 'DUPLICATE_KEY' || e.code === 'TAB_AS_INDENT';
    if (!independent && syntaxError) continue;
    if (!independent) syntaxError = true;
    const p = pos(e.pos[0]);
    at(p.line, p.col, yamlMessage(e.code, e.message, text.slice(e.pos[0], e.pos[0] + 200)));
  }
  if (diagnostics.length) return { diagnostics };

  // Unknown aliases and alias bombs only show up when converting; find the culprit node.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e: any) {
    const bomb = /excessive alias count/i.test(String(e?.message));
    const alias = bomb ? amplifyingAlias(doc) : unresolvedAlias(doc);
    const p = alias?.range ? pos(alias.range[0]) : { line: 1, col: 1 };
    const msg = bomb
      ? `too many alias expansions${alias ? ` through "*${alias.source}"` : ''} (limit ${MAX_ALIAS_COUNT}); nested aliases are limited to prevent "billion laughs" files`
      : alias
        ? `unknown alias "*${alias.source}": expected an anchor "&${alias.source}" defined before it`
        : `YAML error: ${String(e?.message).split('\n')[0]}`;
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
        // An empty value (`key:` and nothing after it) has no place of its own: use the key.
        if (!pair.value || (isScalar(pair.value) && pair.value.range && pair.value.range[0] === pair.value.range[1])) break;
        next = pair.value;
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

function yamlMessage(code: string, message: string, source: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY': {
      // The error points at the repeated key; name it (plain or quoted, up to the colon).
      const key = /^("(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|[^\s:,{}[\]#][^:\n,{}[\]#]*?)\s*:/.exec(source)?.[1];
      return `duplicate key${key ? ` ${key.startsWith('"') || key.startsWith("'") ? key : JSON.stringify(key)}` : ''}: each key may appear once in a mapping`;
    }
    case 'TAB_AS_INDENT':
      return 'tab character used for indentation; YAML requires spaces';
    case 'MULTIPLE_DOCS':
      return 'a second YAML document ("---") in the file; expected exactly one runbook per file';
    default:
      // The parser recurses per nesting level and turns a stack overflow into an error.
      if (/maximum call stack/i.test(first)) return 'YAML nested too deeply; expected a runbook of ordinary depth';
      return `YAML syntax error: ${first}`;
  }
}

function aliases(doc: Document): Alias[] {
  const out: Alias[] = [];
  visit(doc, {
    Alias(_k, node) {
      out.push(node);
    },
  });
  return out;
}

/** The first alias whose anchor is missing (or only defined after it). */
function unresolvedAlias(doc: Document): Alias | undefined {
  return aliases(doc).find((a) => a.resolve(doc) === undefined);
}

/** For an alias bomb: the first alias to a node that itself contains aliases (the amplifier). */
function amplifyingAlias(doc: Document): Alias | undefined {
  const all = aliases(doc);
  const containsAlias = (n: unknown) => {
    let found = false;
    if (isNode(n))
      visit(n, {
        Alias() {
          found = true;
          return visit.BREAK;
        },
      });
    return found;
  };
  return all.find((a) => containsAlias(a.resolve(doc))) ?? all[0];
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
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are invalid too.
    if (ok && need >= 2) {
      const c = buf[i + 1];
      ok = !((b === 0xe0 && c < 0xa0) || (b === 0xed && c > 0x9f) || (b === 0xf0 && c < 0x90) || (b === 0xf4 && c > 0x8f));
    }
    if (!ok) {
      off = i;
      what = 'invalid UTF-8 byte';
      break;
    }
    i += need + 1;
  }
  if (off < 0) return undefined;
  // Columns count characters (UTF-16 units, like the YAML positions), not bytes.
  const lineStart = off === 0 ? 0 : buf.lastIndexOf(0x0a, off - 1) + 1;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (buf[i] === 0x0a) line++;
  return { line, column: buf.subarray(lineStart, off).toString('utf8').length + 1, what };
}
