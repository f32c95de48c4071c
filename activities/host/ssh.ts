/**
 * SSH to managed hosts: one persistent connection per host (node-ssh over ssh2), host keys
 * verified against known_hosts by default, commands run through /bin/sh with every value
 * quoted, optional sudo (become), and cancellation that kills the remote process group.
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel } from 'ssh2';
import { appendKnownHost, fingerprint, hostKeyAlgorithms, keyTypeOf, lookupHostKeys, readKnownHosts } from './known-hosts';
import { isWorkerShutdown } from '../../lib/shutdown';
import { ENV } from '../../lib/config';
import { DRIVER, RemoteShell } from './remote-shell';

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';

/** Quote one value as a single POSIX shell word. */
export function shq(value: string | number): string {
  const s = String(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class SshError extends Error {
  name = 'SshError';
  constructor(
    message: string,
    /** unreachable: network/timeout; hostkey: unknown or changed key; auth: refused credentials; lost: connection dropped mid-play */
    readonly kind: 'unreachable' | 'hostkey' | 'auth' | 'lost' | 'timeout',
  ) {
    super(message);
  }
}

export interface SshConnectOptions {
  /** Inventory name, for messages. */
  name: string;
  host: string;
  port?: number;
  user?: string;
  privateKeyFile?: string;
  /** Resolved password (never a reference here). */
  password?: string;
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK when there is no key or password. */
  agent?: string;
  knownHostsFile?: string;
  hostKeyChecking?: HostKeyChecking;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface Become {
  user: string;
  /** Resolved sudo password, if sudo needs one. */
  password?: string;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  become?: Become | null;
  env?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Largest stdout kept (bytes); more is an error. */
  maxOutput?: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export const DEFAULT_KNOWN_HOSTS = (): string => process.env.RUNWRIGHT_KNOWN_HOSTS || join(homedir(), '.ssh', 'known_hosts');

/** The long-lived shell runs in bash where the host has it (one exec fewer per command: see remote-shell.ts), else in sh. */
const DRIVER_START = `if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -c ${shq(DRIVER)}; fi\n${DRIVER}`;

function sudoPrefix(b: Become): string {
  // -n: never prompt (fails clearly instead of hanging); -S reads the password from stdin.
  return b.password ? `sudo -k -S -p '' -H -u ${shq(b.user)} -- ` : `sudo -n -H -u ${shq(b.user)} -- `;
}

/**
 * Call `kill` on a real cancel or at the time limit; returns what stops watching. A worker
 * shutting down is no reason to break a host (a package half upgraded): the command runs to its
 * end, and callers check the signal before starting the next one.
 */
function watchCancel(name: string, signal: AbortSignal | undefined, timeoutMs: number | undefined, kill: (why: unknown) => void): () => void {
  const onAbort = (): void => {
    if (isWorkerShutdown(signal!.reason)) return;
    kill(signal!.reason ?? new Error('cancelled'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // Cancelled while the command was on its way (the channel opening, the frame being sent): the
  // listener came too late to hear it, so act on it now instead of waiting for the command.
  if (signal?.aborted) onAbort();
  const timer = timeoutMs ? setTimeout(() => kill(new SshError(`${name}: command timed out after ${timeoutMs} ms`, 'timeout')), timeoutMs) : undefined;
  return () => {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
}

export class HostConnection {
  private closed = false;
  private closeReason = '';
  /** Long-lived shells by become user (remote-shell.ts), and how many were started (a host that keeps losing them gets channels). */
  private readonly shells = new Map<string, Promise<RemoteShell | undefined>>();
  private shellStarts = 0;

  constructor(
    readonly name: string,
    readonly address: string,
    private readonly ssh: NodeSSH,
    private readonly client: Client,
  ) {
    client.on('close', () => {
      this.closed = true;
      this.closeReason ||= 'connection closed';
    });
    client.on('error', (e: Error) => {
      this.closeReason = e.message;
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Run a shell script on the host: in the connection's long-lived shell for this `become` user
   * (remote-shell.ts) when it is free, else on a channel of its own. Either way the command's
   * process (group and session leader) is known, so cancellation kills the whole group from a
   * second channel.
   */
  async exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) throw new SshError(`${this.name} (${this.address}): ${this.closeReason}`, 'lost');
    const envLines = Object.entries(opts.env ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
      return `export ${k}=${shq(v)}\n`;
    });
    const inner = envLines.join('') + script;
    const become = opts.become ?? null;
    const stdin: Buffer | undefined = opts.stdin === undefined ? undefined : Buffer.isBuffer(opts.stdin) ? opts.stdin : Buffer.from(opts.stdin);
    const signal = opts.signal;
    if (signal?.aborted) throw signal.reason;
    const shell = await this.shellFor(become);
    if (signal?.aborted) throw signal.reason;
    if (shell && !shell.busy && !shell.dead) return this.execInShell(shell, inner, stdin, become, opts);
    return this.execOnChannel(inner, stdin, become, opts);
  }

  /** The long-lived shell for this become user, started on first use; undefined when the host cannot run one (or it is switched off). */
  private shellFor(become: Become | null): Promise<RemoteShell | undefined> {
    if (process.env[ENV.sshShell] === '0') return Promise.resolve(undefined);
    const key = become ? `${become.user}\0${become.password ?? ''}` : '';
    const cached = this.shells.get(key);
    const usable = cached?.then((s) => (s && !s.dead ? s : undefined));
    if (cached && this.shellStarts >= 3) return usable!;
    return (usable ?? Promise.resolve(undefined)).then((s) => {
      if (s || this.closed || (cached && this.shellStarts >= 3)) return s;
      this.shellStarts++;
      const started = RemoteShell.start(
        (cb) => this.client.exec(`exec ${become ? sudoPrefix(become) : ''}/bin/sh -c ${shq(process.env[ENV.sshShell] === 'sh' ? DRIVER : DRIVER_START)}`, cb as never),
        become?.password,
        15_000,
      );
      this.shells.set(key, started);
      return started;
    });
  }

  private execInShell(shell: RemoteShell, inner: string, stdin: Buffer | undefined, become: Become | null, opts: ExecOptions): Promise<ExecResult> {
    const signal = opts.signal;
    return new Promise<ExecResult>((resolve, reject) => {
      let pid: number | undefined;
      let settled = false;
      let killing: { why: unknown } | undefined;
      let guard: NodeJS.Timeout | undefined;
      let unwatch: (() => void) | undefined;
      const finish = (e: unknown, r?: ExecResult): void => {
        if (settled) return;
        settled = true;
        unwatch?.();
        if (guard) clearTimeout(guard);
        if (e !== undefined) return reject(e);
        resolve(r!);
      };
      const kill = (why: unknown): void => {
        if (killing || settled) return;
        killing = { why };
        // The shell answers once the command is gone; if it never does (a process stuck in the
        // kernel), drop the shell: later commands get a fresh one.
        guard = setTimeout(() => {
          shell.close();
          finish(why);
        }, 10_000);
        if (pid !== undefined) void this.killGroup(pid, become);
      };
      unwatch = watchCancel(this.name, signal, opts.timeoutMs, kill);
      const maxOutput = opts.maxOutput ?? 64 << 20;
      shell
        .run(
          inner,
          stdin,
          (p) => {
            pid = p;
            if (killing) void this.killGroup(p, become);
          },
          maxOutput,
        )
        .then(
          (r) => {
            if (killing) return finish(killing.why);
            // A command killed by a signal answers 128+n, as the shell reports it.
            finish(undefined, { code: r.code, signal: null, stdout: r.stdout.toString('utf8'), stderr: r.stderr.subarray(-(1 << 20)).toString('utf8') });
          },
          (e: Error & { outputLimit?: boolean }) => {
            if (killing) return finish(killing.why);
            if (e.outputLimit) return finish(new Error(`${this.name}: command output exceeded ${maxOutput} bytes`));
            if (this.closed) return finish(new SshError(`${this.name} (${this.address}): connection lost while running a command (${this.closeReason})`, 'lost'));
            finish(new SshError(`${this.name} (${this.address}): ${e.message} while running a command`, 'lost'));
          },
        );
    });
  }

  /** Kill a remote process group and session from a channel of its own (with the command's sudo); resolves when done or after 5 s. */
  private killGroup(pid: number, become: Become | null): Promise<void> {
    if (pid < 0 || this.closed) return Promise.resolve();
    // `kill -s SIG -- -PGID`: dash's kill takes `--` only after `-s SIG` (`kill -TERM -- -1` is "Illegal number").
    const k = `kill -s TERM -- -${pid} 2>/dev/null; sleep 0.2; kill -s KILL -- -${pid} 2>/dev/null; pkill -KILL -s ${pid} 2>/dev/null; true`;
    return new Promise((done) => {
      const guard = setTimeout(done, 5000);
      this.client.exec(become ? `${sudoPrefix(become)}/bin/sh -c ${shq(k)}` : k, (e2, kc) => {
        if (e2 || !kc) {
          clearTimeout(guard);
          return done();
        }
        kc.on('data', () => undefined);
        kc.stderr.on('data', () => undefined);
        kc.on('close', () => {
          clearTimeout(guard);
          done();
        });
        kc.end(become?.password ? `${become.password}\n` : undefined);
      });
    });
  }

  /**
   * A channel of its own for one command: the remote login shell prints its PID (the process
   * group and session leader) first, so cancellation can kill the whole group.
   */
  private execOnChannel(inner: string, input: Buffer | undefined, become: Become | null, opts: ExecOptions): Promise<ExecResult> {
    const command = `printf 'RW:%s\\n' "$$"; exec ${become ? sudoPrefix(become) : ''}/bin/sh -c ${shq(inner)}`;
    let stdin = input;
    if (become?.password) stdin = Buffer.concat([Buffer.from(`${become.password}\n`), stdin ?? Buffer.alloc(0)]);
    const maxOutput = opts.maxOutput ?? 64 << 20;
    const signal = opts.signal;

    return new Promise<ExecResult>((resolve, reject) => {
      this.client.exec(command, (err, ch: ClientChannel) => {
        if (err) return reject(new SshError(`${this.name} (${this.address}): cannot open a channel: ${err.message}`, this.closed ? 'lost' : 'unreachable'));
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        let outLen = 0;
        let pid: number | undefined;
        let head = Buffer.alloc(0);
        let code: number | null = null;
        let sig: string | null = null;
        let settled = false;
        let unwatch: (() => void) | undefined;
        const finish = (e?: unknown): void => {
          if (settled) return;
          settled = true;
          unwatch?.();
          if (e) return reject(e);
          if (code === null && sig === null && this.closed) return reject(new SshError(`${this.name} (${this.address}): connection lost while running a command (${this.closeReason})`, 'lost'));
          resolve({ code, signal: sig, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errb).toString('utf8') });
        };
        let killing = false;
        const kill = (why: unknown): void => {
          if (killing || settled) return;
          killing = true;
          // Kill the remote process group (sudo relays the signal to its command), wait for that
          // to be done (the caller may close the connection next), then drop the channel.
          const done = (): void => {
            try {
              ch.close();
            } catch {
              /* already closed */
            }
            finish(why);
          };
          if (pid === undefined && !this.closed) {
            // Cancelled before the remote PID line arrived: kill as soon as it does.
            const t = setTimeout(done, 3000);
            onPid = () => {
              clearTimeout(t);
              void this.killGroup(pid!, become).then(done);
            };
            return;
          }
          if (pid === undefined) return done();
          void this.killGroup(pid, become).then(done);
        };
        let onPid: (() => void) | undefined;
        unwatch = watchCancel(this.name, signal, opts.timeoutMs, kill);
        ch.on('data', (chunk: Buffer) => {
          if (pid === undefined) {
            head = Buffer.concat([head, chunk]);
            const nl = head.indexOf(10);
            if (nl < 0) return;
            const m = /^RW:(\d+)$/.exec(head.subarray(0, nl).toString('latin1'));
            pid = m ? Number(m[1]) : -1;
            chunk = m ? head.subarray(nl + 1) : head;
            head = Buffer.alloc(0);
            if (onPid) return onPid();
          }
          outLen += chunk.length;
          if (outLen > maxOutput) return kill(new Error(`${this.name}: command output exceeded ${maxOutput} bytes`));
          out.push(chunk);
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          if (errb.reduce((n, b) => n + b.length, 0) < 1 << 20) errb.push(chunk);
        });
        ch.on('exit', (c: number | null, s?: string) => {
          code = c ?? null;
          sig = s ?? null;
        });
        ch.on('close', () => {
          if (!killing) finish();
        });
        ch.on('error', (e: Error) => finish(e));
        if (stdin) ch.end(stdin);
        else ch.end();
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.shells.values()) void s.then((sh) => sh?.close());
    try {
      this.ssh.dispose();
    } catch {
      /* ignore */
    }
  }
}

/**
 * Handshakes in flight at once. A key exchange costs CPU on both ends; 500 at once on a small
 * worker time each other out ("Timed out while waiting for handshake"), while the same
 * connections taken 32 at a time all finish. The connect timeout starts when a handshake does.
 */
const handshakes = { running: 0, waiting: [] as (() => void)[] };
const handshakeLimit = (): number => Math.max(1, Number(process.env[ENV.sshHandshakes]) || 32);

async function handshakeSlot(signal?: AbortSignal): Promise<() => void> {
  if (handshakes.running >= handshakeLimit()) {
    if (signal?.aborted) throw signal.reason;
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener('abort', stop);
        resolve();
      };
      const stop = (): void => {
        handshakes.waiting.splice(handshakes.waiting.indexOf(go), 1);
        reject(signal!.reason);
      };
      handshakes.waiting.push(go);
      signal?.addEventListener('abort', stop, { once: true });
    });
  } else handshakes.running++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = handshakes.waiting.shift();
    // The slot passes straight to the next waiter; otherwise it is freed.
    if (next) next();
    else handshakes.running--;
  };
}

/** Connect with host key verification (known_hosts by default, like StrictHostKeyChecking=yes). */
export async function connectHost(o: SshConnectOptions): Promise<HostConnection> {
  const port = o.port ?? 22;
  const address = `${o.host}:${port}`;
  const where = `${o.name} (${address})`;
  const checking = o.hostKeyChecking ?? 'strict';
  const knownHostsFile = o.knownHostsFile ?? DEFAULT_KNOWN_HOSTS();
  const known = checking === 'off' ? { keys: [], revoked: new Set<string>() } : lookupHostKeys(readKnownHosts(knownHostsFile), o.host, port);
  let refusal: SshError | undefined;
  let acceptNew: Buffer | undefined;
  const hostVerifier = (key: Buffer): boolean => {
    const b64 = key.toString('base64');
    if (known.revoked.has(b64)) {
      refusal = new SshError(`${where}: host key ${fingerprint(key)} is marked @revoked in ${knownHostsFile}`, 'hostkey');
      return false;
    }
    if (checking === 'off') return true;
    if (known.keys.some((k) => k.key === b64)) return true;
    if (known.keys.length) {
      refusal = new SshError(
        `${where}: HOST KEY MISMATCH: the host offered ${keyTypeOf(key)} ${fingerprint(key)}, which differs from ${knownHostsFile}:${known.keys.map((k) => k.line).join(',')}; refusing to connect (possible man-in-the-middle)`,
        'hostkey',
      );
      return false;
    }
    if (checking === 'accept-new') {
      acceptNew = key;
      return true;
    }
    refusal = new SshError(
      `${where}: unknown host key ${keyTypeOf(key)} ${fingerprint(key)}: not in ${knownHostsFile}; add it (ssh-keyscan) or set hostKeyChecking: accept-new`,
      'hostkey',
    );
    return false;
  };
  const agent = o.agent ?? (!o.privateKeyFile && !o.password ? process.env.SSH_AUTH_SOCK : undefined);
  const algos = hostKeyAlgorithms(known.keys.map((k) => k.keyType));
  let ssh: NodeSSH;
  // A handshake that timed out after the TCP connection came up (a busy worker, hundreds of hosts
  // at once) is tried again, up to 3 times in all; a dead host, a refused connection, a key or an
  // authentication problem is not.
  for (let attempt = 1; ; attempt++) {
    ssh = new NodeSSH();
    const current = ssh;
    const onAbort = (): void => {
      try {
        current.connection?.end();
      } catch {
        /* ignore */
      }
    };
    const release = await handshakeSlot(o.signal);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let tcpUp = false;
    try {
      const connecting = ssh.connect({
        host: o.host,
        port,
        username: o.user ?? userInfo().username,
        privateKeyPath: o.privateKeyFile,
        password: o.password,
        agent,
        tryKeyboard: !!o.password,
        readyTimeout: o.connectTimeoutMs ?? 10_000,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier,
        ...(algos ? { algorithms: { serverHostKey: algos as any } } : {}),
      });
      // The TCP connection came up: a timeout after this is a slow handshake, not a dead host.
      (ssh.connection as unknown as { once?(ev: string, f: () => void): void } | null)?.once?.('connect', () => (tcpUp = true));
      await connecting;
      break;
    } catch (e: any) {
      ssh.dispose();
      if (o.signal?.aborted) throw o.signal.reason;
      if (refusal) throw refusal;
      const msg = String(e?.message ?? e);
      if (tcpUp && /Timed out while waiting for handshake/i.test(msg) && attempt < 3) continue;
      if (/authentication methods failed|All configured authentication/i.test(msg)) throw new SshError(`${where}: authentication refused for user ${o.user ?? userInfo().username} (${msg})`, 'auth');
      if (/privateKeyPath|private key/i.test(msg)) throw new SshError(`${where}: cannot use private key ${o.privateKeyFile}: ${msg}`, 'auth');
      throw new SshError(`${where}: unreachable: ${e?.code && !msg.includes(e.code) ? `${e.code} ` : ''}${msg}${attempt > 1 ? ` (${attempt} attempts)` : ''}`, 'unreachable');
    } finally {
      release();
      o.signal?.removeEventListener('abort', onAbort);
    }
  }
  if (acceptNew) appendKnownHost(knownHostsFile, o.host, port, acceptNew);
  // Many small request/response exchanges: without TCP_NODELAY, Nagle + delayed ACKs add ~40 ms to each.
  (ssh.connection as unknown as { _sock?: { setNoDelay?(b: boolean): void } })._sock?.setNoDelay?.(true);
  return new HostConnection(o.name, address, ssh, ssh.connection!);
}
