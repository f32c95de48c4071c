/**
 * ansible.playbook: the real ansible-playbook, through Temporal, on real sshd test hosts (set 150).
 *
 * - pure parts: a recorded jsonl event stream read into host.play-shaped results; extra vars
 *   written as !unsafe YAML and read back by Ansible's own loader;
 * - the dry run (--check --diff) changes nothing;
 * - a runbook mixing a native host.play step and an ansible.playbook step (fixtures/mixed.yaml):
 *   check mode, a real run (progress heartbeats, recap, vault, secrets masked and out of
 *   history, a hostile param that stays text), a second run that changes nothing;
 * - a failed host fails the step with its task and message; maxFailPercentage tolerates it;
 * - bad input: missing playbook, `..`, refused vars, ansible-playbook not installed;
 * - cancelling kills the process group (and the remote command);
 * - the worker SIGKILLed mid-play: the retry kills the orphaned ansible-playbook before starting
 *   its own, and two never run at once.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectTestEnv, failureMessage, inputFor, runbookFrom, serverAddress, singleUserWorkerEnv, startRun, startSuiteWorker, startTestWorker, uniqueQueue, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { fetchStatus } from '../client/runs';
import { formatRecap } from '../activities/host/recap';
import type { PlayOutputs } from '../activities/host/play';
import ansiblePlaybook, { type PlaybookOutputs } from '../activities/ansible/playbook';
import { PlaybookEvents, parseListing } from '../activities/ansible/events';
import { unsafeYaml, varProblem } from '../activities/ansible/vars';
import { LineFollower, lockFile, takeOver } from '../activities/ansible/process';
import type { ActionContext } from '../activities/define';

const root = resolve(__dirname, '..');
const fx = join(__dirname, 'fixtures', 'ansible-playbook');
const DB_PASSWORD = 'db-Secret-4711-xyz';
const VAULT_PASSWORD = 'fixture-vault-password';
const VAULT_TOKEN = 'vaulted-token-7f3a9c';

let th: TestHosts;
let suite: SuiteWorker | undefined;
let env: TestEnv;
let queue: string;
let project: string;
let state: string;
let nativeInventory: string;
const savedEnv = { ...process.env };
const procs: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mixed = () => runbookFrom(readFileSync(join(fx, 'mixed.yaml'), 'utf8'));
const onHosts = (script: string) => th.hosts.map((h) => th.sh(h.name, script));
/** Leftovers in the state folder: lock files and private run folders (hold secrets while running). */
const leftovers = () => (existsSync(state) ? [...readdirSync(join(state, 'locks')), ...readdirSync(join(state, 'runs'))] : []);

/** Process groups of ansible-playbook runs of this playbook (not the --list-hosts listing). */
function ansibleGroups(playbook: string): Set<number> {
  const groups = new Set<number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!argv.some((a) => a.endsWith('ansible-playbook')) || !argv.includes(playbook) || argv.includes('--list-hosts')) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      groups.add(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]));
    } catch {
      /* gone */
    }
  }
  return groups;
}

const fakeCtx = (key: string): ActionContext => ({ idempotencyKey: key, executionKey: key, attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} });

beforeAll(async () => {
  th = startTestHosts(150, 2);
  const [h1, h2] = th.hosts;
  project = join(th.dir, 'project');
  cpSync(join(fx, 'project'), project, { recursive: true });
  const hosts = `[web]\nh1 ansible_host=${h1.address}\nh2 ansible_host=${h2.address}\n\n[all:vars]\nansible_user=root\n`;
  writeFileSync(join(project, 'inventory.ini'), hosts);
  writeFileSync(join(project, 'inventory-key.ini'), `${hosts}ansible_ssh_private_key_file=${th.key}\n`);
  nativeInventory = th.writeInventory('native.ini', `${hosts}ansible_ssh_private_key_file=${th.key}\n`);
  state = join(th.dir, 'ansible-state');
  const policy = join(th.dir, 'secrets.yaml');
  writeFileSync(
    policy,
    `secrets:
  pb-ssh-key: { ref: "file:${th.key}", runbooks: [ansible-mixed] }
  pb-vault: { ref: "env:RW_TEST_PB_VAULT", runbooks: [ansible-mixed] }
  pb-db-password: { ref: "env:RW_TEST_PB_DB", runbooks: [ansible-mixed] }
`,
  );
  Object.assign(process.env, {
    RUNWRIGHT_SECRETS_POLICY: policy,
    RW_TEST_PB_VAULT: VAULT_PASSWORD,
    RW_TEST_PB_DB: DB_PASSWORD,
    RUNWRIGHT_PLAYBOOK_DIR: project,
    RUNWRIGHT_ANSIBLE_STATE_DIR: state,
  });
  ({ env, queue } = suite = await startSuiteWorker('ansiblepb'));
}, 300_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))) : undefined)));
  await suite?.stop();
  process.env = savedEnv;
  th?.down();
});

describe('pure parts', () => {
  test('a recorded event stream: recap like host.play, ignored and rescued failures, the failing task, unreachable hosts, diffs', () => {
    const ev = new PlaybookEvents();
    for (const l of readFileSync(join(fx, 'events-recorded.jsonl'), 'utf8').split('\n')) ev.line(l);
    const r = ev.results();
    expect(Object.keys(r)).toEqual(['h1', 'h2', 'h9']);
    expect(r.h1).toMatchObject({ status: 'changed', counts: { ok: 6, changed: 4, failed: 0, skipped: 1, unreachable: 0, ignored: 1, rescued: 1 } });
    expect(r.h1.tasks.filter((t) => t.status === 'failed').map((t) => [t.task, t.ignored])).toEqual([
      ['ignored failure', true],
      ['rescued failure', true],
    ]);
    expect(r.h1.tasks.find((t) => t.task === 'copy motd')?.diff).toMatch(/^--- before: \/etc\/motd\n\+\+\+ after: .*\n@@ -1,1 \+1,1 @@\n-.*\n\+recorded h1$/);
    expect(r.h1.tasks.find((t) => t.task === 'touch files')).toMatchObject({ status: 'changed', items: 2 });
    expect(r.h1.handlers.map((t) => `${t.task}:${t.status}`)).toEqual(['reload:changed']);
    expect(r.h2).toMatchObject({ status: 'failed', msg: 'TASK [disk check]: non-zero return code (rc 3): disk full on h2' });
    expect(r.h9).toMatchObject({ status: 'unreachable', address: '10.213.159.99:22', counts: { unreachable: 1 } });
    expect(r.h9.msg).toMatch(/^TASK \[copy motd\]: unreachable: Failed to connect to the host via ssh/);
    // The CLI's recap (activities/host/recap.ts) prints it as it prints host.play's.
    const text = formatRecap([{ changed: true, check: false, recap: Object.fromEntries(Object.entries(r).map(([h, x]) => [h, { ...x.counts, status: x.status }])), hosts: r, failed: ['h2'], unreachable: ['h9'], summary: '' } as PlayOutputs]);
    expect(text).toMatch(/PLAY RECAP \*+\nh1 +: ok=6 +changed=4 +unreachable=0 +failed=0 +skipped=1 +rescued=1 +ignored=1\nh2 +: ok=2 +changed=2 +unreachable=0 +failed=1 +skipped=2 +rescued=0 +ignored=0\nh9 +: ok=0 +changed=0 +unreachable=1/);
    expect(text).toContain('FAILED: h2: TASK [disk check]: non-zero return code (rc 3): disk full on h2');
    expect(text).toContain('--- h1: copy motd (copy)');
  });

  test('progress lines: the task, each host, tasks done of listed; many hosts are counted', () => {
    const ev = new PlaybookEvents();
    ev.total = 7;
    ev.event({ _event: 'v2_playbook_on_play_start', play: { name: 'site' } });
    expect(ev.progress().progress).toBe('PLAY [site] starting · 0/7 tasks');
    for (const [n, name] of ['a', 'b', 'copy motd'].entries()) ev.event({ _event: 'v2_playbook_on_task_start', task: { name, id: `t${n}` } });
    ev.event({ _event: 'v2_runner_on_ok', task: { name: 'copy motd', id: 't2' }, hosts: { h1: { changed: true, action: 'copy' } } });
    ev.event({ _event: 'v2_runner_on_ok', task: { name: 'copy motd', id: 't2' }, hosts: { h2: { changed: false, action: 'copy' } } });
    expect(ev.progress().progress).toBe('TASK [copy motd] h1 changed, h2 ok · 3/7 tasks');
    ev.event({ _event: 'v2_playbook_on_task_start', task: { name: 'restart', id: 't2b' } });
    expect(ev.progress().progress).toBe('TASK [restart] · 4/7 tasks · copy motd: h1 changed, h2 ok');
    ev.event({ _event: 'v2_playbook_on_task_start', task: { name: 'big', id: 't3' } });
    for (let i = 0; i < 40; i++) ev.event({ _event: i % 10 ? 'v2_runner_on_ok' : 'v2_runner_on_failed', task: { name: 'big', id: 't3' }, hosts: { [`web${i}`]: { changed: i % 4 === 1, msg: 'boom' } } });
    expect(ev.progress().progress).toBe('TASK [big] 4 failed (web0, web10, web20, …), 10 changed (web1, web5, web9, …), 26 ok · 5/7 tasks');
    expect(
      parseListing('\nplaybook: s.yml\n\n  play #1 (web): one\tTAGS: []\n    pattern: [\'web\']\n    hosts (2):\n      h2\n      h1\n\n    tasks:\n      a\tTAGS: []\n      b\tTAGS: []\n\n  play #2 (h1): two\tTAGS: []\n    pattern: [\'h1\']\n    hosts (1):\n      h1\n\n    tasks:\n      c\tTAGS: []\n'),
    ).toMatchObject({ hosts: ['h2', 'h1'], tasks: 3 });
  });

  test("extra vars are data: !unsafe YAML that Ansible's own loader reads back exactly, never to be templated", () => {
    const value = {
      plain: 'x',
      jinja: "{{ lookup('pipe', 'touch /tmp/pwned') }}",
      shell: '$(rm -rf /) `id` "quoted" \'single\' \\back\\slash',
      lines: 'a\nb\r\n\ttab \u0000nul \u007fdel \u0085nel \u2028ls \u2029ps \ufeffbom é 漢字 😀',
      nested: { list: [1, 2.5, -3, true, null, '{% raw %}'], 'key with: colon': 'v' },
      big: 1e21,
    };
    const py = `
import json, sys
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.utils.unsafe_proxy import AnsibleUnsafe
v = AnsibleLoader(sys.stdin.read()).get_single_data()
def unsafe(x):
    if isinstance(x, str): return isinstance(x, AnsibleUnsafe)
    if isinstance(x, list): return all(unsafe(i) for i in x)
    if isinstance(x, dict): return all(unsafe(i) for i in x.values())
    return True
print(json.dumps({"value": v, "unsafe": unsafe(v)}))`;
    // The Python that runs ansible-playbook (its #! line), with Ansible's modules.
    const bin = execFileSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).trim();
    const python = readFileSync(bin, 'utf8').split('\n')[0].replace(/^#!\s*/, '').split(' ')[0];
    const out = JSON.parse(execFileSync(python, ['-c', py], { input: unsafeYaml(value), encoding: 'utf8' }));
    expect(out.unsafe).toBe(true);
    expect(out.value).toEqual(value);
  });

  test('an event line too large to read whole: its head still counts for the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rw-pb-follow-'));
    const file = join(dir, 'run.stdout');
    const ev = new PlaybookEvents();
    const follower = new LineFollower(file, (l) => ev.line(l), (h) => ev.oversized(h));
    writeFileSync(file, `${JSON.stringify({ _event: 'v2_playbook_on_task_start', task: { name: 'dump', id: 't1' } })}\n{"_event":"v2_runner_on_ok","_timestamp":"x","hosts":{"h1":{"stdout":"`);
    await follower.poll();
    appendFileSync(file, `${'A'.repeat(9 * 1024 * 1024)}"}},"task":{"id":"t1","name":"dump"}}\n`);
    await follower.poll();
    appendFileSync(file, `${JSON.stringify({ _event: 'v2_playbook_on_stats', stats: { h1: { ok: 1, changed: 0, failures: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 } } })}\n`);
    await follower.poll(true);
    expect(ev.dropped).toBe(1);
    expect(ev.results().h1).toMatchObject({ status: 'ok', counts: { ok: 1 }, tasks: [{ task: 'dump', status: 'ok' }] });
    rmSync(dir, { recursive: true, force: true });
  });

  test('a lock that never got to name its process: the run marker finds the group, and the retry kills it', async () => {
    const state = mkdtempSync(join(tmpdir(), 'rw-pb-state-'));
    const runDir = join(state, 'runs', 'crashed-1');
    mkdirSync(runDir, { recursive: true });
    mkdirSync(join(state, 'locks'));
    const p = spawn('sleep', ['60'], { detached: true, stdio: 'ignore', env: { ...process.env, RUNWRIGHT_ANSIBLE_RUN: 'crashed-1' } });
    await new Promise((r) => p.once('spawn', r));
    // As a worker that died right after spawning leaves it: the lock names the run, not the pid.
    writeFileSync(lockFile(state, 'wf:step'), JSON.stringify({ token: 'crashed-1', attempt: 1, key: 'wf:step', runDir, started: 'earlier' }));
    const logs: string[] = [];
    const found = await takeOver(state, 'wf:step', (m) => logs.push(m));
    expect(found).toEqual([{ pid: p.pid, attempt: 1, started: 'earlier', killed: true }]);
    expect(p.signalCode ?? (await new Promise((r) => p.once('exit', (_c, sig) => r(sig))))).toBe('SIGTERM');
    expect(existsSync(runDir) || existsSync(lockFile(state, 'wf:step'))).toBe(false);
    expect(logs[0]).toMatch(/^attempt 1's ansible-playbook \(process group \d+, started earlier\) is still running: killing it before starting again$/);
    rmSync(state, { recursive: true, force: true });
  });

  test('variables that would change how Ansible connects or runs on the worker are refused', () => {
    expect(varProblem('ansible_ssh_common_args', '-o ProxyCommand=sh', 'extraVars')).toMatch(/^extraVars: ansible_ssh_common_args is refused: it changes how Ansible connects/);
    expect(varProblem('ansible_connection', 'local', 'extraVars')).toMatch(/refused/);
    expect(varProblem('ansible_host', '-oProxyCommand=x', 'inventory host web1')).toBe('inventory host web1: ansible_host must be a host name or address, got "-oProxyCommand=x"');
    expect(varProblem('ansible_port', 2222, 'extraVars')).toBeUndefined();
    expect(varProblem('http_port', '{{ anything }}', 'extraVars')).toBeUndefined();
  });
});

test('the dry run: --check --diff reports the change and the diff, changes nothing', async () => {
  const input = ansiblePlaybook.input.parse({
    playbook: 'site.yml',
    inventory: 'inventory-key.ini',
    extraVars: { greeting: 'hello', web_hosts: 2 },
    secretVars: { db_password: 'env:RW_TEST_PB_DB' },
    vaultPassword: 'env:RW_TEST_PB_VAULT',
    ssh: { knownHostsFile: th.knownHosts },
  });
  const r = await ansiblePlaybook.dryRun!(input, fakeCtx('dry-run:1'));
  expect(r.changed).toBe(true);
  expect(r.summary).toMatch(/^h1: changed — would change: copy motd, app config, db config, folders\nh2: changed — would change: copy motd, app config, db config, folders/);
  expect(r.diff).toMatch(/--- h1: copy motd \(copy\)\n--- before: \/etc\/motd\n\+\+\+ after: .*\n@@ .* @@\n(-.*\n)*\+hello from ansible/);
  expect(onHosts('test -e /etc/pb-app.conf && echo yes || echo no')).toEqual(['no\n', 'no\n']);
  expect(leftovers()).toEqual([]);
}, 180_000);

test('a runbook mixing host.play and ansible.playbook: check mode, a real run with progress and secrets kept out, a second run with no change', async () => {
  const params = (extra: Record<string, unknown> = {}) => ({ inventory: nativeInventory, knownHosts: th.knownHosts, ...extra });
  const rb = mixed();

  // Check mode: both steps report what they would change; the hosts stay as they are.
  const t0 = Date.now();
  const check = await (await startRun(env, queue, inputFor(rb, params({ check: true })))).result();
  const cout = check.outputs.ansible as PlaybookOutputs;
  expect(cout).toMatchObject({ changed: true, check: true, playbook: 'site.yml', rc: 0, failed: [], unreachable: [] });
  expect(cout.diff).toContain('+hello from ansible');
  expect((check.outputs.native as PlayOutputs).changed).toBe(true);
  expect(onHosts('cat /etc/native.conf /etc/pb-app.conf 2>&1 | head -c 300')).toEqual(th.hosts.map(() => expect.stringContaining('No such file')));
  const checkMs = Date.now() - t0;

  // The real run; the greeting is hostile: it must arrive as text, neither templated nor run.
  const greeting = "{{ lookup('pipe', 'touch /tmp/rw-pb-pwned') }} $(touch /tmp/rw-pb-pwned2)";
  const t1 = Date.now();
  const run = await startRun(env, queue, inputFor(rb, params({ greeting })));
  const progress = new Set<string>();
  let finished = false;
  const done = run.result().finally(() => (finished = true));
  while (!finished) {
    const st = await fetchStatus(env.client, run).catch(() => undefined);
    const p = st?.steps.find((s) => s.id === 'ansible')?.progress;
    if (p) progress.add(p);
    await sleep(150);
  }
  const res = await done;
  const runMs = Date.now() - t1;
  const out = res.outputs.ansible as PlaybookOutputs;
  // Heartbeats named tasks and hosts as they went ("TASK [copy motd] h1 changed, h2 changed · 1/6 tasks").
  // e.g. "TASK [db config] h1 changed, h2 changed · 3/6 tasks", "TASK [folders] · 5/6 tasks · say the secret: h1 ok, h2 ok"
  const perHost = [...progress].filter((p) => /^TASK \[[^\]]+\] .*h[12] (ok|changed|skipped).* \d\/6 tasks|^TASK \[[^\]]+\] · \d\/6 tasks · [^:]+: (h[12] (ok|changed|skipped)(, )?)+$/.test(p));
  expect({ perHost: perHost.length > 0, progress: [...progress] }).toMatchObject({ perHost: true });
  expect(out.recap).toEqual({
    h1: { ok: 7, changed: 5, failed: 0, skipped: 0, unreachable: 0, ignored: 0, rescued: 0, status: 'changed' },
    h2: { ok: 6, changed: 5, failed: 0, skipped: 1, unreachable: 0, ignored: 0, rescued: 0, status: 'changed' },
  });
  expect(out.hosts.h1.handlers.map((t) => `${t.task}:${t.status}`)).toEqual(['note restart:changed']);
  expect(out.tasks).toEqual({ started: 6, listed: 6, handlers: 1 });
  // Values are data; the vault opened with the secret; the native step's output went in as a var.
  expect(th.sh('h1', 'cat /etc/motd')).toBe(`${greeting} from ansible\n`);
  expect(th.sh('h2', 'cat /etc/pb-app.conf /etc/pb-db.conf /etc/native.conf /var/tmp/pb-restarts')).toBe(`token=${VAULT_TOKEN}\nweb_hosts=2\npassword=${DB_PASSWORD}\nconfigured natively\nrestarted\n`);
  expect(existsSync('/tmp/rw-pb-pwned') || existsSync('/tmp/rw-pb-pwned2')).toBe(false);
  expect(onHosts('ls /tmp/rw-pb-pwned* 2>/dev/null | wc -l')).toEqual(['0\n', '0\n']);
  // Secrets: masked in the outputs (the debug message, the diff), absent from the history.
  const text = JSON.stringify(out);
  expect(text).not.toContain(DB_PASSWORD);
  expect(out.hosts.h1.tasks.find((t) => t.task === 'say the secret')?.msg).toBe('db password is ***');
  expect(out.hosts.h1.tasks.find((t) => t.task === 'db config')?.diff).toContain('+password=***');
  const history = JSON.stringify(await run.fetchHistory());
  for (const s of [DB_PASSWORD, VAULT_PASSWORD, VAULT_TOKEN, readFileSync(th.key, 'utf8').split('\n')[1]]) expect(history).not.toContain(s);
  expect(leftovers()).toEqual([]);
  // The recap the CLI prints, from these outputs.
  expect(formatRecap([out as unknown as PlayOutputs])).toMatch(/PLAY RECAP \*+\nh1 +: ok=7 +changed=5 +unreachable=0 +failed=0 +skipped=0 +rescued=0 +ignored=0\nh2 +: ok=6 +changed=5 /);

  // Again: nothing to change, for either step.
  const again = await (await startRun(env, queue, inputFor(rb, params({ greeting })))).result();
  const aout = again.outputs.ansible as PlaybookOutputs;
  expect(aout.changed).toBe(false);
  expect((again.outputs.native as PlayOutputs).changed).toBe(false);
  expect(Object.values(aout.recap).map((r) => r.changed)).toEqual([0, 0]);
  console.log(`ansible-mixed: check ${checkMs} ms, run ${runMs} ms; progress seen: ${[...progress].slice(0, 8).join(' | ')}`);
}, 300_000);

test('a failed host fails the step with the failing task and its message; maxFailPercentage lets it pass; the own timeout kills the group', async () => {
  const rb = (max: number) =>
    runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: ansible-fail }
spec:
  steps:
    - id: pb
      action: ansible.playbook
      with: { playbook: fail.yml, inventory: inventory-key.ini, maxFailPercentage: ${max}, ssh: { knownHostsFile: "${th.knownHosts}" } }
      retry: { maximumAttempts: 1 }
`);
  // And the step's own timeout: slow.yml sleeps 120s on its second task.
  const slow = runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: ansible-timeout }
spec:
  steps:
    - id: pb
      action: ansible.playbook
      with: { playbook: slow.yml, inventory: inventory-key.ini, timeout: 12s, ssh: { knownHostsFile: "${th.knownHosts}" } }
      retry: { maximumAttempts: 1 }
`);
  onHosts('rm -f /var/tmp/pb-crash.* /var/tmp/pb-slow.done /var/tmp/pb-sleep');
  const [strict, tolerant, timed] = await Promise.all([startRun(env, queue, inputFor(rb(0))), startRun(env, queue, inputFor(rb(50))), startRun(env, queue, inputFor(slow))]);
  expect(await failureMessage(strict.result())).toBe('ansible-playbook fail.yml: 1 of 2 host(s) failed: h2: TASK [check the disk]: non-zero return code (rc 3): disk full on h2');
  const out = (await tolerant.result()).outputs.pb as PlaybookOutputs;
  expect(out).toMatchObject({ failed: ['h2'], rc: 2, recap: { h1: { ok: 2, status: 'ok' }, h2: { failed: 1, status: 'failed' } } });
  expect(await failureMessage(timed.result())).toMatch(/^ansible-playbook slow\.yml: timed out after 12s and was killed \(last: TASK \[slow\] .*· 2\/3 tasks/);
  expect(ansibleGroups(join(realpathSync(project), 'slow.yml')).size).toBe(0);
  expect(onHosts('ps -eo args').filter((ps) => /sleep 120/.test(ps))).toEqual([]);
}, 180_000);

test('bad input: clear errors before anything runs', async () => {
  const one = (withText: string) =>
    runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: ansible-bad }
spec:
  steps:
    - id: pb
      action: ansible.playbook
      with: ${withText}
      retry: { maximumAttempts: 1 }
`);
  const cases = {
    missing: one('{ playbook: nosuch.yml, inventory: inventory.ini }'),
    escape: one('{ playbook: ../../../../etc/passwd }'),
    refused: one('{ playbook: site.yml, extraVars: { ansible_ssh_common_args: "-o ProxyCommand=sh" } }'),
    inline: one('{ playbook: site.yml, inventory: { web: { hosts: { "-oProxyCommand=x": {} } } } }'),
  };
  const msgs = await Promise.all(Object.values(cases).map(async (rb) => failureMessage((await startRun(env, queue, inputFor(rb))).result())));
  expect(msgs[0]).toBe(`ansible.playbook: playbook nosuch.yml not found: no ${realpathSync(project)}/nosuch.yml (playbook folder ${realpathSync(project)}, RUNWRIGHT_PLAYBOOK_DIR=${project})`);
  expect(msgs[1]).toMatch(/^ansible.playbook: playbook \.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd: outside the playbook folder .*; name it relative to that folder, without "\.\."$/);
  expect(msgs[2]).toMatch(/^ansible.playbook: extraVars: ansible_ssh_common_args is refused/);
  expect(msgs[3]).toMatch(/^ansible.playbook: inventory: host name "-oProxyCommand=x" in group web/);

  process.env.RUNWRIGHT_ANSIBLE_PLAYBOOK = 'ansible-playbook-not-here';
  try {
    const msg = await failureMessage((await startRun(env, queue, inputFor(one('{ playbook: site.yml }')))).result());
    expect(msg).toMatch(/^ansible.playbook: ansible-playbook-not-here is not installed on this worker \(not found on its PATH\): install Ansible \(Debian\/Ubuntu: apt-get install ansible; /);
  } finally {
    delete process.env.RUNWRIGHT_ANSIBLE_PLAYBOOK;
  }
  expect(leftovers()).toEqual([]);
}, 120_000);

const slowRunbook = (name: string) =>
  runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: ${name} }
spec:
  steps:
    - id: slow
      action: ansible.playbook
      with: { playbook: slow.yml, inventory: inventory-key.ini, ssh: { knownHostsFile: "${th.knownHosts}" } }
      heartbeatTimeout: 3s
      retry: { maximumAttempts: 3, initialInterval: 1s }
`);
const resetSlow = () => onHosts('rm -f /var/tmp/pb-crash.* /var/tmp/pb-slow.done /var/tmp/pb-sleep');
const waitForRemoteSleep = async () => {
  const deadline = Date.now() + 120_000;
  while (!onHosts('ps -eo args').every((ps) => /sleep 120/.test(ps))) {
    if (Date.now() > deadline) throw new Error('the play did not reach the slow task');
    await sleep(200);
  }
};

test('cancelling the run kills the ansible-playbook process group and the remote command', async () => {
  resetSlow();
  const playbook = join(realpathSync(project), 'slow.yml');
  const run = await startRun(env, queue, inputFor(slowRunbook('ansible-cancel')));
  await waitForRemoteSleep();
  expect(ansibleGroups(playbook).size).toBe(1);
  await run.cancel();
  await expect(run.result()).rejects.toThrow();
  expect((await run.describe()).status.name).toBe('CANCELLED');
  expect(ansibleGroups(playbook).size).toBe(0);
  for (let i = 0; i < 50 && onHosts('ps -eo args').some((ps) => /sleep 120/.test(ps)); i++) await sleep(100);
  expect(onHosts('ps -eo args').filter((ps) => /sleep 120/.test(ps))).toEqual([]);
  expect(leftovers()).toEqual([]);
}, 180_000);

test('worker shutdown: the process group is killed, the attempt fails retryably and the step runs again on another worker', async () => {
  resetSlow();
  const playbook = join(realpathSync(project), 'slow.yml');
  const q = uniqueQueue('ansibleshutdown');
  const first = await startTestWorker(env, q); // shutdownGraceTime 1s
  const firstRun = first.run();
  const run = await startRun(env, q, inputFor(slowRunbook('ansible-shutdown')));
  await waitForRemoteSleep();
  onHosts('echo 2 > /var/tmp/pb-sleep');
  first.shutdown();
  await firstRun;
  // Stopped worker, no ansible-playbook left behind, and the remote command ended with it.
  expect(ansibleGroups(playbook).size).toBe(0);
  expect(onHosts('ps -eo args').filter((ps) => /sleep 120/.test(ps))).toEqual([]);
  const second = await startTestWorker(env, q);
  const secondRun = second.run();
  try {
    const out = (await run.result()).outputs.slow as PlaybookOutputs;
    expect(out.killedPrevious).toBeUndefined(); // nothing was left to kill
    expect(onHosts('cat /var/tmp/pb-crash.log /var/tmp/pb-crash.final')).toEqual(['start\nstart\nend\nok\n', 'start\nstart\nend\nok\n']);
    const hist = await run.fetchHistory();
    const failed = (hist.events ?? []).map((e) => e.activityTaskFailedEventAttributes).filter(Boolean);
    expect(failed).toEqual([]); // a retryable failure is not in history, only the attempt count
    expect((hist.events ?? []).some((e) => Number(e.activityTaskStartedEventAttributes?.attempt ?? 0) > 1)).toBe(true);
    expect((await run.describe()).status.name).toBe('COMPLETED');
  } finally {
    second.shutdown();
    await secondRun;
  }
  expect(leftovers()).toEqual([]);
}, 180_000);

test('worker SIGKILLed mid-play: the retry kills the orphaned ansible-playbook before starting again; never two at once', async () => {
  resetSlow();
  const playbook = join(realpathSync(project), 'slow.yml');
  const q = uniqueQueue('ansiblecrash');
  const startWorker = () => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], {
      cwd: root,
      env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: q, ...singleUserWorkerEnv() },
      stdio: 'ignore',
    });
    procs.push(p);
    return p;
  };
  // Sample the ansible-playbook process groups of this playbook all along.
  const seen: number[][] = [];
  const sampler = setInterval(() => seen.push([...ansibleGroups(playbook)]), 100);
  const crashEnv = await connectTestEnv();
  try {
    const first = startWorker();
    const run = await startRun(crashEnv, q, inputFor(slowRunbook('ansible-crash')));
    await waitForRemoteSleep();
    const [orphan] = ansibleGroups(playbook);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await sleep(500);
    // The crashed worker's ansible-playbook does not need the worker: it is still running.
    expect([...ansibleGroups(playbook)]).toEqual([orphan]);
    onHosts('echo 2 > /var/tmp/pb-sleep'); // the retry's slow task is short
    startWorker();
    const res = await run.result();
    const out = res.outputs.slow as PlaybookOutputs;
    expect(out.killedPrevious).toEqual([{ pid: orphan, attempt: 1, started: expect.any(String), killed: true }]);
    // `first` was done by the orphan; `slow` and `final` by the retry.
    expect(out.recap).toMatchObject({ h1: { ok: 3, changed: 2, failed: 0 }, h2: { ok: 3, changed: 2, failed: 0 } });
    // The orphan was killed before the retry started: its remote command never ended.
    expect(onHosts('cat /var/tmp/pb-crash.log /var/tmp/pb-crash.final')).toEqual(['start\nstart\nend\nok\n', 'start\nstart\nend\nok\n']);
    expect(onHosts('ps -eo args').filter((ps) => /sleep 120/.test(ps))).toEqual([]);
    clearInterval(sampler);
    expect(Math.max(...seen.map((s) => s.length))).toBe(1);
    const groups = [...new Set(seen.flat())];
    expect(groups).toHaveLength(2);
    expect(groups[0]).toBe(orphan);
    const hist = await run.fetchHistory();
    expect((hist.events ?? []).some((e) => Number(e.activityTaskStartedEventAttributes?.attempt ?? 0) > 1)).toBe(true);
    expect(leftovers()).toEqual([]);
  } finally {
    clearInterval(sampler);
    await crashEnv.close();
  }
}, 300_000);
