/**
 * A worker shutting down must not break hosts: when an activity's cancel signal fires with the
 * SDK's WORKER_SHUTDOWN reason, the remote command keeps running to its end (a real cancel still
 * kills the remote process group at once). Against a real sshd test host.
 */
import { CancelledFailure } from '@temporalio/common';
import { connectHost, type HostConnection } from '../activities/host/ssh';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

let th: TestHosts;
let conn: HostConnection;

beforeAll(async () => {
  th = startTestHosts(61, 1);
  const h = th.hosts[0];
  conn = await connectHost({ name: h.name, host: h.address, user: 'root', privateKeyFile: th.key, knownHostsFile: th.knownHosts });
}, 300_000);
afterAll(() => {
  conn?.close();
  th?.down();
});

const script = (marker: string) => `sleep 2; echo finished > /tmp/${marker}; echo done`;

test('signal aborted for worker shutdown: the remote command finishes and its result comes back', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new CancelledFailure('WORKER_SHUTDOWN')), 300);
  const started = Date.now();
  const r = await conn.exec(script('shutdown'), { signal: ac.signal });
  expect(ac.signal.aborted).toBe(true);
  expect(r).toMatchObject({ code: 0, stdout: 'done\n' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  expect(th.sh(th.hosts[0].name, 'cat /tmp/shutdown').trim()).toBe('finished');
  // Nothing new starts once the signal has fired (the runner checks before every command too).
  await expect(conn.exec('true', { signal: ac.signal })).rejects.toThrow('WORKER_SHUTDOWN');
}, 30_000);

test('signal aborted for a real cancel: the remote command is killed', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new CancelledFailure('CANCELLED')), 300);
  await expect(conn.exec(script('cancelled'), { signal: ac.signal })).rejects.toThrow('CANCELLED');
  await new Promise((r) => setTimeout(r, 2500));
  expect(th.sh(th.hosts[0].name, 'test -e /tmp/cancelled && echo present || echo absent').trim()).toBe('absent');
}, 30_000);
