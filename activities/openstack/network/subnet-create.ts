/** `openstack.subnet.create`: an IPv4 subnet on a network (adopts one of the same name by default). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient, undoneBy } from '../common';
import { lookupNeutron, ensureNeutron, findNetwork } from './neutron';

export default defineAction({
  name: 'openstack.subnet.create',
  description: 'Create a subnet (CIDR, gateway, DNS, DHCP) on a network by name or id; idempotent.',
  input: z.strictObject({
    ...target,
    network: z.string().min(1),
    name: z.string().min(1).max(255),
    cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR like 10.1.0.0/24'),
    gatewayIp: z.string().default('').describe('Default: the first address'),
    dnsNameservers: z.array(z.string()).default([]),
    enableDhcp: z.boolean().default(true),
    adopt: z.boolean().default(true),
  }),
  inverse: undoneBy('openstack.subnet.delete'),
  async run(input, ctx) {
    return withClient(`openstack.subnet.create ${input.name}`, input, ctx, async (c) => {
      const net = await findNetwork(c, input.network);
      const body: Record<string, unknown> = { name: input.name, network_id: net.id, ip_version: 4, cidr: input.cidr, enable_dhcp: input.enableDhcp };
      if (input.gatewayIp) body.gateway_ip = input.gatewayIp;
      if (input.dnsNameservers.length) body.dns_nameservers = input.dnsNameservers;
      const { resource, created, changed } = await ensureNeutron(c, ctx, { path: '/subnets', key: 'subnet', what: 'subnet', adopt: input.adopt, body, filters: { network_id: net.id } });
      return { id: resource.id, name: resource.name, networkId: net.id, cidr: resource.cidr, created, changed };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.subnet.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const net = await findNetwork(c, input.network).catch((e) => {
        if ((e as { info?: { kind?: string } }).info?.kind === 'not-found') return undefined;
        throw e;
      });
      const create = { changed: true, effect: 'create' as const, summary: `create subnet ${input.name} (${input.cidr}) on network ${input.network}`, diff: `+ subnet ${input.name} ${input.cidr}` };
      if (!net) return { ...create, summary: `${create.summary} (the network does not exist yet)` };
      const hit = await lookupNeutron(c, ctx, { path: '/subnets', key: 'subnet', what: 'subnet', adopt: input.adopt, body: { name: input.name }, filters: { network_id: net.id } });
      return hit ? { changed: false, effect: 'none', summary: `subnet ${input.name} exists (${hit.resource.id}, ${hit.resource.cidr})` } : create;
    });
  },
  plan: (i) => `ensure subnet ${i.name} (${i.cidr}) on network ${i.network}`,
});
