/**
 * Ansible's task keywords beyond modules, held to ansible-playbook itself:
 *  - tag selection (--tags / --skip-tags, `always`, `never`, `tagged`, `untagged`, `all`, play
 *    and block tags) against `ansible-playbook --list-tasks` for many selections;
 *  - one play with block/rescue/always (ansible_failed_task/result), loop_control (loop_var,
 *    index_var, extended), run_once with register, delegate_to: localhost, tags, set_fact, stat,
 *    assert, debug, fail and until/retries/delay, run natively
 *    by configure-hosts on two real sshd test hosts (set 190) and by ansible-playbook on their
 *    twins: same files on the hosts and on the worker, same rescued/failed counts, and a second
 *    native run changes nothing;
 *  - what is refused, and where (file:line:column of a task inside a rescue; delegation to
 *    another host; delegation when the worker does not allow local tasks).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadPlayFile } from '../activities/host/inventory';
import { collectPlayOutputs } from '../activities/host/recap';
import { selectedByTags } from '../activities/host/runner';
import { PlaySchema } from '../activities/host/play-schema';
import { failureMessage, inputFor, runbookFrom, startRun, startSuiteWorker, type SuiteWorker } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

const root = resolve(__dirname, '..');
const haveAnsible = spawnSync('ansible-playbook', ['--version']).status === 0;
const ANSIBLE_ENV = { ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_RETRY_FILES_ENABLED: 'False', ANSIBLE_LOCALHOST_WARNING: 'False', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'False' };
let th: TestHosts;
let suite: SuiteWorker | undefined;
let dir: string;
const savedLocal = process.env.RUNWRIGHT_LOCAL_TASKS;

function write(rel: string, text: string): string {
  const f = join(dir, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
}

const PLAY = `- hosts: all
  gather_facts: false
  tags: [site]
  tasks:
    - block:
        - name: app dir
          file: { path: /srv/kw, state: directory, mode: "0755" }
        - name: this fails
          command: /bin/false
        - name: never reached
          copy: { dest: /srv/kw/unreached, content: "x\\n" }
      rescue:
        - name: record the failure
          copy: { dest: /srv/kw/rescued, content: "{{ ansible_failed_task.name }} rc={{ ansible_failed_result.rc }}\\n" }
      always:
        - name: always
          copy: { dest: /srv/kw/always, content: "always\\n" }
    - name: numbered files
      copy:
        dest: "/srv/kw/{{ idx }}-{{ pkg }}"
        content: "{{ ansible_loop.index }}/{{ ansible_loop.length }} first={{ ansible_loop.first }} last={{ ansible_loop.last }} prev={{ ansible_loop.previtem | default('none') }}\\n"
      loop: [alpha, beta, gamma]
      loop_control: { loop_var: pkg, index_var: idx, extended: true, label: "{{ pkg }}" }
    - name: once for the batch
      command: echo chosen-once
      run_once: true
      register: chosen
      changed_when: false
    - name: every host sees the run_once result
      copy: { dest: /srv/kw/once, content: "{{ chosen.stdout }}\\n" }
    - name: facts from a task
      set_fact:
        greeting: "hello {{ inventory_hostname }}"
        port_plus: "{{ 8000 + 80 }}"
    - name: look at the app dir
      stat: { path: /srv/kw }
      register: kwdir
    - name: check what we know
      assert:
        that:
          - kwdir.stat.exists
          - kwdir.stat.isdir and not kwdir.stat.islnk
          - kwdir.stat.mode == '0755'
          - port_plus | int == 8080
        fail_msg: "unexpected facts"
    - name: say it
      debug: { msg: "{{ greeting }} {{ port_plus }}" }
    - name: show a value
      debug: { var: kwdir.stat.pw_name }
    - name: never fails here
      fail: { msg: "not reached" }
      when: kwdir.stat.exists == false
    - name: write facts
      copy: { dest: /srv/kw/facts, content: "{{ greeting }} {{ port_plus }} {{ kwdir.stat.pw_name }} {{ kwdir.stat.isdir }} {{ kwdir.stat.exists }}\\n" }
    - name: count until three
      shell: "n=$(cat /srv/kw/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > /srv/kw/count; echo $n"
      register: counter
      until: counter.stdout | int >= 3
      retries: 5
      delay: 0
      changed_when: false
    - name: on the controller
      copy: { dest: "{{ local_dir }}/{{ inventory_hostname }}", content: "from {{ inventory_hostname }}\\n" }
      delegate_to: localhost
    - name: skipped by --skip-tags
      copy: { dest: /srv/kw/extra, content: "x\\n" }
      tags: [extra]
    - name: only when asked for
      copy: { dest: /srv/kw/debug, content: "x\\n" }
      tags: [never, debug]
`;

beforeAll(async () => {
  if (!haveAnsible) return;
  th = startTestHosts(190, 4);
  dir = join(th.dir, 'project');
  write('site.yml', PLAY);
  const line = (h: { name: string; address: string }, tool: string) => `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${th.key} local_dir=${join(dir, `local-${tool}`)}\n`;
  const [h1, h2, h3, h4] = th.hosts;
  write('runwright.ini', `[web]\n${line(h1, 'runwright')}${line(h2, 'runwright')}`);
  write('ansible.ini', `[web]\n${line(h3, 'ansible')}${line(h4, 'ansible')}`);
  mkdirSync(join(dir, 'local-runwright'));
  mkdirSync(join(dir, 'local-ansible'));
  process.env.RUNWRIGHT_LOCAL_TASKS = '1';
  suite = await startSuiteWorker('ansible-keywords');
}, 300_000);

afterAll(async () => {
  await suite?.stop();
  th?.down();
  if (savedLocal === undefined) delete process.env.RUNWRIGHT_LOCAL_TASKS;
  else process.env.RUNWRIGHT_LOCAL_TASKS = savedLocal;
});

const state = (host: string) => th.sh(host, 'cd /srv/kw 2>/dev/null && for f in $(ls | sort); do echo "== $f $(stat -c %a $f)"; cat $f; done; true');

async function runNative(params: Record<string, unknown> = {}) {
  const rb = runbookFrom(readFileSync(join(root, 'runbooks/configure-hosts.yaml'), 'utf8'));
  const h = await startRun(suite!.env, suite!.queue, inputFor(rb, { inventory: join(dir, 'runwright.ini'), play: join(dir, 'site.yml'), knownHosts: th.knownHosts, skipTags: 'extra', ...params }));
  await h.result();
  const plays = await collectPlayOutputs(h, (id) => suite!.env.client.workflow.getHandle(id));
  return plays[0];
}

(haveAnsible ? test : test.skip)('block/rescue/always, loop_control, run_once, delegate_to: localhost and tags: native and ansible-playbook end the same', async () => {
  const first = await runNative();
  const a = spawnSync('ansible-playbook', ['-i', join(dir, 'ansible.ini'), '--skip-tags', 'extra', join(dir, 'site.yml')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...ANSIBLE_ENV, ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${th.knownHosts}` },
    timeout: 300_000,
  });
  expect(a.stderr + a.stdout).toMatch(/PLAY RECAP/);
  expect(a.status).toBe(0);
  // Ansible's recap: the failure in the block was rescued.
  expect(a.stdout).toMatch(/h3\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0\s+skipped=\d+\s+rescued=1\s+ignored=0/);
  for (const h of ['h1', 'h2']) expect(first.recap[h]).toMatchObject({ failed: 0, rescued: 1, unreachable: 0 });
  expect(first.hosts.h1.tasks.find((t) => t.task === 'this fails')).toMatchObject({ status: 'failed', rescued: true });
  const native = state('h1');
  expect(native).toContain('== rescued');
  expect(native).toContain('this fails rc=1');
  expect(native).toContain('== 0-alpha');
  expect(native).toContain('2/3 first=False last=False prev=alpha');
  expect(native).toContain('chosen-once');
  expect(native).toContain('hello h1 8080 root True True');
  expect(native).toMatch(/== count 644\n3\n/);
  expect(first.hosts.h1.tasks.find((t) => t.task === 'say it')?.msg).toBe('hello h1 8080');
  expect(first.hosts.h1.tasks.find((t) => t.task === 'show a value')?.msg).toBe('kwdir.stat.pw_name: root');
  expect(native).not.toContain('unreached');
  expect(native).not.toMatch(/== (extra|debug)/);
  // The same on every host but for the host's own name.
  const same = (h: string) => state(h).replace(`hello ${h} `, 'hello HOST ');
  expect(same('h1')).toEqual(same('h2'));
  expect(same('h1')).toEqual(same('h3'));
  expect(same('h4')).toEqual(same('h3'));
  // Delegated to the worker: one file per host there, the same as Ansible's controller got.
  const local = (tool: string) => readdirSync(join(dir, `local-${tool}`)).sort().map((f) => `${f}: ${readFileSync(join(dir, `local-${tool}`, f), 'utf8')}`);
  expect(local('runwright')).toEqual(['h1: from h1\n', 'h2: from h2\n']);
  expect(local('ansible')).toEqual(['h3: from h3\n', 'h4: from h4\n']);
  // run_once ran on one host of the batch; the other took its result.
  const once = ['h1', 'h2'].map((h) => first.hosts[h].tasks.find((t) => t.task === 'once for the batch')!);
  expect(once[0].ranOn).toBeDefined();
  expect(once[1].ranOn).toBe(once[0].ranOn);

  const second = await runNative();
  for (const h of ['h1', 'h2']) expect(second.recap[h]).toMatchObject({ changed: 0, failed: 0, rescued: 1 });
  // Asking for a `never` tag by name runs it (and only what is selected, plus `always`).
  const debug = await runNative({ tags: 'debug', skipTags: '' });
  expect(state('h1')).toContain('== debug');
  expect(debug.hosts.h1.tasks.map((t) => t.task)).toEqual(['only when asked for']);
}, 900_000);

(haveAnsible ? test : test.skip)('a task delegated to localhost is refused where the worker does not allow local tasks', async () => {
  delete process.env.RUNWRIGHT_LOCAL_TASKS;
  try {
    write('delegate.yml', '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: local\n      command: "true"\n      delegate_to: localhost\n');
    const rb = runbookFrom(readFileSync(join(root, 'runbooks/configure-hosts.yaml'), 'utf8'));
    const h = await startRun(suite!.env, suite!.queue, inputFor(rb, { inventory: join(dir, 'runwright.ini'), play: join(dir, 'delegate.yml'), knownHosts: th.knownHosts }));
    expect(await failureMessage(h.result())).toMatch(/this worker does not run tasks locally; its operator can allow it with RUNWRIGHT_LOCAL_TASKS=1/);
  } finally {
    process.env.RUNWRIGHT_LOCAL_TASKS = '1';
  }
}, 300_000);

(haveAnsible ? test : test.skip)('mistakes inside a rescue and delegation to another host are reported at their line', () => {
  const f = write('bad-rescue.yml', '- hosts: all\n  tasks:\n    - block:\n        - command: "true"\n      rescue:\n        - name: bad\n          file: { path: /tmp/y, state: sideways }\n');
  expect(() => loadPlayFile(f)).toThrow(/bad-rescue\.yml:7:\d+: .*sideways/);
  const g = write('bad-delegate.yml', '- hosts: all\n  tasks:\n    - name: elsewhere\n      command: "true"\n      delegate_to: db1\n');
  expect(() => loadPlayFile(g)).toThrow(/bad-delegate\.yml:5:\d+: .*only localhost \(the worker\) is supported natively/);
  const k = write('bad-block.yml', '- hosts: all\n  tasks:\n    - block:\n        - command: "true"\n      rescue: []\n      loop: [1]\n');
  expect(() => loadPlayFile(k)).toThrow(/bad-block\.yml:6:7: .*`loop` is not one of them/);
});

/** Tag selection held to `ansible-playbook --list-tasks` for many selections. */
(haveAnsible ? test : test.skip)('tag selection is Ansible\'s (compared with ansible-playbook --list-tasks)', () => {
  const tagSets: string[][] = [[], ['a'], ['b'], ['a', 'b'], ['always'], ['never'], ['never', 'a'], ['always', 'b']];
  const tasks = tagSets.map((tags, i) => `    - name: t${i}\n      command: "true"${tags.length ? `\n      tags: [${tags.join(', ')}]` : ''}\n`).join('');
  const play = write('tags.yml', `- hosts: localhost\n  gather_facts: false\n  tasks:\n${tasks}`);
  const parsed = PlaySchema.parse({ tasks: tagSets.map((tags, i) => ({ name: `t${i}`, command: 'true', ...(tags.length ? { tags } : {}) })) });
  const selections: [string[], string[]][] = [
    [[], []],
    [['a'], []],
    [['b'], []],
    [['never'], []],
    [['tagged'], []],
    [['untagged'], []],
    [['all'], ['a']],
    [[], ['always']],
    [['a'], ['b']],
    [['all'], ['tagged']],
    [['a', 'never'], ['always']],
    [['untagged'], ['always']],
  ];
  for (const [only, skip] of selections) {
    const args = ['-i', 'localhost,', '--list-tasks', play, ...(only.length ? ['--tags', only.join(',')] : []), ...(skip.length ? ['--skip-tags', skip.join(',')] : [])];
    const r = spawnSync('ansible-playbook', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...ANSIBLE_ENV } });
    expect(r.status).toBe(0);
    const listed = [...r.stdout.matchAll(/^\s+(t\d+)\s+TAGS:/gm)].map((m) => m[1]);
    const ours = parsed.tasks.filter((t) => selectedByTags(t.tags ?? [], only, skip)).map((t) => t.name);
    expect({ only, skip, tasks: ours }).toEqual({ only, skip, tasks: listed });
  }
});
