/**
 * `octavia-lb`: take an Octavia load balancer out of service (admin_state_up=false) and put it
 * back (true), with the project's OpenStack client. Changes go through `mutate`, which waits
 * for provisioning_status ACTIVE before and after and retries Octavia's 409 while another change
 * holds the load balancer, so concurrent changes serialise.
 *
 * Inject disables the load balancer and tags it `runwright-fault:<label>` in one PUT, and only
 * when it was enabled: one already disabled (by an operator, or by another drill) is left as it
 * is, untagged (changed false, with a note). Restore enables it only when our tag is on it, and
 * removes the tag in the same PUT; without the tag it changes nothing. Restore of a load
 * balancer that no longer exists succeeds (nothing to restore).
 */
import { z } from 'zod';
import { OpenStackError } from '../openstack/errors';
import { Duration, ms, target, withClient } from '../openstack/common';
import { getLoadBalancer, mutate } from '../openstack/loadbalancer/lb';
import { defineFaultKind, type FaultContext } from './kind';
import { faultLabel, Label, type FaultOwner } from './label';

export const OctaviaLbFault = z.strictObject({
  kind: z.literal('octavia-lb'),
  ...target,
  loadbalancer: z.string().min(1).describe('Load balancer name or id'),
  timeout: Duration.default('10m').describe('Wait for provisioning_status ACTIVE at most this long'),
  label: Label,
});
export type OctaviaLbFault = z.output<typeof OctaviaLbFault>;

/** The tag inject leaves on a load balancer it disabled (the label is derived from its id). */
export const lbFaultTag = (s: OctaviaLbFault, lbId: string, owner?: FaultOwner) =>
  `runwright-fault:${faultLabel({ kind: 'octavia-lb', cloud: s.cloud, region: s.region, loadbalancer: lbId }, owner, s.label)}`;

const view = (lb: any) => ({ id: lb.id, name: lb.name, adminStateUp: lb.admin_state_up, provisioningStatus: lb.provisioning_status, operatingStatus: lb.operating_status });

async function setAdminState(s: OctaviaLbFault, ctx: FaultContext, up: boolean) {
  return withClient(`fault octavia-lb ${up ? 'restore' : 'inject'} ${s.loadbalancer}`, s, ctx, async (c) => {
    let lb: any;
    try {
      lb = await getLoadBalancer(c, s.loadbalancer);
    } catch (e) {
      if (up && e instanceof OpenStackError && e.info.kind === 'not-found') return { changed: false, details: { loadbalancer: s.loadbalancer, missing: true } };
      throw e;
    }
    const tag = lbFaultTag(s, lb.id, ctx);
    const tags: string[] = lb.tags ?? [];
    const marked = tags.includes(tag);
    const before = view(lb);
    const name = lb.name || lb.id;
    const base = { ...before, before, tag, marked };
    if (!up && !lb.admin_state_up) {
      const note = marked ? 'already disabled by this drill (its tag is on the load balancer)' : `load balancer ${name} was already disabled before the drill: nothing to do, no tag added, restore will leave it disabled`;
      return { changed: false, details: { ...base, note } };
    }
    if (up && !marked) {
      return { changed: false, details: { ...base, note: `no ${tag} tag on load balancer ${name}: this drill did not disable it, left as it is (admin_state_up ${lb.admin_state_up})` } };
    }
    // Inject: disable and tag; restore: enable (unless already enabled) and untag. One PUT each.
    const diff = [
      ...(lb.admin_state_up !== up ? [`load balancer ${name}: admin_state_up ${!up} -> ${up}`] : []),
      `load balancer ${name}: ${up ? '-' : '+'} tag ${tag}`,
    ];
    if (ctx.dryRun) return { changed: true, details: { ...base, diff } };
    const { conflicts } = await mutate(c, ctx, lb.id, ms(s.timeout), async () => {
      // Read again once ACTIVE: tags someone changed meanwhile are kept.
      const now = (await c.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer;
      const nowTags: string[] = now.tags ?? [];
      const body = { admin_state_up: up, tags: up ? nowTags.filter((t) => t !== tag) : [...new Set([...nowTags, tag])] };
      return (await c.put('load-balancer', `/lbaas/loadbalancers/${lb.id}`, { loadbalancer: body })).body.loadbalancer;
    });
    // Read back after ACTIVE: operating_status follows the admin state (OFFLINE when disabled).
    const afterLb = (await c.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer;
    return { changed: true, details: { ...view(afterLb), before, tag, marked: (afterLb.tags ?? []).includes(tag), conflicts, diff } };
  });
}

export default defineFaultKind({
  kind: 'octavia-lb',
  schema: OctaviaLbFault,
  describe: (s) => `Octavia load balancer ${s.loadbalancer} on ${s.cloud}${s.region ? `/${s.region}` : ''} (admin down)`,
  inject: (s, ctx) => setAdminState(s, ctx, false),
  restore: (s, ctx) => setAdminState(s, ctx, true),
});
