/**
 * A local, API-faithful stand-in for several OpenStack clouds on one HTTP port (node:http):
 *
 *   /<cloud>/identity/v3/...                    Keystone (one per cloud, with a service catalog)
 *   /<cloud>/<region>/compute/v2.1/...          Nova       (-internal / -admin for the other interfaces)
 *   /<cloud>/<region>/network/v2.0/...          Neutron
 *   /<cloud>/<region>/image/v2/...              Glance
 *   /<cloud>/<region>/load-balancer/v2/...      Octavia
 *   /_sim/...                                   faults, latency, counters, clouds.yaml, reset
 *
 * State transitions take configurable time (server BUILD → ACTIVE, load balancer PENDING_* →
 * ACTIVE, live migrations); state is kept in a JSON file so the stand-in resumes after a restart.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { ApiError, errorReply, requestId, unauthorizedReply, type Ctx, type Reply, type Router, type Service } from './http';
import { DEFAULT_CLOUDS, newWorld, seedCloud, seedRegion, type CloudSpec, type FaultSpec, type Latencies, type World } from './model';
import type { Env } from './env';
import { keystoneRouter, lookupToken, tokenRoles } from './keystone';
import { novaRouter, novaVersions } from './nova';
import { neutronRouter, neutronVersions } from './neutron';
import { glanceRouter, glanceVersions } from './glance';
import { octaviaRouter, octaviaVersions } from './octavia';
import { activeFaults, advance } from './world';

export interface OpenStackSimOptions {
  port?: number;
  host?: string;
  /** JSON file the state is kept in (loaded at start when present). */
  stateFile?: string;
  /** Start from fresh state even if the file exists. */
  reset?: boolean;
  clouds?: CloudSpec[];
  latency?: Partial<Latencies>;
  tokenTtlSeconds?: number;
  log?: (line: string) => void;
  /** Start from this state (a twin: sim/openstack/snapshot.ts), not from a file or the seed. */
  world?: World;
}

export interface CallFilter {
  cloud?: string;
  region?: string;
  service?: string;
  method?: string;
  /** Route template, e.g. "/servers" or "/v2.0/ports/:id". */
  route?: string;
}

export interface Counters {
  total: number;
  /** "<cloud> <region|-> <service> <METHOD> <route template>" → count. */
  calls: Record<string, number>;
  /** "<cloud>/<region> <kind>" → resources created. */
  created: Record<string, number>;
  /** Faults that fired. */
  faults: number;
}

export interface CloudsYamlOptions {
  /** Which user each entry authenticates as (default admin). */
  user?: 'admin' | 'demo';
  /** Write passwords into this secure.yaml instead of clouds.yaml. */
  secureFile?: string;
}

export interface OpenStackSim {
  url: string;
  port: number;
  world: World;
  authUrl(cloud: string): string;
  /** Password credentials of a seeded user. */
  user(cloud: string, name?: 'admin' | 'demo'): { username: string; password: string; project_name: string; user_domain_name: string; project_domain_name: string };
  cloudsYaml(opts?: CloudsYamlOptions): { clouds: string; secure?: string };
  writeCloudsYaml(file: string, opts?: CloudsYamlOptions): void;
  counters(): Counters;
  /** Sum of calls matching the filter. */
  calls(f?: CallFilter): number;
  resetCounters(): void;
  addFault(f: Omit<FaultSpec, 'id' | 'fired'>): FaultSpec;
  removeFault(id: string): void;
  clearFaults(): void;
  setLatency(l: Partial<Latencies>): void;
  setTokenTtl(seconds: number): void;
  /** Apply due transitions everywhere (tests that inspect `world` directly). */
  tick(): void;
  /** Back to the seeded resources (flavors, images, networks), keeping identities; faults cleared. */
  reset(): void;
  save(): void;
  close(): Promise<void>;
}

const REGION_SERVICES: Record<string, Service> = { compute: 'compute', network: 'network', image: 'image', 'load-balancer': 'load-balancer' };

let faultSeq = 0;

export async function startOpenStackSim(opts: OpenStackSimOptions = {}): Promise<OpenStackSim> {
  const log = opts.log ?? (() => {});
  let world: World;
  if (opts.world) world = opts.world;
  else if (opts.stateFile && existsSync(opts.stateFile) && !opts.reset) {
    world = JSON.parse(readFileSync(opts.stateFile, 'utf8')) as World;
    if (world.version !== 1) throw new Error(`${opts.stateFile}: unknown state version ${world.version}`);
    // Clouds asked for that the file lacks are added; existing ones keep their state.
    for (const c of opts.clouds ?? []) if (!world.clouds[c.name]) world.clouds[c.name] = seedCloud(c);
    if (opts.latency) world.config.latency = { ...world.config.latency, ...opts.latency };
    if (opts.tokenTtlSeconds) world.config.tokenTtlSeconds = opts.tokenTtlSeconds;
  } else world = newWorld(opts.clouds ?? DEFAULT_CLOUDS, { latency: opts.latency as Latencies, tokenTtlSeconds: opts.tokenTtlSeconds });

  const counters: Counters = { total: 0, calls: {}, created: {}, faults: 0 };
  const routers: Record<string, Router<Env>> = {
    identity: keystoneRouter(),
    compute: novaRouter(),
    network: neutronRouter(),
    image: glanceRouter(),
    'load-balancer': octaviaRouter(),
  };

  let saveTimer: NodeJS.Timeout | undefined;
  const save = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = undefined;
    if (!opts.stateFile) return;
    const now = Date.now();
    for (const [id, t] of Object.entries(world.tokens)) if (t.expires_at < now || t.revoked) delete world.tokens[id];
    mkdirSync(dirname(opts.stateFile), { recursive: true });
    const tmp = `${opts.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(world), { mode: 0o600 });
    renameSync(tmp, opts.stateFile);
  };
  const dirty = () => {
    if (opts.stateFile && !saveTimer) saveTimer = setTimeout(save, 200);
  };

  let baseUrl = '';
  const sockets = new Set<import('node:net').Socket>();
  const server: HttpServer = createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`openstack sim: internal error: ${e?.stack ?? e}`);
      if (!res.headersSent) send(res, 'sim', { status: 500, body: { error: { code: 500, title: 'Internal Server Error', message: String(e?.message ?? e) } } }, requestId());
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 30_000;

  function send(res: ServerResponse, service: Service, reply: Reply, reqId: string, extra: Record<string, string> = {}): void {
    const headers: Record<string, string> = { 'x-openstack-request-id': reqId, ...extra, ...(reply.headers ?? {}) };
    if (service === 'compute') headers['x-compute-request-id'] = reqId;
    let payload = '';
    if (reply.text !== undefined) payload = reply.text;
    else if (reply.body !== undefined && reply.status !== 204) {
      payload = JSON.stringify(reply.body);
      headers['content-type'] ??= 'application/json';
    }
    if (reply.status === 204) payload = '';
    // Nova labels every answer JSON, empty 202s and 204s included (seen on a real Nova).
    if (service === 'compute') headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const segs = url.pathname.split('/').filter(Boolean);
    const reqId = requestId();
    const accept = String(req.headers.accept ?? '');
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    if (segs[0] === '_sim') return send(res, 'sim', admin(method, segs.slice(1), url.searchParams, raw), reqId);
    const cloudName = segs[0];
    const cloud = world.clouds[cloudName];
    if (!cloud) return send(res, 'sim', { status: 404, body: { error: { code: 404, title: 'Not Found', message: `no simulated cloud "${cloudName}" (clouds: ${Object.keys(world.clouds).join(', ')})` } } }, reqId);
    let service: Service;
    let regionName: string | undefined;
    let rest: string[];
    let prefix: string;
    if (segs[1] === 'identity') {
      service = 'identity';
      rest = segs.slice(2);
      prefix = `${baseUrl}/${cloudName}/identity`;
    } else {
      regionName = segs[1];
      const m = /^(compute|network|image|load-balancer)(?:-(internal|admin))?$/.exec(segs[2] ?? '');
      if (!regionName || !cloud.regions[regionName] || !m) return send(res, 'sim', { status: 404, body: { error: { code: 404, title: 'Not Found', message: `no such endpoint: ${url.pathname}` } } }, reqId);
      service = REGION_SERVICES[m[1]];
      rest = segs.slice(3);
      prefix = `${baseUrl}/${segs.slice(0, 3).join('/')}`;
    }
    const region = regionName ? cloud.regions[regionName] : undefined;

    // Route first, so every call is counted (also those a fault answers).
    const path = `/${rest.join('/')}`;
    const versionDoc = service !== 'identity' && rest.length === 0;
    let routePath = path;
    let base = prefix;
    if (service === 'compute' && !versionDoc) {
      base = `${prefix}/${rest[0]}`;
      routePath = `/${rest.slice(1).join('/')}`;
    }
    const badVersion = service === 'compute' && !versionDoc && rest[0] !== 'v2.1' && rest[0] !== 'v2';
    const match = versionDoc || badVersion ? undefined : routers[service].match(method, routePath);
    count(cloudName, regionName, service, method, versionDoc ? '/' : match && match !== 'method' ? match.template : routePath);

    // Faults: a cloud or service that is down, added latency, a 5xx/429 rate.
    const faults = activeFaults(world, cloudName, regionName, (f) => !f.host && !f.serverError && !f.dropResponse && (!f.service || f.service === service) && (!f.method || f.method === method) && (!f.path || new RegExp(f.path).test(routePath)));
    for (const f of faults) {
      if (f.down) {
        f.fired++;
        counters.faults++;
        if (f.down === 'refuse') {
          req.socket.destroy();
          return;
        }
        return send(res, service, { status: 503, headers: { 'content-type': 'text/html' }, text: '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n' }, reqId);
      }
    }
    const extraLatency = faults.reduce((a, f) => a + (f.latencyMs ?? 0), 0);
    const delay = world.config.latency.request + extraLatency;
    if (delay > 0) await sleep(delay);
    const now = Date.now();
    for (const f of faults) {
      if (f.errorRate !== undefined && Math.random() < f.errorRate) {
        f.fired++;
        counters.faults++;
        const status = f.status ?? 500;
        if (status === 401) return send(res, service, unauthorizedReply(`${baseUrl}/${cloudName}/identity`), reqId);
        const headers: Record<string, string> = f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {};
        const msg =
          status === 429
            ? 'Rate limit exceeded, retry later.'
            : service === 'compute'
              ? "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class 'oslo_db.exception.DBConnectionError'>"
              : service === 'network'
                ? 'Request Failed: internal server error while processing your request.'
                : 'An unexpected error prevented the server from fulfilling your request.';
        return send(res, service, errorReply(service, status, msg, 'HTTPInternalServerError', headers, accept), reqId);
      }
    }

    let body: unknown = undefined;
    if (raw.length) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, service, errorReply(service, 400, service === 'compute' ? 'Malformed request body' : 'The server could not comply with the request since it is either malformed or otherwise incorrect.', undefined, {}, accept), reqId);
      }
    }

    // Version documents need no token.
    if (versionDoc) {
      const doc = service === 'compute' ? novaVersions(prefix) : service === 'network' ? neutronVersions(prefix) : service === 'image' ? glanceVersions(prefix) : octaviaVersions(prefix);
      return send(res, service, { status: service === 'image' ? 300 : 200, body: doc }, reqId);
    }
    if (badVersion || match === undefined || match === 'method') {
      const status = match === 'method' ? 405 : 404;
      return send(res, service, errorReply(service, status, status === 405 ? 'The method is not allowed for the requested URL.' : 'The resource could not be found.', undefined, {}, accept), reqId);
    }

    const identityUrl = `${baseUrl}/${cloudName}/identity`;
    let env: Env;
    if (service === 'identity') {
      env = { world, cloud, region: undefined as never, baseUrl, token: undefined as never, roles: [], admin: false, now, dirty, created: (k, n = 1) => created(cloudName, '-', k, n) };
    } else {
      const token = lookupToken({ world, now } as Env, cloud, req.headers['x-auth-token'] as string | undefined);
      if (!token || !token.project_id) return send(res, service, unauthorizedReply(identityUrl), reqId);
      const roles = tokenRoles(cloud, token);
      if (advance(world, cloudName, region!, now)) dirty();
      env = { world, cloud, region: region!, baseUrl, token, roles, admin: roles.some((r) => r.name === 'admin'), now, dirty, created: (k, n = 1) => created(cloudName, regionName!, k, n) };
    }
    const ctx: Ctx = { method, path: routePath, query: url.searchParams, headers: req.headers, body, params: match.params, base, requestId: reqId, extraHeaders: {} };
    let reply: Reply;
    try {
      reply = await match.handler(ctx, env);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      reply = errorReply(service, e.status, e.message, e.type, e.headers, accept);
      if (e.status === 401 && service === 'identity') reply.headers = { ...(reply.headers ?? {}), 'www-authenticate': `Keystone uri="${identityUrl}"` };
    }
    // A crash between request and response: the change is made, the answer never arrives.
    const drop = activeFaults(world, cloudName, regionName, (f) => !!f.dropResponse && (!f.service || f.service === service) && (!f.method || f.method === method) && (!f.path || new RegExp(f.path).test(routePath)));
    if (drop.length && reply.status < 400) {
      drop[0].fired++;
      counters.faults++;
      req.socket.destroy();
      return;
    }
    if (method === 'HEAD') reply = { ...reply, body: undefined, text: '' };
    return send(res, service, reply, reqId, ctx.extraHeaders);
  }

  function count(cloud: string, region: string | undefined, service: string, method: string, route: string): void {
    counters.total++;
    const k = `${cloud} ${region ?? '-'} ${service} ${method} ${route}`;
    counters.calls[k] = (counters.calls[k] ?? 0) + 1;
  }
  function created(cloud: string, region: string, kind: string, n: number): void {
    const k = `${cloud}/${region} ${kind}`;
    counters.created[k] = (counters.created[k] ?? 0) + n;
  }

  function admin(method: string, segs: string[], q: URLSearchParams, raw: string): Reply {
    let body: any = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return { status: 400, body: { error: { code: 400, title: 'Bad Request', message: 'invalid JSON' } } };
    }
    const [what, id] = segs;
    if (what === 'health' && method === 'GET') return { status: 200, body: { ok: true, clouds: Object.keys(world.clouds) } };
    if (what === 'counters' && method === 'GET') return { status: 200, body: counters };
    if (what === 'counters' && method === 'DELETE') {
      api.resetCounters();
      return { status: 204 };
    }
    if (what === 'faults' && method === 'GET') return { status: 200, body: { faults: world.faults } };
    if (what === 'faults' && method === 'POST') {
      try {
        return { status: 201, body: { fault: api.addFault(body) } };
      } catch (e: any) {
        return { status: 400, body: { error: { code: 400, title: 'Bad Request', message: e.message } } };
      }
    }
    if (what === 'faults' && method === 'DELETE') {
      if (id) api.removeFault(id);
      else api.clearFaults();
      return { status: 204 };
    }
    if (what === 'config' && method === 'GET') return { status: 200, body: world.config };
    if (what === 'config' && (method === 'PATCH' || method === 'PUT')) {
      if (body.latency) api.setLatency(body.latency);
      if (body.tokenTtlSeconds) api.setTokenTtl(Number(body.tokenTtlSeconds));
      return { status: 200, body: world.config };
    }
    if (what === 'clouds.yaml' && method === 'GET') return { status: 200, headers: { 'content-type': 'application/yaml' }, text: api.cloudsYaml({ user: q.get('user') === 'demo' ? 'demo' : 'admin' }).clouds };
    if (what === 'state' && method === 'GET') {
      api.tick();
      const summary: Record<string, unknown> = {};
      for (const [cn, c] of Object.entries(world.clouds))
        for (const [rn, r] of Object.entries(c.regions)) {
          const by = (xs: { status?: string; provisioning_status?: string }[]) =>
            xs.reduce<Record<string, number>>((a, x) => {
              const s = x.status ?? x.provisioning_status ?? '?';
              a[s] = (a[s] ?? 0) + 1;
              return a;
            }, {});
          summary[`${cn}/${rn}`] = {
            servers: by(Object.values(r.servers)),
            loadbalancers: by(Object.values(r.loadbalancers)),
            members: Object.keys(r.members).length,
            ports: Object.keys(r.ports).length,
            floatingips: Object.keys(r.floatingips).length,
            services: r.services.map((s) => `${s.binary}@${s.host}:${s.status}`),
          };
        }
      return { status: 200, body: summary };
    }
    if (what === 'reset' && method === 'POST') {
      api.reset();
      return { status: 200, body: { reset: true } };
    }
    return { status: 404, body: { error: { code: 404, title: 'Not Found', message: `no admin endpoint ${method} /_sim/${segs.join('/')}` } } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
  baseUrl = `http://${host}:${addr.port}`;

  const api: OpenStackSim = {
    url: baseUrl,
    port: addr.port,
    world,
    authUrl: (cloud) => `${baseUrl}/${cloud}/identity/v3`,
    user(cloud, name = 'admin') {
      const c = world.clouds[cloud];
      if (!c) throw new Error(`no simulated cloud ${cloud}`);
      const u = c.users.find((x) => x.name === name)!;
      const p = c.projects.find((x) => x.id === u.default_project_id)!;
      return { username: u.name, password: u.password, project_name: p.name, user_domain_name: 'Default', project_domain_name: 'Default' };
    },
    cloudsYaml(o = {}) {
      const clouds: Record<string, unknown> = {};
      const secure: Record<string, unknown> = {};
      for (const [name, c] of Object.entries(world.clouds)) {
        const u = api.user(name, o.user ?? 'admin');
        const regions = Object.keys(c.regions);
        const auth: Record<string, string> = { auth_url: api.authUrl(name), username: u.username, project_name: u.project_name, user_domain_name: 'Default', project_domain_name: 'Default' };
        if (o.secureFile) secure[name] = { auth: { password: u.password } };
        else auth.password = u.password;
        clouds[name] = { auth, ...(regions.length === 1 ? { region_name: regions[0] } : { regions }), interface: 'public', identity_api_version: 3 };
      }
      const head = `# Local OpenStack stand-in at ${baseUrl} (runwright sim openstack); one entry per simulated cloud.\n`;
      return { clouds: head + stringify({ clouds }), secure: o.secureFile ? head + stringify({ clouds: secure }) : undefined };
    },
    writeCloudsYaml(file, o = {}) {
      const { clouds, secure } = api.cloudsYaml(o);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, clouds, { mode: 0o600 });
      if (o.secureFile && secure) writeFileSync(o.secureFile, secure, { mode: 0o600 });
    },
    counters: () => counters,
    calls(f = {}) {
      let n = 0;
      for (const [k, v] of Object.entries(counters.calls)) {
        const [cloud, region, service, method, ...route] = k.split(' ');
        if (f.cloud && f.cloud !== cloud) continue;
        if (f.region && f.region !== region) continue;
        if (f.service && f.service !== service) continue;
        if (f.method && f.method !== method) continue;
        if (f.route && f.route !== route.join(' ')) continue;
        n += v;
      }
      return n;
    },
    resetCounters() {
      counters.total = 0;
      counters.calls = {};
      counters.created = {};
      counters.faults = 0;
    },
    addFault(f) {
      for (const re of [f.path, f.serverError]) if (re !== undefined) new RegExp(re);
      if (f.cloud && !world.clouds[f.cloud]) throw new Error(`no simulated cloud ${f.cloud}`);
      const spec: FaultSpec = { ...f, id: `fault-${++faultSeq}-${Date.now().toString(36)}`, fired: 0 };
      world.faults.push(spec);
      dirty();
      log(`openstack sim: fault ${JSON.stringify(spec)}`);
      return spec;
    },
    removeFault(id) {
      world.faults = world.faults.filter((f) => f.id !== id);
      dirty();
    },
    clearFaults() {
      world.faults = [];
      dirty();
    },
    setLatency(l) {
      world.config.latency = { ...world.config.latency, ...l };
      dirty();
    },
    setTokenTtl(s) {
      world.config.tokenTtlSeconds = s;
      dirty();
    },
    reset() {
      // Every region back to its seed; Keystone (users, passwords, projects) stays, so clouds.yaml stays valid.
      const now = Date.now();
      for (const c of Object.values(world.clouds)) for (const r of Object.keys(c.regions)) c.regions[r] = seedRegion({ name: c.name, regions: Object.keys(c.regions) }, r, c.projects, now);
      world.faults = [];
      dirty();
    },
    tick() {
      const now = Date.now();
      for (const [cn, c] of Object.entries(world.clouds)) for (const r of Object.values(c.regions)) if (advance(world, cn, r, now)) dirty();
    },
    save,
    async close() {
      log(`openstack sim: stopping (state in ${opts.stateFile ?? 'memory only'})`);
      save();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
  // Written at once: the seeded passwords must outlive this process with the clouds.yaml that names them.
  save();
  log(`openstack sim: listening on ${baseUrl} (clouds: ${Object.keys(world.clouds).join(', ')})`);
  return api;
}
