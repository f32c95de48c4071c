/**
 * Keystone v3 subset: version discovery, POST/GET/DELETE /v3/auth/tokens (password,
 * application_credential and token methods; project/domain scope; unscoped), the catalog,
 * projects, users and application credentials.
 */
import { ApiError, Router, isoMicroZ, type Ctx, type Reply } from './http';
import { hexId, secret, sha256, type AppCred, type CloudState, type Project, type Role, type TokenRec, type User } from './model';
import type { Env } from './env';

export const SERVICES: { type: string; name: string; path: string }[] = [
  { type: 'compute', name: 'nova', path: 'compute/v2.1' },
  { type: 'network', name: 'neutron', path: 'network' },
  { type: 'image', name: 'glance', path: 'image' },
  { type: 'load-balancer', name: 'octavia', path: 'load-balancer' },
];

const stableId = (s: string) => sha256(s).slice(0, 32);

/** The service catalog of a cloud: identity once per region, every other service per region and interface. */
export function catalog(env: Env, cloud: CloudState): unknown[] {
  const regions = Object.keys(cloud.regions);
  const ifaces = ['public', 'internal', 'admin'] as const;
  const ep = (svc: string, region: string, iface: string, url: string) => ({ id: stableId(`${cloud.name}/${svc}/${region}/${iface}`), interface: iface, region_id: region, url, region });
  const out: unknown[] = [
    {
      id: stableId(`${cloud.name}/identity`),
      type: 'identity',
      name: 'keystone',
      endpoints: regions.flatMap((r) => ifaces.map((i) => ep('identity', r, i, `${env.baseUrl}/${cloud.name}/identity`))),
    },
  ];
  for (const s of SERVICES) {
    const [svc, ...rest] = s.path.split('/');
    out.push({
      id: stableId(`${cloud.name}/${s.type}`),
      type: s.type,
      name: s.name,
      endpoints: regions.flatMap((r) =>
        ifaces.map((i) => ep(s.type, r, i, `${env.baseUrl}/${cloud.name}/${r}/${i === 'public' ? svc : `${svc}-${i}`}${rest.length ? `/${rest.join('/')}` : ''}`)),
      ),
    });
  }
  return out;
}

const unauthorized = (m = 'The request you have made requires authentication.') => new ApiError(401, m);

function findDomain(cloud: CloudState, ref: any): string {
  if (!ref || typeof ref !== 'object') throw new ApiError(400, 'Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
  const d = cloud.domains.find((x) => (ref.id !== undefined ? x.id === ref.id : x.name === ref.name));
  if (!d) throw unauthorized(`Could not find domain: ${ref.id ?? ref.name}.`);
  return d.id;
}

function findUser(cloud: CloudState, u: any): User {
  if (!u || typeof u !== 'object') throw new ApiError(400, 'Expecting to find user in password. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
  let user: User | undefined;
  if (u.id !== undefined) user = cloud.users.find((x) => x.id === u.id);
  else {
    if (u.name === undefined) throw new ApiError(400, 'Expecting to find id or name in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
    const dom = findDomain(cloud, u.domain);
    user = cloud.users.find((x) => x.name === u.name && x.domain_id === dom);
  }
  if (!user) throw unauthorized();
  return user;
}

function findProject(cloud: CloudState, p: any): Project {
  let proj: Project | undefined;
  if (p.id !== undefined) proj = cloud.projects.find((x) => x.id === p.id);
  else {
    const dom = findDomain(cloud, p.domain);
    proj = cloud.projects.find((x) => x.name === p.name && x.domain_id === dom);
  }
  if (!proj) throw unauthorized(`Could not find project: ${p.id ?? p.name}.`);
  return proj;
}

function rolesOn(cloud: CloudState, userId: string, projectId: string): Role[] {
  const ids = new Set(cloud.assignments.filter((a) => a.user_id === userId && a.project_id === projectId).map((a) => a.role_id));
  return cloud.roles.filter((r) => ids.has(r.id));
}

export function tokenRoles(cloud: CloudState, t: TokenRec): Role[] {
  if (!t.project_id) return [];
  if (t.app_cred_id) return cloud.appCreds.find((a) => a.id === t.app_cred_id)?.roles ?? [];
  return rolesOn(cloud, t.user_id, t.project_id);
}

export function tokenBody(env: Env, cloud: CloudState, t: TokenRec, withCatalog: boolean): Record<string, unknown> {
  const user = cloud.users.find((u) => u.id === t.user_id)!;
  const udom = cloud.domains.find((d) => d.id === user.domain_id)!;
  const token: Record<string, unknown> = {
    methods: t.methods,
    user: { domain: { id: udom.id, name: udom.name }, id: user.id, name: user.name, password_expires_at: null },
    audit_ids: [t.audit_id],
    expires_at: isoMicroZ(t.expires_at),
    issued_at: isoMicroZ(t.issued_at),
  };
  if (t.project_id) {
    const p = cloud.projects.find((x) => x.id === t.project_id)!;
    const pdom = cloud.domains.find((d) => d.id === p.domain_id)!;
    token.project = { domain: { id: pdom.id, name: pdom.name }, id: p.id, name: p.name };
    token.is_domain = false;
    token.roles = tokenRoles(cloud, t).map((r) => ({ id: r.id, name: r.name }));
    if (withCatalog) token.catalog = catalog(env, cloud);
  }
  if (t.app_cred_id) {
    const ac = cloud.appCreds.find((a) => a.id === t.app_cred_id);
    if (ac) token.application_credential = { id: ac.id, name: ac.name, restricted: !ac.unrestricted };
  }
  return { token };
}

function issue(env: Env, cloud: CloudState, rec: Omit<TokenRec, 'issued_at' | 'expires_at' | 'audit_id' | 'cloud'>, capMs?: number): [string, TokenRec] {
  const now = env.now;
  let expires = now + env.world.config.tokenTtlSeconds * 1000;
  if (capMs !== undefined) expires = Math.min(expires, capMs);
  // Fernet-like opaque id; the stand-in keeps a table instead of decrypting.
  const id = `gAAAAA${secret(60)}`;
  const t: TokenRec = { ...rec, cloud: cloud.name, issued_at: now, expires_at: expires, audit_id: secret(16) };
  env.world.tokens[id] = t;
  env.dirty();
  return [id, t];
}

/** A token from X-Auth-Token or X-Subject-Token, valid right now, of this cloud. */
export function lookupToken(env: Env, cloud: CloudState, id: string | undefined): TokenRec | undefined {
  if (!id) return undefined;
  const t = env.world.tokens[id];
  if (!t || t.revoked || t.cloud !== cloud.name || t.expires_at <= env.now) return undefined;
  if (!cloud.users.some((u) => u.id === t.user_id)) return undefined;
  if (t.app_cred_id && !cloud.appCreds.some((a) => a.id === t.app_cred_id)) return undefined;
  return t;
}

function authenticate(env: Env, cloud: CloudState, ctx: Ctx): Reply {
  const auth = ctx.body?.auth;
  const bad = (what: string, where: string) =>
    new ApiError(400, `Expecting to find ${what} in ${where}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);
  if (!auth || typeof auth !== 'object') throw bad('auth', 'request');
  const identity = auth.identity;
  if (!identity || typeof identity !== 'object') throw bad('identity', 'auth');
  const methods: unknown = identity.methods;
  if (!Array.isArray(methods) || methods.length === 0) throw bad('methods', 'identity');
  const scope = auth.scope;
  let user: User;
  let appCred: AppCred | undefined;
  let inherited: TokenRec | undefined;
  if (methods.includes('application_credential')) {
    const ac = identity.application_credential;
    if (!ac) throw bad('application_credential', 'identity');
    // Application credentials carry their own project: asking for a scope is an error.
    if (scope !== undefined) throw unauthorized('Error authenticating with application credential: Application credentials cannot request a scope.');
    if (ac.id !== undefined) appCred = cloud.appCreds.find((a) => a.id === ac.id);
    else {
      if (ac.name === undefined) throw bad('id or name', 'application_credential');
      const u = findUser(cloud, ac.user);
      appCred = cloud.appCreds.find((a) => a.name === ac.name && a.user_id === u.id);
    }
    if (!appCred || appCred.secret_hash !== sha256(String(ac.secret ?? ''))) throw unauthorized('Error authenticating with application credential: Invalid application credential.');
    if (appCred.expires_at && Date.parse(appCred.expires_at) <= env.now) throw unauthorized('Error authenticating with application credential: Application credential has expired.');
    user = cloud.users.find((u) => u.id === appCred!.user_id)!;
    const [id, t] = issue(env, cloud, { user_id: user.id, project_id: appCred.project_id, methods: ['application_credential'], app_cred_id: appCred.id }, appCred.expires_at ? Date.parse(appCred.expires_at) : undefined);
    return tokenReply(env, cloud, id, t, ctx);
  }
  if (methods.includes('password')) {
    const pw = identity.password;
    if (!pw || typeof pw !== 'object') throw bad('password', 'identity');
    user = findUser(cloud, pw.user);
    if (pw.user.password !== user.password) throw unauthorized();
  } else if (methods.includes('token')) {
    const tid = identity.token?.id;
    if (!tid) throw bad('token', 'identity');
    inherited = lookupToken(env, cloud, tid);
    if (!inherited) throw unauthorized();
    if (inherited.app_cred_id) throw new ApiError(403, 'You are not authorized to perform the requested action: rescoping an application credential token.');
    user = cloud.users.find((u) => u.id === inherited!.user_id)!;
  } else {
    throw unauthorized(`Attempted to authenticate with an unsupported method.`);
  }
  let projectId: string | undefined;
  if (scope === undefined) {
    // No scope: the user's default project, when they have a role on it; else unscoped.
    if (user.default_project_id && rolesOn(cloud, user.id, user.default_project_id).length) projectId = user.default_project_id;
  } else if (scope === 'unscoped') {
    projectId = undefined;
  } else if (scope.project) {
    projectId = findProject(cloud, scope.project).id;
    if (!rolesOn(cloud, user.id, projectId).length) throw unauthorized(`User ${user.id} has no access to project ${projectId}`);
  } else if (scope.domain || scope.system) {
    // Domain and system scope are accepted but carry no project (services refuse them).
    projectId = undefined;
  } else throw bad('project, domain or system', 'scope');
  const [id, t] = issue(env, cloud, { user_id: user.id, project_id: projectId, methods: inherited ? [...new Set([...inherited.methods, 'token'])] : (methods as string[]) });
  return tokenReply(env, cloud, id, t, ctx);
}

function tokenReply(env: Env, cloud: CloudState, id: string, t: TokenRec, ctx: Ctx): Reply {
  return { status: 201, headers: { 'x-subject-token': id }, body: tokenBody(env, cloud, t, !ctx.query.has('nocatalog')) };
}

function requireToken(env: Env, cloud: CloudState, ctx: Ctx): TokenRec {
  const t = lookupToken(env, cloud, ctx.headers['x-auth-token'] as string | undefined);
  if (!t) throw unauthorized();
  return t;
}

const isAdmin = (cloud: CloudState, t: TokenRec) => tokenRoles(cloud, t).some((r) => r.name === 'admin');

function versionDoc(env: Env, cloud: CloudState) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${env.baseUrl}/${cloud.name}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function appCredView(env: Env, cloud: CloudState, a: AppCred, secretValue?: string) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    user_id: a.user_id,
    project_id: a.project_id,
    roles: a.roles.map((r) => ({ id: r.id, name: r.name, domain_id: null })),
    expires_at: a.expires_at,
    unrestricted: a.unrestricted,
    access_rules: [],
    links: { self: `${env.baseUrl}/${cloud.name}/identity/v3/users/${a.user_id}/application_credentials/${a.id}` },
    ...(secretValue !== undefined ? { secret: secretValue } : {}),
  };
}

function projectView(env: Env, cloud: CloudState, p: Project) {
  return {
    id: p.id,
    name: p.name,
    domain_id: p.domain_id,
    description: p.description,
    enabled: true,
    parent_id: p.domain_id,
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `${env.baseUrl}/${cloud.name}/identity/v3/projects/${p.id}` },
  };
}

export function keystoneRouter(): Router<Env> {
  const r = new Router<Env>();
  r.on('GET', '/', (ctx, env) => ({ status: 300, body: { versions: { values: [versionDoc(env, env.cloud)] } } }));
  r.on('GET', '/v3', (ctx, env) => ({ status: 200, body: { version: versionDoc(env, env.cloud) } }));
  r.on('POST', '/v3/auth/tokens', (ctx, env) => authenticate(env, env.cloud, ctx));
  r.on('GET', '/v3/auth/tokens', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    const subjectId = ctx.headers['x-subject-token'] as string | undefined;
    const t = lookupToken(env, env.cloud, subjectId);
    if (!t) throw new ApiError(404, `Failed to validate token`);
    return { status: 200, headers: { 'x-subject-token': subjectId! }, body: tokenBody(env, env.cloud, t, !ctx.query.has('nocatalog')) };
  });
  r.on('DELETE', '/v3/auth/tokens', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    const subjectId = ctx.headers['x-subject-token'] as string | undefined;
    const t = lookupToken(env, env.cloud, subjectId);
    if (!t) throw new ApiError(404, `Failed to validate token`);
    t.revoked = true;
    env.dirty();
    return { status: 204 };
  });
  r.on('GET', '/v3/auth/catalog', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    return { status: 200, body: { catalog: catalog(env, env.cloud), links: { self: `${ctx.base}/v3/auth/catalog`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/auth/projects', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    const ids = new Set(env.cloud.assignments.filter((a) => a.user_id === t.user_id).map((a) => a.project_id));
    return { status: 200, body: { projects: env.cloud.projects.filter((p) => ids.has(p.id)).map((p) => projectView(env, env.cloud, p)), links: { self: `${ctx.base}/v3/auth/projects`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/projects', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    if (!isAdmin(env.cloud, t)) throw new ApiError(403, 'You are not authorized to perform the requested action: identity:list_projects.');
    const name = ctx.query.get('name');
    return { status: 200, body: { projects: env.cloud.projects.filter((p) => name === null || p.name === name).map((p) => projectView(env, env.cloud, p)), links: { self: `${ctx.base}/v3/projects`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/projects/:id', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    const p = env.cloud.projects.find((x) => x.id === ctx.params.id);
    if (!p || (!isAdmin(env.cloud, t) && t.project_id !== p.id)) throw new ApiError(404, `Could not find project: ${ctx.params.id}.`);
    return { status: 200, body: { project: projectView(env, env.cloud, p) } };
  });
  r.on('GET', '/v3/users/:id', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    const u = env.cloud.users.find((x) => x.id === ctx.params.id);
    if (!u || (!isAdmin(env.cloud, t) && t.user_id !== u.id)) throw new ApiError(404, `Could not find user: ${ctx.params.id}.`);
    return { status: 200, body: { user: { id: u.id, name: u.name, domain_id: u.domain_id, enabled: true, default_project_id: u.default_project_id, password_expires_at: null, options: {}, links: { self: `${ctx.base}/v3/users/${u.id}` } } } };
  });
  r.on('GET', '/v3/users/:id/application_credentials', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    if (t.user_id !== ctx.params.id && !isAdmin(env.cloud, t)) throw new ApiError(403, 'You are not authorized to perform the requested action: identity:list_application_credentials.');
    const name = ctx.query.get('name');
    const list = env.cloud.appCreds.filter((a) => a.user_id === ctx.params.id && (name === null || a.name === name));
    return { status: 200, body: { application_credentials: list.map((a) => appCredView(env, env.cloud, a)), links: { self: `${ctx.base}/v3/users/${ctx.params.id}/application_credentials`, previous: null, next: null } } };
  });
  r.on('POST', '/v3/users/:id/application_credentials', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    if (t.user_id !== ctx.params.id) throw new ApiError(403, 'You are not authorized to perform the requested action: identity:create_application_credential.');
    if (t.app_cred_id) {
      const parent = env.cloud.appCreds.find((a) => a.id === t.app_cred_id);
      if (parent && !parent.unrestricted) throw new ApiError(403, 'You are not authorized to perform the requested action: Using method \'application_credential\' is not allowed for managing additional application credentials.');
    }
    if (!t.project_id) throw new ApiError(401, 'The request you have made requires authentication.');
    const body = ctx.body?.application_credential;
    if (!body || typeof body.name !== 'string' || !body.name) throw new ApiError(400, "Invalid input for field 'application_credential': 'name' is a required property");
    if (env.cloud.appCreds.some((a) => a.user_id === t.user_id && a.name === body.name)) throw new ApiError(409, 'Conflict occurred attempting to store application_credential - Duplicate application credential name.');
    const have = tokenRoles(env.cloud, t);
    let roles = have;
    if (Array.isArray(body.roles) && body.roles.length) {
      roles = body.roles.map((rr: any) => {
        const role = have.find((x) => (rr.id ? x.id === rr.id : x.name === rr.name));
        if (!role) throw new ApiError(403, `You are not authorized to perform the requested action: role ${rr.id ?? rr.name} is not assigned to the user on this project.`);
        return role;
      });
    }
    const sec = typeof body.secret === 'string' && body.secret ? body.secret : secret(64);
    const ac: AppCred = {
      id: hexId(),
      name: body.name,
      user_id: t.user_id,
      project_id: t.project_id,
      secret_hash: sha256(sec),
      description: body.description ?? null,
      expires_at: body.expires_at ?? null,
      unrestricted: !!body.unrestricted,
      roles,
    };
    env.cloud.appCreds.push(ac);
    env.dirty();
    return { status: 201, body: { application_credential: appCredView(env, env.cloud, ac, sec) } };
  });
  r.on('GET', '/v3/users/:id/application_credentials/:ac', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    const a = env.cloud.appCreds.find((x) => x.id === ctx.params.ac && x.user_id === ctx.params.id);
    if (!a || (t.user_id !== a.user_id && !isAdmin(env.cloud, t))) throw new ApiError(404, `Could not find Application Credential: ${ctx.params.ac}.`);
    return { status: 200, body: { application_credential: appCredView(env, env.cloud, a) } };
  });
  r.on('DELETE', '/v3/users/:id/application_credentials/:ac', (ctx, env) => {
    const t = requireToken(env, env.cloud, ctx);
    const i = env.cloud.appCreds.findIndex((x) => x.id === ctx.params.ac && x.user_id === ctx.params.id);
    if (i < 0 || (t.user_id !== env.cloud.appCreds[i].user_id && !isAdmin(env.cloud, t))) throw new ApiError(404, `Could not find Application Credential: ${ctx.params.ac}.`);
    env.cloud.appCreds.splice(i, 1);
    env.dirty();
    return { status: 204 };
  });
  r.on('GET', '/v3/regions', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    return { status: 200, body: { regions: Object.keys(env.cloud.regions).map((id) => ({ id, description: '', parent_region_id: null, links: { self: `${ctx.base}/v3/regions/${id}` } })), links: { self: `${ctx.base}/v3/regions`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/services', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    return { status: 200, body: { services: (catalog(env, env.cloud) as any[]).map((s) => ({ id: s.id, type: s.type, name: s.name, enabled: true, links: { self: `${ctx.base}/v3/services/${s.id}` } })), links: { self: `${ctx.base}/v3/services`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/endpoints', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    const eps = (catalog(env, env.cloud) as any[]).flatMap((s) => s.endpoints.map((e: any) => ({ id: e.id, interface: e.interface, region_id: e.region_id, region: e.region, url: e.url, service_id: s.id, enabled: true, links: { self: `${ctx.base}/v3/endpoints/${e.id}` } })));
    return { status: 200, body: { endpoints: eps, links: { self: `${ctx.base}/v3/endpoints`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/domains', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    return { status: 200, body: { domains: env.cloud.domains.map((d) => ({ id: d.id, name: d.name, enabled: true, description: '', links: { self: `${ctx.base}/v3/domains/${d.id}` } })), links: { self: `${ctx.base}/v3/domains`, previous: null, next: null } } };
  });
  r.on('GET', '/v3/roles', (ctx, env) => {
    requireToken(env, env.cloud, ctx);
    return { status: 200, body: { roles: env.cloud.roles.map((x) => ({ id: x.id, name: x.name, domain_id: null, links: { self: `${ctx.base}/v3/roles/${x.id}` } })), links: { self: `${ctx.base}/v3/roles`, previous: null, next: null } } };
  });
  return r;
}

export { isAdmin };
