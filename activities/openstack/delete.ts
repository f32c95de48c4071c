/**
 * One factory for the OpenStack deletes that are "this resource by id (or name), 404 is fine":
 * networks, subnets, ports, security groups and rules, keypairs, and the Octavia children
 * (listeners, pools, health monitors) that also wait for their load balancer and retry 409.
 *
 * `skip` is kept for runbooks written before `compensate.when`; new runbooks write
 * `compensate: { when: "{{ steps.X.outputs.created }}" }` instead.
 */
import { z } from 'zod';
import { defineAction } from '../define';
import type { OpenStackClient, ServiceType } from './client';
import { Duration, Skip, ms, target, withClient } from './common';
import { mutate } from './loadbalancer/lb';

export interface DeleteSpec {
  name: string;
  description: string;
  /** For plan text: "delete <noun> <ref>". */
  noun: string;
  /** For plan text with skip: "(skip) keep <keepNoun> <ref>" (default noun). */
  keepNoun?: string;
  service: ServiceType;
  /** The resource's URL path from its reference. */
  path(ref: string): string;
  /** Referenced by `name` (keypairs) instead of `id`. */
  by?: 'id' | 'name';
  /** Octavia children: the load balancer to serialise on, or undefined when the resource is gone. */
  loadBalancerOf?(c: OpenStackClient, id: string): Promise<string | undefined>;
}

type DeleteInput = { cloud: string; region: string; timeout: number | string; skip: boolean } & Record<string, unknown>;

export function deleteAction(s: DeleteSpec) {
  const by = s.by ?? 'id';
  const input = z.strictObject({
    ...target,
    [by]: z.string().min(1),
    ...(s.loadBalancerOf ? { timeout: Duration.default('10m') } : {}),
    skip: Skip,
  }) as unknown as z.ZodType<DeleteInput>;
  return defineAction({
    name: s.name,
    description: s.description,
    input,
    async run(i, ctx) {
      const ref = String(i[by]);
      const id = { [by]: ref };
      if (i.skip) return { ...id, deleted: false, skipped: true, changed: false };
      return withClient(`${s.name} ${ref}`, i, ctx, async (c) => {
        const del = () => c.deleteIfExists(s.service, s.path(ref));
        if (!s.loadBalancerOf) {
          const deleted = await del();
          return { ...id, deleted, changed: deleted };
        }
        const lb = await s.loadBalancerOf(c, ref);
        if (!lb) return { ...id, deleted: false, changed: false };
        const { result } = await mutate(c, ctx, lb, ms(i.timeout), del);
        return { ...id, deleted: result, changed: result };
      });
    },
    async dryRun(i, ctx) {
      const ref = String(i[by]);
      const keep = { changed: false, effect: 'none' as const, summary: `${s.noun} ${ref}: ${i.skip ? 'kept (skip)' : 'already gone'}` };
      if (i.skip) return keep;
      return withClient(`${s.name} ${ref} (dry run)`, i, ctx, async (c) => {
        const exists = s.loadBalancerOf ? (await s.loadBalancerOf(c, ref)) !== undefined : !!(await c.find(s.service, s.path(ref)));
        return exists ? { changed: true, effect: 'destroy', summary: `delete ${s.noun} ${ref}`, diff: `- ${s.noun} ${ref}` } : keep;
      });
    },
    plan: (i) => {
      const ref = String(i[by]);
      return i.skip ? `(skip) keep ${s.keepNoun ?? s.noun} ${ref}` : `delete ${s.noun} ${ref}`;
    },
  });
}
