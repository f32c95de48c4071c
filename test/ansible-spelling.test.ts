/**
 * Ansible's own spelling on real sshd test hosts (scripts/testhosts, set 160): the issue's
 * example (`file: {src, dest, state: link}`) makes the link; and one play written for Ansible
 * (module names, aliases, `key=value` text, `yes`/`no`) is run by Runwright on h1 and by
 * ansible-playbook (ansible-core 2.14) on h2: both hosts end up the same, and each task reports
 * changed/ok the same way on the first and the second run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInventory, type Inventory } from '../activities/host/inventory-files';
import { loadPlayFile } from '../activities/host/inventory';
import { PlaySchema } from '../activities/host/play-schema';
import { runPlay, type HostResult, type SshSettings } from '../activities/host/runner';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

let th: TestHosts;
let inv: Inventory;
let ssh: SshSettings;
let dir: string;

beforeAll(() => {
  th = startTestHosts(160, 2);
  const [h1, h2] = th.hosts;
  th.writeInventory(
    'spelling.ini',
    `[targets]
h1 ansible_host=${h1.address}
h2 ansible_host=${h2.address}

[all:vars]
ansible_user=root
ansible_ssh_private_key_file=${th.key}
ansible_python_interpreter=/usr/bin/python3
`,
  );
  inv = loadInventory(join(th.dir, 'spelling.ini'));
  ssh = { knownHostsFile: th.knownHosts, hostKeyChecking: 'strict', connectTimeoutMs: 5000 };
  dir = join(th.dir, 'plays');
  mkdirSync(join(dir, 'files'), { recursive: true });
  writeFileSync(join(dir, 'files', 'app.conf'), 'listen 8080\n');
}, 300_000);

afterAll(() => th?.down());

async function runwright(playFile: string, host = 'h1', check = false): Promise<HostResult> {
  const play = PlaySchema.parse(loadPlayFile(playFile));
  const { results } = await runPlay({ inventory: inv, hosts: [host], play, check, diff: true, forks: 5, extraVars: {}, ssh, signal: new AbortController().signal });
  return results[host];
}

/** ansible-playbook on one host; per task: changed or not (the json callback). */
function ansible(playFile: string, host: string): { task: string; changed: boolean; failed: boolean; msg?: string }[] {
  const r = spawnSync('ansible-playbook', ['-i', join(th.dir, 'spelling.ini'), '--limit', host, playFile], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 300_000,
    env: {
      ...process.env,
      ANSIBLE_STDOUT_CALLBACK: 'json',
      ANSIBLE_HOST_KEY_CHECKING: 'True',
      ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${th.knownHosts} -o ControlMaster=auto -o ControlPersist=60s`,
      ANSIBLE_PIPELINING: 'True',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: 'False',
      ANSIBLE_LOCAL_TEMP: join(th.dir, 'ansible-tmp'),
      ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
    },
  });
  if (r.error) throw r.error;
  let out: { plays: { tasks: { task: { name: string }; hosts: Record<string, { changed?: boolean; failed?: boolean; msg?: string }> }[] }[] };
  try {
    out = JSON.parse(r.stdout);
  } catch {
    throw new Error(`ansible-playbook (exit ${r.status}): ${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  }
  return out.plays[0].tasks.map((t) => ({ task: t.task.name, changed: !!t.hosts[host]?.changed, failed: !!t.hosts[host]?.failed, msg: t.hosts[host]?.msg }));
}

/** What a host's files look like: type, mode, owner, link target, content. */
const state = (host: string) =>
  th.sh(
    host,
    `cd /tmp && for p in $(find rw-dir rw-link rw-pre rw-emptydir | sort); do printf '%s %s %s %s\\n' "$p" "$(stat -c '%F %a %U' "$p")" "$(readlink "$p")" "$( [ -f "$p" ] && [ ! -L "$p" ] && base64 -w0 "$p")"; done; cat /proc/sys/net/ipv4/conf/all/forwarding`,
  );

test("the issue's example: file with src, dest and state link makes the link", async () => {
  const f = join(dir, 'link.yaml');
  writeFileSync(f, 'tasks:\n  - name: link\n    file: {src: /etc/hosts, dest: /tmp/rw-issue-link, state: link}\n');
  const r = await runwright(f);
  expect(r.tasks.map((t) => [t.task, t.status])).toEqual([['link', 'changed']]);
  expect(th.sh('h1', 'readlink /tmp/rw-issue-link').trim()).toBe('/etc/hosts');
  expect((await runwright(f)).tasks[0].status).toBe('ok');
});

test('a play written for Ansible: Runwright and ansible-playbook leave the hosts the same, task by task', async () => {
  writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\n');
  const play = join(dir, 'site.yaml');
  writeFileSync(
    play,
    String.raw`- name: ansible spelling
  hosts: targets
  gather_facts: no
  tasks:
    - name: the issue's link
      file: {src: /etc/hosts, dest: /tmp/rw-link, state: link}
    - name: folder, key=value
      ansible.builtin.file: path=/tmp/rw-dir state=directory mode=0750
    - name: no state, existing folder
      ansible.builtin.file: dest=/tmp/rw-pre mode=0755
    - name: an empty folder replaced by a link
      file: src=/etc/hosts path=/tmp/rw-emptydir state=link force=yes
    - name: content in key=value text
      ansible.builtin.copy: dest=/tmp/rw-dir/motd content="hello\n" mode=0640
    - name: a file from the worker into a folder
      ansible.legacy.copy:
        src: files/app.conf
        dest: /tmp/rw-dir/
        backup: yes
    - name: a file on the host
      copy: {src: /etc/debian_version, dest: /tmp/rw-dir/version, remote_src: yes, mode: "0600"}
    - name: an existing file is kept with force no
      copy: {dest: /tmp/rw-dir/keep, content: "from the play\n", force: no}
    - name: lineinfile with Ansible's aliases
      lineinfile: dest=/tmp/rw-dir/sshd regex=^#?PermitRootLogin line="PermitRootLogin no" create=yes
    - name: backrefs
      ansible.builtin.lineinfile:
        path: /tmp/rw-dir/conf
        regexp: '^(?P<key>workers)\s*=\s*(\d+)$'
        line: '\g<key> = 8 # was \2'
        backrefs: yes
    - name: search_string
      lineinfile:
        path: /tmp/rw-dir/conf
        search_string: mode = a.b
        line: mode = c
    - name: blockinfile with content and a marker
      blockinfile:
        dest: /tmp/rw-dir/hosts
        marker: "# {mark} TEST BLOCK"
        content: |
          10.0.0.1 a
          10.0.0.2 b
        create: yes
    - name: command with creates (a glob) in the free form
      command: touch /tmp/rw-dir/made1 creates=/tmp/rw-dir/made*
    - name: shell with chdir in the free form
      shell: pwd > where chdir=/tmp/rw-dir
      changed_when: false
    - name: stdin with a newline
      shell:
        cmd: cat > /tmp/rw-dir/stdin.txt
        stdin: abc
        stdin_add_newline: yes
      changed_when: false
    - name: sysctl
      ansible.posix.sysctl:
        name: net.ipv4.conf.all.forwarding
        value: "1"
        sysctl_set: yes
        sysctl_file: /etc/sysctl.d/90-spelling.conf
`,
  );
  for (const h of ['h1', 'h2'])
    th.sh(h, "rm -rf /tmp/rw-dir /tmp/rw-link /tmp/rw-pre /tmp/rw-emptydir; mkdir -m 700 /tmp/rw-pre /tmp/rw-emptydir; mkdir /tmp/rw-dir; printf 'workers = 4\\nmode = a.b\\n' > /tmp/rw-dir/conf; echo mine > /tmp/rw-dir/keep; echo 0 > /proc/sys/net/ipv4/conf/all/forwarding");

  const first = await runwright(play, 'h1');
  const ansFirst = ansible(play, 'h2');
  expect(ansFirst.filter((t) => t.failed)).toEqual([]);
  const changed = (r: HostResult) => r.tasks.map((t) => ({ task: t.task, changed: t.status === 'changed', failed: t.status === 'failed', ...(t.status === 'failed' ? { msg: t.msg } : {}) }));
  expect(changed(first)).toEqual(ansFirst.map(({ task, changed: c }) => ({ task, changed: c, failed: false })));
  expect(changed(first).filter((t) => t.changed).length).toBe(13);

  // The backup file's name has a timestamp; compare everything else.
  const clean = (s: string) => s.replace(/app\.conf\.[0-9.@:~-]+/g, 'app.conf.BACKUP').replace(/ {2,}/g, ' ');
  const h1 = clean(state('h1'));
  expect(h1).toBe(clean(state('h2')));
  expect(h1).toContain('rw-link symbolic link 777 root /etc/hosts');
  expect(h1).toContain('rw-emptydir symbolic link 777 root /etc/hosts');
  expect(h1).toContain('rw-pre directory 755 root');
  const file = (p: string, mode: string, text: string) => `rw-dir/${p} regular file ${mode} root ${Buffer.from(text).toString('base64')}\n`;
  expect(h1).toContain(file('conf', '644', 'workers = 8 # was 4\nmode = c\n'));
  expect(h1).toContain(file('keep', '644', 'mine\n'));
  expect(h1).toContain(file('stdin.txt', '644', 'abc\n'));
  expect(h1).toContain(file('where', '644', '/tmp/rw-dir\n'));
  expect(h1).toContain(file('motd', '640', 'hello\n'));
  expect(h1).toContain(file('app.conf', '644', 'listen 8080\n'));
  expect(h1).toContain(file('hosts', '644', '# BEGIN TEST BLOCK\n10.0.0.1 a\n10.0.0.2 b\n# END TEST BLOCK\n'));
  expect(h1).toContain(file('sshd', '644', 'PermitRootLogin no\n'));
  expect(h1.trim().split('\n').pop()).toBe('1');

  // The second run changes nothing, on both.
  const second = await runwright(play, 'h1');
  const ansSecond = ansible(play, 'h2');
  expect(changed(second)).toEqual(ansSecond.map(({ task, changed: c }) => ({ task, changed: c, failed: false })));
  expect(second.tasks.filter((t) => t.status === 'changed')).toEqual([]);
}, 600_000);

test('check mode with Ansible spelling changes nothing; apt with pkg= and state=installed', async () => {
  const f = join(dir, 'apt.yaml');
  writeFileSync(f, 'tasks:\n  - name: pkg\n    apt: pkg=rw-hello state=installed\n  - ansible.builtin.file: path=/tmp/rw-check state=directory\n');
  const installed = "dpkg-query -W -f='${Status}' rw-hello 2>/dev/null | grep -q 'ok installed' && echo installed || echo absent";
  th.sh('h1', 'apt-get -y -q remove rw-hello >/dev/null 2>&1; rm -rf /tmp/rw-check; true');
  const check = await runwright(f, 'h1', true);
  expect(check.tasks.map((t) => t.status)).toEqual(['changed', 'changed']);
  expect(th.sh('h1', `test -e /tmp/rw-check && echo yes || echo no; ${installed}`)).toBe('no\nabsent\n');
  const run = await runwright(f, 'h1');
  expect(run.tasks.map((t) => t.status)).toEqual(['changed', 'changed']);
  expect(th.sh('h1', installed)).toBe('installed\n');
  expect((await runwright(f, 'h1')).tasks.map((t) => t.status)).toEqual(['ok', 'ok']);
}, 300_000);
