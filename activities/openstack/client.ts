/**
 * A small OpenStack client on undici: Keystone v3 sessions (password and application
 * credential), token reuse until close to `expires_at`, one re-authentication on 401, service
 * catalog endpoint choice (type, region, interface) with the version path appended where the
 * catalog leaves it out, compute microversions, pagination, and errors carrying the API's
 * message and request id.
 *
 * Sessions are shared by every activity in the worker process (keyed by the cloud's settings),
 * so 100 parallel creates authenticate once.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request as undiciRequest } from 'undici';
import { maxResponseBytes, readLimited } from '../../lib/bounded';
import { registerSecret } from '../../lib/secrets';
import { CloudConfigError, loadCloud, type CloudConfig, type ConfigSources } from './config';
import { OpenStackError, apiMessage } from './errors';

export type ServiceType = 'identity' | 'compute' | 'network' | 'image' | 'load-balancer' | 'placement' | 'block-storage';

/** Version path each service's API lives under, appended when the catalog URL lacks it. */
const VERSION_PATH: Partial<Record<ServiceType, { re: RegExp; path: string }>> = {
  compute: { re: /\/v2(\.1)?(\/[0-9a-f]{32})?$/, path: '/v2.1' },
  network: { re: /\/v2\.0$/, path: '/v2.0' },
  image: { re: /\/v2$/, path: '/v2' },
  'load-balancer': { re: /\/v2(\.0)?$/, path: '/v2' },
};

/** Default compute microversion: Queens (2.60) and later; UUID service ids (2.53), migration uuids (2.59). */
export const COMPUTE_MICROVERSION = '2.60';

export interface TokenInfo {
  id: string;
  expiresAt: number;
  issuedAt: number;
  projectId?: string;
  userId: string;
  catalog: CatalogEntry[];
  methods: string[];
}

export interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[];
}

export interface HttpResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
  text: string;
  requestId?: string;
}

// ---- transport -----------------------------------------------------------------------------

const agents = new Map<string, Agent>();

function agentFor(cloud: CloudConfig): Agent {
  const key = JSON.stringify([cloud.verify, cloud.cacert, cloud.cert, cloud.key]);
  let a = agents.get(key);
  if (!a) {
    const read = (p: string | undefined, what: string) => {
      if (!p) return undefined;
      try {
        return readFileSync(p);
      } catch (e: any) {
        throw new CloudConfigError(`cloud "${cloud.name}": cannot read ${what} ${p} (${e.code ?? e.message})`);
      }
    };
    a = new Agent({
      keepAliveTimeout: 10_000,
      connect: { rejectUnauthorized: cloud.verify, ca: cloud.verify ? read(cloud.cacert, 'cacert') : undefined, cert: read(cloud.cert, 'cert'), key: read(cloud.key, 'key') },
    });
    agents.set(key, a);
  }
  return a;
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  timeoutMs: number;
  service: string;
}

async function send(cloud: CloudConfig, r: RawRequest): Promise<HttpResponse> {
  const signal = r.signal ? AbortSignal.any([r.signal, AbortSignal.timeout(r.timeoutMs)]) : AbortSignal.timeout(r.timeoutMs);
  let res;
  try {
    res = await undiciRequest(r.url, { method: r.method as any, headers: r.headers, body: r.body, dispatcher: agentFor(cloud), signal });
  } catch (e: any) {
    if (r.signal?.aborted) throw e;
    const code = e?.code ?? e?.cause?.code ?? e?.name ?? 'error';
    const what = code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' ? 'connection closed before a response' : code === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' ? `no response within ${r.timeoutMs} ms` : String(e?.message ?? code);
    throw new OpenStackError(`${r.service} ${r.method} ${r.url}: ${what} (${code})`, { service: r.service, method: r.method, url: r.url, connection: String(code) });
  }
  // Read with a cap: one huge response must not take the worker's memory.
  const text = await readLimited(res.body, maxResponseBytes(), `${r.service} ${r.method} ${r.url}`, () => res.body.destroy());
  const headers = flatHeaders(res.headers as Record<string, string | string[] | undefined>);
  let body: unknown = undefined;
  if (text && (headers['content-type'] ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: res.statusCode, headers, body, text, requestId: headers['x-openstack-request-id'] ?? headers['x-compute-request-id'] };
}

function httpError(service: string, method: string, url: string, res: HttpResponse, what?: string): OpenStackError {
  const { message, type } = apiMessage(res.text, res.headers['content-type'] ?? '');
  const retryAfter = res.headers['retry-after'];
  let retryAfterSeconds: number | undefined;
  if (retryAfter !== undefined) {
    retryAfterSeconds = /^\d+(\.\d+)?$/.test(retryAfter) ? Number(retryAfter) : Math.max(0, Math.ceil((Date.parse(retryAfter) - Date.now()) / 1000));
    if (!Number.isFinite(retryAfterSeconds)) retryAfterSeconds = undefined;
  }
  const path = url.replace(/^https?:\/\/[^/]+/, '');
  const text = `${what ?? `${service} ${method} ${path}`}: HTTP ${res.status}${type && !type.startsWith('HTTP') ? ` ${type}` : ''}: ${message || '(no message)'}${res.requestId ? ` (request ${res.requestId})` : ''}`;
  return new OpenStackError(text, { status: res.status, service, method, url, requestId: res.requestId, apiMessage: message, apiType: type, retryAfterSeconds });
}

// ---- Keystone sessions ---------------------------------------------------------------------

const UA = 'runwright-openstack/0.1';

export class Session {
  private current?: TokenInfo;
  private pending?: Promise<TokenInfo>;
  /** POST /v3/auth/tokens calls made by this session (tests, benchmark). */
  authCount = 0;

  constructor(readonly cloud: CloudConfig) {}

  /** The identity endpoint with /v3 (auth_url as configured; "/v3" appended when missing). */
  identityUrl(): string {
    const u = this.cloud.auth.auth_url!.replace(/\/+$/, '');
    return /\/v3$/.test(u) ? u : `${u}/v3`;
  }

  /** Reuse the token until it is close to expiring: within 30 s, or 10% of its lifetime if shorter. */
  private fresh(t: TokenInfo | undefined, now = Date.now()): t is TokenInfo {
    if (!t) return false;
    const margin = Math.min(30_000, Math.max(0, (t.expiresAt - t.issuedAt) * 0.1));
    return now < t.expiresAt - margin;
  }

  async token(signal?: AbortSignal): Promise<TokenInfo> {
    if (this.fresh(this.current)) return this.current;
    if (!this.pending) {
      this.pending = this.authenticate(signal).finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  /** Forget a token the services refused (401), so the next call authenticates again. */
  invalidate(tokenId: string): void {
    if (this.current?.id === tokenId) this.current = undefined;
  }

  authBody(): Record<string, unknown> {
    const a = this.cloud.auth;
    const domain = (id?: string, name?: string) => (id ? { id } : name ? { name } : a.default_domain_id ? { id: a.default_domain_id } : a.default_domain_name ? { name: a.default_domain_name } : undefined);
    const user = () => (a.user_id ? { id: a.user_id } : { name: a.username, domain: domain(a.user_domain_id, a.user_domain_name) });
    if (this.cloud.authType === 'v3applicationcredential') {
      if (!a.application_credential_secret) throw new CloudConfigError(`cloud "${this.cloud.name}": application_credential_secret is not set`);
      const cred: Record<string, unknown> = a.application_credential_id
        ? { id: a.application_credential_id, secret: a.application_credential_secret }
        : { name: a.application_credential_name, secret: a.application_credential_secret, user: user() };
      if (!a.application_credential_id && !a.application_credential_name) throw new CloudConfigError(`cloud "${this.cloud.name}": application_credential_id or application_credential_name is needed`);
      // Application credentials carry their own project: Keystone refuses a scope.
      return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
    }
    let identity: Record<string, unknown>;
    if (this.cloud.authType === 'token' || this.cloud.authType === 'v3token') {
      if (!a.token) throw new CloudConfigError(`cloud "${this.cloud.name}": auth.token is not set`);
      identity = { methods: ['token'], token: { id: a.token } };
    } else {
      if (!a.password) throw new CloudConfigError(`cloud "${this.cloud.name}": no password (set it in clouds.yaml, secure.yaml or OS_PASSWORD)`);
      if (!a.user_id && !a.username) throw new CloudConfigError(`cloud "${this.cloud.name}": username or user_id is needed`);
      identity = { methods: ['password'], password: { user: { ...user(), password: a.password } } };
    }
    let scope: Record<string, unknown> | undefined;
    if (a.project_id) scope = { project: { id: a.project_id } };
    else if (a.project_name) scope = { project: { name: a.project_name, domain: domain(a.project_domain_id, a.project_domain_name) } };
    else if (a.domain_id || a.domain_name) scope = { domain: domain(a.domain_id, a.domain_name) };
    else if (a.system_scope) scope = { system: { [a.system_scope]: true } };
    return { auth: { identity, ...(scope ? { scope } : {}) } };
  }

  private async authenticate(signal?: AbortSignal): Promise<TokenInfo> {
    // The credentials are secrets: the action wrapper masks them if a far end echoes them.
    const a = this.cloud.auth as Record<string, string | undefined>;
    for (const k of ['password', 'application_credential_secret', 'token']) registerSecret(a[k]);
    const url = `${this.identityUrl()}/auth/tokens`;
    const body = JSON.stringify(this.authBody());
    this.authCount++;
    const res = await send(this.cloud, { method: 'POST', url, headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': UA }, body, signal, timeoutMs: 30_000, service: 'identity' });
    if (res.status !== 201 && res.status !== 200) throw httpError('identity', 'POST', url, res, `authentication to cloud "${this.cloud.name}" failed (POST ${url.replace(/^https?:\/\/[^/]+/, '')})`);
    const id = res.headers['x-subject-token'];
    const t = (res.body as any)?.token;
    if (!id || !t?.expires_at) throw new OpenStackError(`authentication to cloud "${this.cloud.name}": Keystone answered ${res.status} without X-Subject-Token/expires_at`, { status: res.status, service: 'identity', kind: 'invalid' });
    const info: TokenInfo = {
      id,
      expiresAt: Date.parse(t.expires_at),
      issuedAt: t.issued_at ? Date.parse(t.issued_at) : Date.now(),
      projectId: t.project?.id,
      userId: t.user?.id,
      catalog: Array.isArray(t.catalog) ? t.catalog : [],
      methods: t.methods ?? [],
    };
    this.current = info;
    return info;
  }

  /** The endpoint of a service type for the cloud's region and interface, version path included. */
  endpoint(t: TokenInfo, type: ServiceType, region = this.cloud.region, iface = this.cloud.interface): string {
    const override = this.cloud.endpointOverrides[type];
    let url: string | undefined = override;
    if (!url) {
      if (!t.projectId) throw new CloudConfigError(`cloud "${this.cloud.name}": the token is not scoped to a project (set project_name or project_id), so it has no service catalog`);
      const entries = t.catalog.filter((e) => e.type === type);
      if (!entries.length) throw new OpenStackError(`cloud "${this.cloud.name}" has no "${type}" service in its catalog (services: ${[...new Set(t.catalog.map((e) => e.type))].join(', ')})`, { kind: 'not-found', service: type });
      const eps = entries.flatMap((e) => e.endpoints).filter((e) => e.interface.replace(/URL$/, '') === iface);
      const inRegion = region ? eps.filter((e) => (e.region_id ?? e.region) === region) : eps;
      if (!inRegion.length) {
        const offered = [...new Set(entries.flatMap((e) => e.endpoints).map((e) => `${e.region_id ?? e.region}/${e.interface}`))].join(', ');
        throw new OpenStackError(`cloud "${this.cloud.name}": no ${type} endpoint for region "${region || 'any'}", interface "${iface}" (catalog offers ${offered})`, { kind: 'not-found', service: type });
      }
      url = inRegion[0].url;
    }
    url = url.replace(/\/+$/, '');
    const v = VERSION_PATH[type];
    if (v && !v.re.test(url)) url += v.path;
    return url;
  }
}

const sessions = new Map<string, Session>();

function sessionKey(c: CloudConfig): string {
  return createHash('sha256').update(JSON.stringify([c.authType, c.auth, c.verify, c.cacert, c.cert, c.key])).digest('hex');
}

/** The process-wide session for a cloud's settings (tokens are shared by every activity). */
export function sessionFor(c: CloudConfig): Session {
  const k = sessionKey(c);
  let s = sessions.get(k);
  if (!s) {
    s = new Session(c);
    sessions.set(k, s);
  }
  return s;
}

/** Tests: forget every cached session and token. */
export function resetSessions(): void {
  sessions.clear();
}

// ---- the client ----------------------------------------------------------------------------

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null | (string | number)[]>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Compute microversion ("2.60"); default COMPUTE_MICROVERSION for compute. */
  microversion?: string;
  timeoutMs?: number;
}

export interface ClientOptions {
  region?: string;
  signal?: AbortSignal;
  /** Config sources (tests). */
  sources?: ConfigSources;
  /** Called for each request made (tests, benchmark counters). */
  onRequest?: (method: string, url: string, status: number) => void;
}

export class OpenStackClient {
  readonly cloud: CloudConfig;
  readonly session: Session;
  readonly region: string;
  private readonly signal?: AbortSignal;
  /** Requests made by this client (outputs, benchmark). */
  calls = 0;

  constructor(
    cloudName: string,
    private readonly opts: ClientOptions = {},
  ) {
    this.cloud = loadCloud(cloudName, opts.region || undefined, opts.sources);
    this.session = sessionFor(this.cloud);
    this.region = this.cloud.region;
    this.signal = opts.signal;
  }

  async endpoint(service: ServiceType): Promise<string> {
    const t = await this.session.token(this.signal);
    return this.session.endpoint(t, service, this.region);
  }

  async request<T = any>(service: ServiceType, method: string, path: string, o: RequestOptions = {}): Promise<HttpResponse<T>> {
    let qs = '';
    if (o.query) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) {
        if (v === undefined || v === null) continue;
        for (const x of Array.isArray(v) ? v : [v]) p.append(k, String(x));
      }
      const s = p.toString();
      if (s) qs = `${path.includes('?') ? '&' : '?'}${s}`;
    }
    for (let attempt = 0; ; attempt++) {
      const t = await this.session.token(this.signal);
      registerSecret(t.id);
      const base = this.session.endpoint(t, service, this.region);
      const url = `${base}${path}${qs}`;
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': UA, 'x-auth-token': t.id, ...(o.headers ?? {}) };
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      if (service === 'compute') {
        const mv = o.microversion ?? COMPUTE_MICROVERSION;
        headers['openstack-api-version'] = `compute ${mv}`;
        headers['x-openstack-nova-api-version'] = mv;
      }
      this.calls++;
      const res = await send(this.cloud, { method, url, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: this.signal, timeoutMs: o.timeoutMs ?? 60_000, service });
      this.opts.onRequest?.(method, url, res.status);
      if (res.status === 401 && attempt === 0) {
        // The token expired early or was revoked: authenticate again, once.
        this.session.invalidate(t.id);
        continue;
      }
      if (res.status >= 400) {
        const err = httpError(service, method, url, res);
        if (res.status === 401) err.message += ' (refused again after re-authenticating)';
        throw err;
      }
      return res as HttpResponse<T>;
    }
  }

  get<T = any>(service: ServiceType, path: string, o?: RequestOptions) {
    return this.request<T>(service, 'GET', path, o);
  }
  post<T = any>(service: ServiceType, path: string, body: unknown, o?: RequestOptions) {
    return this.request<T>(service, 'POST', path, { ...o, body });
  }
  put<T = any>(service: ServiceType, path: string, body: unknown, o?: RequestOptions) {
    return this.request<T>(service, 'PUT', path, { ...o, body });
  }
  delete(service: ServiceType, path: string, o?: RequestOptions) {
    return this.request(service, 'DELETE', path, o);
  }

  /** DELETE where "already gone" (404) is success; returns whether something was deleted. */
  async deleteIfExists(service: ServiceType, path: string, o?: RequestOptions): Promise<boolean> {
    try {
      await this.delete(service, path, o);
      return true;
    } catch (e) {
      if (e instanceof OpenStackError && e.status === 404) return false;
      throw e;
    }
  }

  /** GET that answers undefined on 404. */
  async find<T = any>(service: ServiceType, path: string, o?: RequestOptions): Promise<T | undefined> {
    try {
      return (await this.get<T>(service, path, o)).body;
    } catch (e) {
      if (e instanceof OpenStackError && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Every item of a collection, following next links: `<key>_links` (Nova, Neutron, Octavia)
   * or `next` (Glance). Only the next link's query is used, against our own endpoint.
   */
  async list<T = any>(service: ServiceType, path: string, key: string, o: RequestOptions = {}, maxPages = 1000): Promise<T[]> {
    const out: T[] = [];
    let query = o.query;
    for (let pageNo = 0; pageNo < maxPages; pageNo++) {
      const res = await this.get(service, path, { ...o, query });
      const b = res.body ?? {};
      const items = b[key];
      if (!Array.isArray(items)) throw new OpenStackError(`${service} GET ${path}: the answer has no "${key}" list`, { service, kind: 'invalid', requestId: res.requestId });
      out.push(...items);
      const links = b[`${key}_links`];
      const next: string | undefined = (Array.isArray(links) ? links.find((l: any) => l.rel === 'next')?.href : undefined) ?? (typeof b.next === 'string' ? b.next : undefined);
      if (!next || !items.length) return out;
      const q = new URL(next, 'http://x').searchParams;
      query = Object.fromEntries([...new Set(q.keys())].map((k) => [k, q.getAll(k).length > 1 ? q.getAll(k) : q.get(k)!]));
    }
    throw new OpenStackError(`${service} GET ${path}: more than ${maxPages} pages`, { service, kind: 'invalid' });
  }
}
