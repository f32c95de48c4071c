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
  const found = await listCandidates(c, ctx, o);
  const mine = oneOfMine(found, ctx);
  if (mine) return { resource: mine, created: true };
  const name = o.body.name as string | undefined;
  if (o.adopt && name) {
    const same = found.filter((r: any) => r.name === name);
    if (same.length > 1) throw new OpenStackError(`${same.length} ${o.what}s are named "${name}" in this project; cannot adopt one`, { kind: 'ambiguous' });
    if (same.length === 1) return { resource: same[0], created: false };
  }
  return undefined;
}

/** Resources a lookup considers: by name (or by our marker when unnamed), in our project. */
async function listCandidates(c: OpenStackClient, ctx: ActionContext, o: EnsureOptions): Promise<any[]> {
  const listKey = o.path === '/security-groups' ? 'security_groups' : o.path.slice(1);
  const name = o.body.name as string | undefined;
  const t = await c.session.token(ctx.signal);
  const query: Record<string, string> = { ...(o.filters ?? {}), project_id: t.projectId! };
  if (name) query.name = name;
  else query.description = neutronDescription(o.body.description as string | undefined, marker(ctx.idempotencyKey));
  return c.list('network', o.path, listKey, { query });
}

/**
 * This step's resource. Two attempts of one step can run at once (a worker cut off from Temporal
 * keeps running attempt 1 while attempt 2 starts elsewhere), and each may create one: every
 * attempt then picks the same one, the oldest (id breaks ties), and the others are deleted.
 */
function oneOfMine(found: any[], ctx: ActionContext): any | undefined {
  const mark = marker(ctx.idempotencyKey);
  const mine = found.filter((r: any) => hasNeutronMarker(r.description, mark));
  mine.sort((a: any, b: any) => String(a.created_at ?? '').localeCompare(String(b.created_at ?? '')) || String(a.id).localeCompare(String(b.id)));
  return mine[0];
}

export async function ensureNeutron(c: OpenStackClient, ctx: ActionContext, o: EnsureOptions): Promise<{ resource: any; created: boolean; changed: boolean }> {
  if (ctx.attempt > 1 || o.adopt) {
    const hit = await lookupNeutron(c, ctx, o);
    if (hit) return { ...hit, changed: false };
  }
  const mark = marker(ctx.idempotencyKey);
  const body = { ...o.body, description: neutronDescription(o.body.description as string | undefined, mark) };
  const res = await c.post('network', o.path, { [o.key]: body });
  // Converge with a concurrent attempt of this step: keep one, delete what the other made.
  const found = await listCandidates(c, ctx, o);
  const keep = oneOfMine(found, ctx) ?? res.body[o.key];
  for (const r of found)
    if (r.id !== keep.id && hasNeutronMarker(r.description, mark)) {
      ctx.log(`${o.what} ${r.id} was made by a concurrent attempt of this step; deleting it and keeping ${keep.id}`);
      await c.deleteIfExists('network', `${o.path}/${r.id}`);
    }
  return { resource: keep, created: true, changed: true };
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
