/**
 * The worker is SIGKILLed in the middle of a play on real test hosts. Temporal retries the
 * batch's activity on a new worker: tasks re-run idempotently, the handler that the crashed
 * attempt had been notified for still runs (heartbeat details), and every host ends in the
 * desired state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, singleUserWorkerEnv, startRun, uniqueQueue, type TestEnv } from './helpers/temporal';
import { startTestHosts, type TestHosts } from './helpers/testhosts';
import { collectPlayOutputs } from '../activities/host/recap';

const root = resolve(__dirname, '..');
let env: TestEnv;
let th: TestHosts;
const procs: ChildProcess[] = [];

function startWorkerProcess(queue: string): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, ...singleUserWorkerEnv() },
    stdio: 'ignore',
  });
  procs.push(p);
  return p;
}

beforeAll(async () => {
  th = startTestHosts(23, 3);
  env = await connectTestEnv();
}, 300_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))) : undefined)));
  await env?.close();
  th?.down();
});

test('worker SIGKILLed mid-play: the batch is retried, handlers still run once, hosts converge', async () => {
  const play = join(th.dir, 'crash.yaml');
  writeFileSync(
    play,
    `tasks:
  - name: config
    copy: { dest: /etc/crash.conf, content: "v=2\\n" }
    notify: reload
  - name: slow
    shell: { cmd: "sleep 6 && touch /var/tmp/slow.done", creates: /var/tmp/slow.done }
  - name: final
    copy: { dest: /etc/crash.final, content: "ok\\n" }
handlers:
  - name: reload
    shell: echo reloaded >> /var/tmp/reloads
`,
  );
  // The shipped runbook, with a short heartbeat timeout so the retry comes quickly.
  const rb = runbookFrom(readFileSync(join(root, 'runbooks/configure-hosts.yaml'), 'utf8').replace('heartbeatTimeout: 20s', 'heartbeatTimeout: 3s'));
  const queue = uniqueQueue('hostcrash');
  const first = startWorkerProcess(queue);
  const h = await startRun(env, queue, inputFor(rb, { inventory: th.inventory, play, knownHosts: th.knownHosts }));

  // Wait until every host runs the slow task, and the heartbeat carrying "reload notified" is out.
  const deadline = Date.now() + 60_000;
  while (!th.hosts.every((x) => /sleep 6/.test(th.sh(x.name, 'ps -eo args')))) {
    if (Date.now() > deadline) throw new Error('the play did not reach the slow task');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  expect(th.sh('h1', 'cat /var/tmp/reloads 2>/dev/null || echo none')).toBe('none\n');

  startWorkerProcess(queue);
  await h.result();
  const ps = await collectPlayOutputs(h, (id) => env.client.workflow.getHandle(id));
  expect(ps).toHaveLength(1);
  for (const x of th.hosts) {
    expect(th.sh(x.name, 'cat /etc/crash.conf /etc/crash.final /var/tmp/reloads; ls /var/tmp/slow.done')).toBe('v=2\nok\nreloaded\n/var/tmp/slow.done\n');
    // The retry found the config already in place (no change) but ran the handler it inherited.
    expect(ps[0].hosts[x.name].tasks.find((t) => t.task === 'config')?.status).toBe('ok');
    expect(ps[0].hosts[x.name].handlers.map((t) => `${t.task}:${t.status}`)).toEqual(['reload:changed']);
  }
  const hist = await h.fetchHistory();
  const started = (hist.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && Number(e.activityTaskStartedEventAttributes.attempt) > 1);
  expect(started.length).toBeGreaterThanOrEqual(1);
}, 150_000);
