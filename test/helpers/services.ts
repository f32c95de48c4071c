/**
 * Real traffic-steering software for tests, on loopback only, each in its own temp dir:
 * - clusters: small node HTTP servers standing for cluster-a/b/c, each on its own loopback
 *   address (127.0.10.1, .2, .3), serving `/` (names itself), `/health` and `/metrics`;
 * - PowerDNS Authoritative (Debian pdns-server + pdns-backend-sqlite3) with its HTTP API;
 * - HAProxy (Debian haproxy) in front of the clusters, with its runtime API socket;
 * - Prometheus (Debian prometheus) scraping the clusters' /metrics every second;
 * - Alertmanager (Debian prometheus-alertmanager), clustering off, with a receiver that sends nothing.
 * Everything started through one `ServiceGroup` is stopped by its `stop()` (call it in afterAll);
 * processes are also killed if the jest worker exits without it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import http from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOOPBACK = '127.0.0.1';

/** A TCP port free on `host` (and, with udp, free for UDP too). Only loopback hosts. */
export async function freePort(host = LOOPBACK, udp = false): Promise<number> {
  if (!host.startsWith('127.')) throw new Error(`tests use loopback addresses only, not ${host}`);
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createNetServer();
      s.once('error', reject);
      s.listen(0, host, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (!udp) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const d = createSocket('udp4');
      d.once('error', () => resolve(false));
      d.bind(port, host, () => d.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found');
}

async function waitUntil(what: string, fn: () => Promise<boolean>, ms: number, alive?: () => string | null): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const dead = alive?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (await fn().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(file: string, n = 30): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** A child process whose output goes to a log file in its dir; killed on stop or jest exit. */
export class Proc {
  readonly child: ChildProcess;
  exited: { code: number | null; signal: string | null } | null = null;
  private readonly exitPromise: Promise<void>;
  private readonly onExit = () => this.child.kill('SIGKILL');

  constructor(readonly name: string, cmd: string, args: string[], readonly log: string, cwd: string) {
    const fd = openSync(log, 'a');
    this.child = spawn(cmd, args, { cwd, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      this.child.once('error', (e) => {
        this.exited = { code: null, signal: String(e) };
        resolve();
      });
    });
    process.once('exit', this.onExit);
  }

  /** null while running; otherwise why it is not (for readiness waits). */
  deadReason = (): string | null => (this.exited ? `${this.name} exited (${this.exited.code ?? this.exited.signal}):\n${tail(this.log)}` : null);

  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const killed = await Promise.race([this.exitPromise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    if (!killed) {
      this.child.kill('SIGKILL');
      await this.exitPromise;
    }
  }
}

// ---------------------------------------------------------------- clusters (node HTTP servers)

export interface Cluster {
  name: string;
  address: string;
  port: number;
  /** host:port, and the base URL. */
  hostPort: string;
  url: string;
  /** Requests to `/` served (not health checks or scrapes). */
  hits: number;
  /** Status /health answers with (200 = healthy). */
  healthStatus: number;
  /** Status `/` (user traffic) answers with: 200, or e.g. 503 for an application outage. */
  appStatus: number;
  /** The next n /health requests answer `status` (a flap), then back to healthStatus. */
  failNext(n: number, status?: number): void;
  /** Gauges exposed on /metrics as runwright_test_<name>{cluster="<name>"}. */
  setMetric(name: string, value: number): void;
  /** Stop listening and cut every open connection (the cluster is down). */
  stop(): Promise<void>;
  /** Listen again on the same address and port. */
  start(): Promise<void>;
  readonly running: boolean;
}

function startCluster(name: string, address: string): Promise<Cluster> {
  const metrics = new Map<string, number>();
  const sockets = new Set<Socket>();
  let flaps = 0;
  let flapStatus = 503;
  let running = false;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      let status = c.healthStatus;
      if (flaps > 0) {
        flaps--;
        status = flapStatus;
      }
      res.writeHead(status, { 'content-type': 'text/plain', 'x-cluster': name }).end(status < 400 ? 'ok\n' : 'unhealthy\n');
      return;
    }
    if (path === '/metrics') {
      const lines = [`# TYPE runwright_test_requests_total counter`, `runwright_test_requests_total{cluster="${name}"} ${c.hits}`];
      for (const [k, v] of metrics) lines.push(`# TYPE runwright_test_${k} gauge`, `runwright_test_${k}{cluster="${name}"} ${v}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
      return;
    }
    c.hits++;
    res.writeHead(c.appStatus, { 'content-type': 'text/plain', 'x-cluster': name }).end(c.appStatus < 400 ? `${name}\n` : `${name} unavailable\n`);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.removeListener('error', reject);
        running = true;
        resolve((server.address() as { port: number }).port);
      });
    });
  const c: Cluster = {
    name,
    address,
    port: 0,
    hostPort: '',
    url: '',
    hits: 0,
    healthStatus: 200,
    appStatus: 200,
    failNext(n, status = 503) {
      flaps = n;
      flapStatus = status;
    },
    setMetric(k, v) {
      metrics.set(k, v);
    },
    async stop() {
      if (!running) return;
      running = false;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async start() {
      if (running) return;
      await listen(c.port);
    },
    get running() {
      return running;
    },
  };
  return listen(0).then((port) => {
    c.port = port;
    c.hostPort = `${address}:${port}`;
    c.url = `http://${address}:${port}`;
    return c;
  });
}

// ---------------------------------------------------------------- PowerDNS

export interface Pdns {
  dir: string;
  /** DNS on 127.0.0.1:dnsPort (UDP and TCP). */
  dnsServer: string;
  dnsPort: number;
  /** Webserver base URL (API under /api/v1). */
  api: string;
  apiKey: string;
  /** The key in a file, for `file:` secret references. */
  apiKeyFile: string;
  /** Create a native zone with these RRsets (name relative to the zone or absolute). */
  createZone(zone: string, rrsets?: { name: string; type: string; ttl?: number; records: string[] }[]): Promise<void>;
  stop(): Promise<void>;
}

async function startPdns(group: ServiceGroup): Promise<Pdns> {
  const dir = group.tempDir('pdns');
  const db = join(dir, 'pdns.sqlite3');
  execFileSync('sqlite3', [db], { input: readFileSync('/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql') });
  const dnsPort = await freePort(LOOPBACK, true);
  const apiPort = await freePort();
  const apiKey = randomBytes(16).toString('hex');
  const apiKeyFile = join(dir, 'api-key');
  writeFileSync(apiKeyFile, `${apiKey}\n`);
  chmodSync(apiKeyFile, 0o600);
  writeFileSync(
    join(dir, 'pdns.conf'),
    [
      'launch=gsqlite3',
      `gsqlite3-database=${db}`,
      `local-address=${LOOPBACK}`,
      `local-port=${dnsPort}`,
      'webserver=yes',
      `webserver-address=${LOOPBACK}`,
      `webserver-port=${apiPort}`,
      'webserver-allow-from=127.0.0.0/8',
      'api=yes',
      `api-key=${apiKey}`,
      `socket-dir=${dir}`,
      'guardian=no',
      'daemon=no',
      'disable-syslog=yes',
      'log-timestamp=no',
      // No traffic off this machine: no security-status lookups, no notifications.
      'security-poll-suffix=',
      'disable-axfr=yes',
      'only-notify=',
      'default-soa-content=ns1.@ hostmaster.@ 1 10800 3600 604800 3600',
      '',
    ].join('\n'),
  );
  const proc = group.track(new Proc('pdns_server', '/usr/sbin/pdns_server', [`--config-dir=${dir}`], join(dir, 'pdns.log'), dir));
  const api = `http://${LOOPBACK}:${apiPort}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}/api/v1/servers/localhost${path}`, {
      method,
      headers: { 'X-API-Key': apiKey, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`pdns ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };
  await waitUntil('pdns API', async () => (await call('GET', '')).ok, 20_000, proc.deadReason);
  return {
    dir,
    dnsServer: `${LOOPBACK}:${dnsPort}`,
    dnsPort,
    api,
    apiKey,
    apiKeyFile,
    async createZone(zone, rrsets = []) {
      const z = zone.endsWith('.') ? zone : `${zone}.`;
      const abs = (n: string) => (n.endsWith('.') ? n : n === '@' ? z : `${n}.${z}`);
      await call('POST', '/zones', {
        name: z,
        kind: 'Native',
        nameservers: [`ns1.${z}`],
        rrsets: rrsets.map((r) => ({ name: abs(r.name), type: r.type, ttl: r.ttl ?? 5, records: r.records.map((content) => ({ content, disabled: false })) })),
      });
    },
    stop: () => proc.stop(),
  };
}

// ---------------------------------------------------------------- HAProxy

export interface Haproxy {
  dir: string;
  /** The frontend: http://127.0.0.1:port */
  url: string;
  port: number;
  /** Runtime API (admin level): unix socket path, and the same on TCP loopback. */
  socket: string;
  tcpSocket: string;
  backend: string;
  config: string;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  /** HTTP health-check path (default /health); null: plain TCP connect checks. */
  healthPath?: string | null;
}

async function startHaproxy(group: ServiceGroup, backend: string, servers: { name: string; hostPort: string; weight?: number }[], opts: HaproxyOptions = {}): Promise<Haproxy> {
  const dir = group.tempDir('haproxy');
  const port = await freePort();
  const adminPort = await freePort();
  const socket = join(dir, 'admin.sock');
  const config = [
    'global',
    `  stats socket ${socket} mode 600 level admin`,
    `  stats socket ipv4@${LOOPBACK}:${adminPort} level admin`,
    '  log stderr format raw local0 warning',
    'defaults',
    '  mode http',
    '  log global',
    '  timeout connect 2s',
    '  timeout client 10s',
    '  timeout server 10s',
    'frontend fe',
    `  bind ${LOOPBACK}:${port}`,
    `  default_backend ${backend}`,
    `backend ${backend}`,
    '  balance roundrobin',
    ...(opts.healthPath === null ? [] : [`  option httpchk GET ${opts.healthPath ?? '/health'}`]),
    ...servers.map((s) => `  server ${s.name} ${s.hostPort} check inter 1s fall 2 rise 1 weight ${s.weight ?? 100}`),
    '',
  ].join('\n');
  const cfgPath = join(dir, 'haproxy.cfg');
  writeFileSync(cfgPath, config);
  execFileSync('/usr/sbin/haproxy', ['-c', '-q', '-f', cfgPath]);
  const proc = group.track(new Proc('haproxy', '/usr/sbin/haproxy', ['-db', '-f', cfgPath], join(dir, 'haproxy.log'), dir));
  const url = `http://${LOOPBACK}:${port}`;
  // Ready when the runtime API answers and the frontend accepts connections (no request is sent).
  const accepts = () => new Promise<boolean>((resolve) => {
    const s = netConnect(port, LOOPBACK, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  await waitUntil('haproxy', async () => existsSync(socket) && (await accepts()), 15_000, proc.deadReason);
  return { dir, url, port, socket, tcpSocket: `${LOOPBACK}:${adminPort}`, backend, config, stop: () => proc.stop() };
}

// ---------------------------------------------------------------- Prometheus

export interface Prometheus {
  dir: string;
  /** API base URL, including the route prefix if any (http://127.0.0.1:port/prometheus). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Scrape options: the job name (default clusters) and rule files Prometheus loads and evaluates. */
export interface PrometheusOptions {
  job?: string;
  ruleFiles?: string[];
}

async function startPrometheus(group: ServiceGroup, targets: string[], routePrefix = '', opts: PrometheusOptions = {}): Promise<Prometheus> {
  const dir = group.tempDir('prometheus');
  const port = await freePort();
  for (const t of targets) if (!t.startsWith('127.')) throw new Error(`scrape targets must be loopback, not ${t}`);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      ...(opts.ruleFiles?.length ? ['rule_files:', ...opts.ruleFiles.map((f) => `  - '${f}'`)] : []),
      'scrape_configs:',
      `  - job_name: ${opts.job ?? 'clusters'}`,
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const base = `http://${LOOPBACK}:${port}${routePrefix}`;
  const args = [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${LOOPBACK}:${port}`,
    '--log.level=warn',
    ...(routePrefix ? [`--web.route-prefix=${routePrefix}`, `--web.external-url=${base}`] : []),
  ];
  const proc = group.track(new Proc('prometheus', '/usr/bin/prometheus', args, join(dir, 'prometheus.log'), dir));
  await waitUntil('prometheus', async () => (await fetch(`${base}/-/ready`)).ok, 30_000, proc.deadReason);
  return { dir, url: base, port, stop: () => proc.stop() };
}

// ---------------------------------------------------------------- alertmanager (Debian prometheus-alertmanager)

export interface Alertmanager {
  dir: string;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

/** A real Alertmanager on a free loopback port: temp config (one route to a receiver that sends nothing) and storage, clustering off. */
async function startAlertmanager(group: ServiceGroup): Promise<Alertmanager> {
  const dir = group.tempDir('alertmanager');
  const port = await freePort();
  writeFileSync(join(dir, 'alertmanager.yml'), ['route:', "  receiver: 'null'", '  group_wait: 1s', 'receivers:', "  - name: 'null'", ''].join('\n'));
  const args = [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=${LOOPBACK}:${port}`, '--cluster.listen-address=', '--log.level=warn'];
  const proc = group.track(new Proc('alertmanager', ALERTMANAGER_BIN, args, join(dir, 'alertmanager.log'), dir));
  const url = `http://${LOOPBACK}:${port}`;
  await waitUntil('alertmanager', async () => (await fetch(`${url}/-/ready`)).ok, 30_000, proc.deadReason);
  return { dir, url, port, stop: () => proc.stop() };
}

// ---------------------------------------------------------------- the group

export const CLUSTER_ADDRESSES: Record<string, string> = { 'cluster-a': '127.0.10.1', 'cluster-b': '127.0.10.2', 'cluster-c': '127.0.10.3' };

export class ServiceGroup {
  private readonly procs: Proc[] = [];
  private readonly dirs: string[] = [];
  private readonly clusters: Cluster[] = [];
  private readonly servers: http.Server[] = [];
  private readonly stops: (() => void | Promise<void>)[] = [];

  tempDir(name: string): string {
    const d = mkdtempSync(join(tmpdir(), `rw-${name}-`));
    this.dirs.push(d);
    return d;
  }

  track(p: Proc): Proc {
    this.procs.push(p);
    return p;
  }

  /** Keep a test's own helper server to close on stop(). */
  trackServer(s: http.Server): http.Server {
    this.servers.push(s);
    return s;
  }

  async startClusters(names = Object.keys(CLUSTER_ADDRESSES)): Promise<Cluster[]> {
    const out: Cluster[] = [];
    for (const n of names) {
      const c = await startCluster(n, CLUSTER_ADDRESSES[n] ?? LOOPBACK);
      this.clusters.push(c);
      out.push(c);
    }
    return out;
  }

  startPdns(): Promise<Pdns> {
    return startPdns(this);
  }

  startHaproxy(backend: string, servers: { name: string; hostPort: string; weight?: number }[], opts: HaproxyOptions = {}): Promise<Haproxy> {
    return startHaproxy(this, backend, servers, opts);
  }

  startPrometheus(targets: string[], routePrefix = '', opts: PrometheusOptions = {}): Promise<Prometheus> {
    return startPrometheus(this, targets, routePrefix, opts);
  }

  /** Run on stop(), before the temp dirs are removed (daemons a helper started outside Proc). */
  onStop(fn: () => void | Promise<void>): void {
    this.stops.push(fn);
  }

  startAlertmanager(): Promise<Alertmanager> {
    return startAlertmanager(this);
  }

  /** Stop everything started through this group, whatever state it is in; then remove temp dirs. */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([
      ...this.procs.map((p) => p.stop().catch((e) => errors.push(e))),
      ...this.clusters.map((c) => c.stop().catch((e) => errors.push(e))),
      ...this.servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })),
    ]);
    for (const fn of this.stops.splice(0)) await Promise.resolve().then(fn).catch((e) => errors.push(e));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }

  /** For a failed test's message: the last lines of every service log. */
  logs(): string {
    return this.procs.map((p) => `--- ${p.name} (${p.log})\n${tail(p.log)}`).join('\n');
  }
}

/** Every Debian binary the harness needs; tests can skip with a clear message if one is missing. */
export function missingBinaries(): string[] {
  return ['/usr/sbin/pdns_server', '/usr/bin/sqlite3', '/usr/sbin/haproxy', '/usr/bin/prometheus'].filter((b) => !existsSync(b));
}
