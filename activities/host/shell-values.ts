/**
 * Values are data: `{{ }}` placeholders in shell text never become shell syntax.
 *
 * A small scanner for POSIX sh quoting states (quotes, backslashes, `$(…)`, backticks,
 * `${…}`, arithmetic, comments, here-documents) finds the context of each placeholder. Each
 * placeholder is then replaced by a reference to an environment variable (`"${RW_V1}"` in a
 * bare word, `${RW_V1}` inside "…" or an unquoted here-document) and its value travels in the
 * environment, so the shell expands it as one literal string and never parses it. Contexts
 * where a reference would not expand, or where the expanded value is parsed again (inside
 * '…', a quoted here-document, `$((…))`, the script word of `sh -c`, `eval`, `ssh`), are
 * refused with the reason and the fix: nothing there can be made safe by construction.
 */

export type SlotContext = 'bare' | 'dquote' | 'heredoc' | 'comment';

export interface ShellSlot {
  /** Offset of `{{` and just past `}}` in the template. */
  start: number;
  end: number;
  expr: string;
  context: SlotContext;
  /** Why this placeholder cannot carry a value safely, with the fix. */
  problem?: string;
}

const PH = /\{\{([\s\S]*?)\}\}/g;

/** Shells and commands that parse a string argument as shell code. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'busybox', 'fish', 'csh', 'tcsh', 'su', 'runuser']);
const REPARSERS = new Set(['eval', 'trap', 'ssh', 'watch', 'let']);
/** Prefix commands that run the word after them (with options) as the command. */
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'nohup', 'exec', 'command', 'builtin', 'time', 'nice', 'timeout', 'setsid', 'stdbuf', 'ionice', 'chroot', 'xargs', 'flock', 'unshare', 'nsenter', 'chrt', 'taskset']);
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', '!', '{', '}', 'in', 'case', 'esac', 'function', 'select']);

const FIX_SQ = `move it out of the single quotes ('abc'{{ x }}'def'), or use double quotes ("abc {{ x }} def"), where it expands to the value as one string`;
const FIX_REPARSE = `pass the value as an argument, never as code: sh -c 'echo "$1"' sh {{ x }} (the script in single quotes, the value after it), or use the command module with argv`;

const SENTINEL = '\u0000';

interface Pipeline {
  /** Index of the first slot of this pipeline. */
  from: number;
  /** Set when a later command of the pipeline runs its stdin as code. */
  feeds?: string;
}

interface Heredoc {
  pipeline: Pipeline;
  delim: string;
  quoted: boolean;
  strip: boolean;
  /** The simple command the here-document feeds (decided when its body starts). */
  words: string[];
}

interface Env {
  /** Set when an enclosing word is parsed again as shell code (sh -c "…$(…)…"): why. */
  inScript?: string;
  /** Inside "…" somewhere up the stack (backticks there are undefined in POSIX). */
  inDq: boolean;
}

const basename = (w: string): string => w.slice(w.lastIndexOf('/') + 1);

/** The command a simple command runs, skipping assignments and wrappers like sudo/env/timeout. */
function commandOf(words: string[]): { name: string; index: number } | undefined {
  let i = 0;
  let afterWrapper = false;
  while (i < words.length) {
    const w = words[i];
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
      i++;
      continue;
    }
    if (afterWrapper && w.startsWith('-')) {
      // Options of a wrapper; sudo -u USER / -g GROUP take a value.
      i += /^-[ugCDhprT]$/.test(w) ? 2 : 1;
      continue;
    }
    if (afterWrapper && /^\d/.test(w)) {
      i++; // timeout 10 / nice 5
      continue;
    }
    const b = basename(w);
    if (WRAPPERS.has(b)) {
      afterWrapper = true;
      i++;
      if (b === 'chroot' && i < words.length && !words[i].startsWith('-')) i++;
      continue;
    }
    return { name: b, index: i };
  }
  return undefined;
}

/** Why a placeholder in word `wordIndex` of this simple command would be parsed as code, if it would. */
function reparse(words: string[], wordIndex: number): string | undefined {
  const c = commandOf(words);
  if (!c || wordIndex <= c.index) return undefined;
  if (REPARSERS.has(c.name))
    return c.name === 'ssh'
      ? `ssh joins its arguments into a command line the far end parses again (and a value may become an ssh option); pass values on stdin or run a play on that host`
      : c.name === 'let'
        ? `let evaluates its arguments as arithmetic, which runs $(…) in bash; compare in a {{ }} expression or with [ ]`
        : `${c.name} parses its arguments as shell code again; ${FIX_REPARSE}`;
  // bash evaluates these as arithmetic, and arithmetic runs $(…) inside array subscripts.
  if (['declare', 'typeset', 'local', 'export', 'readonly'].includes(c.name) && words.slice(c.index + 1, wordIndex).some((w) => /^-[A-Za-z]*i/.test(w)))
    return `${c.name} -i evaluates values as arithmetic, which runs $(…) in bash; compute the number in the {{ }} expression instead`;
  if ((c.name === 'test' || c.name === '[') && words[wordIndex - 1] === '-v')
    return `test -v evaluates an array subscript as arithmetic, which runs $(…) in bash; test the value in a {{ }} expression instead`;
  if (SHELLS.has(c.name)) {
    for (let k = c.index + 1; k < wordIndex; k++) {
      if (/^-[A-Za-z]*c[A-Za-z]*$/.test(words[k]) || words[k] === '--command') {
        // The word right after -c is the script; later words are $0, $1… (data).
        if (wordIndex === k + 1) return `this is the script of \`${c.name} ${words[k]}\`, which is parsed as shell code; ${FIX_REPARSE}`;
        return undefined;
      }
    }
  }
  return undefined;
}

/** Does this command read its stdin as shell code (sh, bash -s, ssh host, but not sh -c '…')? */
function stdinReparses(words: string[], what: string): string | undefined {
  const c = commandOf(words);
  if (!c) return undefined;
  const script = words.slice(c.index + 1).some((w) => /^-[A-Za-z]*c[A-Za-z]*$/.test(w) || w === '--command');
  if ((SHELLS.has(c.name) && !script) || c.name === 'ssh' || (c.name === '.' || c.name === 'source'))
    return `${what} is read by ${c.name} as shell code, so a value in it would be parsed; pass the value as an argument (sh -s -- {{ x }} <<'EOF' … "$1" … EOF) or write a file with copy/template and run it`;
  return undefined;
}
const heredocReparses = (words: string[]): string | undefined => stdinReparses(words, 'this here-document');

/** Classify every `{{ }}` placeholder of a shell script template. */
export function scanShell(template: string): ShellSlot[] {
  const slots: ShellSlot[] = [];
  const phAt = new Map<number, { end: number; expr: string }>();
  for (const m of template.matchAll(PH)) phAt.set(m.index!, { end: m.index! + m[0].length, expr: m[1] });
  const s = template;
  const n = s.length;

  const add = (at: number, context: SlotContext, problem?: string): number => {
    const p = phAt.get(at)!;
    slots.push({ start: at, end: p.end, expr: p.expr, context, ...(problem ? { problem } : {}) });
    return p.end;
  };
  /** Every placeholder in [from, to) is refused with this reason. */
  const refuseRange = (from: number, to: number, problem: string, context: SlotContext = 'bare'): void => {
    for (const [at] of phAt) if (at >= from && at < to && !slots.some((x) => x.start === at)) add(at, context, problem);
  };
  const nearPh = (i: number): boolean => phAt.has(i);

  /** End of a single-quoted string starting at the quote `i` (index after the closing quote). */
  const skipSq = (i: number): number => {
    const e = s.indexOf("'", i + 1);
    return e < 0 ? n : e + 1;
  };
  /** $'…' (bash): backslash escapes inside. */
  const skipAnsiC = (i: number): number => {
    let j = i + 2;
    while (j < n && s[j] !== "'") j += s[j] === '\\' ? 2 : 1;
    return Math.min(n, j + 1);
  };
  /** A balanced region: ${…} or $((…)) / ((…)); quotes inside are skipped roughly. */
  const skipBalanced = (i: number, open: string, close: string, depth0: number): number => {
    let depth = depth0;
    let j = i;
    while (j < n) {
      const c = s[j];
      if (c === '\\') j += 2;
      else if (c === "'") j = skipSq(j);
      else if (c === '"') {
        j++;
        while (j < n && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
        j++;
      } else {
        if (c === open) depth++;
        else if (c === close && --depth === 0) return j + 1;
        j++;
      }
    }
    return n;
  };

  /** `$…` at i (not followed by a placeholder): returns the index after the expansion. */
  const dollar = (i: number, env: Env, ctx: SlotContext): number => {
    const c = s[i + 1];
    if (nearPh(i + 1)) {
      add(i + 1, ctx, `a placeholder right after "$" would be glued to it ($"…" or $VAR); put a space or quotes between them, or write the "$" inside the value`);
      return phAt.get(i + 1)!.end;
    }
    if (c === '(' && s[i + 2] === '(') {
      const end = skipBalanced(i + 1, '(', ')', 0);
      refuseRange(i, end, `inside $((…)) a value is evaluated as arithmetic, which runs $(…) in bash; compute the number in the {{ }} expression instead ({{ n + 1 }})`, ctx);
      return end;
    }
    if (c === '(') return cmd(i + 2, ')', { ...env, inDq: false });
    if (c === '{') {
      const end = skipBalanced(i + 1, '{', '}', 0);
      refuseRange(i, end, `inside \${…} a placeholder is part of a parameter expansion; use it outside ("\${v:-}{{ x }}") or choose the default in the {{ }} expression`, ctx);
      return end;
    }
    return i + 1;
  };

  const backtick = (i: number, env: Env): number => {
    if (env.inDq) {
      // POSIX leaves "…`…"…`…" undefined: refuse rather than guess.
      let j = i + 1;
      while (j < n && s[j] !== '`') j += s[j] === '\\' ? 2 : 1;
      refuseRange(i, j, 'inside `…` within "…" quoting is undefined in POSIX sh; use $(…) instead of backticks');
      return Math.min(n, j + 1);
    }
    return cmd(i + 1, '`', env);
  };

  /** Double-quoted text from after the opening quote; returns the index after the closing quote. */
  const dq = (i: number, env: Env): number => {
    const inner: Env = { ...env, inDq: true };
    while (i < n) {
      const c = s[i];
      if (nearPh(i)) i = add(i, 'dquote', env.inScript);
      else if (c === '"') return i + 1;
      else if (c === '\\') {
        if (nearPh(i + 1)) {
          i = add(i + 1, 'dquote', `a placeholder right after a backslash would lose its "$" (\\\${…} is literal text); remove the backslash`);
        } else i += 2;
      } else if (c === '$') i = dollar(i, inner, 'dquote');
      else if (c === '`') i = backtick(i, inner);
      else i++;
    }
    return n;
  };

  /** Body of an unquoted here-document [i, end): like "…" but double quotes are literal. */
  const heredocBody = (i: number, end: number, env: Env, problem: string | undefined): void => {
    while (i < end) {
      const c = s[i];
      if (nearPh(i)) i = add(i, 'heredoc', problem);
      else if (c === '\\') {
        if (nearPh(i + 1)) i = add(i + 1, 'heredoc', problem ?? `a placeholder right after a backslash would lose its "$"; remove the backslash`);
        else i += 2;
      } else if (c === '$') i = dollar(i, { ...env, inScript: env.inScript ?? problem }, 'heredoc');
      else if (c === '`') i = backtick(i, { ...env, inScript: env.inScript ?? problem });
      else i++;
    }
  };

  /** Reads the bodies of pending here-documents starting at line start `i`; returns where the command text resumes. */
  const bodies = (i: number, pending: Heredoc[], env: Env): number => {
    for (const h of pending) {
      const start = i;
      let bodyEnd = n;
      let next = n;
      while (i < n) {
        const nl = s.indexOf('\n', i);
        const lineEnd = nl < 0 ? n : nl;
        const line = s.slice(i, lineEnd);
        if ((h.strip ? line.replace(/^\t+/, '') : line) === h.delim) {
          bodyEnd = i;
          next = nl < 0 ? n : nl + 1;
          break;
        }
        i = nl < 0 ? n : nl + 1;
      }
      if (bodyEnd === n) next = n;
      const re = heredocReparses(h.words) ?? h.pipeline.feeds;
      if (h.quoted)
        refuseRange(start, bodyEnd, re ?? `inside a quoted here-document (<<'${h.delim}') nothing expands, so the value would not arrive; use an unquoted delimiter (<<${h.delim}) where {{ }} expands to the value, and escape any other $ as \\$`, 'heredoc');
      else heredocBody(start, bodyEnd, env, re);
      i = next;
    }
    return i;
  };

  /** Command text from i until `close` (")" of $(…), "`", or the end); returns the index after it. */
  function cmd(i: number, close: ')' | '`' | null, env: Env): number {
    let words: string[] = [];
    let word: string | null = null;
    let wordProblem: string | undefined;
    let hereString = false;
    let role: 'word' | 'redirect' | 'heredoc' = 'word';
    let heredocStrip = false;
    let depth = 0;
    let caseDepth = 0;
    let dbl = false;
    let pending: Heredoc[] = [];
    // The pipeline so far: if a later command of it runs its stdin as code (… | sh), every value before is code too.
    let pipeline: Pipeline = { from: slots.length };
    let pipedInto = false;
    let nestedTick = false;

    const startWord = (): void => {
      if (word === null) {
        word = '';
        wordProblem = role !== 'word' ? undefined : hereString ? heredocReparses(words) : reparse([...words, SENTINEL], words.length);
        hereString = false;
      }
    };
    const endWord = (raw: string | null = null): void => {
      if (word === null) return;
      const w = word;
      word = null;
      if (role === 'heredoc') {
        pending.push({ delim: w, quoted: raw !== null && /['"\\]/.test(raw), strip: heredocStrip, words, pipeline });
        role = 'word';
        return;
      }
      if (role === 'redirect') {
        role = 'word';
        return;
      }
      if (words.length === 0 && RESERVED.has(w)) {
        if (w === 'case') caseDepth++;
        if (w === 'esac' && caseDepth > 0) caseDepth--;
        return;
      }
      if (words.length === 0 && w === '[[') dbl = true;
      if (w === ']]') dbl = false;
      words.push(w);
    };
    const endCommand = (pipe = false): void => {
      endWord();
      const feeds = pipedInto ? stdinReparses(words, 'the output piped here') : undefined;
      if (feeds) {
        pipeline.feeds = feeds;
        for (let k = pipeline.from; k < slots.length; k++) slots[k].problem ??= feeds;
      }
      pipedInto = pipe;
      if (!pipe) pipeline = { from: slots.length };
      words = [];
      dbl = false;
    };
    let wordStart = i;
    const append = (t: string): void => {
      word = (word ?? '') + t;
    };
    const slotProblem = (): string | undefined => {
      if (env.inScript) return env.inScript;
      if (nestedTick) return 'inside nested backticks the quoting is re-read; use $(…) instead of backticks';
      if (dbl) return `inside [[ … ]] bash evaluates operands of -eq/-lt… as arithmetic, which runs $(…); use [ … ] (test) instead`;
      if (word !== null && /^[A-Za-z_][A-Za-z0-9_]*\[[^\]]*$/.test(word)) return `inside an array subscript (name[…]) bash evaluates the value as arithmetic, which runs $(…); compute the index in the {{ }} expression instead`;
      if (role === 'heredoc') return `a here-document delimiter must be literal text`;
      return wordProblem;
    };
    const sub = (): Env => ({ inDq: env.inDq, inScript: env.inScript ?? wordProblem });

    while (i < n) {
      const c = s[i];
      if (nearPh(i)) {
        if (word === null) wordStart = i;
        startWord();
        const p = slotProblem();
        i = add(i, 'bare', p);
        append(SENTINEL);
        continue;
      }
      if (close === '`' && c === '`') {
        endCommand();
        return i + 1;
      }
      if (c === '\\') {
        if (close === '`' && s[i + 1] === '`') {
          nestedTick = !nestedTick;
          i += 2;
          continue;
        }
        if (s[i + 1] === '\n') {
          i += 2;
          continue;
        }
        if (nearPh(i + 1)) {
          startWord();
          i = add(i + 1, 'bare', `a placeholder right after a backslash would lose its quoting (\\"\${…}" is literal text); remove the backslash`);
          continue;
        }
        if (word === null) wordStart = i;
        startWord();
        append(s[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (c === "'") {
        if (word === null) wordStart = i;
        startWord();
        const end = skipSq(i);
        refuseRange(i, end, `inside '…' a value never expands ('$x' is literal text); ${FIX_SQ}`);
        append(s.slice(i + 1, end - 1).replace(/\{\{[\s\S]*?\}\}/g, SENTINEL));
        i = end;
        continue;
      }
      if (c === '"') {
        if (word === null) wordStart = i;
        startWord();
        const from = i + 1;
        i = dq(from, sub());
        append(s.slice(from, i - 1).replace(/\{\{[\s\S]*?\}\}/g, SENTINEL));
        continue;
      }
      if (c === '$') {
        if (word === null) wordStart = i;
        startWord();
        if (s[i + 1] === "'") {
          const end = skipAnsiC(i);
          refuseRange(i, end, `inside $'…' a value never expands; ${FIX_SQ}`);
          i = end;
          continue;
        }
        if (s[i + 1] === '"') {
          i = dq(i + 2, sub());
          continue;
        }
        const from = i;
        i = dollar(i, sub(), 'bare');
        append(s.slice(from, i));
        continue;
      }
      if (c === '`') {
        if (word === null) wordStart = i;
        startWord();
        i = backtick(i, sub());
        continue;
      }
      if (c === '#' && word === null) {
        const nl = s.indexOf('\n', i);
        const end = nl < 0 ? n : nl;
        for (const [at] of phAt) if (at > i && at < end) add(at, 'comment');
        i = end;
        continue;
      }
      if (c === ' ' || c === '\t') {
        endWord(role === 'heredoc' ? s.slice(wordStart, i) : null);
        i++;
        continue;
      }
      if (c === '\n') {
        endWord(role === 'heredoc' ? s.slice(wordStart, i) : null);
        endCommand();
        i++;
        if (pending.length) {
          const p = pending;
          pending = [];
          i = bodies(i, p, env);
        }
        continue;
      }
      if (c === '(' && word === null && words.length === 0 && s[i + 1] === '(') {
        const end = skipBalanced(i, '(', ')', 0);
        refuseRange(i, end, `inside ((…)) a value is evaluated as arithmetic, which runs $(…) in bash; compute the number in the {{ }} expression instead`);
        i = end;
        continue;
      }
      if (c === '|' && s[i + 1] !== '|' && s[i - 1] !== '|') {
        endWord(role === 'heredoc' ? s.slice(wordStart, i) : null);
        endCommand(true);
        i += s[i + 1] === '&' ? 2 : 1;
        continue;
      }
      if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
        endWord(role === 'heredoc' ? s.slice(wordStart, i) : null);
        if (c === '(') depth++;
        if (c === ')') {
          if (depth > 0) depth--;
          else if (close === ')' && caseDepth === 0) {
            endCommand();
            return i + 1;
          }
        }
        endCommand();
        i++;
        continue;
      }
      if (c === '<' || c === '>') {
        endWord(role === 'heredoc' ? s.slice(wordStart, i) : null);
        if (c === '<' && s[i + 1] === '<' && s[i + 2] !== '<') {
          role = 'heredoc';
          heredocStrip = s[i + 2] === '-';
          i += heredocStrip ? 3 : 2;
        } else {
          // <<< (here-string) feeds its word to the command's stdin: sh <<< "…" is code.
          hereString = s.startsWith('<<<', i);
          role = hereString ? 'word' : 'redirect';
          i += hereString ? 3 : 1;
          if (!hereString && /[>&|<]/.test(s[i] ?? '')) i++;
        }
        continue;
      }
      if (word === null) wordStart = i;
      startWord();
      append(c);
      i++;
    }
    endWord(role === 'heredoc' ? s.slice(wordStart, i) : null);
    endCommand();
    if (pending.length) bodies(n, pending, env);
    return n;
  }

  cmd(0, null, { inDq: false });
  // Anything the walk did not reach (e.g. after an unterminated construct) is refused.
  for (const [at, p] of phAt)
    if (!slots.some((x) => x.start === at)) slots.push({ start: at, end: p.end, expr: p.expr, context: 'bare', problem: 'cannot tell how the shell quotes this placeholder (unterminated quote or construct before it?); close every quote and $(…)' });
  const whole = /^\s*\{\{[\s\S]*?\}\}\s*$/.test(s) && slots.length === 1;
  if (whole) slots[0].problem ??= `the whole script is one {{ }} expression, so its value would run as a single command name, never as a script; write the script as text and put {{ }} only where a value goes (mkdir -p {{ dir }})`;
  return slots.sort((a, b) => a.start - b.start);
}

/** 1-based line and column of an offset (columns count UTF-16 units, like YAML positions). */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - nl };
}

export class ShellValueError extends Error {
  name = 'ShellValueError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** One message for a refused placeholder: where, what, why, and the fix. */
export function describeSlot(template: string, slot: ShellSlot): string {
  const { line, column } = lineCol(template, slot.start);
  const shown = template.slice(slot.start, slot.end);
  return `${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown} at line ${line}, column ${column} of the script: ${slot.problem}`;
}

/** The first refused placeholder of a script template, if any. */
export function shellProblems(template: string): ShellSlot[] {
  return scanShell(template).filter((x) => x.problem);
}

export const VALUE_VAR = /^RW_V\d+$/;

/** Text form of a value in a script: strings as they are, everything else as JSON (or empty). */
export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Turn a shell script template into a script that references environment variables and the
 * values for them. Throws ShellValueError for a placeholder that cannot be carried safely.
 */
export function shellTextToData(template: string, evaluate: (expr: string) => unknown): { text: string; env: Record<string, string> } {
  const slots = scanShell(template);
  const bad = slots.find((x) => x.problem);
  if (bad) throw new ShellValueError(describeSlot(template, bad), bad.start);
  const env: Record<string, string> = {};
  let out = '';
  let last = 0;
  slots.forEach((slot, k) => {
    const name = `RW_V${k + 1}`;
    const v = valueText(evaluate(slot.expr));
    if (v.includes('\0')) throw new ShellValueError(`the value of ${template.slice(slot.start, slot.end)} contains a NUL byte, which no shell variable can hold; write binary data with copy (content or src)`, slot.start);
    env[name] = v;
    out += template.slice(last, slot.start) + (slot.context === 'bare' ? `"\${${name}}"` : `\${${name}}`);
    last = slot.end;
  });
  return { text: out + template.slice(last), env };
}

const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';

/**
 * `command: cmd` with placeholders: split the template into words first (like a shell would,
 * quotes respected), then put each value inside its word. A value is never split or re-read,
 * so it cannot add words or options it does not start with.
 */
export function commandTemplateToArgv(template: string, evaluate: (expr: string) => unknown, split: (line: string) => string[]): string[] {
  if (template.includes(MARK_OPEN) || template.includes(MARK_CLOSE)) throw new ShellValueError('cmd contains the private-use characters U+E000/U+E001; use argv', 0);
  const exprs: string[] = [];
  const marked = template.replace(PH, (_m, expr: string) => `${MARK_OPEN}${exprs.push(expr) - 1}${MARK_CLOSE}`);
  if (/^\s*\uE000\d+\uE001\s*$/.test(marked))
    throw new ShellValueError(`cmd is a single {{ }} expression, so its value would be one program name, never split into arguments; give the words as a list: argv: "{{ ['prog', 'arg'] + list }}" (or write the words in cmd: "prog {{ arg }}")`, 0);
  const values = exprs.map((e) => valueText(evaluate(e)));
  return split(marked).map((w) => w.replace(/\uE000(\d+)\uE001/g, (_m, k: string) => values[Number(k)]));
}

/** Problems of a `command: cmd` template, found without evaluating anything. */
export function commandTemplateProblem(template: string): string | undefined {
  if (!template.includes('{{')) return undefined;
  try {
    commandTemplateToArgv(template, () => '', (l) => [l]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
