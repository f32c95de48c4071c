/**
 * Host configuration benchmark (issue 14): Runwright, ansible-playbook and Ansible with Mitogen
 * against the floor, on the same N real sshd test hosts (scripts/testhosts; default N=50, up to
 * 1000 with BENCH_SET 200..263) and ONE play file, in Ansible's spelling with a Jinja2 template,
 * run unchanged by all three: directory, copy, file, template, 2x lineinfile, blockinfile,
 * command with creates, link, and a 200-route file whose handler applies it (`ip -batch`).
 *
 * The floor is what no tool can beat: one OpenSSH session per host running an equivalent shell
 * script (check, then change only what differs), all hosts at once. It is measured in the same
 * run, so the ratio Runwright/floor does not depend on how busy the machine is.
 *
 *   sudo npx tsx bench/ansible.ts                                  (root: namespaces and mounts)
 *   BENCH_HOSTS=500 BENCH_SET=200 BENCH_TOOLS=floor,runwright npx tsx bench/ansible.ts
 *
 * For each repetition and tool: fresh hosts (new overlays), a first run (everything changes) and a
 * second run (nothing changes), wall clock from start to finish. Runwright runs the shipped
 * configure-hosts runbook through Temporal (embedded dev server; the worker in this process, whose
 * peak RSS is sampled); Ansible runs Debian's ansible-core 2.14 with forks=N, pipelining on,
 * ControlPersist. Medians of BENCH_REPS (3). Writes bench/results/ansible-<hosts>-<date>.json.
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
const SET = Number(process.env.BENCH_SET ?? 50);
const ROUTES = 200;
const TOOLS = (process.env.BENCH_TOOLS ?? 'floor,runwright,ansible,mitogen').split(',') as Tool[];
type Tool = 'floor' | 'runwright' | 'ansible' | 'mitogen';
const WORK = path.join(os.tmpdir(), 'runwright-bench-ansible');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** utime+stime (+ those of reaped children) of a process, in seconds; 0 when it is gone. */
function cpuOf(pid: number | string, children = true): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // Fields after the command: state(0) … utime(11) stime(12) cutime(13) cstime(14).
    const t = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return t / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU time spent so far by the test hosts (each host's sshd with its reaped sessions, commands
 * and shells) and by this process (the Temporal worker and client, and reaped children: the
 * floor's ssh clients) and the dev server. Wall clock depends on what else the machine does;
 * CPU seconds do much less, so both are reported.
 */
function cpuNow(h: TestHosts, serverPid: number | undefined): { hosts: number; controller: number } {
  const children = (pid: number | string): string[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return []; // gone
    }
  };
  // Every process alive under a host's sshd counts with its reaped children: a session that is
  // still open when the run ends (Ansible's ControlPersist) has not been reaped into sshd yet.
  const tree = (pid: string): number => cpuOf(pid) + children(pid).reduce((t, k) => t + tree(k), 0);
  let hosts = 0;
  for (const host of h.hosts) for (const k of children(host.pid)) hosts += tree(k);
  return { hosts, controller: cpuOf('self') + (serverPid ? cpuOf(serverPid, false) : 0) };
}

/** The last PID handed out in the first host's PID namespace. */
function lastPid(h: TestHosts): number {
  return Number(h.sh(h.hosts[0].name, 'cat /proc/sys/kernel/ns_last_pid').trim());
}

/** What one lastPid read costs in PIDs (nsenter's child and what it runs). */
function pidsPerRead(h: TestHosts): number {
  const a = lastPid(h);
  return lastPid(h) - a;
}

/** Per host and run: changed tasks (10) plus the handler. */
const CHANGES_PER_HOST = 11;

function writePlays(gateway: string): void {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const routes = Array.from({ length: ROUTES }, (_, i) => `10.215.${Math.floor(i / 256)}.${i % 256}`);
  const batch = `${routes.map((r) => `route replace ${r} via ${gateway} proto static`).join('\n')}\n`;
  writeFileSync(path.join(WORK, 'routes.batch'), batch);
  writeFileSync(path.join(WORK, 'ansible.cfg'), '[defaults]\n');
  writeFileSync(path.join(WORK, 'motd.j2'), "Welcome to {{ inventory_hostname }} ({{ ansible_facts['distribution'] | lower }} {{ ansible_facts['distribution_major_version'] }})\n{% for p in ports %}listen {{ p }}\n{% endfor %}");
  writeFileSync(
    path.join(WORK, 'play.yaml'),
    `- hosts: all
  gather_facts: true
  vars:
    ports: [80, 443]
  tasks:
    - name: app dir
      file: { path: /etc/bench, state: directory, mode: "0755" }
    - name: app config
      copy: { dest: /etc/bench/app.conf, content: "port=8080\\nworkers=2\\n" }
    - name: app config mode
      file: { path: /etc/bench/app.conf, mode: "0600" }
    - name: motd
      template: { src: motd.j2, dest: /etc/bench/motd }
    - name: tuning workers
      lineinfile: { path: /etc/bench/tuning.conf, regexp: "^workers=", line: "workers=4", create: true }
    - name: tuning backlog
      lineinfile: { path: /etc/bench/tuning.conf, regexp: "^backlog=", line: "backlog=1024" }
    - name: limits
      blockinfile: { path: /etc/bench/limits.conf, block: "* soft nofile 65536\\n* hard nofile 65536", create: true }
    - name: init once
      command: { cmd: touch /etc/bench/initialized, creates: /etc/bench/initialized }
    - name: current link
      file: { path: /etc/bench/current, state: link, src: /etc/bench }
    - name: routes file
      copy: { src: routes.batch, dest: /etc/bench/routes.batch }
      notify: apply routes
  handlers:
    - name: apply routes
      command: ip -force -batch /etc/bench/routes.batch
`,
  );
  // The floor: the same end state from one shell script per host; each part checks before it changes.
  const put = (dest: string, content: string) =>
    `t=$(mktemp); cat > "$t" <<'RW_EOF'\n${content}RW_EOF\nif cmp -s "$t" ${dest}; then rm -f "$t"; else mv "$t" ${dest}; chmod 0644 ${dest}; c=$((c+1)); fi\n`;
  writeFileSync(
    path.join(WORK, 'floor.sh'),
    `set -e
c=0
[ -d /etc/bench ] || { mkdir -p /etc/bench; c=$((c+1)); }
${put('/etc/bench/app.conf', 'port=8080\nworkers=2\n')}[ "$(stat -c %a /etc/bench/app.conf)" = 600 ] || { chmod 0600 /etc/bench/app.conf; c=$((c+1)); }
. /etc/os-release
t=$(mktemp); { echo "Welcome to $(hostname) ($ID $VERSION_ID)"; for p in 80 443; do echo "listen $p"; done; } > "$t"
if cmp -s "$t" /etc/bench/motd; then rm -f "$t"; else mv "$t" /etc/bench/motd; chmod 0644 /etc/bench/motd; c=$((c+1)); fi
f=/etc/bench/tuning.conf; [ -e $f ] || : > $f
if ! grep -qx 'workers=4' $f; then if grep -q '^workers=' $f; then sed -i 's/^workers=.*/workers=4/' $f; else echo workers=4 >> $f; fi; c=$((c+1)); fi
if ! grep -qx 'backlog=1024' $f; then if grep -q '^backlog=' $f; then sed -i 's/^backlog=.*/backlog=1024/' $f; else echo backlog=1024 >> $f; fi; c=$((c+1)); fi
f=/etc/bench/limits.conf; b='# BEGIN ANSIBLE MANAGED BLOCK
* soft nofile 65536
* hard nofile 65536
# END ANSIBLE MANAGED BLOCK'
if ! grep -qF '* hard nofile 65536' $f 2>/dev/null; then printf '%s\\n' "$b" >> $f; c=$((c+1)); fi
[ -e /etc/bench/initialized ] || { touch /etc/bench/initialized; c=$((c+1)); }
[ "$(readlink /etc/bench/current)" = /etc/bench ] || { ln -sfn /etc/bench /etc/bench/current; c=$((c+1)); }
t=$(mktemp); cat > "$t" <<'RW_EOF'
${batch}RW_EOF
if cmp -s "$t" /etc/bench/routes.batch; then rm -f "$t"; else mv "$t" /etc/bench/routes.batch; c=$((c+1)); ip -force -batch /etc/bench/routes.batch; c=$((c+1)); fi
echo "changed=$c"
`,
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
  const results: Record<Tool, { first: number[]; second: number[] }> = { floor: { first: [], second: [] }, runwright: { first: [], second: [] }, ansible: { first: [], second: [] }, mitogen: { first: [], second: [] } };
  const cpuResults: Record<Tool, { first: number[]; second: number[] }> = { floor: { first: [], second: [] }, runwright: { first: [], second: [] }, ansible: { first: [], second: [] }, mitogen: { first: [], second: [] } };
  let peakRss = 0;
  const versions = { ansible: execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0], mitogen: '' };
  try {
    versions.mitogen = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'ansible-mitogen'], { encoding: 'utf8' });
  } catch {
    /* not installed: mitogen runs will fail and say so */
  }

  const runRunwright = async (h: TestHosts, expectChanged: boolean): Promise<number> => {
    const { values, errors } = resolveParams(runbook, { inventory: h.inventory, play: path.join(WORK, 'play.yaml'), knownHosts: h.knownHosts, forks: N });
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    const input: RunInput = { runbook, params: values };
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    const t0 = performance.now();
    const handle = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue, workflowId: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`, args: [input] });
    await handle.result().finally(() => clearInterval(sampler));
    const ms = performance.now() - t0;
    const plays = await collectPlayOutputs(handle, (id) => client.workflow.getHandle(id));
    const recap = Object.values(plays[0].recap);
    const changed = recap.reduce((n, r) => n + r.changed, 0);
    if (recap.length !== N || recap.some((r) => r.failed || r.unreachable)) throw new Error(`runwright: not all hosts succeeded: ${JSON.stringify(plays[0].recap).slice(0, 500)}`);
    if (expectChanged ? changed !== N * CHANGES_PER_HOST : changed !== 0) throw new Error(`runwright: expected ${expectChanged ? N * CHANGES_PER_HOST : 0} changes, got ${changed}`);
    return ms;
  };

  // The floor: every host's script over its own OpenSSH session, all at once.
  const runFloor = async (h: TestHosts, expectChanged: boolean): Promise<number> => {
    const script = readFileSync(path.join(WORK, 'floor.sh'));
    const t0 = performance.now();
    const outs = await Promise.all(
      h.hosts.map(
        (host) =>
          new Promise<string>((resolve, reject) => {
            const p = spawn('ssh', ['-i', h.key, '-o', `UserKnownHostsFile=${h.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', `root@${host.address}`, 'sh -s'], { stdio: ['pipe', 'pipe', 'pipe'] });
            let out = '';
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (out += d));
            p.on('error', reject);
            p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`floor on ${host.name} failed (exit ${code}): ${out.slice(-500)}`))));
            p.stdin.end(script);
          }),
      ),
    );
    const ms = performance.now() - t0;
    const want = `changed=${expectChanged ? CHANGES_PER_HOST : 0}`;
    const bad = outs.filter((o) => !o.includes(want));
    if (bad.length) throw new Error(`floor: ${bad.length} hosts did not report ${want}: ${bad[0].slice(-300)}`);
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
      const p = spawn('ansible-playbook', ['-i', h.inventory, path.join(WORK, 'play.yaml')], { cwd: WORK, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('error', reject);
      p.on('close', (code) => {
        const ms = performance.now() - t0;
        const recap = [...out.matchAll(/^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
        const changed = recap.reduce((n, m) => n + Number(m[3]), 0);
        if (code !== 0 || recap.length !== N || recap.some((m) => m[4] !== '0' || m[5] !== '0')) return reject(new Error(`${mitogen ? 'mitogen' : 'ansible'} failed (exit ${code}):\n${out.slice(-3000)}`));
        if (expectChanged ? changed !== N * CHANGES_PER_HOST : changed !== 0) return reject(new Error(`${mitogen ? 'mitogen' : 'ansible'}: expected ${expectChanged ? N * CHANGES_PER_HOST : 0} changes, got ${changed}\n${out.slice(-2000)}`));
        resolve(ms);
      });
    });

  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const tool of TOOLS) {
        hosts?.down();
        hosts = startTestHosts(SET, N);
        if (rep === 0 && tool === TOOLS[0]) writePlays(hosts.gateway);
        const readCost = pidsPerRead(hosts);
        for (const [which, changed] of [['first', true], ['second', false]] as const) {
          const pidsBefore = lastPid(hosts);
          const before = cpuNow(hosts, tool === 'runwright' ? server.pid : undefined);
          const ms = tool === 'runwright' ? await runRunwright(hosts, changed) : tool === 'floor' ? await runFloor(hosts, changed) : await runAnsible(hosts, tool === 'mitogen', changed);
          await new Promise((r) => setTimeout(r, 1000)); // closed sessions reaped by their sshd
          const after = cpuNow(hosts, tool === 'runwright' ? server.pid : undefined);
          const cpu = { hosts: after.hosts - before.hosts, controller: after.controller - before.controller };
          // Processes started on the first host during the run (its PID namespace counts them).
          const forked = lastPid(hosts) - pidsBefore - readCost;
          results[tool][which].push(ms);
          cpuResults[tool][which].push(cpu.hosts + cpu.controller);
          console.error(`rep ${rep + 1} ${tool} ${which}: ${(ms / 1000).toFixed(2)} s wall, CPU ${cpu.hosts.toFixed(2)} s on hosts + ${cpu.controller.toFixed(2)} s controller, ${forked} processes on ${hosts.hosts[0].name}`);
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
  const cpu = (t: Tool, w: 'first' | 'second') => median(cpuResults[t][w]);
  for (const t of TOOLS) summary[t] = { firstRunSeconds: med(t, 'first') / 1000, secondRunSeconds: med(t, 'second') / 1000, runsMs: results[t], firstRunCpuSeconds: cpu(t, 'first'), secondRunCpuSeconds: cpu(t, 'second'), cpuSeconds: cpuResults[t] };
  const cpuRatio = (a: Tool, b: Tool, w: 'first' | 'second') => (TOOLS.includes(a) && TOOLS.includes(b) ? cpu(a, w) / cpu(b, w) : null);
  const ratio = (a: Tool, b: Tool, w: 'first' | 'second') => (TOOLS.includes(a) && TOOLS.includes(b) ? med(a, w) / med(b, w) : null);
  const out = {
    date: new Date().toISOString(),
    hosts: N,
    repetitions: REPS,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg() },
    versions,
    results: summary,
    runwrightVsFloor: { first: ratio('runwright', 'floor', 'first'), second: ratio('runwright', 'floor', 'second'), target: 1.5 },
    runwrightVsFloorCpu: { first: cpuRatio('runwright', 'floor', 'first'), second: cpuRatio('runwright', 'floor', 'second') },
    speedup: {
      vsAnsible: { first: ratio('ansible', 'runwright', 'first'), second: ratio('ansible', 'runwright', 'second') },
      vsMitogen: { first: ratio('mitogen', 'runwright', 'first'), second: ratio('mitogen', 'runwright', 'second') },
    },
    workerPeakRssMiB: TOOLS.includes('runwright') ? Math.round(peakRss / 2 ** 20) : null,
    targets: { runwrightVsFloor: 1.5, workerPeakRssMiBAt500: 1024 },
  };
  const file = process.env.BENCH_OUT ?? path.join(REPO, 'bench/results', `ansible-${N}-${out.date.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  const f = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}x`);
  console.log(`hosts=${N} reps=${REPS} (medians)`);
  for (const t of TOOLS) console.log(`${t.padEnd(10)} first ${(med(t, 'first') / 1000).toFixed(2)} s (CPU ${cpu(t, 'first').toFixed(2)} s)   second ${(med(t, 'second') / 1000).toFixed(2)} s (CPU ${cpu(t, 'second').toFixed(2)} s)`);
  console.log(`runwright / floor:            first ${f(out.runwrightVsFloor.first)}, second ${f(out.runwrightVsFloor.second)} (target <= 1.5x); in CPU seconds ${f(out.runwrightVsFloorCpu.first)}, ${f(out.runwrightVsFloorCpu.second)}`);
  console.log(`ansible-playbook / runwright: first ${f(out.speedup.vsAnsible.first)}, second ${f(out.speedup.vsAnsible.second)}`);
  console.log(`mitogen / runwright:          first ${f(out.speedup.vsMitogen.first)}, second ${f(out.speedup.vsMitogen.second)}`);
  if (out.workerPeakRssMiB !== null) console.log(`bench process (worker) peak RSS: ${out.workerPeakRssMiB} MiB`);
  console.log(`wrote ${path.relative(REPO, file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
