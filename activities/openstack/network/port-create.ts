/**
 * `openstack.port.create`: a port for a server, with its fixed IP known before the server
 * exists. Idempotent across retries (marker in the description); not adopted by name.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { looksLikeId, target, withClient, undoneBy } from '../common';
import { lookupNeutron, ensureNeutron, findNetwork, findSecurityGroup, findSubnet } from './neutron';

export default defineAction({
  name: 'openstack.port.create',
  description: 'Create a port on a network (optional subnet/fixed IP, security groups by name or id); outputs its id and IP.',
  input: z.strictObject({
    ...target,
    network: z.string().min(1).describe('Network name or id'),
    name: z.string().default(''),
    subnet: z.string().default('').describe('Subnet name or id for the fixed IP'),
    fixedIp: z.string().default(''),
    securityGroups: z.array(z.string().min(1)).optional().describe("Names or ids (default: the project's default group)"),
    description: z.string().default(''),
    adopt: z.boolean().default(false).describe('Reuse a port of this name in the project'),
  }),
  inverse: undoneBy('openstack.port.delete'),
  async run(input, ctx) {
    return withClient(`openstack.port.create ${input.name || input.network}`, input, ctx, async (c) => {
      const netId = looksLikeId(input.network) ? input.network : (await findNetwork(c, input.network)).id;
      const body: Record<string, unknown> = { network_id: netId, name: input.name, description: input.description || undefined };
      const ip: Record<string, string> = {};
      if (input.subnet) ip.subnet_id = looksLikeId(input.subnet) ? input.subnet : (await findSubnet(c, input.subnet)).id;
      if (input.fixedIp) ip.ip_address = input.fixedIp;
      if (Object.keys(ip).length) body.fixed_ips = [ip];
      if (input.securityGroups) body.security_groups = await Promise.all(input.securityGroups.map(async (g) => (looksLikeId(g) ? g : (await findSecurityGroup(c, ctx, g)).id)));
      const { resource, created, changed } = await ensureNeutron(c, ctx, { path: '/ports', key: 'port', what: 'port', adopt: input.adopt, body, filters: { network_id: netId } });
      return { id: resource.id, name: resource.name, networkId: netId, ip: resource.fixed_ips?.[0]?.ip_address ?? null, subnetId: resource.fixed_ips?.[0]?.subnet_id ?? null, macAddress: resource.mac_address, created, changed };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.port.create ${input.name || input.network} (dry run)`, input, ctx, async (c) => {
      const what = `port ${input.name || '(unnamed)'} on ${input.network}`;
      const create = { changed: true, effect: 'create' as const, summary: `create ${what}`, diff: `+ ${what}` };
      if (!input.adopt || !input.name) return create;
      const net = looksLikeId(input.network) ? { id: input.network } : await findNetwork(c, input.network).catch((e) => {
            if ((e as { info?: { kind?: string } }).info?.kind === 'not-found') return undefined;
            throw e;
          });
      if (!net) return { ...create, summary: `${create.summary} (the network does not exist yet)` };
      const hit = await lookupNeutron(c, ctx, { path: '/ports', key: 'port', what: 'port', adopt: true, body: { name: input.name }, filters: { network_id: net.id } });
      return hit ? { changed: false, effect: 'none', summary: `port ${input.name} exists (${hit.resource.id})` } : create;
    });
  },
  plan: (i) => `create port ${i.name || ''} on ${i.network}`.replace('  ', ' '),
});
