/**
 * Conformance with Ansible itself: ONE play file with Jinja2 (a .j2 template with loops, filters
 * and facts, `when:` and `loop:` in Jinja2, register + `is changed`, a handler), run unchanged by
 * `ansible-playbook` on one real sshd test host and by Runwright's native engine (the shipped
 * configure-hosts runbook on Temporal) on its twin. The resulting hosts must be the same (every
 * managed path's type, mode, owner, group and content), and a second run changes nothing on
 * either.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PlayOutputs } from '../activities/host/play';
import { collectPlayOutputs } from '../activities/host/recap';
import { inputFor, runbookFrom, startRun, startSuiteWorker, type SuiteWorker } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

const root = resolve(__dirname, '..');
let th: TestHosts;
let suite: SuiteWorker | undefined;
let dir: string;

const PLAY = `- name: conformance
  hosts: all
  gather_facts: true
  vars:
    app_root: /srv/app
    app_port: 8080
    app_features: { metrics: true, tracing: false }
    users:
      - { name: alice, state: present, shell: /bin/bash }
      - { name: bob, state: absent, shell: /bin/sh }
      - { name: carol, state: present, shell: /bin/zsh }
    routes: "{{ range(1, 201) | list }}"
  tasks:
    - name: app root
      file: { path: "{{ app_root }}", state: directory, mode: "0750" }
    - name: config dir per feature
      file: { path: "{{ app_root }}/{{ item.key }}", state: directory, mode: "0755" }
      loop: "{{ app_features | dict2items | selectattr('value') | list }}"
    - name: main config from a template
      template: { src: templates/app.conf.j2, dest: "{{ app_root }}/app.conf", mode: "0640" }
      notify: restart app
    - name: users file
      copy:
        dest: "{{ app_root }}/users"
        content: "{{ users | selectattr('state', 'equalto', 'present') | map(attribute='name') | join('\\\\n') }}\\n"
        mode: "0644"
    - name: routes file (200 entries)
      template: { src: templates/routes.j2, dest: "{{ app_root }}/routes" }
      register: routes_file
      notify: reload routes
    - name: remember the routes changed
      copy: { dest: "{{ app_root }}/routes.changed", content: "yes\\n" }
      when: routes_file is changed
    - name: port line
      lineinfile: { path: "{{ app_root }}/tuning.conf", regexp: "^port=", line: "port={{ app_port | int + 1 }}", create: true }
    - name: workers line
      lineinfile: { path: "{{ app_root }}/tuning.conf", regexp: "^workers=", line: "workers={{ [4, ansible_facts['architecture'] | length] | max }}", create: true }
    - name: limits block
      blockinfile:
        path: "{{ app_root }}/limits.conf"
        create: true
        block: |
          {% for u in users %}{% if u.state == 'present' %}{{ u.name }} soft nofile 65536
          {% endif %}{% endfor %}
    - name: initialize once
      command: { cmd: "touch {{ app_root }}/initialized", creates: "{{ app_root }}/initialized" }
    - name: tracing only when enabled
      copy: { dest: "{{ app_root }}/tracing.conf", content: "on\\n" }
      when: app_features.tracing | bool
    - name: current link
      file: { path: /srv/current, src: "{{ app_root }}", state: link }
  handlers:
    - name: restart app
      shell: echo restarted >> /srv/app/restarts.log
    - name: reload routes
      shell: echo reloaded >> /srv/app/reloads.log
`;

const APP_CONF = `# managed: do not edit
[server]
port = {{ app_port }}
root = {{ app_root }}
os = {{ ansible_facts['distribution'] }} {{ ansible_distribution_major_version }}
features = {{ app_features | dict2items | selectattr('value') | map(attribute='key') | join(', ') }}
{% for u in users %}
{% if u.state == 'present' %}
user {{ u.name }} shell={{ u.shell | basename }}
{% endif %}
{% endfor %}
`;

const ROUTES = `{% for n in routes %}10.{{ (n // 250) + 1 }}.{{ n % 250 }}.0/24 via 10.213.0.1
{% endfor %}`;

// Everything the play manages; compared between the twins.
const PATHS = ['/srv/app', '/srv/app/metrics', '/srv/app/tracing', '/srv/app/app.conf', '/srv/app/users', '/srv/app/routes', '/srv/app/routes.changed', '/srv/app/tuning.conf', '/srv/app/limits.conf', '/srv/app/initialized', '/srv/app/tracing.conf', '/srv/current', '/srv/app/restarts.log', '/srv/app/reloads.log'];

function snapshot(host: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of PATHS) {
    out[p] = th
      .sh(host, `cd / ; if [ -L ${p} ]; then echo "link -> $(readlink ${p})"; elif [ -e ${p} ]; then stat -c '%F %a %U:%G' ${p}; if [ -f ${p} ] && [ $(stat -c %s ${p}) -lt 1500 ]; then cat ${p}; elif [ -f ${p} ]; then sha256sum < ${p} | cut -c1-16; fi; else echo absent; fi; true`)
      .trim();
  }
  return out;
}

function ansiblePlaybook(): { changed: number; failed: number; out: string } {
  const r = spawnSync('ansible-playbook', ['-i', join(dir, 'ansible.ini'), join(dir, 'play.yml')], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
    env: {
      ...process.env,
      ANSIBLE_HOST_KEY_CHECKING: 'True',
      ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${th.knownHosts}`,
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: 'False',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp'),
    },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /^h1\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/m.exec(out);
  if (r.status !== 0 || !m) throw new Error(`ansible-playbook failed (exit ${r.status}):\n${out.slice(-3000)}`);
  return { changed: Number(m[1]), failed: Number(m[3]), out };
}

async function runwright(): Promise<PlayOutputs['recap'][string]> {
  const rb = runbookFrom(readFileSync(join(root, 'runbooks/configure-hosts.yaml'), 'utf8'));
  const h = await startRun(suite!.env, suite!.queue, inputFor(rb, { inventory: join(dir, 'runwright.ini'), play: join(dir, 'play.yml'), knownHosts: th.knownHosts }));
  await h.result();
  const plays = await collectPlayOutputs(h, (id) => suite!.env.client.workflow.getHandle(id));
  return plays[0].recap.h2;
}

const haveAnsible = spawnSync('ansible-playbook', ['--version']).status === 0;

beforeAll(async () => {
  if (!haveAnsible) return;
  th = startTestHosts(170, 2);
  dir = join(th.dir, 'conformance');
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'play.yml'), PLAY);
  writeFileSync(join(dir, 'templates', 'app.conf.j2'), APP_CONF);
  writeFileSync(join(dir, 'templates', 'routes.j2'), ROUTES);
  const [h1, h2] = th.hosts;
  const line = (h: { name: string; address: string }) => `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${th.key}\n`;
  writeFileSync(join(dir, 'ansible.ini'), line(h1));
  writeFileSync(join(dir, 'runwright.ini'), line(h2));
  suite = await startSuiteWorker('ansible-conformance');
}, 300_000);

afterAll(async () => {
  await suite?.stop();
  th?.down();
});

(haveAnsible ? test : test.skip)('the same Jinja2 play gives the same hosts under ansible-playbook and Runwright; the second run changes nothing', async () => {
  const a1 = ansiblePlaybook();
  const r1 = await runwright();
  expect(a1.failed).toBe(0);
  expect(r1).toMatchObject({ failed: 0, unreachable: 0 });
  const ansibleHost = snapshot('h1');
  const runwrightHost = snapshot('h2');
  // Not vacuous: the play did its work.
  expect(ansibleHost['/srv/app/app.conf']).toMatch(/^regular file 640 root:root\n# managed: do not edit\n/);
  expect(ansibleHost['/srv/app/tracing']).toBe('absent');
  expect(ansibleHost['/srv/current']).toBe('link -> /srv/app');
  expect(runwrightHost).toEqual(ansibleHost);
  expect(th.sh('h2', 'cat /srv/app/app.conf')).toBe(th.sh('h1', 'cat /srv/app/app.conf'));
  expect(th.sh('h2', 'wc -l < /srv/app/routes').trim()).toBe('200');
  expect(r1.changed).toBe(a1.changed);

  const a2 = ansiblePlaybook();
  const r2 = await runwright();
  expect(a2.changed).toBe(0);
  expect(r2.changed).toBe(0);
  expect(snapshot('h2')).toEqual(snapshot('h1'));
}, 600_000);
