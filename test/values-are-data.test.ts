/**
 * Values are data, end to end on real sshd test hosts (scripts/testhosts, set 171): fast-check
 * throws hostile strings (quotes, $(…), backticks, ;, newlines, `{{`, unicode, long strings) at
 * every module that reaches a shell, in each quoting context a script can put a value in, and
 * at an inline play whose runbook-level values go through the workflow's renderer. Each value
 * must arrive byte for byte (read back as base64) and the canary /tmp/pwned must never appear.
 * Each property run is one play (values in a loop), so the SSH round trips stay few.
 */
import fc from 'fast-check';
import { loadInventory, type Inventory } from '../activities/host/inventory-files';
import { PlaySchema, type PlayInput } from '../activities/host/play-schema';
import { runPlay, type HostResult, type SshSettings } from '../activities/host/runner';
import { DEFAULT_MARKER, editBlock } from '../activities/host/modules/blockinfile';
import { renderActionInput } from '../dsl/play-values';
import { hostile } from './helpers/hostile';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

const CANARY = '/tmp/pwned';
let th: TestHosts;
let inv: Inventory;
let ssh: SshSettings;

beforeAll(() => {
  th = startTestHosts(171, 1);
  inv = loadInventory(
    th.writeInventory(
      'values.ini',
      `h1 ansible_host=${th.hosts[0].address} ansible_user=root ansible_ssh_private_key_file=${th.key}\n`,
    ),
  );
  ssh = { knownHostsFile: th.knownHosts, hostKeyChecking: 'strict', connectTimeoutMs: 5000 };
}, 300_000);

afterAll(() => th?.down());

async function play(p: PlayInput, vars: Record<string, unknown> = {}): Promise<HostResult> {
  const { results } = await runPlay({
    inventory: inv,
    hosts: ['h1'],
    play: PlaySchema.parse({ gather_facts: false, ...p }),
    check: false,
    diff: false,
    forks: 1,
    extraVars: vars,
    ssh,
    signal: new AbortController().signal,
  });
  return results.h1;
}

const hostileValue = hostile(CANARY);

const oneLine = (v: string) => v.replace(/[\r\n]/g, ' ');
/** A file name: no "/" or newline, at most ~200 bytes. */
const fileName = (v: string) => {
  let n = v.replace(/[/\n\r]/g, '_');
  while (Buffer.byteLength(n) > 200) n = [...n].slice(0, -1).join('');
  return n || '_';
};

/** Every regular file and symlink under /tmp/vals: name -> exact bytes (files) or link target. */
function readBack(): Map<string, Buffer> {
  const out = th.sh('h1', 'cd /tmp/vals && for f in *; do if [ -L "$f" ]; then printf "L %s %s\\n" "$(printf %s "$f" | base64 -w0)" "$(readlink -- "$f" | head -c -1 | base64 -w0)"; else printf "F %s %s\\n" "$(printf %s "$f" | base64 -w0)" "$(base64 -w0 < "$f")"; fi; done');
  const m = new Map<string, Buffer>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [kind, name, data = ''] = line.split(' ');
    m.set(`${kind}:${Buffer.from(name, 'base64').toString('utf8')}`, Buffer.from(data, 'base64'));
  }
  return m;
}

const canaryGone = () => th.sh('h1', `ls -d ${CANARY}* 2>/dev/null || echo none`).trim() === 'none';
const reset = () => th.sh('h1', `rm -rf /tmp/vals ${CANARY}*; mkdir -p /tmp/vals`);

describe('values from play vars reach the host byte for byte, in every quoting context, through every module', () => {
  test('shell (bare, "…", here-documents, $(…), backticks, sh -c arguments, bash), command, copy, template, lineinfile, blockinfile, file, sysctl', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileValue, { minLength: 12, maxLength: 16 }), async (values) => {
        reset();
        const items = values.map((v, i) => ({ i, v, l: oneLine(v), p: fileName(v) }));
        const loop = '{{ items }}';
        const r = await play(
          {
            tasks: [
              { name: 'bare', shell: "printf '%s' {{ item.v }} > /tmp/vals/bare-{{ item.i }}", loop },
              { name: 'dquote', shell: `printf '%s' "<{{ item.v }}>" > "/tmp/vals/dq-{{ item.i }}"`, loop },
              { name: 'heredoc', shell: 'cat > /tmp/vals/hd-{{ item.i }} <<EOF\n{{ item.v }}\nEOF', loop },
              { name: 'heredoc <<-', shell: 'cat > /tmp/vals/hds-{{ item.i }} <<-EOF\n\t{{ item.v }}\n\tEOF', loop },
              { name: 'cmdsub', shell: `x="$(printf '%s|' {{ item.v }})"; printf '%s' "$x" > /tmp/vals/cs-{{ item.i }}`, loop },
              { name: 'backticks', shell: "x=`printf '%s|' {{ item.v }}`; printf '%s' \"$x\" > /tmp/vals/bt-{{ item.i }}", loop },
              { name: 'sh -c argument', shell: `sh -c 'printf "%s" "$1" > "$2"' sh {{ item.v }} /tmp/vals/shc-{{ item.i }}`, loop },
              { name: 'bash', shell: { cmd: `printf '%s' "{{ item.v }}" {{ item.v }} > /tmp/vals/bash-{{ item.i }}`, executable: '/bin/bash' }, loop },
              { name: 'command cmd', command: `sh -c 'printf %s "$1" > "$2"' sh {{ item.v }} /tmp/vals/cmd-{{ item.i }}`, loop },
              { name: 'command argv', command: { argv: ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', '{{ item.v }}', '/tmp/vals/argv-{{ item.i }}'] }, loop },
              { name: 'copy', copy: { dest: '/tmp/vals/copy-{{ item.i }}', content: '{{ item.v }}' }, loop },
              { name: 'template', template: { dest: '/tmp/vals/tpl-{{ item.i }}', content: '[{{ item.v }}]' }, loop },
              { name: 'lineinfile', lineinfile: { path: '/tmp/vals/lif-{{ item.i }}', line: '{{ item.l }}', create: true }, loop },
              { name: 'blockinfile', blockinfile: { path: '/tmp/vals/bif-{{ item.i }}', block: 'x{{ item.v }}', create: true }, loop },
              { name: 'file touch', file: { path: '/tmp/vals/f-{{ item.p }}', state: 'touch' }, loop },
              { name: 'file link', file: { path: '/tmp/vals/ln-{{ item.i }}', state: 'link', src: 'x{{ item.p }}' }, loop },
              { name: 'sysctl file', sysctl: { name: 'net.core.somaxconn', value: '{{ item.l }}', reload: false, sysctl_file: '/tmp/vals/sysctl-{{ item.i }}' }, loop },
            ],
          },
          { items },
        );
        expect({ status: r.status, msg: r.msg }).toEqual({ status: 'changed', msg: undefined });
        const got = readBack();
        const want = new Map<string, string>();
        for (const { i, v, l, p } of items) {
          want.set(`F:bare-${i}`, v);
          want.set(`F:dq-${i}`, `<${v}>`);
          want.set(`F:hd-${i}`, `${v}\n`);
          // <<- strips the tabs of the script's lines, not those inside a value.
          want.set(`F:hds-${i}`, `${v}\n`);
          want.set(`F:cs-${i}`, `${v}|`);
          want.set(`F:bt-${i}`, `${v}|`);
          want.set(`F:shc-${i}`, v);
          want.set(`F:bash-${i}`, `${v}${v}`);
          want.set(`F:cmd-${i}`, v);
          want.set(`F:argv-${i}`, v);
          want.set(`F:copy-${i}`, v);
          want.set(`F:tpl-${i}`, `[${v}]`);
          want.set(`F:lif-${i}`, `${l}\n`);
          want.set(`F:bif-${i}`, editBlock(null, { block: `x${v}`, marker: DEFAULT_MARKER, markerBegin: 'BEGIN', markerEnd: 'END', state: 'present' }) ?? '');
          want.set(`F:f-${p}`, '');
          // A link target is at most PATH_MAX bytes: the short form of the value.
          want.set(`L:ln-${i}`, `x${p}`);
          want.set(`F:sysctl-${i}`, `net.core.somaxconn = ${l}\n`);
        }
        const diff = [...want].filter(([k, v]) => !got.get(k)?.equals(Buffer.from(v, 'utf8'))).map(([k, v]) => ({ k, want: v.slice(0, 200), got: got.get(k)?.toString('utf8').slice(0, 200) }));
        expect(diff).toEqual([]);
        expect(got.size).toBe(new Set(want.keys()).size);
        expect(canaryGone()).toBe(true);
      }),
      // No shrinking: each run is a whole play on a real host.
      { numRuns: 3, endOnFailure: true },
    );
  }, 600_000);

  test('modules whose values are names (service, package) refuse hostile ones before any command runs', async () => {
    reset();
    const bad = [`x; touch ${CANARY}`, `$(touch ${CANARY})`, `a\`touch ${CANARY}\``, "a' b", '-oProxyCommand=touch /tmp/pwned'];
    for (const [task, why] of [[{ service: { name: '{{ item }}', state: 'started' } }, 'expected a unit name'], [{ package: { name: '{{ item }}' } }, 'expected a package name']] as const) {
      for (const item of bad) {
        const r = await play({ tasks: [{ ...task, vars: { item } }] });
        expect([r.tasks[0].status, r.tasks[0].msg]).toEqual(['failed', expect.stringContaining(why)]);
      }
    }
    expect(canaryGone()).toBe(true);
  }, 120_000);

  test('a placeholder that cannot be made safe is refused when the play is read, before any host', () => {
    const p = PlaySchema.safeParse({ tasks: [{ shell: `echo '{{ v }}' > /tmp/vals/sq` }] });
    expect(p.success).toBe(false);
    expect(p.error?.issues.map((i) => [i.path.join('.'), i.message.slice(0, 82)])).toEqual([['tasks.0.shell', "shell: {{ v }} at line 1, column 7 of the script: inside '…' a value never expands"]]);
  });
});

describe('runbook-level values of an inline play (rendered by the workflow) stay data', () => {
  test('params in shell text, command words, copy content and creates arrive byte for byte; nothing else runs', async () => {
    await fc.assert(
      fc.asyncProperty(hostileValue, fc.constantFrom('', '{{ 1 + 1 }}', '{{ inventory_hostname }}'), async (v, tpl) => {
        reset();
        const value = `${v}${tpl}`;
        // The step as a runbook writes it: `{{ params.x }}` inside the play's task text.
        const withInput = renderActionInput(
          'host.play',
          {
            inventory: 'x',
            hosts: ['h1'],
            play: {
              tasks: [
                { shell: { cmd: `set -e; printf '%s' {{ params.x }} > /tmp/vals/a; printf '%s' "{{ params.x }}" > /tmp/vals/b`, creates: `/tmp/vals/nope-{{ params.n }}` } },
                { command: `sh -c 'printf %s "$1" > /tmp/vals/c' sh {{ params.x }}` },
                { copy: { dest: '/tmp/vals/d', content: '{{ params.x }}' } },
              ],
            },
          },
          { params: { x: value, n: value.length }, steps: {}, run: { id: 'r' } },
        ) as { play: PlayInput };
        const r = await play(withInput.play);
        expect({ status: r.status, msg: r.msg }).toEqual({ status: 'changed', msg: undefined });
        const got = readBack();
        for (const f of ['a', 'b', 'c', 'd']) expect({ f, same: got.get(`F:${f}`)?.equals(Buffer.from(value, 'utf8')) }).toEqual({ f, same: true });
        expect(canaryGone()).toBe(true);
      }),
      { numRuns: 12, endOnFailure: true },
    );
  }, 600_000);
});
