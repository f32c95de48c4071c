/**
 * host.play through Temporal on real sshd test hosts: the shipped configure-hosts runbook
 * (check mode with diffs, a real run, a second run with zero changes), the CLI recap, rolling
 * batches with maxFailPercentage and a host killed mid-batch, cancellation, inventory errors.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { inputFor, maybeRecordHistory, runbookFrom, serverAddress, startRun, startSuiteWorker, type SuiteWorker, type TestEnv } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { collectPlayOutputs, formatRecap } from '../activities/host/recap';
import type { PlayOutputs } from '../activities/host/play';
import { statusQuery } from '../workflows/definitions';

const root = resolve(__dirname, '..');
let env: TestEnv;
let queue: string;
let suite: SuiteWorker | undefined;
let th: TestHosts;
let inventory: string;
let playFile: string;

const configureHosts = () => runbookFrom(readFileSync(join(root, 'runbooks/configure-hosts.yaml'), 'utf8'));

beforeAll(async () => {
  th = startTestHosts(22, 4);
  const [h1, h2, h3, h4] = th.hosts;
  inventory = th.writeInventory(
    'site.ini',
    `[web]
h1 ansible_host=${h1.address}
h2 ansible_host=${h2.address}
h3 ansible_host=${h3.address}

[db]
h4 ansible_host=${h4.address}

[all:vars]
ansible_user=root
ansible_ssh_private_key_file=${th.key}
`,
  );
  mkdirSync(join(th.dir, 'group_vars'), { recursive: true });
  writeFileSync(join(th.dir, 'group_vars', 'web.yaml'), 'http_port: 8080\nworkers: 4\n');
  writeFileSync(join(th.dir, 'group_vars', 'all.yaml'), 'http_port: 80\nworkers: 1\n');
  playFile = join(th.dir, 'site.yaml');
  writeFileSync(
    playFile,
    `name: site
hosts: all
tasks:
  - name: app folder
    file: { path: /etc/app, state: directory, mode: "0755" }
  - name: app config
    template: { dest: /etc/app/app.conf, content: "listen {{ http_port }}\\nname {{ inventory_hostname }}\\n" }
    notify: restart app
  - name: tuning
    lineinfile: { path: /etc/app/tuning.conf, regexp: "^workers", line: "workers {{ workers }}", create: true }
    notify: restart app
  - name: motd
    copy: { dest: /etc/motd, content: "managed by runwright\\n" }
  - name: slow step
    command: { argv: [sleep, "{{ slow | string }}"] }
    when: slow > 0
    changed_when: false
handlers:
  - name: restart app
    shell: echo restarted >> /var/log/app-restarts
vars:
  slow: 0
`,
  );
  ({ env, queue } = suite = await startSuiteWorker('hostplay'));
}, 300_000);

afterAll(async () => {
  await suite?.stop();
  th?.down();
});

const params = (extra: Record<string, unknown> = {}) => ({ inventory, play: playFile, knownHosts: th.knownHosts, ...extra });
const plays = (h: { workflowId: string; fetchHistory: () => Promise<any> }) => collectPlayOutputs(h, (id) => env.client.workflow.getHandle(id));
const counts = (ps: PlayOutputs[]) => Object.fromEntries(ps.flatMap((p) => Object.entries(p.recap)).map(([h, r]) => [h, `ok=${r.ok} changed=${r.changed} failed=${r.failed} unreachable=${r.unreachable}`]));

test('check mode shows diffs and changes nothing; the run converges; a second run changes nothing', async () => {
  const rb = configureHosts();
  const check = await startRun(env, queue, inputFor(rb, params({ limit: 'web', check: true, diff: true })));
  const cres = await check.result();
  const cplays = cres.outputs.play as { apply: PlayOutputs }[];
  expect(cplays).toHaveLength(1);
  expect(Object.keys(cplays[0].apply.recap)).toEqual(['h1', 'h2', 'h3']);
  expect(cplays[0].apply.hosts.h1.tasks.find((t) => t.task === 'app config')?.diff).toContain('+listen 8080');
  expect(th.sh('h1', 'test -e /etc/app && echo yes || echo no').trim()).toBe('no');
  const text = formatRecap(await plays(check));
  expect(text).toContain('PLAY RECAP (check mode: nothing was changed)');
  expect(text).toMatch(/--- h1: app config \(template\) \[check\]\n=+\n--- \/dev\/null\n\+\+\+ \/etc\/app\/app.conf \(after\)/);

  const first = await startRun(env, queue, inputFor(rb, params({ limit: 'web' })));
  await first.result();
  expect(counts(await plays(first))).toEqual({
    h1: 'ok=5 changed=5 failed=0 unreachable=0',
    h2: 'ok=5 changed=5 failed=0 unreachable=0',
    h3: 'ok=5 changed=5 failed=0 unreachable=0',
  });
  expect(th.sh('h2', 'cat /etc/app/app.conf /etc/app/tuning.conf /var/log/app-restarts')).toBe('listen 8080\nname h2\nworkers 4\nrestarted\n');
  expect(th.sh('h4', 'test -e /etc/app && echo yes || echo no').trim()).toBe('no');
  await maybeRecordHistory(env, first.workflowId, 'configure-hosts');

  const second = await startRun(env, queue, inputFor(rb, params({ limit: 'web' })));
  await second.result();
  expect(counts(await plays(second))).toEqual({
    h1: 'ok=4 changed=0 failed=0 unreachable=0',
    h2: 'ok=4 changed=0 failed=0 unreachable=0',
    h3: 'ok=4 changed=0 failed=0 unreachable=0',
  });
  expect(th.sh('h1', 'cat /var/log/app-restarts')).toBe('restarted\n');
}, 120_000);

test('the CLI prints an Ansible-like recap', async () => {
  const r = await new Promise<{ code: number | null; out: string }>((done, reject) => {
    const p = spawn(process.execPath, [join(root, 'bin/runwright'), 'run', join(root, 'runbooks/configure-hosts.yaml'), '--set', `inventory=${inventory}`, '--set', 'limit=h1:h4', '--set', `play=${playFile}`, '--set', `knownHosts=${th.knownHosts}`], {
      cwd: root,
      env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => done({ code, out }));
  });
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/PLAY RECAP \*+\nh1 +: ok=4 +changed=0 +unreachable=0 +failed=0 +skipped=1 +rescued=0 +ignored=0\nh4 +: ok=5 +changed=5 +unreachable=0 +failed=0 +skipped=1 +rescued=0 +ignored=0\n/);
  expect(th.sh('h4', 'cat /etc/app/app.conf /etc/app/tuning.conf')).toBe('listen 80\nname h4\nworkers 1\n');
}, 120_000);

test('inventory errors stop the run before any host is touched, with file:line', async () => {
  const bad = th.writeInventory('bad.ini', '[web]\nh1 ansible_host=10.213.22.2 port\n');
  const h = await startRun(env, queue, inputFor(configureHosts(), params({ inventory: bad })));
  const e = await h.result().catch((x) => x);
  expect(e).toBeInstanceOf(WorkflowFailedError);
  expect(String(e.cause?.cause?.message ?? e.cause?.message)).toContain(`${bad}:2:29: expected key=value host variable, got "port"`);
  const h2 = await startRun(env, queue, inputFor(configureHosts(), params({ pattern: 'web:&nosuchgroup' })));
  const e2 = await h2.result().catch((x) => x);
  expect(JSON.stringify(e2.cause?.message ?? '')).toContain('\\"nosuchgroup\\" is neither a group nor a host');
});

test('cancelling the run stops the play and kills the remote command', async () => {
  const slowPlay = join(th.dir, 'slow.yaml');
  writeFileSync(slowPlay, 'tasks:\n  - command: sleep 299\n');
  const run = await startRun(env, queue, inputFor(configureHosts(), params({ limit: 'h3', play: slowPlay })));
  for (let i = 0; i < 200 && !/sleep 299/.test(th.sh('h3', 'ps -eo args')); i++) await new Promise((r) => setTimeout(r, 100));
  expect(th.sh('h3', 'ps -eo args')).toMatch(/sleep 299/);
  await run.cancel();
  await expect(run.result()).rejects.toThrow();
  expect((await run.describe()).status.name).toBe('CANCELLED');
  for (let i = 0; i < 100 && /sleep 299/.test(th.sh('h3', 'ps -eo args')); i++) await new Promise((r) => setTimeout(r, 100));
  expect(th.sh('h3', 'ps -eo args')).not.toMatch(/sleep 299/);
}, 60_000);

test('serial batches and maxFailPercentage: a host killed mid-batch stops the rollout; a tolerant run continues', async () => {
  const rb = configureHosts();
  th.sh('h1', 'rm -rf /etc/app'); // so batch 1 has work to do
  for (const h of ['h2', 'h3', 'h4']) th.sh(h, 'rm -rf /etc/app /var/log/app-restarts');
  const slowPlay = join(th.dir, 'site-slow.yaml');
  writeFileSync(slowPlay, readFileSync(playFile, 'utf8').replace('slow: 0', 'slow: 3'));
  const run = await startRun(env, queue, inputFor(rb, params({ play: slowPlay, serial: '2', maxFailPercentage: 0 })));
  // Kill h2 while batch 1 (h1, h2) runs its slow step.
  for (let i = 0; i < 200 && !/sleep 3/.test(th.sh('h2', 'ps -eo args')); i++) await new Promise((r) => setTimeout(r, 50));
  th.stop('h2');
  const e = await run.result().catch((x) => x);
  expect(e).toBeInstanceOf(WorkflowFailedError);
  const ps = await plays(run);
  expect(ps).toHaveLength(1); // only batch 1 ran
  expect(ps[0].recap.h1).toMatchObject({ status: 'changed', failed: 0, unreachable: 0 });
  expect(ps[0].recap.h2).toMatchObject({ status: 'unreachable', unreachable: 1 });
  expect(ps[0].hosts.h2.msg).toMatch(new RegExp(`^h2 \\(${th.hosts[1].address}:22\\): connection lost|^h2 \\(${th.hosts[1].address}:22\\)`));
  expect(th.sh('h3', 'test -e /etc/app && echo yes || echo no').trim()).toBe('no');
  const st = await run.query(statusQuery);
  expect(st.steps.find((s) => s.id === 'play')?.error).toMatch(/1 of 2 host\(s\) failed \(max 0%\): h2 \(10\.213\.22\.3:22\)/);
  const text = formatRecap(ps);
  expect(text).toMatch(/UNREACHABLE: h2: h2 \(10\.213\.22\.3:22\)/);
  expect(text).toMatch(/h2 +: ok=\d+ +changed=\d+ +unreachable=1/);

  // With maxFailPercentage 50, the dead host counts but the rollout goes on.
  const tolerant = await startRun(env, queue, inputFor(rb, params({ serial: '2', maxFailPercentage: 50 })));
  await tolerant.result();
  const tp = await plays(tolerant);
  expect(tp.map((p) => Object.keys(p.recap))).toEqual([['h1', 'h2'], ['h3', 'h4']]);
  expect(counts(tp)).toMatchObject({ h2: 'ok=0 changed=0 failed=0 unreachable=1', h3: 'ok=5 changed=4 failed=0 unreachable=0', h4: 'ok=5 changed=4 failed=0 unreachable=0' });
}, 120_000);
