/**
 * Jinja2 for plays (activities/host/jinja.ts): the filters and tests Ansible plays use most, with
 * Python's output and parsing where nunjucks differs (lists print as ['a'], True/None, regex
 * escapes kept, nested dict literals, multi-argument tests), and Ansible's typed single
 * placeholder. test/jinja-ansible.test.ts holds the same engine to ansible-playbook itself.
 */
import { balanceBraces, evaluateJinja, jinjaSyntaxProblem, renderJinja, renderJinjaString } from '../../activities/host/jinja';
import { playJinjaProblems } from '../../activities/host/play-jinja';

const scope = {
  pkgs: ['nginx', 'curl'],
  flag: true,
  nothing: null,
  users: [
    { name: 'al', state: 'present', uid: 1001 },
    { name: 'bo', state: 'absent', uid: 1002 },
  ],
  conf: { port: 80, tls: { on: false } },
  ok: { rc: 0, changed: true, failed: false },
  bad: { rc: 2, failed: true },
  skipped: { skipped: true, changed: false },
  net: '192.168.10.17/24',
  text: '  a  b ',
};

const r = (s: string) => renderJinja(s, scope);

test.each([
  ['{{ pkgs }}', ['nginx', 'curl']],
  ['{{ conf.port }}', 80],
  ['{{ flag }}', true],
  ['pkgs: {{ pkgs }} flag={{ flag }} none={{ nothing }} list={{ [nothing] }}', "pkgs: ['nginx', 'curl'] flag=True none= list=[None]"],
  ['{{ missing | default("x") }}', 'x'],
  ['{{ "" | default("x", true) }}', 'x'],
  ['{{ missing | d(7) }}', 7],
  ['{{ pkgs | join(",") }}', 'nginx,curl'],
  ['{{ conf | to_json }}', '{"port": 80, "tls": {"on": false}}'],
  ['{{ {"k": "é"} | to_json }}', '{"k": "\\u00e9"}'],
  ['{{ {"b": 1, "a": [1]} | to_nice_json }}', '{\n    "a": [\n        1\n    ],\n    "b": 1\n}'],
  ['{{ "\\d+" }}', '\\d+'],
  ['{{ \'{"a": [1, 2]}\' | from_json }}', { a: [1, 2] }],
  ['{{ conf | to_nice_yaml }}', 'port: 80\ntls:\n    on: false\n'],
  ['{{ "web-01.example" | regex_replace("^(\\w+)-(\\d+).*$", "\\2-\\1") }}', '01-web'],
  ['{{ "ab12" | regex_replace("(?P<l>[a-z]+)(?P<d>\\d+)", "\\g<d>\\g<l>") }}', '12ab'],
  ['{{ "v1.2.3" | regex_search("\\d+\\.\\d+") }}', '1.2'],
  ['{{ net | ipaddr("address") }}', '192.168.10.17'],
  ['{{ net | ipaddr("network") }}/{{ net | ipaddr("prefix") }}', '192.168.10.0/24'],
  ['{{ net | ipaddr("netmask") }}', '255.255.255.0'],
  ['{{ "8.8.8.8" | ipaddr("private") }}', false],
  ['{{ "yes" | bool }} {{ "off" | bool }}', 'True False'],
  ['{{ "42" | int + 1 }}', 43],
  ['{{ pkgs | length }}', 2],
  ['{{ users | selectattr("state", "equalto", "present") | map(attribute="name") | list }}', ['al']],
  ['{{ users | rejectattr("uid", ">", 1001) | map(attribute="name") | join(" ") }}', 'al'],
  ['{{ users | map(attribute="uid") | max }}', 1002],
  ['{{ ["1", "2"] | map("int") | sum }}', 3],
  ['{{ conf | combine({"tls": {"cert": "c.pem"}}, recursive=True) }}', { port: 80, tls: { on: false, cert: 'c.pem' } }],
  ['{{ conf | combine({"tls": {"cert": "c.pem"}}) }}', { port: 80, tls: { cert: 'c.pem' } }],
  ['{{ {"a": 1} | dict2items }}', [{ key: 'a', value: 1 }]],
  ['{{ [{"key": "a", "value": 1}] | items2dict }}', { a: 1 }],
  ['{{ ok is succeeded }} {{ bad is failed }} {{ ok is changed }} {{ skipped is skipped }} {{ bad is succeeded }}', 'True True True True False'],
  ['{{ undefined_var is defined }} {{ pkgs is defined }} {{ undefined_var is undefined }}', 'False True True'],
  ['{{ "1.10.0" is version("1.9", ">=") }}', true],
  ['{{ "nginx" in pkgs }}', true],
  ['{{ pkgs | union(["vim"]) | difference(["curl"]) }}', ['nginx', 'vim']],
  ['{{ [[1, [2]], 3] | flatten }}', [1, 2, 3]],
  ['{{ flag | ternary("on", "off") }}', 'on'],
  ['{{ "/etc/nginx/nginx.conf" | basename }} {{ "/etc/nginx/nginx.conf" | dirname }}', 'nginx.conf /etc/nginx'],
  ['{{ "hi" | b64encode }}', 'aGk='],
  ['{{ text | trim }}', 'a  b'],
  ['{{ "a b" | quote }}', "'a b'"],
  ['{% for u in users %}{% if u.state == "present" %}{{ u.name }}:{{ u.uid }}{% endif %}{% endfor %}', 'al:1001'],
  ['{% if conf.tls.on %}tls{% else %}plain{% endif %}', 'plain'],
  ['{{ True and not False }} {{ None is none }}', 'True True'],
])('%s', (tpl, expected) => {
  expect(r(tpl)).toEqual(expected);
});

test('an undefined variable is an error naming it, not an empty string', () => {
  expect(() => r('{{ nope }}')).toThrow(/"nope" is undefined/);
  expect(() => r('x={{ nope }}')).toThrow(/undefined/);
  expect(() => evaluateJinja('nope.x', scope)).toThrow();
});

test('when-style bare expressions keep their type', () => {
  expect(evaluateJinja('ok.rc == 0 and flag', scope)).toBe(true);
  expect(evaluateJinja('users | map(attribute="name") | list', scope)).toEqual(['al', 'bo']);
  expect(evaluateJinja('pkgs | length > 1', scope)).toBe(true);
});

test('loop filtering, which nunjucks would ignore silently, is refused with what to write instead', () => {
  expect(() => r('{% for u in users if u.state == "present" %}{{ u.name }}{% endfor %}')).toThrow(/loop filtering/);
  expect(jinjaSyntaxProblem('{% for u in users if u.ok %}x{% endfor %}', 'text')).toMatch(/loop filtering/);
});

test('lookup() is refused with a reason (it runs on the controller in Ansible)', () => {
  expect(() => r('{{ lookup("file", "/etc/passwd") }}')).toThrow(/lookup\(\) is not supported natively/);
});

test('braces inside a tag are balanced as Jinja2 does; strings and raw blocks untouched', () => {
  expect(balanceBraces('{{ {"a": {"b": 1}} }}')).toBe('{{ {"a": {"b": 1} }  }}');
  expect(balanceBraces('{{ "}}" }} x')).toBe('{{ "}}" }} x');
  expect(balanceBraces('{% raw %}{{ {"a": {"b": 1}} }}{% endraw %}')).toBe('{% raw %}{{ {"a": {"b": 1}} }}{% endraw %}');
  expect(renderJinjaString('{% set m = {"a": {"b": 2}} %}{{ m.a.b }}', {})).toBe('2');
});

test('syntax errors are found without rendering', () => {
  expect(jinjaSyntaxProblem('{{ a | }}', 'text')).toMatch(/Jinja2 syntax/);
  expect(jinjaSyntaxProblem('{% if x %}no end', 'text')).toMatch(/Jinja2 syntax/);
  expect(jinjaSyntaxProblem('a is defined and (b', 'expression')).toMatch(/Jinja2 syntax/);
  expect(jinjaSyntaxProblem('a is defined and b | bool', 'expression')).toBeUndefined();
  expect(jinjaSyntaxProblem('{{ x | default("y") }} and {% if z %}z{% endif %}', 'text')).toBeUndefined();
});

test("a play file's Jinja2 mistakes are located by path (when, loop, module args, vars)", () => {
  const problems = playJinjaProblems({
    vars: { ok: '{{ a }}', broken: '{{ a | }}' },
    tasks: [{ name: 'fine', copy: { dest: '/x', content: '{{ x }}' }, when: 'x is defined' }, { name: 'bad when', command: 'true', when: 'x is defined and (' }, { loop: '{{ items | }}', debug: {} }],
  });
  expect(problems.map((p) => p.path.join('.'))).toEqual(['vars.broken', 'tasks.1.when', 'tasks.2.loop']);
});

// nunjucks compiles templates to JavaScript with no sandbox of its own: without Runwright's,
// each of these ran code in the worker (found by feeding it the usual template-injection strings).
test.each([
  '{{ range.constructor("globalThis.__rwCanary = 1")() }}',
  '{{ x.constructor.constructor("globalThis.__rwCanary = 1")() }}',
  '{{ "s".constructor.constructor("globalThis.__rwCanary = 1")() }}',
  '{{ lookup.constructor("globalThis.__rwCanary = 1")() }}',
  '{{ x["constr" ~ "uctor"]["constr" ~ "uctor"]("globalThis.__rwCanary = 1")() }}',
  '{{ x.__proto__.constructor.constructor("globalThis.__rwCanary = 1")() }}',
  '{{ constructor.constructor("globalThis.__rwCanary = 1")() }}',
  '{{ constructor.getOwnPropertyDescriptor(constructor.getPrototypeOf(range), "constructor").value("globalThis.__rwCanary = 1")() }}',
  '{{ ([range] | map(attribute="constructor") | first)("globalThis.__rwCanary = 1")() }}',
  '{{ ([{"a": range}] | items2dict(key_name="a", value_name="constructor")).values() | first }}',
  '{{ x | constructor }}',
  '{% set f = range.constructor %}{{ f("globalThis.__rwCanary = 1")() }}',
])('sandboxed: %s', (tpl) => {
  let out: unknown;
  try {
    out = renderJinja(tpl, { x: { a: 1 } });
  } catch {
    out = 'refused';
  }
  expect((globalThis as Record<string, unknown>).__rwCanary).toBeUndefined();
  // Refused, or rendered to something harmless (never a function).
  expect(typeof out).not.toBe('function');
});

test('the sandbox names what it refused; data keys of those names still read', () => {
  expect(() => r('{{ conf.constructor }}')).toThrow(/access to "constructor" is not allowed in templates/);
  expect(() => r('{{ pkgs.__proto__ }}')).toThrow(/access to "__proto__" is not allowed/);
  expect(renderJinja('{{ d.constructor }} {{ d.__meta }}', { d: { constructor: 'c', __meta: 'm' } })).toBe('c m');
  expect(() => r('{{ toString }}')).toThrow(/"toString" is undefined/);
});

test.each([
  ['{{ " a  b ".split() }}', ['a', 'b']],
  ['{{ "a b c".split(None, 1) }}', ['a', 'b c']],
  ['{{ "a=b=c".split("=", maxsplit=1) }}', ['a', 'b=c']],
  ['{{ "a b c".rsplit(" ", 1) }}', ['a b', 'c']],
  ['{{ "aXbXc".replace("X", "-") }}', 'a-b-c'],
  ['{{ "aXbXc".replace("X", "-", 1) }}', 'a-bXc'],
  ['{{ "web01".startswith(("db", "we")) }}', true],
  ['{{ "xxhixx".strip("x") }}|{{ "  hi ".lstrip() }}|', 'hi|hi |'],
  ['{{ "hello wORLD".title() }}', 'Hello World'],
  ['{{ ",".join(pkgs) }}', 'nginx,curl'],
  ['{{ "abcabc".count("b") }} {{ "42".zfill(5) }} {{ "-4".zfill(3) }}', '2 00042 -04'],
  ['{% for k, v in conf.tls.items() %}{{ k }}={{ v }}{% endfor %}', 'on=False'],
  ['{{ conf.get("nope", 9) }}', 9],
  ['{% set acc = [] %}{% for u in users %}{% set _ = acc.append(u.uid) %}{% endfor %}{{ acc | sum }}', '2003'],
  ['{{ pkgs.index("curl") }}', 1],
])('Python methods: %s', (tpl, expected) => {
  expect(r(tpl)).toEqual(expected);
});

test.each([
  ['[{{ pkgs | length }}, {{ conf.port }}]', [2, 80]],
  ["[{% for p in pkgs %}'{{ p }}', {% endfor %}]", ['nginx', 'curl']],
  ['{"port": {{ conf.port }}}', { port: 80 }],
  ['{{ flag }}{{ "" }}', true],
  ['[section]', '[section]'],
  ['[{{ conf.port }}] and more', '[80] and more'],
  ["['it\\'s', {{ pkgs }}]", ["it's", ['nginx', 'curl']]],
])('text that reads as a Python literal becomes its value, as in Ansible: %s', (tpl, expected) => {
  expect(r(tpl)).toEqual(expected);
});

test('Python repr of strings round-trips through a literal', () => {
  const s = { v: "it's \"q\"\n\t\\ \u0001" };
  expect(renderJinja('[{{ [v] }}]', s)).toEqual([[s.v]]);
  expect(renderJinja('{{ [v] }}', s)).toEqual([s.v]);
});

test('range is capped as in Jinja2\'s sandbox, so one template cannot exhaust the worker', () => {
  expect(r('{{ range(3) | list }}')).toEqual([0, 1, 2]);
  expect(r('{{ range(10, 0, -5) | list }}')).toEqual([10, 5]);
  expect(() => r('{{ range(100000000) | list }}')).toThrow(/range: more than 100000 items/);
  expect(() => r('{{ range(0, 5, 0) | list }}')).toThrow(/step must not be zero/);
});
