/**
 * `openstack.server.prepare`: resolve flavor, image, network and security groups once, check
 * the compute quota, and pick the names of N new servers, so the per-server steps that follow
 * need no lookups and a run that cannot fit fails before creating anything.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { OpenStackError } from '../errors';
import { findByNameOrId, target, withClient } from '../common';
import { resolveFlavor, resolveImage, resolveNetwork } from './servers';

export default defineAction({
  name: 'openstack.server.prepare',
  readOnly: true,
  predicts: true,
  description: 'Resolve flavor/image/network/security groups to ids, check quota, and name N new servers (prefix-1, prefix-2, ... after the highest existing).',
  input: z.strictObject({
    ...target,
    count: z.number().int().min(1).max(1000),
    namePrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/, 'letters, digits, ".", "_", "-"'),
    flavor: z.string().min(1),
    image: z.string().min(1),
    network: z.string().min(1).describe('Network name or id for the servers\' ports'),
    securityGroups: z.array(z.string().min(1)).default([]).describe('Security group names or ids'),
    startIndex: z.number().int().min(1).optional().describe('First number to use (default: after the highest existing <prefix>-N)'),
  }),
  async run(input, ctx) {
    return withClient('openstack.server.prepare', input, ctx, async (c) => {
      // One round of parallel requests: lookups, limits, and the names already taken.
      const escaped = input.namePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const t = await c.session.token(ctx.signal);
      const [flavor, image, network, sgs, limitsRes, existing] = await Promise.all([
        resolveFlavor(c, input.flavor),
        resolveImage(c, input.image),
        resolveNetwork(c, input.network),
        Promise.all(input.securityGroups.map((g) => findByNameOrId<any>(c, 'network', '/security-groups', 'security_groups', g, 'security group', { project_id: t.projectId! }))),
        c.get('compute', '/limits'),
        input.startIndex === undefined ? c.list('compute', '/servers', 'servers', { query: { name: `^${escaped}-[0-9]+$` } }) : Promise.resolve([]),
      ]);
      const limits = limitsRes.body.limits.absolute;
      const free = (max: number, used: number) => (max < 0 ? Infinity : max - used);
      const lack: string[] = [];
      if (free(limits.maxTotalInstances, limits.totalInstancesUsed) < input.count) lack.push(`instances: ${input.count} wanted, ${free(limits.maxTotalInstances, limits.totalInstancesUsed)} free`);
      if (free(limits.maxTotalCores, limits.totalCoresUsed) < input.count * flavor.vcpus) lack.push(`cores: ${input.count * flavor.vcpus} wanted, ${free(limits.maxTotalCores, limits.totalCoresUsed)} free`);
      if (free(limits.maxTotalRAMSize, limits.totalRAMUsed) < input.count * flavor.ram) lack.push(`ram: ${input.count * flavor.ram} MB wanted, ${free(limits.maxTotalRAMSize, limits.totalRAMUsed)} MB free`);
      if (lack.length) throw new OpenStackError(`not enough compute quota for ${input.count} x ${flavor.name}: ${lack.join('; ')}`, { status: 403, apiMessage: 'Quota exceeded' });
      let start = input.startIndex;
      if (start === undefined) {
        const nums = existing.map((s: any) => Number(/-(\d+)$/.exec(s.name)?.[1] ?? 0));
        start = (nums.length ? Math.max(...nums) : 0) + 1;
      }
      const names = Array.from({ length: input.count }, (_, i) => `${input.namePrefix}-${start! + i}`);
      return {
        names,
        flavorId: flavor.id,
        imageId: image.id,
        networkId: network.id,
        subnetId: network.subnets[0] ?? null,
        securityGroupIds: sgs.map((g) => g.id),
        quota: { instancesFree: free(limits.maxTotalInstances, limits.totalInstancesUsed), coresFree: free(limits.maxTotalCores, limits.totalCoresUsed) },
        changed: false,
      };
    });
  },
  plan: (i) => `resolve ${i.flavor}/${i.image}/${i.network} on ${i.cloud} and name ${i.count} server(s) ${i.namePrefix}-N`,
});
