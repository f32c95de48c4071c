/** Neutron helpers: idempotent create (marker in description), name-or-id lookups. */
import type { ActionContext } from '../../define';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';
import { findByNameOrId, hasNeutronMarker, marker, neutronDescription } from '../common';

export interface EnsureOptions {
  /** Collection path, e.g. "/ports"; response key singular, e.g. "port". */
  path: string;
  key: string;
  what: string;
  body: Record<string, unknown>;
  /** Reuse a resource of this name (in our project) that we did not create. */
  adopt: boolean;
  /** Extra filters for the lookup (e.g. network_id). */
  filters?: Record<string, string>;
}

/**
 * Create a Neutron resource once per step. The step marker is appended to `description`
 * (accepted on create by every resource with standard attributes), so a retried attempt finds
 * the resource it created before the crash; with `adopt`, an existing one of the same name
 * in our project is used instead (created: false, and its compensation is skipped).
 */
/**
 * What ensureNeutron would find, read-only: the resource this step made (marker), or with
 * `adopt` the one of the same name; undefined when it would create one. Also a dry run's lookup.
 */
export async function lookupNeutron(c: OpenStackClient, ctx: ActionContext, o: EnsureOptions): Promise<{ resource: any; created: boolean } | undefined> {
  const mark = marker(ctx.idempotencyKey);
  const listKey = o.path === '/security-groups' ? 'security_groups' : o.path.slice(1);
  const name = o.body.name as string | undefined;
  const t = await c.session.token(ctx.signal);
  const query: Record<string, string> = { ...(o.filters ?? {}), project_id: t.projectId! };
  if (name) query.name = name;
  else query.description = neutronDescription(o.body.description as string | undefined, mark);
  const found = await c.list('network', o.path, listKey, { query });
  const mine = found.find((r: any) => hasNeutronMarker(r.description, mark));
  if (mine) return { resource: mine, created: true };
  if (o.adopt && name) {
    const same = found.filter((r: any) => r.name === name);
    if (same.length > 1) throw new OpenStackError(`${same.length} ${o.what}s are named "${name}" in this project; cannot adopt one`, { kind: 'ambiguous' });
    if (same.length === 1) return { resource: same[0], created: false };
  }
  return undefined;
}

export async function ensureNeutron(c: OpenStackClient, ctx: ActionContext, o: EnsureOptions): Promise<{ resource: any; created: boolean; changed: boolean }> {
  if (ctx.attempt > 1 || o.adopt) {
    const hit = await lookupNeutron(c, ctx, o);
    if (hit) return { ...hit, changed: false };
  }
  const body = { ...o.body, description: neutronDescription(o.body.description as string | undefined, marker(ctx.idempotencyKey)) };
  const res = await c.post('network', o.path, { [o.key]: body });
  return { resource: res.body[o.key], created: true, changed: true };
}

export function findNetwork(c: OpenStackClient, ref: string) {
  return findByNameOrId<any>(c, 'network', '/networks', 'networks', ref, 'network');
}
export function findSubnet(c: OpenStackClient, ref: string) {
  return findByNameOrId<any>(c, 'network', '/subnets', 'subnets', ref, 'subnet');
}
/** Security groups by name are looked up in our own project (an admin sees every project's "default"). */
export async function findSecurityGroup(c: OpenStackClient, ctx: ActionContext, ref: string) {
  const t = await c.session.token(ctx.signal);
  return findByNameOrId<any>(c, 'network', '/security-groups', 'security_groups', ref, 'security group', { project_id: t.projectId! });
}
