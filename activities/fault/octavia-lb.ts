/**
 * `octavia-lb`: take an Octavia load balancer out of service (admin_state_up=false) and put it
 * back (true), with the project's OpenStack client. Changes go through `mutate`, which waits
 * for provisioning_status ACTIVE before and after and retries Octavia's 409 while another change
 * holds the load balancer, so concurrent changes serialise. Restore of a load balancer that no
 * longer exists succeeds (nothing to restore).
 */
import { z } from 'zod';
import { OpenStackError } from '../openstack/errors';
import { Duration, ms, target, withClient } from '../openstack/common';
import { getLoadBalancer, mutate } from '../openstack/loadbalancer/lb';
import { defineFaultKind, type FaultContext } from './kind';

export const OctaviaLbFault = z.strictObject({
  kind: z.literal('octavia-lb'),
  ...target,
  loadbalancer: z.string().min(1).describe('Load balancer name or id'),
  timeout: Duration.default('10m').describe('Wait for provisioning_status ACTIVE at most this long'),
});
export type OctaviaLbFault = z.output<typeof OctaviaLbFault>;

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
    const before = view(lb);
    if (lb.admin_state_up === up || ctx.dryRun) return { changed: lb.admin_state_up !== up, details: { ...before, before } };
    const { conflicts } = await mutate(c, ctx, lb.id, ms(s.timeout), async () => (await c.put('load-balancer', `/lbaas/loadbalancers/${lb.id}`, { loadbalancer: { admin_state_up: up } })).body.loadbalancer);
    // Read back after ACTIVE: operating_status follows the admin state (OFFLINE when disabled).
    const after = view((await c.get('load-balancer', `/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer);
    return { changed: true, details: { ...after, before, conflicts, diff: [`load balancer ${lb.name || lb.id}: admin_state_up ${!up} -> ${up}`] } };
  });
}

export default defineFaultKind({
  kind: 'octavia-lb',
  schema: OctaviaLbFault,
  describe: (s) => `Octavia load balancer ${s.loadbalancer} on ${s.cloud}${s.region ? `/${s.region}` : ''} (admin down)`,
  inject: (s, ctx) => setAdminState(s, ctx, false),
  restore: (s, ctx) => setAdminState(s, ctx, true),
});
