/**
 * Octavia helpers. Any change to a load balancer or one of its children puts the load
 * balancer in PENDING_UPDATE, and Octavia answers 409 ("immutable") to every other change
 * until it is ACTIVE again: `mutate` waits for ACTIVE, makes the change, retries it on 409, and
 * waits for ACTIVE again, so mutations from parallel steps or runs serialise cleanly.
 */
import type { ActionContext, DryRunResult } from '../../define';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';
import { looksLikeId, marker, notFound, poll } from '../common';

export async function getLoadBalancer(c: OpenStackClient, ref: string): Promise<any> {
  if (looksLikeId(ref)) {
    const got = await c.find('load-balancer', `/lbaas/loadbalancers/${ref}`);
    if (got) return got.loadbalancer;
  }
  const list = await c.list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers', { query: { name: ref } });
  if (list.length === 1) return list[0];
  if (list.length > 1) throw new OpenStackError(`${list.length} load balancers are named "${ref}"; use an id`, { kind: 'ambiguous' });
  throw notFound('load balancer', ref);
}

export async function getPool(c: OpenStackClient, ref: string): Promise<any> {
  if (looksLikeId(ref)) {
    const got = await c.find('load-balancer', `/lbaas/pools/${ref}`);
    if (got) return got.pool;
  }
  const list = await c.list('load-balancer', '/lbaas/pools', 'pools', { query: { name: ref } });
  if (list.length === 1) return list[0];
  if (list.length > 1) throw new OpenStackError(`${list.length} pools are named "${ref}"; use an id`, { kind: 'ambiguous' });
  throw notFound('pool', ref);
}

export const poolLb = (pool: any): string => pool.loadbalancers?.[0]?.id;

/** Wait until the load balancer's provisioning_status is ACTIVE (ERROR fails; gone fails). */
export async function waitActive(c: OpenStackClient, ctx: ActionContext, lbId: string, timeoutMs: number): Promise<any> {
  return poll(ctx, { timeoutMs, what: `load balancer ${lbId} to be ACTIVE`, intervalMs: 50, maxIntervalMs: 1000, fastForMs: 3000 }, async () => {
    const got = await c.find('load-balancer', `/lbaas/loadbalancers/${lbId}`);
    if (!got) throw new OpenStackError(`load balancer ${lbId} no longer exists`, { kind: 'not-found' });
    const lb = got.loadbalancer;
    if (lb.provisioning_status === 'ERROR') throw new OpenStackError(`load balancer ${lb.name || lb.id} is in provisioning_status ERROR`, { kind: 'resource-error' });
    if (lb.provisioning_status === 'DELETED' || lb.provisioning_status === 'PENDING_DELETE') throw new OpenStackError(`load balancer ${lb.name || lb.id} is being deleted`, { kind: 'not-found' });
    return lb.provisioning_status === 'ACTIVE' ? lb : undefined;
  });
}

export const isImmutable = (e: unknown) => e instanceof OpenStackError && e.status === 409 && /immutable|PENDING/i.test(e.info.apiMessage ?? '');

export interface MutateResult<T> {
  result: T;
  /** 409 answers retried (another change held the load balancer). */
  conflicts: number;
}

export async function mutate<T>(c: OpenStackClient, ctx: ActionContext, lbId: string, timeoutMs: number, fn: () => Promise<T>, waitAfter = true): Promise<MutateResult<T>> {
  const end = Date.now() + timeoutMs;
  let conflicts = 0;
  for (;;) {
    await waitActive(c, ctx, lbId, Math.max(1000, end - Date.now()));
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      if (isImmutable(e) && Date.now() < end) {
        conflicts++;
        ctx.log(`load balancer ${lbId} is busy (409); waiting for ACTIVE and trying again (${conflicts})`);
        ctx.heartbeat({ progress: `load balancer busy (409 immutable), retry ${conflicts}`, conflicts });
        continue;
      }
      throw e;
    }
    if (waitAfter) await waitActive(c, ctx, lbId, Math.max(1000, end - Date.now()));
    return { result, conflicts };
  }
}

/** Octavia resources carry the step marker as a tag (tags on create since API 2.5). */
export function tagsWith(ctx: ActionContext, tags: string[]): { tags: string[]; mark: string } {
  const mark = marker(ctx.idempotencyKey);
  return { tags: [...new Set([...tags, mark])], mark };
}

/** Find a child resource we created in an earlier attempt (by marker tag), or one to adopt by name. */
export async function findExisting(c: OpenStackClient, ctx: ActionContext, path: string, key: string, mark: string, adoptName: string | undefined, filter: (r: any) => boolean = () => true): Promise<{ resource: any; created: boolean } | undefined> {
  if (ctx.attempt === 1 && !adoptName) return undefined;
  const t = await c.session.token(ctx.signal);
  const mine = (await c.list('load-balancer', path, key, { query: { tags: mark, project_id: t.projectId! } })).filter(filter);
  if (mine.length) return { resource: mine[0], created: true };
  if (adoptName) {
    const same = (await c.list('load-balancer', path, key, { query: { name: adoptName, project_id: t.projectId! } })).filter(filter);
    if (same.length > 1) throw new OpenStackError(`${same.length} ${key} are named "${adoptName}"; cannot adopt one`, { kind: 'ambiguous' });
    if (same.length === 1) return { resource: same[0], created: false };
  }
  return undefined;
}

export function memberSummary(m: any) {
  return { id: m.id, name: m.name, address: m.address, protocolPort: m.protocol_port, weight: m.weight, provisioningStatus: m.provisioning_status, operatingStatus: m.operating_status, adminStateUp: m.admin_state_up };
}

/** A create's dry run from what the lookup found: "exists, no change", or "would create" with a one-line diff. */
export function createDryRun(noun: string, where: string, found: { resource: any; created?: boolean } | undefined): DryRunResult {
  if (found) return { changed: false, effect: 'none', summary: `${noun} exists (${found.resource.id}${found.created === false ? ', adopted' : ''})` };
  return { changed: true, effect: 'create', summary: `create ${noun} ${where}`, diff: `+ ${noun}` };
}

/** A pool's member by id, or by address and protocol port; undefined when there is none. */
export async function findMember(c: OpenStackClient, poolId: string, ref: { id?: string; address?: string; protocolPort?: number }): Promise<any | undefined> {
  if (ref.id) return (await c.find('load-balancer', `/lbaas/pools/${poolId}/members/${ref.id}`))?.member;
  return (await c.list('load-balancer', `/lbaas/pools/${poolId}/members`, 'members', { query: { address: ref.address, protocol_port: ref.protocolPort } }))[0];
}

/** "10.0.0.5:80", or the member id when given. */
export const memberRef = (i: { id?: string; address?: string; protocolPort?: number }) => i.id || `${i.address}:${i.protocolPort}`;
