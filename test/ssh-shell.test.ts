/**
 * The connection's long-lived shell (activities/host/remote-shell.ts) against a real sshd test
 * host: commands share the shell but not its state, bytes come back exactly, a background
 * process cannot spill into the next command, and results match the channel-per-command path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connectHost, type HostConnection } from '../activities/host/ssh';
import { startTestHosts, type TestHosts } from './helpers/testhosts';

let th: TestHosts;
const connect = () => connectHost({ name: th.hosts[0].name, host: th.hosts[0].address, user: 'root', privateKeyFile: th.key, knownHostsFile: th.knownHosts });

beforeAll(() => {
  th = startTestHosts(62, 1);
}, 300_000);
afterAll(() => th?.down());

/** Run on a fresh connection with the shell switched off: one channel per command, as before. */
async function onChannels<T>(f: (c: HostConnection) => Promise<T>): Promise<T> {
  const saved = process.env.RUNWRIGHT_SSH_SHELL;
  process.env.RUNWRIGHT_SSH_SHELL = '0';
  const c = await connect();
  try {
    return await f(c);
  } finally {
    c.close();
    if (saved === undefined) delete process.env.RUNWRIGHT_SSH_SHELL;
    else process.env.RUNWRIGHT_SSH_SHELL = saved;
  }
}

// bash where the host has it (job control, builtins for output); POSIX sh with setsid elsewhere.
describe.each([['bash', undefined], ['sh', 'sh']] as const)('shell in %s', (shellName, setting) => {
  let conn: HostConnection;
  const saved = process.env.RUNWRIGHT_SSH_SHELL;
  beforeAll(async () => {
    if (setting) process.env.RUNWRIGHT_SSH_SHELL = setting;
    conn = await connect();
  });
  afterAll(() => {
    conn?.close();
    if (saved === undefined) delete process.env.RUNWRIGHT_SSH_SHELL;
    else process.env.RUNWRIGHT_SSH_SHELL = saved;
  });

  test('commands run in one shell (same parent) and never see each other\'s cd, exports, umask or exit; as on channels', async () => {
    const parents = [];
    for (let i = 0; i < 3; i++) parents.push((await conn.exec('echo $PPID')).stdout);
    expect(new Set(parents).size).toBe(1);
    expect((await conn.exec('cat /proc/$PPID/comm')).stdout).toBe(`${shellName}\n`);
    // On channels, each command is a child of sshd.
    expect(await onChannels(async (c) => (await c.exec('cat /proc/$PPID/comm')).stdout)).toBe('sshd\n');

    const spoil = 'cd /tmp; export LEAK=1; umask 077; set -e; exit 3';
    const look = 'pwd; echo "leak=${LEAK:-none}"; umask; false; echo "still here $?"';
    const inShell = [await conn.exec(spoil), await conn.exec(look)];
    const onChan = await onChannels(async (c) => [await c.exec(spoil), await c.exec(look)]);
    expect(inShell[0].code).toBe(3);
    expect(inShell[1]).toEqual({ code: 0, signal: null, stdout: '/root\nleak=none\n0022\nstill here 1\n', stderr: '' });
    expect(inShell.map((r) => [r.code, r.stdout, r.stderr])).toEqual(onChan.map((r) => [r.code, r.stdout, r.stderr]));
    expect((await conn.exec('echo $PPID')).stdout).toBe(parents[0]);
  }, 60_000);

  test('bytes in and out exactly: binary stdin without a final newline, frame-like lines, stderr apart, 6 MB of output', async () => {
    const input = randomBytes(300_000);
    const sum = createHash('sha256').update(input).digest('hex');
    const r = await conn.exec('cat > /tmp/in.bin; sha256sum < /tmp/in.bin | cut -d" " -f1; wc -c < /tmp/in.bin', { stdin: input });
    expect(r.stdout).toBe(`${sum}\n300000\n`);

    // Small text stdin (read by builtins in bash): UTF-8, backslashes, no final newline, at the 4 KiB edge.
    for (const text of ['héllo\\n\twörld \\', `${'a\\b "c" $d\n'.repeat(372)}xyzw`]) expect((await conn.exec('cat', { stdin: text })).stdout).toBe(text);
    const tricky = 'printf "RWOUT 0 0 0\\nRWPID 1\\nRWEND\\n"\nprintf "no newline"\necho "to stderr" >&2\nexit 7';
    const t = await conn.exec(tricky);
    expect(t).toEqual({ code: 7, signal: null, stdout: 'RWOUT 0 0 0\nRWPID 1\nRWEND\nno newline', stderr: 'to stderr\n' });

    expect((await conn.exec("printf 'h\\303\\251llo \\342\\234\\223\\n'")).stdout).toBe('héllo ✓\n');
    // A NUL byte in the output (bash sends text with builtins, and falls back to cat for this).
    expect((await conn.exec("printf 'a\\000b\\n'; printf 'e\\000' >&2")).stdout).toBe('a\0b\n');
    expect((await conn.exec("printf 'e\\000r' >&2")).stderr).toBe('e\0r');
    const big = await conn.exec('head -c 6000000 /dev/zero | tr "\\0" x; echo end >&2');
    expect(big.stdout.length).toBe(6_000_000);
    // search, not /^x+$/: V8's backtracking overflows its stack on a 6 MB match.
    expect(big.stdout.search(/[^x]/)).toBe(-1);
    expect(big.stderr).toBe('end\n');
  }, 60_000);

  test('a background process holding stdout open neither holds the command nor spills into the next one', async () => {
    const started = Date.now();
    const r = await conn.exec('(sleep 6; echo late) & echo now');
    expect(r.stdout).toBe('now\n');
    // Returned well before the background sleep ends (a wide margin: this is behaviour, not speed).
    expect(Date.now() - started).toBeLessThan(5000);
    await new Promise((res) => setTimeout(res, 6500));
    expect((await conn.exec('echo next')).stdout).toBe('next\n');
  }, 30_000);

  test('concurrent commands on one connection all run (the busy shell hands the others a channel each)', async () => {
    const rs = await Promise.all([1, 2, 3].map((i) => conn.exec(`sleep 0.5; echo ${i}`)));
    expect(rs.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n']);
  }, 30_000);

  test('too much output and a cancel fail the command, and the shell stays in step for the next', async () => {
    await expect(conn.exec('head -c 5000 /dev/zero', { maxOutput: 1000 })).rejects.toThrow(/output exceeded 1000 bytes/);
    const before = (await conn.exec('echo $PPID')).stdout;
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop now')), 300);
    await expect(conn.exec('sleep 5; touch /tmp/not-cancelled', { signal: ac.signal })).rejects.toThrow('stop now');
    expect((await conn.exec('echo $PPID; test -e /tmp/not-cancelled && echo ran || echo killed')).stdout).toBe(`${before}killed\n`);
    await expect(conn.exec('sleep 5', { timeoutMs: 300 })).rejects.toThrow(/timed out after 300 ms/);
    expect((await conn.exec('echo ok')).stdout).toBe('ok\n');
  }, 60_000);
});

test('closing the connection removes the shell\'s private directory', async () => {
  const c = await connect();
  const dir = (await c.exec('dirname "$0"')).stdout.trim();
  expect(dir).toMatch(/^\/tmp\/\.runwright-sh\./);
  expect(th.sh(th.hosts[0].name, `stat -c %a ${dir}`).trim()).toBe('700');
  c.close();
  await new Promise((res) => setTimeout(res, 1000));
  expect(th.sh(th.hosts[0].name, `test -e ${dir} && echo present || echo gone`).trim()).toBe('gone');
}, 30_000);
