/**
 * The bad-input corpus: one runbook mistake per file in test/bad-input/ (plus one file with many),
 * each with the exact diagnostics the validator must report. A file states them in its header:
 *
 *   # expect: LINE:COLUMN: message substring
 *
 * Lines and columns are 1-based and count the header lines. A file must produce exactly its
 * expected diagnostics: every one at its place, and nothing else. The real CLI is run over the
 * folder too, to check exit code, `file:line:col: error:` format and that no stack trace leaks.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRegistry } from '../../activities/registry';
import type { Diagnostic } from '../../dsl/diagnostics';
import { MAX_ALIAS_COUNT } from '../../dsl/load';
import { validateRunbookText } from '../../dsl/validate';

const ROOT = join(__dirname, '../..');
const DIR = 'test/bad-input';
const registry = buildRegistry();

interface Expected {
  line: number;
  column: number;
  message: string;
}

/** Files that cannot carry a header comment (it would change what they are). */
const HEADERLESS: Record<string, Expected[]> = {
  'empty.yaml': [{ line: 1, column: 1, message: 'file is empty; expected a YAML mapping with apiVersion, kind, metadata and spec' }],
};

/** Every mistake class the corpus must cover (file names). */
const REQUIRED = [
  'yaml-syntax.yaml',
  'tab-indent.yaml',
  'duplicate-key.yaml',
  'alias-bomb.yaml',
  'unknown-alias.yaml',
  'empty.yaml',
  'comment-only.yaml',
  'top-level-list.yaml',
  'top-level-scalar.yaml',
  'unknown-kind.yaml',
  'unknown-apiversion.yaml',
  'unknown-fields.yaml',
  'missing-step-kind.yaml',
  'misspelled-step-kind.yaml',
  'two-step-kinds.yaml',
  'unknown-action.yaml',
  'with-wrong-type.yaml',
  'with-unknown-input.yaml',
  'with-missing-input.yaml',
  'duplicate-step-id.yaml',
  'unknown-step-ref.yaml',
  'later-step-ref.yaml',
  'unknown-param.yaml',
  'unknown-name.yaml',
  'expr-syntax.yaml',
  'bad-duration.yaml',
  'retry-max-attempts.yaml',
  'retry-backoff.yaml',
  'batch-zero.yaml',
  'param-default-type.yaml',
  'nul-byte.yaml',
  'invalid-utf8.yaml',
  'multi-document.yaml',
  'many-mistakes.yaml',
  'shell-value-unsafe.yaml',
];

const files = readdirSync(join(ROOT, DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();

function expectationsOf(file: string): Expected[] {
  if (HEADERLESS[file]) return HEADERLESS[file];
  // latin1: the binary fixtures keep a readable header in front of their bad bytes.
  const text = readFileSync(join(ROOT, DIR, file)).toString('latin1');
  const out: Expected[] = [];
  for (const l of text.split('\n')) {
    const m = /^# expect: (\d+):(\d+): (.+)$/.exec(l);
    if (m) out.push({ line: Number(m[1]), column: Number(m[2]), message: m[3] });
  }
  return out;
}

function validateFile(file: string): { runbook?: unknown; diagnostics: Diagnostic[] } {
  return validateRunbookText(`${DIR}/${file}`, readFileSync(join(ROOT, DIR, file)), { actions: registry });
}

/**
 * Pairs each diagnostic with an expectation at the same line and column whose text it contains.
 * Returns what is left over on either side; both empty means an exact match.
 */
function match(actual: Diagnostic[], expected: Expected[]): { unexpected: string[]; missing: string[] } {
  const left = [...expected];
  const unexpected: string[] = [];
  for (const d of actual) {
    const i = left.findIndex((e) => e.line === d.line && e.column === d.column && d.message.includes(e.message));
    if (i >= 0) left.splice(i, 1);
    else unexpected.push(`${d.line}:${d.column}: ${d.message}`);
  }
  return { unexpected, missing: left.map((e) => `${e.line}:${e.column}: ${e.message}`) };
}

describe('bad-input corpus', () => {
  test('covers every required mistake class, and every file states what it expects', () => {
    expect(REQUIRED.filter((f) => !files.includes(f))).toEqual([]);
    const without = files.filter((f) => expectationsOf(f).length === 0);
    expect(without).toEqual([]);
  });

  test('the binary fixtures really are binary', () => {
    const nul = readFileSync(join(ROOT, DIR, 'nul-byte.yaml'));
    expect(nul.includes(0)).toBe(true);
    const latin1 = readFileSync(join(ROOT, DIR, 'invalid-utf8.yaml'));
    expect(latin1.includes(0xe9)).toBe(true);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(latin1)).toThrow();
    expect(readFileSync(join(ROOT, DIR, 'empty.yaml')).length).toBe(0);
  });

  test.each(files)('%s: exactly the expected diagnostics', (file) => {
    const expected = expectationsOf(file);
    const r = validateFile(file);
    expect(r.runbook).toBeUndefined();
    expect(match(r.diagnostics, expected)).toEqual({ unexpected: [], missing: [] });
    // Every diagnostic names the file, with 1-based positions, and is sorted by position.
    for (const d of r.diagnostics) {
      expect(d.file).toBe(`${DIR}/${file}`);
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.column).toBeGreaterThanOrEqual(1);
    }
    const order = r.diagnostics.map((d) => d.line * 10_000 + d.column);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  test('the matcher rejects a wrong column, a wrong message and an extra diagnostic', () => {
    const d = (line: number, column: number, message: string): Diagnostic => ({ file: 'f', line, column, message });
    const exp = [{ line: 3, column: 5, message: 'unknown field "x"' }];
    expect(match([d(3, 5, 'unknown field "x" (did you mean "y"?)')], exp)).toEqual({ unexpected: [], missing: [] });
    expect(match([d(3, 6, 'unknown field "x"')], exp).missing).toHaveLength(1);
    expect(match([d(3, 5, 'unknown field "z"')], exp).unexpected).toHaveLength(1);
    expect(match([d(3, 5, 'unknown field "x"'), d(4, 1, 'more')], exp).unexpected).toEqual(['4:1: more']);
  });

  test('the many-mistakes file reports every mistake at once', () => {
    const r = validateFile('many-mistakes.yaml');
    expect(r.diagnostics.length).toBe(expectationsOf('many-mistakes.yaml').length);
    expect(r.diagnostics.length).toBeGreaterThanOrEqual(10);
  });
});

describe('bounded and exact on hostile input', () => {
  const runbook = (body: string) => `apiVersion: runwright/v1\nkind: Runbook\nmetadata:\n  name: x\nspec:\n  steps:\n${body}`;

  test('an alias bomb inside a valid runbook fails fast, at an alias', () => {
    // 12 levels of 12: 12^12 (~9e12) strings if expanded.
    const levels = ['    - id: a\n      action: core.noop\n      with:\n        value:\n          l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i <= 12; i++) levels.push(`          l${i}: &l${i} [${Array(12).fill(`*l${i - 1}`).join(', ')}]`);
    const text = runbook(levels.join('\n') + '\n');
    const t0 = Date.now();
    const r = validateRunbookText('bomb.yaml', text, { actions: registry });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.diagnostics).toHaveLength(1);
    // Line 13 is `l2: &l2 [*l1, ...`: the first alias to something that itself holds aliases.
    expect(r.diagnostics[0]).toMatchObject({ line: 13, column: 20, message: expect.stringContaining(`too many alias expansions through "*l1" (limit ${MAX_ALIAS_COUNT})`) });
  });

  test('a few ordinary aliases are fine', () => {
    const text = runbook('    - id: a\n      action: core.log\n      with: &w { message: hi }\n    - id: b\n      action: core.log\n      with: *w\n');
    expect(validateRunbookText('ok.yaml', text, { actions: registry }).diagnostics).toEqual([]);
  });

  test('a long comment header is not slow (no regex backtracking)', () => {
    const text = '# license line\n'.repeat(5000) + runbook('    - id: a\n      sleep: 1s\n');
    const t0 = Date.now();
    expect(validateRunbookText('long.yaml', text, { actions: registry }).diagnostics).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(2000);
    // Comments followed by one broken line: still one diagnostic, still fast.
    const t1 = Date.now();
    const r = validateRunbookText('long.yaml', '# c\n'.repeat(40) + 'x', { actions: registry });
    expect(Date.now() - t1).toBeLessThan(2000);
    expect(r.diagnostics).toEqual([{ file: 'long.yaml', line: 41, column: 1, message: expect.stringContaining('expected a mapping') }]);
  });

  test('binary bytes are located by line and character column (generated files)', () => {
    const cases: [Buffer, number, number, string][] = [
      [Buffer.concat([Buffer.from('a: 1\nname: "é'), Buffer.from([0]), Buffer.from('"\n')]), 2, 9, 'NUL byte'],
      [Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28]), 1, 4, 'invalid UTF-8 byte'], // 2-byte start, bad continuation
      [Buffer.from([0x61, 0x3a, 0x20, 0xe0, 0x80, 0xaf]), 1, 4, 'invalid UTF-8 byte'], // overlong "/"
      [Buffer.from([0x61, 0x3a, 0x20, 0xed, 0xa0, 0x80]), 1, 4, 'invalid UTF-8 byte'], // UTF-16 surrogate
      [Buffer.from([0x0a, 0x0a, 0x78, 0xff]), 3, 2, 'invalid UTF-8 byte'],
      [Buffer.from([0x61, 0x3a, 0x20, 0xe2, 0x82]), 1, 4, 'invalid UTF-8 byte'], // truncated at end of file
    ];
    for (const [bytes, line, column, what] of cases) {
      const r = validateRunbookText('bin.yaml', bytes, { actions: registry });
      expect(r.diagnostics).toEqual([{ file: 'bin.yaml', line, column, message: `file is not UTF-8 text (${what}); expected a YAML runbook` }]);
    }
    // Multi-byte UTF-8 text is not binary.
    const ok = validateRunbookText('utf8.yaml', runbook('    - id: a\n      action: core.log\n      with: { message: "héllo ✓ 🚀" }\n'), { actions: registry });
    expect(ok.diagnostics).toEqual([]);
  });

  test('absurdly deep nesting is one diagnostic, not a crash', () => {
    for (const text of ['a: ' + '['.repeat(20_000) + ']'.repeat(20_000), 'a: ' + '{b: '.repeat(20_000)]) {
      const r = validateRunbookText('deep.yaml', text, { actions: registry });
      expect(r.diagnostics).toHaveLength(1);
      expect(r.diagnostics[0].message).toBe('YAML nested too deeply; expected a runbook of ordinary depth');
    }
  });

  test('an oversized file is refused before parsing', () => {
    const r = validateRunbookText('big.yaml', Buffer.alloc(3 * 1024 * 1024, 0x20), { actions: registry });
    expect(r.diagnostics).toEqual([{ file: 'big.yaml', line: 1, column: 1, message: expect.stringContaining('runbooks are limited to') }]);
  });
});

describe('the CLI on the corpus', () => {
  const run = promisify(execFile);
  const cli = async (...args: string[]) => {
    try {
      const r = await run(join(ROOT, 'bin/runwright'), args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e: any) {
      return { code: e.code as number, stdout: String(e.stdout), stderr: String(e.stderr) };
    }
  };
  const LINE = /^test\/bad-input\/[\w.-]+\.yaml:\d+:\d+: error: \S.*$/;

  test('validate over the whole folder: exit 2, every expected diagnostic, one per line, no stack trace', async () => {
    const r = await cli('validate', DIR);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    const summary = lines.pop();
    const total = files.reduce((n, f) => n + expectationsOf(f).length, 0);
    expect(summary).toBe(`${total} errors`);
    expect(lines.filter((l) => !LINE.test(l))).toEqual([]);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^\s+at /m);
    for (const f of files)
      for (const e of expectationsOf(f)) {
        const prefix = `${DIR}/${f}:${e.line}:${e.column}: error: `;
        expect({ f, e, found: lines.some((l) => l.startsWith(prefix) && l.includes(e.message)) }).toEqual({ f, e, found: true });
      }
  });

  test.each(['yaml-syntax.yaml', 'nul-byte.yaml', 'alias-bomb.yaml', 'many-mistakes.yaml'])('validate %s: exit 2, file:line:col: error: format', async (file) => {
    const r = await cli('validate', `${DIR}/${file}`);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    const expected = expectationsOf(file);
    expect(lines.pop()).toBe(`${expected.length} error${expected.length === 1 ? '' : 's'}`);
    expect(lines).toHaveLength(expected.length);
    for (const l of lines) expect(l).toMatch(LINE);
    expect(lines[0].startsWith(`${DIR}/${file}:${expected[0].line}:${expected[0].column}: error: `)).toBe(true);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  test('a good runbook validates with exit 0 (the checks above can tell the difference)', async () => {
    const r = await cli('validate', 'runbooks/demo.yaml');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^ok {2}runbooks\/demo\.yaml \(demo\)$/m);
  });
});
