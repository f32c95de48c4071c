/**
 * A role laid out as Ansible expects (defaults/, vars/ with an ansible-vault encrypted value,
 * tasks/ with import_tasks and a block, templates/ with Jinja2, files/, handlers/, meta/ with a
 * dependency) used unchanged by a play file: run natively by configure-hosts on one real sshd
 * test host and by ansible-playbook on its twin; the hosts must end the same, the vault value must
 * be opened only on the worker (never in history) and masked in results, and mistakes in a role
 * file are reported at that file's line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadPlayFile } from '../activities/host/inventory';
import { collectPlayOutputs } from '../activities/host/recap';
import { inputFor, runbookFrom, startRun, startSuiteWorker, type SuiteWorker } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

const root = resolve(__dirname, '..');
const haveAnsible = spawnSync('ansible-vault', ['--version']).status === 0;
const VAULT_PASSWORD = 'correct horse battery staple';
const DB_PASSWORD = 'db-s3cret-Pa55';
let th: TestHosts;
let suite: SuiteWorker | undefined;
let dir: string;
const saved = { policy: process.env.RUNWRIGHT_SECRETS_POLICY, pw: process.env.RW_TEST_VAULT_PW };

function write(rel: string, text: string): void {
  const f = join(dir, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, text);
}

beforeAll(async () => {
  if (!haveAnsible) return;
  th = startTestHosts(180, 2);
  dir = join(th.dir, 'project');
  writeFileSync(join(th.dir, 'vault-pw'), VAULT_PASSWORD);
  const vaulted = execFileSync('ansible-vault', ['encrypt_string', '--vault-password-file', join(th.dir, 'vault-pw'), DB_PASSWORD, '--name', 'webapp_db_password'], { encoding: 'utf8' });
  write('roles/common/tasks/main.yml', '- name: common marker\n  copy: { dest: /srv/common.marker, content: "common for {{ webapp_env }}\\n" }\n');
  write('roles/webapp/meta/main.yml', 'dependencies:\n  - role: common\n');
  write('roles/webapp/defaults/main.yml', 'webapp_port: 8080\nwebapp_workers: 2\nwebapp_env: staging\n');
  write('roles/webapp/vars/main.yml', `webapp_root: /srv/webapp\n${vaulted}`);
  write(
    'roles/webapp/tasks/main.yml',
    `- import_tasks: dirs.yml
- name: config from a template
  template: { src: webapp.conf.j2, dest: "{{ webapp_root }}/webapp.conf", mode: "0600" }
  notify: restart webapp
- name: banner from files/
  copy: { src: banner.txt, dest: "{{ webapp_root }}/banner.txt" }
- block:
    - name: tuned only in production
      lineinfile: { path: "{{ webapp_root }}/tuning", line: "workers={{ webapp_workers * 2 }}", create: true }
  when: webapp_env == 'production'
`,
  );
  write('roles/webapp/tasks/dirs.yml', '- name: app root\n  file: { path: "{{ webapp_root }}", state: directory, mode: "0750" }\n');
  write(
    'roles/webapp/templates/webapp.conf.j2',
    `# {{ ansible_managed | default('managed by configuration management') }}
port={{ webapp_port }}
workers={{ webapp_workers }}
env={{ webapp_env }}
db_password={{ webapp_db_password }}
`,
  );
  write('roles/webapp/files/banner.txt', 'Authorized use only.\n');
  write('roles/webapp/handlers/main.yml', '- name: restart webapp\n  shell: echo restarted >> /srv/webapp/restarts.log\n');
  write('site.yml', '- hosts: all\n  gather_facts: false\n  vars:\n    webapp_env: production\n  roles:\n    - webapp\n');
  const [h1, h2] = th.hosts;
  const line = (h: { name: string; address: string }) => `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${th.key}\n`;
  write('runwright.ini', line(h1));
  write('ansible.ini', line(h2));
  // The worker's secrets policy grants the vault password to configure-hosts.
  write('secrets.yaml', 'secrets:\n  vault:\n    ref: env:RW_TEST_VAULT_PW\n    runbooks: [configure-hosts]\n');
  process.env.RUNWRIGHT_SECRETS_POLICY = join(dir, 'secrets.yaml');
  process.env.RW_TEST_VAULT_PW = VAULT_PASSWORD;
  suite = await startSuiteWorker('ansible-roles');
}, 300_000);

afterAll(async () => {
  await suite?.stop();
  th?.down();
  for (const [k, v] of [['RUNWRIGHT_SECRETS_POLICY', saved.policy], ['RW_TEST_VAULT_PW', saved.pw]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const state = (host: string) =>
  th.sh(host, 'cd /; for f in /srv/common.marker /srv/webapp /srv/webapp/webapp.conf /srv/webapp/banner.txt /srv/webapp/tuning /srv/webapp/restarts.log; do echo "== $f $(stat -c "%F %a" $f 2>/dev/null || echo absent)"; [ -f $f ] && cat $f; done; true');

async function runNative(): Promise<{ recap: Record<string, { changed: number; failed: number }>; history: string; outputs: string }> {
  const rb = runbookFrom(readFileSync(join(root, 'runbooks/configure-hosts.yaml'), 'utf8'));
  const h = await startRun(suite!.env, suite!.queue, inputFor(rb, { inventory: join(dir, 'runwright.ini'), play: join(dir, 'site.yml'), knownHosts: th.knownHosts, vaultPassword: 'secret:vault' }));
  const result = await h.result();
  const plays = await collectPlayOutputs(h, (id) => suite!.env.client.workflow.getHandle(id));
  // Payloads decoded (they are base64 in the history): what a reader of the history would see.
  const text: string[] = [];
  JSON.stringify(await h.fetchHistory(), (k, v) => {
    if (k === 'data' && (typeof v === 'string' || v instanceof Uint8Array)) text.push(Buffer.from(v as never, typeof v === 'string' ? 'base64' : undefined).toString('utf8'));
    return v;
  });
  return { recap: plays[0].recap, history: text.join('\n'), outputs: JSON.stringify(result) };
}

(haveAnsible ? test : test.skip)('a role with vault vars, a dependency, imports, a block, templates and handlers: native and ansible-playbook end the same', async () => {
  const first = await runNative();
  expect(first.recap.h1).toMatchObject({ failed: 0 });
  const a = spawnSync('ansible-playbook', ['-i', join(dir, 'ansible.ini'), '--vault-password-file', join(th.dir, 'vault-pw'), join(dir, 'site.yml')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${th.knownHosts}`, ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_RETRY_FILES_ENABLED: 'False' },
    timeout: 300_000,
  });
  expect(a.status).toBe(0);
  const native = state('h1');
  expect(native).toContain(`db_password=${DB_PASSWORD}`); // opened on the worker, written to the host
  expect(native).toContain('workers=4'); // the block's when (play vars over role defaults)
  expect(native).toContain('common for production'); // the dependency ran first, with the play's vars
  expect(native).toContain('restarted');
  expect(native).toEqual(state('h2'));
  // Never in history or outputs in clear; the encrypted form is (it is in the play file).
  expect(first.history).not.toContain(DB_PASSWORD);
  expect(first.outputs).not.toContain(DB_PASSWORD);
  expect(first.history).toContain('$ANSIBLE_VAULT;1.1;AES256');
  const second = await runNative();
  expect(second.recap.h1).toMatchObject({ changed: 0, failed: 0 });
}, 600_000);

(haveAnsible ? test : test.skip)("a mistake in a role's file is reported in that file, at its line", () => {
  write('roles/broken/tasks/main.yml', '- name: fine\n  copy: { dest: /tmp/x, content: "x" }\n- name: bad\n  file: { path: /tmp/y, state: sideways }\n');
  write('broken.yml', '- hosts: all\n  roles: [broken]\n');
  expect(() => loadPlayFile(join(dir, 'broken.yml'))).toThrow(new RegExp(`${join(dir, 'roles/broken/tasks/main.yml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:\\d+: .*sideways`));
  write('missing.yml', '- hosts: all\n  roles:\n    - nosuchrole\n');
  expect(() => loadPlayFile(join(dir, 'missing.yml'))).toThrow(/missing\.yml:3:\d+: role "nosuchrole" not found/);
});
