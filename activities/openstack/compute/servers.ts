/** Server helpers shared by the compute actions: summaries, lookups, waits. */
import { z } from 'zod';
import type { ActionContext } from '../../define';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';
import { findByNameOrId, looksLikeId, notFound, poll } from '../common';

export interface ServerSummary {
  id: string;
  name: string;
  status: string;
  taskState: string | null;
  host: string | null;
  /** Fixed addresses first, then floating ones. */
  ips: string[];
  fixedIps: string[];
  floatingIps: string[];
  fault?: string;
  metadata: Record<string, string>;
}

export function summarize(s: any): ServerSummary {
  const fixed: string[] = [];
  const floating: string[] = [];
  for (const list of Object.values<any[]>(s.addresses ?? {})) for (const a of list) (a['OS-EXT-IPS:type'] === 'floating' ? floating : fixed).push(a.addr);
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    taskState: s['OS-EXT-STS:task_state'] ?? null,
    host: s['OS-EXT-SRV-ATTR:host'] ?? null,
    ips: [...fixed, ...floating],
    fixedIps: fixed,
    floatingIps: floating,
    ...(s.fault ? { fault: `${s.fault.message}${s.fault.code ? ` (code ${s.fault.code})` : ''}` } : {}),
    metadata: s.metadata ?? {},
  };
}

/** Nova's name filter is a regular expression: match one name exactly. */
export function exactName(name: string): string {
  return `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

export async function getServer(c: OpenStackClient, ref: string): Promise<any> {
  if (looksLikeId(ref)) {
    const got = await c.find('compute', `/servers/${ref}`);
    if (got) return got.server;
  }
  const list = await c.list('compute', '/servers/detail', 'servers', { query: { name: exactName(ref) } });
  if (list.length === 1) return list[0];
  if (list.length > 1) throw new OpenStackError(`${list.length} servers are named "${ref}"; use an id`, { kind: 'ambiguous' });
  throw notFound('server', ref);
}

export function serverError(s: any): OpenStackError {
  const f = s.fault ? `: ${s.fault.message}${s.fault.code ? ` (code ${s.fault.code})` : ''}` : '';
  return new OpenStackError(`server ${s.name} (${s.id}) went to ERROR${f}`, { kind: 'resource-error' });
}

export type WantedStatus = 'ACTIVE' | 'SHUTOFF' | 'DELETED';

/**
 * Wait for servers to reach a status. One server: GET /servers/{id}; several: GET
 * /servers/detail (one call per poll for all of them). ERROR fails at once with the fault.
 */
export async function waitServers(c: OpenStackClient, ctx: ActionContext, ids: string[], status: WantedStatus, timeoutMs: number, opts: { allTenants?: boolean; intervalMs?: number; maxIntervalMs?: number; details?: Record<string, unknown> } = {}): Promise<any[]> {
  const pending = new Set(ids);
  const done = new Map<string, any>();
  return poll(
    ctx,
    { timeoutMs, what: `waiting for ${ids.length === 1 ? `server ${ids[0]}` : `${ids.length} servers`} to be ${status}`, intervalMs: opts.intervalMs ?? 50, maxIntervalMs: opts.maxIntervalMs ?? 2000, fastForMs: 3000 },
    async () => {
      let seen: any[];
      if (pending.size === 1) {
        const [id] = pending;
        const s = await c.find('compute', `/servers/${id}`);
        seen = s ? [s.server] : [];
        if (!s && status === 'DELETED') done.set(id, { id, status: 'DELETED' });
        else if (!s) throw notFound('server', id);
      } else {
        seen = await c.list('compute', '/servers/detail', 'servers', { query: opts.allTenants ? { all_tenants: 1 } : {} });
        if (status === 'DELETED') {
          const present = new Set(seen.map((s) => s.id));
          for (const id of pending) if (!present.has(id)) done.set(id, { id, status: 'DELETED' });
        } else {
          const present = new Set(seen.map((s) => s.id));
          for (const id of pending) if (!present.has(id)) throw notFound('server', id);
        }
      }
      for (const s of seen) {
        if (!pending.has(s.id)) continue;
        if (s.status === 'ERROR' && status !== 'DELETED') throw serverError(s);
        if (status !== 'DELETED' && s.status === status && !s['OS-EXT-STS:task_state']) done.set(s.id, s);
      }
      for (const id of done.keys()) pending.delete(id);
      return pending.size === 0 ? ids.map((id) => done.get(id)) : undefined;
    },
    () => ({ ...(opts.details ?? {}), progress: `${done.size}/${ids.length} server(s) ${status}`, ready: done.size, total: ids.length }),
  );
}

export async function resolveFlavor(c: OpenStackClient, ref: string): Promise<{ id: string; name: string; vcpus: number; ram: number; disk: number }> {
  if (/^\d+$/.test(ref) || looksLikeId(ref)) {
    const got = await c.find('compute', `/flavors/${encodeURIComponent(ref)}`);
    if (got) return got.flavor;
  }
  const all = await c.list('compute', '/flavors/detail', 'flavors', { query: { is_public: 'None' } });
  const f = all.find((x: any) => x.name === ref);
  if (!f) throw notFound('flavor', ref);
  return f;
}

export async function resolveImage(c: OpenStackClient, ref: string): Promise<{ id: string; name: string }> {
  if (looksLikeId(ref)) {
    const got = await c.find('image', `/images/${ref}`);
    if (got) return got;
  }
  const list = await c.list('image', '/images', 'images', { query: { name: ref } });
  if (list.length === 1) return list[0];
  if (list.length > 1) throw new OpenStackError(`${list.length} images are named "${ref}"; use an id`, { kind: 'ambiguous' });
  throw notFound('image', ref);
}

export async function resolveNetwork(c: OpenStackClient, ref: string): Promise<{ id: string; name: string; subnets: string[] }> {
  return findByNameOrId(c, 'network', '/networks', 'networks', ref, 'network');
}

/** The compute service of a host (os-services, 2.53+ ids). */
export async function computeService(c: OpenStackClient, host: string, binary = 'nova-compute'): Promise<any> {
  const res = await c.get('compute', '/os-services', { query: { host, binary } });
  const svc = (res.body.services ?? []).find((s: any) => s.host === host && s.binary === binary);
  if (!svc) throw notFound(`${binary} service on host`, host);
  return svc;
}

const Nic = z.union([
  z.strictObject({ network: z.string().min(1).describe('Network name or id'), fixedIp: z.string().optional() }),
  z.strictObject({ port: z.string().min(1).describe('Port id (from openstack.port.create)') }),
]);

/** What a server is booted with (shared by openstack.server.create and .create-batch). */
export const ServerSpec = {
  flavor: z.string().min(1).describe('Flavor name or id'),
  image: z.string().min(1).describe('Image name or id'),
  networks: z.union([z.literal('auto'), z.literal('none'), z.array(Nic).min(1)]).default('auto'),
  securityGroups: z.array(z.string().min(1)).default([]).describe('Names or ids, for the ports Nova creates (not for ports you pass)'),
  keyName: z.string().default(''),
  userData: z.string().default('').describe('Cloud-init user data (plain text; encoded by the action)'),
  metadata: z.record(z.string(), z.string()).default({}),
  tags: z.array(z.string().min(1).max(60)).default([]),
  availabilityZone: z.string().default(''),
  serverGroup: z.string().default('').describe('Server group id (scheduler hint)'),
};
type Spec = { [K in keyof typeof ServerSpec]: z.output<(typeof ServerSpec)[K]> };

/**
 * Resolve names to ids once and return a builder of POST /servers bodies. Tags on create need
 * 2.52, networks "auto"/"none" 2.37: the default microversion (2.60) has both.
 */
export async function serverRequest(c: OpenStackClient, input: Spec): Promise<(name: string, metadata: Record<string, string>, tags: string[]) => Record<string, unknown>> {
  const flavorRef = /^\d+$/.test(input.flavor) || looksLikeId(input.flavor) ? input.flavor : (await resolveFlavor(c, input.flavor)).id;
  const imageRef = looksLikeId(input.image) ? input.image : (await resolveImage(c, input.image)).id;
  let networks: unknown = input.networks;
  if (Array.isArray(input.networks)) {
    networks = await Promise.all(
      input.networks.map(async (n) => ('port' in n ? { port: n.port } : { uuid: looksLikeId(n.network) ? n.network : (await resolveNetwork(c, n.network)).id, ...(n.fixedIp ? { fixed_ip: n.fixedIp } : {}) })),
    );
  }
  return (name, metadata, tags) => {
    const server: Record<string, unknown> = { name, flavorRef, imageRef, networks, metadata: { ...input.metadata, ...metadata } };
    if (input.securityGroups.length) server.security_groups = input.securityGroups.map((g) => ({ name: g }));
    if (input.keyName) server.key_name = input.keyName;
    if (input.userData) server.user_data = Buffer.from(input.userData, 'utf8').toString('base64');
    if (input.availabilityZone) server.availability_zone = input.availabilityZone;
    const allTags = [...new Set([...input.tags, ...tags])];
    if (allTags.length) server.tags = allTags;
    const body: Record<string, unknown> = { server };
    if (input.serverGroup) body['os:scheduler_hints'] = { group: input.serverGroup };
    return body;
  };
}
