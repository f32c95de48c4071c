/**
 * Ansible's own spelling of native host modules (activities/host/ansible-args.ts): every
 * module's table is held to ansible-doc's option list (test/fixtures/ansible-doc/, regenerate
 * with update.py there), every Ansible option and value is either accepted or refused with a
 * message, `key=value` text splits exactly as Ansible's splitter does
 * (test/fixtures/ansible-args/splitter.json, from Ansible's own code), native spelling is left
 * as it was, and play-file errors point at the task's own line:column.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANSIBLE_MODULE_NAMES, ANSIBLE_SPELLINGS, HOST_MODULES } from '../../activities/host/modules';
import { expandBackrefs, freeFormArgs, normalizeArgs, parseKv, pyRegExp, spellingOf, splitArgs, type AnsibleOption, type AnsibleSpelling } from '../../activities/host/ansible-args';
import { inlinePlayProblems, PlaySchema, TaskSchema } from '../../activities/host/play-schema';
import { loadPlayFile } from '../../activities/host/inventory';
import { editLines } from '../../activities/host/modules/lineinfile';

const FIXTURES = join(__dirname, '..', 'fixtures');

interface DocOption {
  type?: string;
  aliases?: string[];
  choices?: unknown[];
  default?: unknown;
  required?: boolean;
}
const doc = (m: string): Record<string, DocOption> => JSON.parse(readFileSync(join(FIXTURES, 'ansible-doc', `${m}.json`), 'utf8')).options;

/** The options of every Ansible module a table covers, merged (name → aliases, types, choices). */
function docOptions(sp: AnsibleSpelling): Map<string, { aliases: Set<string>; types: Set<string>; choices: Set<unknown> }> {
  const out = new Map<string, { aliases: Set<string>; types: Set<string>; choices: Set<unknown> }>();
  for (const m of sp.docs)
    for (const [name, o] of Object.entries(doc(m))) {
      const e = out.get(name) ?? { aliases: new Set(), types: new Set(), choices: new Set() };
      for (const a of o.aliases ?? []) e.aliases.add(a);
      if (o.type) e.types.add(o.type);
      for (const c of o.choices ?? []) e.choices.add(c);
      out.set(name, e);
    }
  return out;
}

const keysOf = (module: string): Set<string> => new Set(spellingOf(module)!.keys);
const parse = (module: string, args: unknown) => HOST_MODULES.get(module)!.args.safeParse(args);
const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }): string[] => (r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`));

/** Args each module needs besides the option under test. */
const MINIMAL: Record<string, Record<string, unknown>> = {
  file: { path: '/tmp/x' },
  copy: { dest: '/tmp/x', content: 'a' },
  lineinfile: { path: '/tmp/x', line: 'a' },
  blockinfile: { path: '/tmp/x' },
  command: { cmd: 'true' },
  shell: { cmd: 'true' },
  package: { name: 'vim' },
  service: { name: 'ssh', state: 'started' },
  sysctl: { name: 'net.ipv4.ip_forward', value: 1 },
  facts: {},
  template: { dest: '/tmp/x', src: 'templates/x.j2' },
  stat: { path: '/tmp/x' },
  assert: { that: ['true'] },
  debug: {},
  fail: {},
};

/** A value of the option's type the native module takes. */
const SAMPLE: Record<string, unknown> = { bool: true, int: 1, list: ['vim'], path: '/tmp/y', str: 'x', raw: '0644' };
/** Where the generic sample does not fit the native arg. */
const SAMPLE_FOR: Record<string, Record<string, unknown>> = {
  copy: { src: '/tmp/a', remote_src: true },
  blockinfile: { marker: '# {mark} X', state: 'present' },
  command: { argv: ['ls'], _raw_params: 'ls', cmd: 'ls' },
  shell: { _raw_params: 'ls', cmd: 'ls', executable: '/bin/bash' },
  service: { state: 'stopped' },
  lineinfile: { state: 'present' },
  sysctl: { state: 'present', value: '1', name: 'net.ipv4.ip_forward' },
  package: { state: 'latest' },
  stat: { checksum_algorithm: 'sha256' },
  assert: { that: ['1 == 1'] },
};
/** Options that need another arg with them. */
const WITH: Record<string, Record<string, Record<string, unknown>>> = {
  copy: { remote_src: { src: '/tmp/a', content: undefined }, src: { content: undefined } },
  command: { argv: { cmd: undefined } },
  file: { state: { src: '/etc/hosts' } },
  lineinfile: { backrefs: { regexp: '^(a)' } },
};

/** Ansible values of options with choices that the native modules refuse (with a message). */
const REFUSED_CHOICES: Record<string, Record<string, unknown[]>> = {
  file: { state: ['hard'] },
  package: { state: ['build-dep', 'fixed'], upgrade: ['dist', 'full', 'safe', 'yes'], use_backend: ['yum', 'yum4', 'dnf'] },
  service: { scope: ['user', 'global'] },
  template: { newline_sequence: ['\\r', '\\r\\n'] },
};

/** Table types that deliberately differ from ansible-doc's. */
const TYPE_EXCEPTIONS: Record<string, string> = {
  // The native value takes numbers and booleans as sysctl writes them (true → 1).
  'sysctl.value': 'raw',
  // assert's action plugin takes one string as a list of one (Ansible's list type would split it at commas).
  'assert.that': 'raw',
};

describe.each(ANSIBLE_SPELLINGS.map((sp) => [sp.module, sp] as const))('%s: the table against ansible-doc', (module, sp) => {
  const docs = docOptions(sp);
  const native = keysOf(module);
  const entries = Object.entries(sp.options) as [string, AnsibleOption][];

  test('every Ansible option is in the table, with exactly its aliases', () => {
    const missing = [...docs.keys()].filter((o) => !(o in sp.options));
    expect(missing).toEqual([]);
    for (const [name, e] of docs) expect({ name, aliases: [...(sp.options[name].aliases ?? [])].sort() }).toEqual({ name, aliases: [...e.aliases].sort() });
  });

  test('the table claims no option Ansible does not have', () => {
    const extra = entries.filter(([name, o]) => !docs.has(name) && !o.undocumented).map(([n]) => n);
    expect(extra).toEqual([]);
  });

  test('every option is supported (into a native arg), accepted as a no-op with a reason, or refused with a reason', () => {
    for (const [name, o] of entries) {
      const kinds = [o.docOnly, o.unsupported && !o.only, o.ignored, o.apply, o.only, !o.docOnly && !o.unsupported && !o.ignored && !o.apply && !o.only].filter(Boolean);
      expect({ name, kinds: kinds.length }).toEqual({ name, kinds: 1 });
      if (o.only) expect({ name, why: typeof o.unsupported }).toEqual({ name, why: 'string' });
      const target = o.to === undefined ? name : o.to;
      if (!o.docOnly && !o.ignored && !o.apply && target !== null && !(o.unsupported && !o.only)) expect({ name, target, native: native.has(target) }).toEqual({ name, target, native: true });
    }
  });

  test("values are converted with Ansible's type", () => {
    for (const [name, o] of entries) {
      const types = docs.get(name)?.types;
      if (!types?.size || o.docOnly || (o.unsupported && !o.only) || o.ignored) continue;
      const want = TYPE_EXCEPTIONS[`${module}.${name}`] ?? [...types][0];
      // Untyped entries take values as they are: only fine for strings and raw values.
      expect({ name, type: o.type ?? (['str', 'raw'].includes(want) ? want : 'missing') }).toEqual({ name, type: want });
    }
  });

  test("Ansible's module names resolve to the native module", () => {
    for (const n of [...sp.names, ...sp.docs]) expect({ n, module: HOST_MODULES.get(n)?.name }).toEqual({ n, module });
  });

  test('each Ansible option and alias parses, or is refused naming the option and ansible.playbook', () => {
    const refusedChoices = REFUSED_CHOICES[module] ?? {};
    for (const [name, o] of entries) {
      for (const spelled of [name, ...(o.aliases ?? [])]) {
        const target = o.to === undefined ? name : o.to;
        const base: Record<string, unknown> = { ...MINIMAL[module], ...(WITH[module]?.[name] ?? {}) };
        if (target) delete base[target];
        for (const k of Object.keys(base)) if (base[k] === undefined) delete base[k];
        const docType = [...(docs.get(name)?.types ?? [])][0] ?? o.type ?? 'str';
        const sample = o.only ? o.only[0] : (SAMPLE_FOR[module]?.[name] ?? SAMPLE[docType] ?? 'x');
        const r = parse(module, { ...base, [spelled]: sample });
        const what = `${module}.${spelled} = ${JSON.stringify(sample)}`;
        if (o.docOnly) expect({ what, m: messages(r) }).toEqual({ what, m: [expect.stringMatching(new RegExp(`^${spelled}: \`${spelled}\` is not an option`))] });
        else if (o.unsupported && !o.only)
          expect({ what, m: messages(r) }).toEqual({ what, m: [`${spelled}: option \`${spelled}\` is not supported natively yet (${o.unsupported}); use ansible.playbook for this task`] });
        else expect({ what, m: messages(r) }).toEqual({ what, m: [] });
        if (o.only) {
          // A value outside the supported ones is refused, naming option and value.
          const other = typeof o.only[0] === 'boolean' ? !o.only[0] : Array.isArray(o.only[0]) ? ['x-other'] : 'x-other';
          const bad = parse(module, { ...base, [spelled]: other });
          const shown = typeof other === 'string' ? other : JSON.stringify(other);
          expect({ what, m: messages(bad) }).toEqual({ what, m: [`${spelled}: \`${spelled}: ${shown}\` is not supported natively yet (${o.unsupported}); use ansible.playbook for this task`] });
        }
        for (const choice of docs.get(name)?.choices ?? []) {
          if (choice === '*regex*') continue;
          const c = parse(module, { ...base, [spelled]: choice });
          const refused = (refusedChoices[name] ?? []).includes(choice);
          expect({ what: `${module}.${spelled} = ${String(choice)}`, refused: messages(c).some((m) => m.includes('is not supported natively yet')), ok: c.success }).toEqual({
            what: `${module}.${spelled} = ${String(choice)}`,
            refused,
            ok: !refused,
          });
        }
      }
    }
  });
});

test("template's Ansible names resolve (its option table comes with its Jinja2 rendering; the tests above take it when it is in ANSIBLE_SPELLINGS)", () => {
  expect(HOST_MODULES.get('ansible.builtin.template')?.name).toBe('template');
  expect(HOST_MODULES.get('ansible.legacy.template')?.name).toBe('template');
});

test("the validator's check of inline plays finds modules by Ansible's names too", () => {
  expect(inlinePlayProblems({ play: { tasks: [{ 'ansible.builtin.shell': "echo '{{ x }}'" }] } })).toEqual([
    expect.objectContaining({ path: ['play', 'tasks', 0, 'ansible.builtin.shell'], message: expect.stringMatching(/^ansible\.builtin\.shell: .*inside '…' a value never expands/) }),
  ]);
});

test('HOST_MODULES: Ansible names resolve; iteration sees each native module once', () => {
  expect([...HOST_MODULES.keys()]).toEqual(['command', 'shell', 'copy', 'template', 'file', 'lineinfile', 'blockinfile', 'package', 'service', 'sysctl', 'facts', 'route', 'stat', 'debug', 'fail', 'assert', 'set_fact']);
  expect(HOST_MODULES.size).toBe(17);
  expect(HOST_MODULES.get('ansible.builtin.set_fact')?.name).toBe('set_fact');
  expect(HOST_MODULES.get('apt')).toBe(HOST_MODULES.get('package'));
  expect(HOST_MODULES.get('ansible.builtin.systemd')).toBe(HOST_MODULES.get('service'));
  expect(HOST_MODULES.get('ansible.posix.sysctl')).toBe(HOST_MODULES.get('sysctl'));
  expect(HOST_MODULES.has('ansible.legacy.copy')).toBe(true);
  expect(HOST_MODULES.has('ansible.builtin.user')).toBe(false);
  for (const [n, m] of ANSIBLE_MODULE_NAMES) expect(HOST_MODULES.get(n)?.name).toBe(m);
});

describe("Ansible's splitter (parsing/splitter.py)", () => {
  const { ansible, cases } = JSON.parse(readFileSync(join(FIXTURES, 'ansible-args', 'splitter.json'), 'utf8')) as {
    ansible: string;
    cases: { input: string; split: { ok?: string[] }; kv: { ok?: Record<string, string> }; raw: { ok?: Record<string, string> } }[];
  };
  test.each(cases.map((c) => [JSON.stringify(c.input), c] as const))(`same as ansible-core ${ansible}: %s`, (_n, c) => {
    const run = <T>(f: () => T) => {
      try {
        return { ok: f() };
      } catch {
        return { error: true };
      }
    };
    expect(run(() => splitArgs(c.input))).toEqual(c.split.ok ? { ok: c.split.ok } : { error: true });
    expect(run(() => parseKv(c.input, false))).toEqual(c.kv.ok ? { ok: c.kv.ok } : { error: true });
    expect(run(() => parseKv(c.input, true))).toEqual(c.raw.ok ? { ok: c.raw.ok } : { error: true });
  });

  test('a command line without creates=/chdir=… words is kept exactly as written', () => {
    for (const t of ["echo it's", 'echo a    b', 'echo a \\\n  b', '  x', 'dd if=/dev/zero of=/tmp/x']) expect(freeFormArgs(t, 'cmd')).toEqual({ args: { cmd: t }, issues: [] });
    expect(freeFormArgs('chdir=/tmp creates="/a b" make  install', 'cmd')).toEqual({ args: { cmd: 'make  install', chdir: '/tmp', creates: '/a b' }, issues: [] });
    expect(freeFormArgs('path=/x state=touch mode=0644', undefined)).toEqual({ args: { path: '/x', state: 'touch', mode: '0644' }, issues: [] });
    expect(freeFormArgs('path=/x oops', undefined).issues).toEqual([{ path: [], message: 'expected `key=value` arguments or a mapping; "oops" is neither' }]);
  });
});

describe('tasks in Ansible spelling', () => {
  const task = (t: Record<string, unknown>) => {
    const r = TaskSchema.safeParse(t);
    return r.success ? { module: r.data.module, args: r.data.args } : { errors: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  };

  test("the issue's example: file with src, dest and state link", () => {
    expect(task({ file: { src: '/etc/hosts', dest: '/tmp/x', state: 'link' } })).toEqual({ module: 'file', args: { src: '/etc/hosts', path: '/tmp/x', state: 'link' } });
  });

  test('module names, aliases, key=value text and loose types become native', () => {
    expect(task({ 'ansible.builtin.copy': 'src=files/a.conf dest=/etc/a.conf mode=0644 backup=yes' })).toEqual({ module: 'copy', args: { src: 'files/a.conf', dest: '/etc/a.conf', mode: '0644', backup: true } });
    expect(task({ lineinfile: { destfile: '/etc/ssh/sshd_config', regex: '^#?PermitRootLogin', value: 'PermitRootLogin no', create: 'yes' } })).toEqual({
      module: 'lineinfile',
      args: { path: '/etc/ssh/sshd_config', regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no', create: true },
    });
    expect(task({ apt: 'pkg=nginx,curl state=installed update-cache=yes cache_valid_time=3600' })).toEqual({ module: 'package', args: { name: ['nginx', 'curl'], state: 'present', update_cache: true, cache_valid_time: 3600 } });
    expect(task({ 'ansible.posix.sysctl': { key: 'net.ipv4.ip_forward', val: 1, sysctl_set: true, reload: false } })).toEqual({ module: 'sysctl', args: { name: 'net.ipv4.ip_forward', value: 1, reload: true } });
    expect(task({ systemd: { unit: 'nginx', state: 'restarted', 'daemon-reload': 'yes', sleep: 3 } })).toEqual({ module: 'service', args: { name: 'nginx', state: 'restarted', daemon_reload: true } });
    expect(task({ blockinfile: { dest: '/etc/hosts', content: '10.0.0.1 a\n', marker: '# {mark} X' } })).toEqual({ module: 'blockinfile', args: { path: '/etc/hosts', block: '10.0.0.1 a\n', marker: '# {mark} X' } });
    expect(task({ command: 'creates=/opt/app/*.jar chdir=/src make install' })).toEqual({ module: 'command', args: { cmd: 'make install', creates: '/opt/app/*.jar', chdir: '/src' } });
    expect(task({ shell: { cmd: 'cat', stdin: 'a', stdin_add_newline: true } })).toEqual({ module: 'shell', args: { cmd: 'cat', stdin: 'a\n' } });
    expect(task({ lineinfile: { path: '/x', search_string: 'a.b(', line: 'c' } })).toEqual({ module: 'lineinfile', args: { path: '/x', regexp: 'a\\.b\\(', line: 'c' } });
    expect(task({ 'ansible.builtin.setup': null })).toEqual({ module: 'facts', args: {} });
    expect(task({ file: { path: '/x', state: 'directory', mode: null, follow: true, unsafe_writes: false } })).toEqual({ module: 'file', args: { path: '/x', state: 'directory' } });
  });

  test('placeholders: shell/command text keeps its native key (values stay data); value-dependent options wait for the rendered value', () => {
    expect(task({ shell: { _raw_params: 'echo "{{ x }}"' } })).toEqual({ module: 'shell', args: { cmd: 'echo "{{ x }}"' } });
    expect(task({ shell: { _raw_params: "echo '{{ x }}'" } })).toEqual({ errors: [expect.stringMatching(/^shell\.cmd: shell: \{\{ x \}\} at line 1, column 7 of the script: inside '…' a value never expands/)] });
    expect(task({ command: 'ls {{ d }} chdir={{ d }}' })).toEqual({ module: 'command', args: { cmd: 'ls {{ d }}', chdir: '{{ d }}' } });
    expect(task({ file: { dest: '{{ p }}', state: '{{ s }}', follow: '{{ f }}' } })).toEqual({ module: 'file', args: { path: '{{ p }}', state: '{{ s }}', follow: '{{ f }}' } });
    // Rendered, the value-dependent options are checked like literal ones.
    expect(messages(parse('file', { path: '/x', state: 'hard', follow: 'no' }))).toEqual([
      'state: `state: hard` is not supported natively yet (hard links); use ansible.playbook for this task',
      'follow: `follow: false` is not supported natively yet (acting on a symlink itself instead of the file it points to); use ansible.playbook for this task',
    ]);
  });

  test('refusals name the option, the module and what to do', () => {
    expect(task({ copy: { dest: '/x', content: 'a', validate: 'visudo -cf %s' } })).toEqual({
      errors: ['copy.validate: copy: option `validate` is not supported natively yet (checking the new file with a command before it replaces the old one); use ansible.playbook for this task'],
    });
    expect(task({ 'ansible.builtin.file': { path: '/x', stat: 'directory' } })).toEqual({
      errors: ['ansible.builtin.file.stat: ansible.builtin.file: unknown option `stat` (not an option of ansible.builtin.file either); did you mean `state`? (options: path, state, src, mode, owner, group, recurse, force, dest, name)'],
    });
    expect(task({ file: { path: '/x', dest: '/y' } })).toEqual({ errors: ['file.dest: file: `path` and `dest` are the same option (path); give it once'] });
    expect(task({ lineinfile: { path: '/x', line: 'a', create: 'maybe' } })).toEqual({ errors: ['lineinfile.create: lineinfile: expected a boolean (yes/no, true/false), got "maybe"'] });
    expect(task({ file: { state: 'directory' } })).toEqual({ errors: ['file.path: file: missing required option `path` (or `dest`, `name`)'] });
    expect(task({ command: 'make', args: { chdir: '/src' } })).toEqual({ errors: [expect.stringMatching(/^args: task keyword `args` is not supported natively yet: put the options in the module's own mapping/)] });
    expect(task({ 'ansible.builtin.user': { name: 'bob' } })).toEqual({ errors: [expect.stringMatching(/^ansible\.builtin\.user: unknown module "ansible.builtin.user" \(not available natively yet; use ansible.playbook for this task\)/)] });
    expect(task({ command: 'true', warn: false })).toEqual({ errors: [': a task has exactly one module; found "command", "warn"'] });
    expect(task({ command: 'warn=no true' })).toEqual({ errors: [expect.stringMatching(/^command.warn: command: unknown option `warn`/)] });
  });

  test("native spelling is unchanged: native args come through as written", () => {
    const native: [string, Record<string, unknown>][] = [
      ['copy', { dest: '/etc/rw-copy.conf', content: 'a=1\nb=2\n', mode: '0640' }],
      ['copy', { dest: '/home/deploy/f', src: 'local.txt', owner: 'deploy', group: 'deploy', backup: true }],
      ['file', { path: '/etc/app', state: 'directory', mode: '0755', recurse: true, owner: 'a' }],
      ['file', { path: '/l', state: 'link', src: '/etc/hosts', force: true }],
      ['lineinfile', { path: '/etc/x', regexp: '^workers', line: 'workers {{ workers }}', create: true, insertafter: 'EOF', firstmatch: true }],
      ['blockinfile', { path: '/etc/x', block: 'a\nb\n', marker: '# {mark} M', marker_begin: 'B', marker_end: 'E', insertbefore: 'BOF' }],
      ['command', { argv: ['sleep', '{{ string(slow) }}'], chdir: '/tmp', creates: '/x', removes: '/y', env: { A: 'b' }, stdin: 'in', timeout: 5 }],
      ['shell', { cmd: 'echo restarted >> /var/log/x', executable: '/bin/bash', env: { A: 'b' } }],
      ['package', { name: ['rw-hello=1.0'], state: 'latest', update_cache: true, purge: true }],
      ['service', { name: 'app.service', state: 'started', enabled: true }],
      ['sysctl', { name: 'net.ipv4.conf.all.forwarding', value: 1, state: 'present', sysctl_file: '/etc/sysctl.d/x.conf', reload: false }],
      ['facts', {}],
    ];
    for (const [m, args] of native) {
      expect(task({ [m]: args })).toEqual({ module: m, args });
      expect(normalizeArgs(spellingOf(m)!.spelling, args, spellingOf(m)!.keys, 'parse')).toEqual({ args, issues: [] });
    }
    expect(task({ command: 'ls -l' })).toEqual({ module: 'command', args: { cmd: 'ls -l' } });
    // A package name in a string is Ansible's one-item list; the module reads both alike.
    expect(task({ package: { name: 'rw-hello=1.0' } })).toEqual({ module: 'package', args: { name: ['rw-hello=1.0'] } });
    expect(task({ route: { routes: [{ dest: '10.0.0.0/8', via: '10.1.1.1' }], purge: true } })).toMatchObject({ module: 'route' });
  });
});

describe('Python regular expressions and backrefs (lineinfile)', () => {
  test('named groups, \\A and \\Z read as JavaScript', () => {
    expect(pyRegExp('(?P<k>\\w+)=(?P=k)').exec('a=a')?.groups).toEqual({ k: 'a' });
    expect(pyRegExp('\\Aab\\Z').test('ab')).toBe(true);
    expect(pyRegExp('[\\A]').test('A')).toBe(true);
    expect(pyRegExp('\\\\A').test('\\A')).toBe(true);
  });

  test("backrefs: the line is the match's template; no match, no change", () => {
    const a = { regexp: '^(PermitRootLogin)\\s+(?P<v>\\S+)', line: '\\1 no # was \\g<v>', state: 'present' as const, backrefs: true };
    expect(editLines('Port 22\nPermitRootLogin yes\n', a)).toBe('Port 22\nPermitRootLogin no # was yes\n');
    expect(editLines('Port 22\n', a)).toBe('Port 22\n');
    expect(editLines(null, a)).toBeNull();
    const m = /(a)(b)?/.exec('a')!;
    expect(expandBackrefs('\\1-\\2-\\g<1>\\t\\\\', m)).toBe('a--a\t\\');
    expect(() => expandBackrefs('\\3', m)).toThrow('invalid group reference 3');
  });
});

describe("play files: errors at the task's own line:column", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rw-ansible-args-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    try {
      return PlaySchema.parse(loadPlayFile(f)).tasks.map((t) => [t.module, t.args]);
    } catch (e: any) {
      return e.message.replace(dir, 'DIR');
    }
  };

  test("the issue's example loads (it failed with tasks.7.file.path at 1:1)", () => {
    const tasks = Array.from({ length: 7 }, (_, i) => `  - name: t${i}\n    command: "true"\n`).join('');
    expect(load('issue.yaml', `tasks:\n${tasks}  - name: link\n    file: {src: /etc/hosts, dest: /tmp/x, state: link}\n`)[7]).toEqual(['file', { src: '/etc/hosts', path: '/tmp/x', state: 'link' }]);
  });

  test('an unsupported option: at its key', () => {
    expect(load('validate.yaml', 'tasks:\n  - name: sudoers\n    copy:\n      dest: /etc/sudoers\n      content: x\n      validate: visudo -cf %s\n')).toBe(
      'DIR/validate.yaml:6:7: tasks.0.copy.validate: copy: option `validate` is not supported natively yet (checking the new file with a command before it replaces the old one); use ansible.playbook for this task',
    );
    expect(load('flow.yaml', 'tasks:\n  - copy: {dest: /x, content: a, checksum: abc}\n')).toMatch(/^DIR\/flow\.yaml:2:34: tasks\.0\.copy\.checksum: copy: option `checksum` is not supported/);
  });

  test('in key=value text: at the word', () => {
    expect(load('kv.yaml', 'tasks:\n  - file: path=/tmp/x src=/etc/hosts state=hard\n')).toMatch(/^DIR\/kv\.yaml:2:38: tasks\.0\.file\.state: file: `state: hard` is not supported natively yet \(hard links\)/);
    expect(load('kv2.yaml', 'tasks:\n  - ansible.builtin.file: "path=/x mdoe=0644"\n')).toMatch(/^DIR\/kv2\.yaml:2:36: tasks\.0\.ansible\.builtin\.file\.mdoe: ansible\.builtin\.file: unknown option `mdoe`.*did you mean `mode`\?/);
  });

  test('a missing option: at the module mapping of the task, not 1:1', () => {
    expect(load('missing.yaml', 'tasks:\n  - name: a\n    command: "true"\n  - name: b\n    file: {state: directory}\n')).toBe('DIR/missing.yaml:5:11: tasks.1.file.path: file: missing required option `path` (or `dest`, `name`)');
    expect(load('missing2.yaml', 'tasks:\n  - name: b\n    file:\n')).toBe('DIR/missing2.yaml:3:5: tasks.0.file.path: file: missing required option `path` (or `dest`, `name`)');
  });

  test('a bad value: at the value; task keywords and play keys: at the key', () => {
    expect(load('value.yaml', 'tasks:\n  - lineinfile:\n      path: /x\n      line: a\n      create: maybe\n')).toBe('DIR/value.yaml:5:15: tasks.0.lineinfile.create: lineinfile: expected a boolean (yes/no, true/false), got "maybe"');
    expect(load('kw.yaml', 'tasks:\n  - command: echo {{ item }}\n    with_items: [1, 2]\n')).toMatch(/^DIR\/kw\.yaml:3:5: tasks\.0\.with_items: task keyword `with_items` is not supported natively yet: write `loop:` instead/);
    expect(load('play.yaml', 'hosts: all\nstrategy: free\ntasks: []\n')).toBe('DIR/play.yaml:2:1: play: Unrecognized key: "strategy"');
  });

  test('positions as before for the mistakes that had them', () => {
    expect(load('p2.yaml', 'tasks:\n  - name: x\n    copy: { dest: relative }\n')).toMatch(/^DIR\/p2\.yaml:3:19: tasks\.0\.copy\.dest: copy: must be an absolute path/);
    expect(load('p3.yaml', 'tasks:\n  - name: x\n    cpoy: { dest: /x }\n')).toMatch(/^DIR\/p3\.yaml:3:11: tasks\.0\.cpoy: unknown module "cpoy"/);
  });

  test('a whole play in Ansible spelling (a list with one play, YAML 1.1 booleans as strings)', () => {
    const text = `- hosts: web
  become: true
  tasks:
    - name: packages
      ansible.builtin.apt:
        name: [nginx]
        state: present
        update_cache: yes
        cache_valid_time: 3600
    - name: config
      ansible.builtin.copy:
        src: files/nginx.conf
        dest: /etc/nginx/nginx.conf
        owner: root
        group: root
        mode: "0644"
        backup: yes
    - name: no root login
      ansible.builtin.lineinfile:
        dest: /etc/ssh/sshd_config
        regexp: '^#?PermitRootLogin'
        line: PermitRootLogin no
    - ansible.builtin.file: path=/var/www state=directory owner=www-data recurse=yes
    - ansible.builtin.command: /usr/sbin/nginx -t chdir=/etc/nginx
      changed_when: false
    - ansible.builtin.systemd:
        name: nginx
        enabled: yes
        state: started
        daemon_reload: yes
`;
    expect(load('site.yaml', text)).toEqual([
      ['package', { name: ['nginx'], state: 'present', update_cache: true, cache_valid_time: 3600 }],
      ['copy', { src: 'files/nginx.conf', dest: '/etc/nginx/nginx.conf', owner: 'root', group: 'root', mode: '0644', backup: true }],
      ['lineinfile', { path: '/etc/ssh/sshd_config', regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' }],
      ['file', { path: '/var/www', state: 'directory', owner: 'www-data', recurse: true }],
      ['command', { cmd: '/usr/sbin/nginx -t', chdir: '/etc/nginx' }],
      ['service', { name: 'nginx', enabled: true, state: 'started', daemon_reload: true }],
    ]);
  });
});
