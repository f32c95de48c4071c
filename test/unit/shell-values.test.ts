/**
 * Values are data (activities/host/shell-values.ts, dsl/play-values.ts, dsl/template-checks.ts): the shell
 * quoting scanner, the placeholder -> environment variable rewrite run by real local shells
 * (dash and bash) with hostile values, command lines split before values go in, runbook values
 * of inline plays carried as task vars, and the validator's file:line:column refusals.
 * The same guarantees end to end over SSH, module by module: values-are-data.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { buildRegistry } from '../../activities/registry';
import { TASK_KEYWORDS } from '../../activities/host/play-schema';
import { shlexSplit } from '../../activities/host/inventory-files';
import { shq } from '../../activities/host/ssh';
import { commandTemplateToArgv, lineCol, scanShell, shellTextToData, ShellValueError } from '../../activities/host/shell-values';
import { PLAY_TASK_KEYWORDS, renderActionInput } from '../../dsl/play-values';
import { locateInSource } from '../../dsl/template-checks';
import { validateRunbookText } from '../../dsl/validate';
import { hostile } from '../helpers/hostile';

const CANARY = `/tmp/rw-values-canary-${process.pid}`;

/** Run a script the way activities/host/ssh.ts does: exported shq-quoted values, then the script, through `shell -c`. */
function runLocal(shell: string, script: string, env: Record<string, string>): { out: Buffer; code: number | null; err: string } {
  const pre = Object.entries(env).map(([k, v]) => `export ${k}=${shq(v)}\n`).join('');
  // stdin not a socket: bash would read ~/.bashrc when it thinks sshd started it.
  const r = spawnSync(shell, ['-c', pre + script], { env: { PATH: process.env.PATH }, cwd: '/tmp', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  return { out: r.stdout, code: r.status, err: r.stderr.toString() };
}

const ctxs = (t: string) => scanShell(t).map((s) => (s.problem ? `refused:${s.context}` : s.context));

describe('scanner: the quoting context of each placeholder', () => {
  test.each([
    ['echo {{ x }}', ['bare']],
    ['echo "a {{ x }} b"', ['dquote']],
    ["echo 'a'{{ x }}'b'", ['bare']],
    ['cat <<EOF\nhello {{ x }} "q"\nEOF\necho {{ y }}', ['heredoc', 'bare']],
    ['cat <<-EOF\n\t{{ x }}\n\tEOF', ['heredoc']],
    ['echo `echo {{ x }}`', ['bare']],
    ['echo $(echo "{{ x }}")', ['dquote']],
    ['echo "$(echo {{ x }})"', ['bare']],
    ['echo $(case a in a) echo {{ x }};; esac) {{ y }}', ['bare', 'bare']],
    ["sh -c 'echo \"$1\"' sh {{ x }}", ['bare']],
    ['X={{ x }} env', ['bare']],
    ['echo {{ a }} > {{ f }} 2>&1', ['bare', 'bare']],
    ['# about {{ x }}\necho ok', ['comment']],
    ['[ {{ x }} -eq 1 ]', ['bare']],
    ['echo {{ x }} | sh -c cat', ['bare']],
    ['cat <<EOF\n{{ x }}\nEOF\n', ['heredoc']],
    ['cat <<< "{{ x }}"', ['dquote']],
    ['declare n={{ x }}; a=({{ x }}); echo ${a[0]}', ['bare', 'bare']],
    ['[ -n {{ x }} ]', ['bare']],
  ])('%j', (t, want) => {
    expect(ctxs(t)).toEqual(want);
  });

  test.each([
    ["echo 'a {{ x }}'", "inside '…' a value never expands"],
    ["echo $'{{ x }}'", "inside $'…' a value never expands"],
    ["cat <<'EOF'\n{{ x }}\nEOF", 'inside a quoted here-document'],
    ['cat <<\\EOF\n{{ x }}\nEOF', 'inside a quoted here-document'],
    ['cat <<"EOF"\n{{ x }}\nEOF', 'inside a quoted here-document'],
    ['echo "`echo {{ x }}`"', 'inside `…` within "…"'],
    ['sh -c "echo {{ x }}"', 'this is the script of `sh -c`'],
    ['bash -ec {{ x }}', 'this is the script of `bash -ec`'],
    ['sudo -u bob sh -c "x {{ y }}"', 'this is the script of `sh -c`'],
    ['timeout 5 bash -c "{{ x }}"', 'this is the script of `bash -c`'],
    ['x=$(sh -c "echo $(echo {{ x }})")', 'this is the script of `sh -c`'],
    ['eval echo {{ x }}', 'eval parses its arguments as shell code again'],
    ['trap "echo {{ x }}" EXIT', 'trap parses its arguments as shell code again'],
    ['ssh h uptime {{ x }}', 'ssh joins its arguments'],
    ['echo $(( {{ n }} + 1 ))', 'inside $((…))'],
    ['(( {{ n }} > 1 ))', 'inside ((…))'],
    ['let x={{ n }}', 'let evaluates its arguments as arithmetic'],
    ['echo ${A:-{{ x }}}', 'inside ${…}'],
    ['[[ {{ x }} -eq 1 ]]', 'inside [[ … ]]'],
    ['echo \\{{ x }}', 'right after a backslash'],
    ['echo "\\{{ x }}"', 'right after a backslash'],
    ['echo ${{ x }}', 'right after "$"'],
    ['sh <<EOF\necho {{ x }}\nEOF', 'this here-document is read by sh as shell code'],
    ['cat <<EOF | sh\necho {{ x }}\nEOF', 'read by sh as shell code'],
    ['echo {{ x }} | tee f | bash', 'read by bash as shell code'],
    ['sh <<< "echo {{ x }}"', 'read by sh as shell code'],
    ['{{ script }}', 'the whole script is one {{ }} expression'],
    ['declare -i n={{ x }}', 'declare -i evaluates values as arithmetic'],
    ['local -ri n={{ x }}', 'local -i evaluates values as arithmetic'],
    ['a[{{ i }}]=1', 'inside an array subscript'],
    ['[ -v {{ x }} ]', 'test -v evaluates an array subscript'],
  ])('refuses %j', (t, why) => {
    const slots = scanShell(t);
    expect(slots.length).toBeGreaterThan(0);
    expect(slots.some((s) => s.problem?.includes(why))).toBe(true);
  });

  test('a refusal names the placeholder, its line and column in the script, and the fix', () => {
    let err: unknown;
    try {
      shellTextToData("set -e\necho 'dir: {{ params.dir }}'", () => 'x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShellValueError);
    expect((err as Error).message).toBe(
      `{{ params.dir }} at line 2, column 12 of the script: inside '…' a value never expands ('$x' is literal text); move it out of the single quotes ('abc'{{ x }}'def'), or use double quotes ("abc {{ x }} def"), where it expands to the value as one string`,
    );
    expect((err as ShellValueError).offset).toBe(18);
    expect(lineCol('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });

  test('the rewrite: references by context, values in the environment, NUL refused', () => {
    expect(shellTextToData('cat <<EOF\n{{ a }}\nEOF\necho "{{ b }}" {{ c }} # {{ d }}', (e) => e.trim().toUpperCase())).toEqual({
      text: 'cat <<EOF\n${RW_V1}\nEOF\necho "${RW_V2}" "${RW_V3}" # ${RW_V4}',
      env: { RW_V1: 'A', RW_V2: 'B', RW_V3: 'C', RW_V4: 'D' },
    });
    expect(shellTextToData('echo {{ x }}', () => ({ a: [1] })).env).toEqual({ RW_V1: '{"a":[1]}' });
    expect(() => shellTextToData('echo {{ x }}', () => 'a\0b')).toThrow(/NUL byte/);
  });
});

describe('real shells run the rewritten scripts: hostile values arrive byte for byte and run nothing', () => {
  /** [template, expected stdout for value v] */
  const contexts: [string, string, (v: string) => string][] = [
    ['bare word', "printf '%s' {{ v }}", (v) => v],
    ['inside "…"', `printf '%s' "<{{ v }}>"`, (v) => `<${v}>`],
    ['glued to quoted text', `printf '%s' 'a'{{ v }}"b"`, (v) => `a${v}b`],
    ['unquoted here-document', 'cat <<EOF\n[{{ v }}]\nEOF', (v) => `[${v}]\n`],
    ['here-document with <<-', 'cat <<-EOF\n\t[{{ v }}]\n\tEOF', (v) => `[${v}]\n`],
    ['$(…) inside "…"', `printf '%s' "$(printf '%s' {{ v }})"`, (v) => v.replace(/\n+$/, '')],
    ['backticks', "x=`printf '%s' {{ v }}`; printf '%s' \"$x\"", (v) => v.replace(/\n+$/, '')],
    ['assignment', `x={{ v }}; printf '%s' "$x"`, (v) => v],
    ['argument of sh -c', `sh -c 'printf "%s" "$1"' sh {{ v }}`, (v) => v],
    ['case word and pattern', `case {{ v }} in {{ v }}) printf same;; *) printf differ;; esac`, () => 'same'],
    ['redirect target', `printf '%s' ok > "/tmp/rw-values-$$"{{ v2 }}; cat "/tmp/rw-values-$$"{{ v2 }}; rm -f "/tmp/rw-values-$$"{{ v2 }}`, () => 'ok'],
  ];
  afterAll(() => rmSync(CANARY, { force: true }));

  test.each(contexts)('%s', (_name, template, expected) => {
    for (const shell of ['/bin/sh', '/bin/bash']) {
      fc.assert(
        fc.property(hostile(CANARY), (v) => {
          // The redirect case needs a file-name-safe value next to the hostile one.
          const { text, env } = shellTextToData(template, (e) => (e.trim() === 'v2' ? `-${v.length}` : v));
          const r = runLocal(shell, text, env);
          expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
          expect(r.out.equals(Buffer.from(expected(v), 'utf8'))).toBe(true);
          expect(existsSync(CANARY)).toBe(false);
        }),
        { numRuns: 40 },
      );
    }
  });

  test('the scanner can fail: the old single-quoted word breaks inside "…" (the bug this replaces)', () => {
    const value = `"; touch ${CANARY}; "`;
    const old = `echo "x ${shq(value)}"`;
    runLocal('/bin/sh', old, {});
    expect(existsSync(CANARY)).toBe(true);
    rmSync(CANARY, { force: true });
    const { text, env } = shellTextToData('echo "x {{ v }}"', () => value);
    expect(runLocal('/bin/sh', text, env).out.toString()).toBe(`x ${value}\n`);
    expect(existsSync(CANARY)).toBe(false);
  });
});

describe('command: cmd is split into words before the values go in', () => {
  const split = (l: string) => shlexSplit(l, false);
  test('a value stays inside its word, whatever it contains', () => {
    fc.assert(
      fc.property(hostile(CANARY), (v) => {
        expect(commandTemplateToArgv(`echo {{ v }} "a {{ v }}" 'b'{{ v }}`, () => v, split)).toEqual(['echo', v, `a ${v}`, `b${v}`]);
      }),
      { numRuns: 100 },
    );
  });
  test('a cmd that is one expression is refused with the argv fix', () => {
    expect(() => commandTemplateToArgv("{{ 'systemctl restart ' + x }}", () => 'systemctl restart a', split)).toThrow(/argv: "\{\{ \['prog', 'arg'\] \+ list \}\}"/);
  });
});

describe('inline plays: runbook values become task vars, never task text', () => {
  const scope = { params: { dir: `/x'; touch ${CANARY}; '{{ inventory_hostname }}`, pkgs: ['a', 'b'] }, steps: {}, run: { id: 'r1' } };
  test('shell text keeps its script; values go into vars; keywords and other actions render as before', () => {
    const out = renderActionInput(
      'host.play',
      {
        hosts: '{{ params.pkgs }}',
        play: {
          name: 'p {{ run.id }}',
          tasks: [
            { name: 'n {{ run.id }}', shell: { cmd: 'mkdir -p {{ params.dir }} && echo "{{ params.dir }}"', creates: '{{ params.dir + "/x" }}' }, vars: { keep: 1 } },
            { package: { name: '{{ params.pkgs }}' } },
            { command: 'true' },
          ],
          handlers: [{ name: 'h', shell: 'echo {{ run.id }}' }],
        },
      },
      scope,
    );
    expect(out).toEqual({
      hosts: ['a', 'b'],
      play: {
        name: 'p r1',
        tasks: [
          { name: 'n r1', shell: { cmd: 'mkdir -p {{ __rw1 }} && echo "{{ __rw2 }}"', creates: '{{ __rw3 }}' }, vars: { keep: 1, __rw1: scope.params.dir, __rw2: scope.params.dir, __rw3: `${scope.params.dir}/x` } },
          { package: { name: '{{ __rw1 }}' }, vars: { __rw1: ['a', 'b'] } },
          { command: 'true' },
        ],
        handlers: [{ name: 'h', shell: 'echo {{ __rw1 }}', vars: { __rw1: 'r1' } }],
      },
    });
    expect(renderActionInput('core.log', { message: '{{ params.pkgs }}' }, scope)).toEqual({ message: ['a', 'b'] });
    // A play given as a whole value (from a file) is untouched: its placeholders are the play's own.
    expect(renderActionInput('host.play', { play: '{{ params.pkgs }}' }, scope)).toEqual({ play: ['a', 'b'] });
  });
  test('the workflow and the play schema agree on what a task keyword is', () => {
    expect([...PLAY_TASK_KEYWORDS].sort()).toEqual([...TASK_KEYWORDS].sort());
  });
});

describe('validator: unsafe placeholders in inline plays, at their own file:line:column', () => {
  const registry = buildRegistry();
  const rb = (tasks: string) => `apiVersion: runwright/v1
kind: Runbook
metadata: { name: t }
spec:
  params:
    dir: { type: string }
  steps:
    - id: outer
      steps:
        - id: p
          action: host.play
          with:
            inventory: inv.ini
            hosts: [a]
            play:
              tasks:
${tasks}
          compensate:
            action: host.play
            with: { inventory: inv.ini, hosts: [a], play: { tasks: [ { shell: "rm -rf '{{ params.dir }}'" } ] } }
`;
  test('block scalars, escaped double quotes, nested steps and compensations', () => {
    const text = rb(`                - shell: |
                    set -e
                    echo "ok {{ params.dir }}"
                    echo '{{ params.dir }}'
                - shell: "printf \\"%s\\" \\"\\\\{{ params.dir }}\\""
                - command: { cmd: "ls {{ params.dir }}" }
                - command: "{{ 'ls ' + params.dir }}"`);
    const r = validateRunbookText('t.yaml', text, { actions: registry });
    expect(r.runbook).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message.slice(0, 60)}`)).toEqual([
      '20:27: host.play: shell: {{ params.dir }} at line 3, column 7 of th',
      '21:45: host.play: shell: {{ params.dir }} at line 1, column 15 of t',
      '23:29: host.play: command: cmd is a single {{ }} expression, so its',
      '26:88: host.play: shell: {{ params.dir }} at line 1, column 9 of th',
    ]);
    // The columns really point at the `{{` of the offending placeholder.
    const lines = text.split('\n');
    for (const d of r.diagnostics) expect(lines[d.line - 1].slice(d.column - 1, d.column + 1)).toBe('{{');
  });
  test('safe placeholders validate', () => {
    const text = rb(`                - shell: 'mkdir -p -- {{ params.dir }} && echo "in {{ params.dir }}"'
                - command: { argv: "{{ ['ls', params.dir] }}" }`).replace(`rm -rf '{{ params.dir }}'`, 'rm -rf {{ params.dir }}');
    expect(validateRunbookText('t.yaml', text, { actions: registry }).diagnostics).toEqual([]);
  });
  test('locateInSource falls back to the node when the source has fewer {{ than the value', () => {
    expect(locateInSource('a: "x"\n', { line: 1, column: 4 }, 'x {{ y }}', 2)).toEqual({ line: 1, column: 4 });
  });
});
