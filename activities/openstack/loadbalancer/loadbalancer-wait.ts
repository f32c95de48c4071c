/** `openstack.loadbalancer.wait`: wait for provisioning_status ACTIVE and, optionally, an operating_status. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { Duration, ms, poll, target, withClient } from '../common';
import { getLoadBalancer, waitActive } from './lb';

export default defineAction({
  name: 'openstack.loadbalancer.wait',
  readOnly: true,
  description: 'Wait until a load balancer (name or id) is ACTIVE and, if given, in one of the operating statuses (ONLINE, DEGRADED, ...).',
  input: z.strictObject({ ...target, loadbalancer: z.string().min(1), operatingStatus: z.array(z.enum(['ONLINE', 'DRAINING', 'OFFLINE', 'DEGRADED', 'ERROR', 'NO_MONITOR'])).default([]), timeout: Duration.default('10m') }),
  async run(input, ctx) {
    return withClient(`openstack.loadbalancer.wait ${input.loadbalancer}`, input, ctx, async (c) => {
      const id = (await getLoadBalancer(c, input.loadbalancer)).id;
      let lb = await waitActive(c, ctx, id, ms(input.timeout));
      if (input.operatingStatus.length)
        lb = await poll(ctx, { timeoutMs: ms(input.timeout), what: `load balancer ${lb.name || id} to be ${input.operatingStatus.join(' or ')}` }, async () => {
          const cur = (await c.get('load-balancer', `/lbaas/loadbalancers/${id}`)).body.loadbalancer;
          if (cur.provisioning_status === 'ERROR') throw new OpenStackError(`load balancer ${cur.name || id} is in ERROR`, { kind: 'resource-error' });
          return input.operatingStatus.includes(cur.operating_status) ? cur : undefined;
        });
      return { id, name: lb.name, provisioningStatus: lb.provisioning_status, operatingStatus: lb.operating_status, vipAddress: lb.vip_address, changed: false };
    });
  },
  plan: (i) => `wait for load balancer ${i.loadbalancer} to be ACTIVE${i.operatingStatus.length ? ` and ${i.operatingStatus.join('/')}` : ''}`,
});
