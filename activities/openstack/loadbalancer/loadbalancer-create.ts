/** `openstack.loadbalancer.create`: an Octavia load balancer (adopts one of the same name by default), waiting for ACTIVE. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, looksLikeId, ms, target, withClient, undoneBy } from '../common';
import { findNetwork, findSubnet } from '../network/neutron';
import { createDryRun, findExisting, tagsWith, waitActive } from './lb';

export default defineAction({
  name: 'openstack.loadbalancer.create',
  description: 'Create a load balancer with its VIP on a subnet (or network), wait for provisioning_status ACTIVE; idempotent.',
  input: z.strictObject({
    ...target,
    name: z.string().min(1).max(255),
    vipSubnet: z.string().default('').describe('Subnet name or id for the VIP'),
    vipNetwork: z.string().default('').describe('Network name or id (when no subnet is given)'),
    vipAddress: z.string().default(''),
    provider: z.string().default(''),
    description: z.string().default(''),
    tags: z.array(z.string()).default([]),
    adopt: z.boolean().default(true),
    wait: z.boolean().default(true),
    timeout: Duration.default('10m'),
  }),
  inverse: undoneBy('openstack.loadbalancer.delete'),
  async run(input, ctx) {
    return withClient(`openstack.loadbalancer.create ${input.name}`, input, ctx, async (c) => {
      const { tags, mark } = tagsWith(ctx, input.tags);
      let lb: any;
      let created = true;
      let changed = false;
      const found = await findExisting(c, ctx, '/lbaas/loadbalancers', 'loadbalancers', mark, input.adopt ? input.name : undefined, (r) => r.provisioning_status !== 'PENDING_DELETE');
      if (found) ({ resource: lb, created } = found);
      else {
        const body: Record<string, unknown> = { name: input.name, tags, admin_state_up: true };
        if (input.vipSubnet) body.vip_subnet_id = looksLikeId(input.vipSubnet) ? input.vipSubnet : (await findSubnet(c, input.vipSubnet)).id;
        else if (input.vipNetwork) body.vip_network_id = looksLikeId(input.vipNetwork) ? input.vipNetwork : (await findNetwork(c, input.vipNetwork)).id;
        if (input.vipAddress) body.vip_address = input.vipAddress;
        if (input.provider) body.provider = input.provider;
        if (input.description) body.description = input.description;
        lb = (await c.post('load-balancer', '/lbaas/loadbalancers', { loadbalancer: body })).body.loadbalancer;
        ctx.heartbeat({ progress: `creating load balancer ${input.name} (${lb.id})`, id: lb.id });
        changed = true;
      }
      if (input.wait) lb = await waitActive(c, ctx, lb.id, ms(input.timeout));
      return { id: lb.id, name: lb.name, vipAddress: lb.vip_address, vipPortId: lb.vip_port_id, vipSubnetId: lb.vip_subnet_id, provisioningStatus: lb.provisioning_status, operatingStatus: lb.operating_status, created, changed };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.loadbalancer.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const found = await findExisting(c, ctx, '/lbaas/loadbalancers', 'loadbalancers', tagsWith(ctx, []).mark, input.adopt ? input.name : undefined, (r) => r.provisioning_status !== 'PENDING_DELETE');
      return createDryRun(`load balancer ${input.name}`, `with its VIP on ${input.vipSubnet || input.vipNetwork || 'the default network'} on ${input.cloud}`, found);
    });
  },
  plan: (i) => `ensure load balancer ${i.name} (VIP on ${i.vipSubnet || i.vipNetwork})`,
});
