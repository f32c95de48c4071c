/**
 * A worker killed right after a notifying task changed a host, before any heartbeat carried
 * the notification: the retried batch sees no change on that task, yet the handler must still
 * run. Notifications are journaled on the host itself (found by the chaos suite, which lost a
 * handler this way). The crash is modelled as an aborted attempt followed by a resume whose
 * heartbeat details hold nothing.
 */
import { loadInventory, type Inventory } from '../activities/host/inventory-files';
import { PlaySchema } from '../activities/host/play-schema';
import { runPlay, type SshSettings } from '../activities/host/runner';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

let th: TestHosts;
let inv: Inventory;
let ssh: SshSettings;

beforeAll(() => {
  th = startTestHosts(27, 1);
  inv = loadInventory(
    th.writeInventory('journal.ini', `h1 ansible_host=${th.hosts[0].address} ansible_user=root ansible_ssh_private_key_file=${th.key}\n`),
  );
  ssh = { knownHostsFile: th.knownHosts, hostKeyChecking: 'strict', connectTimeoutMs: 5000 };
}, 300_000);

afterAll(() => th?.down());

const play = PlaySchema.parse({
  gather_facts: false,
  tasks: [
    { name: 'config', copy: { dest: '/etc/journal.conf', content: 'v=1\n' }, notify: 'reload' },
    { name: 'slow', command: { cmd: 'sleep {{ pause }}' } },
  ],
  handlers: [{ name: 'reload', shell: 'echo reloaded >> /var/tmp/journal-reloads' }],
});

const attempt = (journalKey: string | undefined, pause: number, signal: AbortSignal, resume?: { done: {}; notified: {} }) =>
  runPlay({ inventory: inv, hosts: ['h1'], play, check: false, diff: false, forks: 1, extraVars: { pause }, ssh, signal, journalKey, resume });

async function crashAfterConfig(journalKey: string | undefined): Promise<void> {
  const ac = new AbortController();
  const first = attempt(journalKey, 30, ac.signal).catch((e) => e);
  // Abort once the notifying task has changed the host (the slow task is running).
  for (let i = 0; i < 200 && th.sh('h1', 'cat /etc/journal.conf 2>/dev/null || true') !== 'v=1\n'; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  ac.abort(new Error('worker killed'));
  await first;
}

beforeEach(() => th.sh('h1', 'rm -f /etc/journal.conf /var/tmp/journal-reloads /var/tmp/.runwright-notify-*'));

test('a handler notified before a crash runs on the retry even though no heartbeat carried it', async () => {
  await crashAfterConfig('wf-1:apply[0]');
  expect(th.sh('h1', 'ls -a /var/tmp/ | grep -c runwright-notify || true').trim()).toBe('1');
  const { results } = await attempt('wf-1:apply[0]', 0, new AbortController().signal, { done: {}, notified: {} });
  const h1 = results.h1;
  expect(h1.tasks.map((t) => [t.task, t.status])).toEqual([
    ['config', 'ok'],
    ['slow', 'changed'],
  ]);
  expect(h1.handlers.map((t) => [t.task, t.status])).toEqual([['reload', 'changed']]);
  expect(th.sh('h1', 'cat /var/tmp/journal-reloads')).toBe('reloaded\n');
  // The journal stays (it now says the handler ran), for a retry that comes after this point.
  expect(th.sh('h1', 'ls -a /var/tmp/ | grep -c runwright-notify || true').trim()).toBe('1');
}, 120_000);

test('a retry after the handler ran, before the host was reported done, does not run it again (found by the chaos suite)', async () => {
  await crashAfterConfig('wf-4:apply[0]');
  await attempt('wf-4:apply[0]', 0, new AbortController().signal, { done: {}, notified: {} });
  expect(th.sh('h1', 'cat /var/tmp/journal-reloads')).toBe('reloaded\n');
  // The worker died after the play but before its last heartbeat reached the server: the next
  // attempt resumes with the notification and without the host marked done.
  const { results } = await attempt('wf-4:apply[0]', 0, new AbortController().signal, { done: {}, notified: { h1: ['reload'] } });
  expect(results.h1.handlers.map((t) => [t.task, t.status, t.msg])).toEqual([['reload', 'ok', 'ran before the retry (journaled on the host)']]);
  expect(th.sh('h1', 'cat /var/tmp/journal-reloads')).toBe('reloaded\n');
}, 120_000);

test('journals a week old are cleaned up when a play starts on a host that has more than 16', async () => {
  th.sh('h1', 'printf reload > /var/tmp/.runwright-notify-old && touch -d "8 days ago" /var/tmp/.runwright-notify-old && printf reload > /var/tmp/.runwright-notify-new');
  // Two journals: not worth a `find` on every connection; the old one stays for now.
  await attempt('wf-5:apply[0]', 0, new AbortController().signal, { done: {}, notified: {} });
  expect(th.sh('h1', 'ls -a /var/tmp/ | grep runwright-notify- | grep -c -e -old -e -new || true').trim()).toBe('2');
  th.sh('h1', 'for i in $(seq 1 16); do printf reload > /var/tmp/.runwright-notify-fresh$i; done');
  await attempt('wf-5:apply[0]', 0, new AbortController().signal, { done: {}, notified: {} });
  expect(th.sh('h1', 'ls -a /var/tmp/ | grep runwright-notify- | grep -c -e -old -e -new || true').trim()).toBe('1');
  expect(th.sh('h1', 'test -e /var/tmp/.runwright-notify-new && echo kept')).toBe('kept\n');
  expect(th.sh('h1', 'ls -a /var/tmp/ | grep -c runwright-notify-fresh').trim()).toBe('16');
  th.sh('h1', 'rm -f /var/tmp/.runwright-notify-fresh* /var/tmp/.runwright-notify-new');
}, 120_000);

test('the same when no heartbeat at all reached the server (the retry has no resume details)', async () => {
  await crashAfterConfig('wf-2:apply[0]');
  const { results } = await attempt('wf-2:apply[0]', 0, new AbortController().signal, undefined);
  expect(results.h1.handlers.map((t) => [t.task, t.status])).toEqual([['reload', 'changed']]);
  expect(th.sh('h1', 'cat /var/tmp/journal-reloads')).toBe('reloaded\n');
}, 120_000);

test('without the journal (no key), the same crash loses the handler: what the journal is for', async () => {
  await crashAfterConfig(undefined);
  const { results } = await attempt(undefined, 0, new AbortController().signal, { done: {}, notified: {} });
  expect(results.h1.handlers).toEqual([]);
  expect(th.sh('h1', 'cat /var/tmp/journal-reloads 2>/dev/null || true')).toBe('');
}, 120_000);

test('a run of another step (another key) does not pick up the journal of this one', async () => {
  await crashAfterConfig('wf-2:apply[0]');
  const { results } = await attempt('wf-3:apply[0]', 0, new AbortController().signal, { done: {}, notified: {} });
  expect(results.h1.handlers).toEqual([]);
}, 120_000);
