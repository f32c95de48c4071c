/**
 * A snapshot of one region of a real OpenStack cloud, for a rehearsal on a twin
 * (`runwright rehearse --from-cloud`): what its APIs answer, as they answer it (servers, ports,
 * networks, subnets, routers, floating IPs, security groups and rules, load balancers with
 * listeners, pools, members and health monitors, flavors, images, compute services and
 * hypervisors, quotas, projects). Read-only: only GETs. The raw answers are kept so the stand-in
 * (sim/openstack/snapshot.ts) reads them as it reads any API answer, and so a snapshot file is
 * what an operator can check with the `openstack` CLI.
 *
 * No secrets: tokens are never written; Nova lists carry no admin passwords, and user_data is
 * dropped.
 */
import { OpenStackClient, type ClientOptions } from './client';
import { OpenStackError } from './errors';

export const SNAPSHOT_FORMAT = 'runwright-openstack-snapshot/1';

export interface OpenStackSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  cloud: string;
  region: string;
  takenAt: string;
  /** The project the credentials are scoped to (quotas are read for it). */
  project: { id: string; name: string };
  /** What was not readable with these credentials (e.g. Octavia absent, no admin role). */
  missing: string[];
  api: {
    projects: any[];
    flavors: any[];
    images: any[];
    services: any[];
    hypervisors: any[];
    serverGroups: any[];
    servers: any[];
    networks: any[];
    subnets: any[];
    ports: any[];
    floatingips: any[];
    securityGroups: any[];
    securityGroupRules: any[];
    routers: any[];
    loadbalancers: any[];
    listeners: any[];
    pools: any[];
    /** Per pool id. */
    members: Record<string, any[]>;
    healthmonitors: any[];
    quotas: { compute?: Record<string, unknown>; network?: Record<string, unknown>; loadBalancer?: Record<string, unknown> };
  };
}

/** Take a snapshot of a cloud's region through its APIs (admin credentials see every project). */
export async function takeSnapshot(cloud: string, opts: ClientOptions = {}): Promise<OpenStackSnapshot> {
  const c = new OpenStackClient(cloud, opts);
  const token = await c.session.token(opts.signal);
  const missing: string[] = [];
  const hasService = (type: string) => token.catalog.some((e) => e.type === type);
  // A part that these credentials cannot read is recorded as missing, not fatal: the twin then
  // has none of it, and the report says so.
  async function part<T>(what: string, fn: () => Promise<T>, empty: T): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof OpenStackError && (e.status === 403 || e.status === 404)) {
        missing.push(`${what} (${e.status})`);
        return empty;
      }
      throw e;
    }
  }
  const all = { all_tenants: 1 };
  const projectId = token.projectId ?? '';
  // Keystone's catalog URL ends in /v3 on some deployments and not on others.
  const identity = await c.endpoint('identity').catch(() => '');
  const projectsPath = /\/v3\/?$/.test(identity) ? '/projects' : '/v3/projects';
  const lb = hasService('load-balancer');
  if (!lb) missing.push('load balancers (no load-balancer service in the catalog)');
  const [projects, flavors, images, services, hypervisors, serverGroups, servers] = [
    await part('projects', async () => (await c.list('identity', projectsPath, 'projects')).map(({ id, name, domain_id, description }) => ({ id, name, domain_id, description })), []),
    await part('flavors', async () => c.list('compute', '/flavors/detail', 'flavors', { query: { is_public: 'None' }, microversion: '2.61' }), []),
    await part('images', async () => c.list('image', '/images', 'images'), []),
    await part('compute services', async () => (await c.get('compute', '/os-services', { microversion: '2.53' })).body.services ?? [], []),
    // 2.53: uuids, and the capacity fields (2.88 drops them).
    await part('hypervisors', async () => c.list('compute', '/os-hypervisors/detail', 'hypervisors', { microversion: '2.53' }), []),
    await part('server groups', async () => c.list('compute', '/os-server-groups', 'server_groups', { query: all, microversion: '2.64' }), []),
    await part('servers', async () => (await c.list('compute', '/servers/detail', 'servers', { query: all, microversion: '2.47' })).map(({ user_data: _u, 'OS-EXT-SRV-ATTR:user_data': _v, adminPass: _p, ...s }: any) => s), []),
  ];
  const net = (path: string, key: string) => part(key, () => c.list('network', path, key), []);
  const api: OpenStackSnapshot['api'] = {
    projects,
    flavors,
    images,
    services,
    hypervisors,
    serverGroups,
    servers,
    networks: await net('/networks', 'networks'),
    subnets: await net('/subnets', 'subnets'),
    ports: await net('/ports', 'ports'),
    floatingips: await net('/floatingips', 'floatingips'),
    securityGroups: await net('/security-groups', 'security_groups'),
    securityGroupRules: await net('/security-group-rules', 'security_group_rules'),
    routers: await net('/routers', 'routers'),
    loadbalancers: lb ? await part('load balancers', () => c.list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers'), []) : [],
    listeners: lb ? await part('listeners', () => c.list('load-balancer', '/lbaas/listeners', 'listeners'), []) : [],
    pools: lb ? await part('pools', () => c.list('load-balancer', '/lbaas/pools', 'pools'), []) : [],
    members: {},
    healthmonitors: lb ? await part('health monitors', () => c.list('load-balancer', '/lbaas/healthmonitors', 'healthmonitors'), []) : [],
    quotas: {},
  };
  for (const p of api.pools) api.members[p.id] = await part(`members of pool ${p.id}`, () => c.list('load-balancer', `/lbaas/pools/${p.id}/members`, 'members'), []);
  if (projectId) {
    api.quotas.compute = await part('compute quotas', async () => (await c.get('compute', `/os-quota-sets/${projectId}`)).body.quota_set, undefined);
    api.quotas.network = await part('network quotas', async () => (await c.get('network', `/quotas/${projectId}`)).body.quota, undefined);
    if (lb) api.quotas.loadBalancer = await part('load-balancer quotas', async () => (await c.get('load-balancer', `/lbaas/quotas/${projectId}`)).body.quota, undefined);
  }
  return {
    format: SNAPSHOT_FORMAT,
    cloud,
    region: c.region || (token.catalog.flatMap((e) => e.endpoints.map((x) => x.region)).find(Boolean) ?? ''),
    takenAt: new Date().toISOString(),
    project: { id: projectId, name: c.cloud.auth.project_name ?? '' },
    missing,
    api,
  };
}
