/**
 * Host configuration benchmark: Runwright vs ansible-playbook vs Ansible with Mitogen, on the
 * same N real sshd test hosts (scripts/testhosts, default N=50) and an equivalent play:
 * file, copy, template, lineinfile, blockinfile, command with creates, link, copy, sysctl and a
 * 200-route set (Runwright: the `route` module; Ansible has no route module, so the fair
 * equivalent is a copied `ip -batch` file applied only when it changed: two tasks).
 *
 *   sudo npx tsx bench/ansible.ts            (root: the test hosts need namespaces and mounts)
 *   BENCH_HOSTS=10 BENCH_REPS=1 npx tsx bench/ansible.ts
 *
 * For each tool and repetition: fresh hosts (new overlays), a first run (everything changes)
 * and a second run (nothing changes), wall-clock from start to finish. Runwright runs the
 * shipped configure-hosts runbook through Temporal (embedded dev server + worker in this
 * process); Ansible runs Debian's ansible-core 2.14 with forks=N, pipelining on, ControlPersist.
 * Medians of BENCH_REPS (3), as ratios. Writes bench/results/ansible-<date>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { buildRegistry } from '../activities/registry';
import { collectPlayOutputs } from '../activities/host/recap';
import { resolveParams } from '../dsl/params';
import { validateRunbookText } from '../dsl/validate';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { createWorker } from '../workers/worker';
import { INTERPRETER_WORKFLOW, type RunInput } from '../workflows/definitions';
import { startTestHosts, type TestHosts } from '../test/helpers/testhosts';

const REPO = path.resolve(__dirname, '..');
const N = Number(process.env.BENCH_HOSTS ?? 50);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const SET = 50;
const ROUTES = 200;
const TOOLS = (process.env.BENCH_TOOLS ?? 'runwright,ansible,mitogen').split(',') as Tool[];
type Tool = 'runwright' | 'ansible' | 'mitogen';
const WORK = path.join(os.tmpdir(), 'runwright-bench-ansible');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function writePlays(gateway: string): void {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const routes = Array.from({ length: ROUTES }, (_, i) => `10.213.${128 + Math.floor(i / 256)}.${i % 256}`);
  writeFileSync(path.join(WORK, 'routes.yaml'), `routes:\n${routes.map((r) => `  - { dest: ${r}, via: ${gateway} }`).join('\n')}\n`);
  writeFileSync(path.join(WORK, 'routes.batch'), `${routes.map((r) => `route replace ${r} via ${gateway} proto static`).join('\n')}\n`);
  writeFileSync(path.join(WORK, 'ansible.cfg'), '[defaults]\n');
  writeFileSync(path.join(WORK, 'motd.tpl'), 'Welcome to {{ inventory_hostname }} ({{ facts.os.id }} {{ facts.os.version }})\n');
  writeFileSync(path.join(WORK, 'motd.j2'), "Welcome to {{ inventory_hostname }} ({{ ansible_facts['distribution'] | lower }} {{ ansible_facts['distribution_major_version'] }})\n");
  const common = (tpl: string, sysctl: string) => `    - name: app dir
      file: { path: /etc/bench, state: directory, mode: "0755" }
    - name: app config
      copy: { dest: /etc/bench/app.conf, content: "port=8080\\nworkers=2\\n", mode: "0644" }
    - name: motd
      template: { src: ${tpl}, dest: /etc/bench/motd }
    - name: tuning
      lineinfile: { path: /etc/bench/tuning.conf, regexp: "^workers=", line: "workers=4", create: true }
    - name: limits
      blockinfile: { path: /etc/bench/limits.conf, block: "* soft nofile 65536\\n* hard nofile 65536", create: true, marker: "# {mark} RUNWRIGHT MANAGED BLOCK" }
    - name: init once
      command: { cmd: touch /etc/bench/initialized, creates: /etc/bench/initialized }
    - name: current link
      file: { path: /etc/bench/current, state: link, src: /etc/bench }
    - name: version
      copy: { dest: /etc/bench/version, content: "1.2.3\\n" }
    - name: forwarding
      ${sysctl}: { name: net.ipv4.ip_forward, value: "1", sysctl_file: /etc/sysctl.d/90-bench.conf }
`;
  writeFileSync(
    path.join(WORK, 'runwright-play.yaml'),
    `hosts: all\ngather_facts: true\ntasks:\n${common('motd.tpl', 'sysctl').replace(/^ {2}/gm, '')}  - name: routes\n    route: { src: routes.yaml }\n`,
  );
  writeFileSync(
    path.join(WORK, 'ansible-play.yaml'),
    `- hosts: all\n  gather_facts: true\n  tasks:\n${common('motd.j2', 'ansible.posix.sysctl')}    - name: routes file\n      copy: { src: routes.batch, dest: /etc/bench/routes.batch }\n      register: routes_file\n    - name: apply routes\n      command: ip -force -batch /etc/bench/routes.batch\n      when: routes_file.changed\n`,
  );
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  if (process.getuid?.() !== 0) throw new Error('run as root: the test hosts need network namespaces and mounts');
  const cli = await findTemporalCli({ log: (m) => console.error(m) });
  const server = await startDevServer({ cli, headless: true });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = 'bench-ansible';
  const worker = await createWorker({ connection: native, taskQueue, registry: buildRegistry() });
  const running = worker.run();
  const rbText = readFileSync(path.join(REPO, 'runbooks/configure-hosts.yaml'), 'utf8');
  const { runbook } = validateRunbookText('configure-hosts.yaml', rbText, { actions: buildRegistry() });
  if (!runbook) throw new Error('configure-hosts.yaml does not validate');
  let hosts: TestHosts | undefined;
  const results: Record<Tool, { first: number[]; second: number[] }> = { runwright: { first: [], second: [] }, ansible: { first: [], second: [] }, mitogen: { first: [], second: [] } };
  const versions = { ansible: execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0], mitogen: '' };
  try {
    versions.mitogen = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'ansible-mitogen'], { encoding: 'utf8' });
  } catch {
    /* not installed: mitogen runs will fail and say so */
  }

  const runRunwright = async (h: TestHosts, expectChanged: boolean): Promise<number> => {
    const { values, errors } = resolveParams(runbook, { inventory: h.inventory, play: path.join(WORK, 'runwright-play.yaml'), knownHosts: h.knownHosts, forks: N });
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    const input: RunInput = { runbook, params: values };
    const t0 = performance.now();
    const handle = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue, workflowId: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`, args: [input] });
    await handle.result();
    const ms = performance.now() - t0;
    const plays = await collectPlayOutputs(handle, (id) => client.workflow.getHandle(id));
    const recap = Object.values(plays[0].recap);
    const changed = recap.reduce((n, r) => n + r.changed, 0);
    if (recap.length !== N || recap.some((r) => r.failed || r.unreachable)) throw new Error(`runwright: not all hosts succeeded: ${JSON.stringify(plays[0].recap).slice(0, 500)}`);
    if (expectChanged ? changed !== N * 10 : changed !== 0) throw new Error(`runwright: expected ${expectChanged ? N * 10 : 0} changes, got ${changed}`);
    return ms;
  };

  const runAnsible = (h: TestHosts, mitogen: boolean, expectChanged: boolean): Promise<number> =>
    new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ANSIBLE_CONFIG: path.join(WORK, 'ansible.cfg'),
        ANSIBLE_FORKS: String(N),
        ANSIBLE_PIPELINING: 'True',
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${h.knownHosts}`,
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: 'False',
        ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
        ANSIBLE_LOCAL_TEMP: path.join(WORK, 'ansible-tmp'),
        ...(mitogen ? { ANSIBLE_STRATEGY: 'mitogen_linear' } : {}),
      };
      const t0 = performance.now();
      const p = spawn('ansible-playbook', ['-i', h.inventory, path.join(WORK, 'ansible-play.yaml')], { cwd: WORK, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('error', reject);
      p.on('exit', (code) => {
        const ms = performance.now() - t0;
        const recap = [...out.matchAll(/^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
        const changed = recap.reduce((n, m) => n + Number(m[3]), 0);
        if (code !== 0 || recap.length !== N || recap.some((m) => m[4] !== '0' || m[5] !== '0')) return reject(new Error(`${mitogen ? 'mitogen' : 'ansible'} failed (exit ${code}):\n${out.slice(-3000)}`));
        // First run: 10 changed tasks per host (the route file copy and its apply count as two).
        if (expectChanged ? changed !== N * 11 : changed !== 0) return reject(new Error(`${mitogen ? 'mitogen' : 'ansible'}: expected ${expectChanged ? N * 11 : 0} changes, got ${changed}\n${out.slice(-2000)}`));
        resolve(ms);
      });
    });

  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const tool of TOOLS) {
        hosts?.down();
        hosts = startTestHosts(SET, N);
        if (rep === 0 && tool === TOOLS[0]) writePlays(hosts.gateway);
        for (const [which, changed] of [['first', true], ['second', false]] as const) {
          const ms = tool === 'runwright' ? await runRunwright(hosts, changed) : await runAnsible(hosts, tool === 'mitogen', changed);
          results[tool][which].push(ms);
          console.error(`rep ${rep + 1} ${tool} ${which}: ${(ms / 1000).toFixed(2)} s`);
        }
        // The hosts really are configured (spot check of the last one).
        const last = hosts.hosts[N - 1].name;
        const routes = Number(hosts.sh(last, 'ip -4 route show proto static | wc -l').trim());
        if (routes !== ROUTES) throw new Error(`${tool}: ${last} has ${routes} static routes, expected ${ROUTES}`);
      }
    }
  } finally {
    hosts?.down();
    worker.shutdown();
    await running;
    await connection.close();
    await native.close();
    await server.stop();
  }

  const med = (t: Tool, w: 'first' | 'second') => median(results[t][w]);
  const summary: Record<string, unknown> = {};
  for (const t of TOOLS) summary[t] = { firstRunSeconds: med(t, 'first') / 1000, secondRunSeconds: med(t, 'second') / 1000, runsMs: results[t] };
  const ratio = (t: Tool, w: 'first' | 'second') => (TOOLS.includes(t) && TOOLS.includes('runwright') ? med(t, w) / med('runwright', w) : null);
  const out = {
    date: new Date().toISOString(),
    hosts: N,
    repetitions: REPS,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    versions,
    results: summary,
    speedup: {
      vsAnsible: { first: ratio('ansible', 'first'), second: ratio('ansible', 'second') },
      vsMitogen: { first: ratio('mitogen', 'first'), second: ratio('mitogen', 'second') },
    },
    targets: { vsAnsible: 5, vsMitogen: 2 },
  };
  const file = process.env.BENCH_OUT ?? path.join(REPO, 'bench/results', `ansible-${out.date.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`hosts=${N} reps=${REPS} (medians)`);
  for (const t of TOOLS) console.log(`${t.padEnd(10)} first ${(med(t, 'first') / 1000).toFixed(2)} s   second ${(med(t, 'second') / 1000).toFixed(2)} s`);
  console.log(`speedup vs ansible-playbook: first ${out.speedup.vsAnsible.first?.toFixed(1)}x, second ${out.speedup.vsAnsible.second?.toFixed(1)}x (target 5x)`);
  console.log(`speedup vs mitogen:          first ${out.speedup.vsMitogen.first?.toFixed(1)}x, second ${out.speedup.vsMitogen.second?.toFixed(1)}x (target 2x)`);
  console.log(`wrote ${path.relative(REPO, file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
