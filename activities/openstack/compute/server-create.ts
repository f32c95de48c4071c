/**
 * `openstack.server.create`: boot one server. Idempotent: the step's marker goes into the
 * server's metadata, and a retried attempt (a worker that crashed between the request and the
 * answer) looks for it by name and marker before booting another.
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { Duration, NOVA_MARKER_KEY, looksLikeId, marker, ms, target, withClient } from '../common';
import { exactName, resolveFlavor, resolveImage, resolveNetwork, summarize, waitServers } from './servers';

const Nic = z.union([
  z.strictObject({ network: z.string().min(1).describe('Network name or id'), fixedIp: z.string().optional() }),
  z.strictObject({ port: z.string().min(1).describe('Port id (from openstack.port.create)') }),
]);

export default defineAction({
  name: 'openstack.server.create',
  description: 'Boot a server (flavor and image by name or id, networks or ports, key, user data, metadata, tags, availability zone, server group); optionally wait for ACTIVE.',
  input: z.strictObject({
    ...target,
    name: z.string().min(1).max(255),
    flavor: z.string().min(1).describe('Flavor name or id'),
    image: z.string().min(1).describe('Image name or id'),
    networks: z.union([z.literal('auto'), z.literal('none'), z.array(Nic).min(1)]).default('auto'),
    securityGroups: z.array(z.string().min(1)).default([]).describe('For the ports Nova creates (not for ports you pass)'),
    keyName: z.string().default(''),
    userData: z.string().default('').describe('Cloud-init user data (plain text; encoded by the action)'),
    metadata: z.record(z.string(), z.string()).default({}),
    tags: z.array(z.string().min(1).max(60)).default([]),
    availabilityZone: z.string().default(''),
    serverGroup: z.string().default('').describe('Server group id (scheduler hint)'),
    adopt: z.boolean().default(false).describe('Reuse a server that already has this exact name instead of booting another'),
    wait: z.boolean().default(false).describe('Wait until ACTIVE (ERROR fails with the fault)'),
    timeout: Duration.default('10m'),
  }),
  async run(input, ctx) {
    return withClient(`openstack.server.create ${input.name}`, input, ctx, async (c) => {
      const mark = marker(ctx.idempotencyKey);
      // Only a retry (or adoption) can find an earlier server: attempt 1 goes straight to POST.
      if (ctx.attempt > 1 || input.adopt) {
        const same = await c.list('compute', '/servers/detail', 'servers', { query: { name: exactName(input.name) } });
        const mine = same.find((s: any) => s.metadata?.[NOVA_MARKER_KEY] === mark) ?? (input.adopt ? same.find((s: any) => s.status !== 'ERROR') : undefined);
        if (mine) {
          ctx.log(`server ${input.name} already exists (${mine.id}); not booting another`);
          const s = input.wait ? (await waitServers(c, ctx, [mine.id], 'ACTIVE', ms(input.timeout)))[0] : mine;
          return { ...summarize(s), created: mine.metadata?.[NOVA_MARKER_KEY] === mark, changed: false, marker: mark };
        }
      }
      const flavorRef = /^\d+$/.test(input.flavor) || looksLikeId(input.flavor) ? input.flavor : (await resolveFlavor(c, input.flavor)).id;
      const imageRef = looksLikeId(input.image) ? input.image : (await resolveImage(c, input.image)).id;
      let networks: unknown = input.networks;
      if (Array.isArray(input.networks)) {
        networks = await Promise.all(
          input.networks.map(async (n) => ('port' in n ? { port: n.port } : { uuid: looksLikeId(n.network) ? n.network : (await resolveNetwork(c, n.network)).id, ...(n.fixedIp ? { fixed_ip: n.fixedIp } : {}) })),
        );
      }
      const server: Record<string, unknown> = {
        name: input.name,
        flavorRef,
        imageRef,
        networks,
        metadata: { ...input.metadata, [NOVA_MARKER_KEY]: mark },
      };
      if (input.securityGroups.length) server.security_groups = input.securityGroups.map((name) => ({ name }));
      if (input.keyName) server.key_name = input.keyName;
      if (input.userData) server.user_data = Buffer.from(input.userData, 'utf8').toString('base64');
      if (input.availabilityZone) server.availability_zone = input.availabilityZone;
      if (input.tags.length) server.tags = input.tags;
      const body: Record<string, unknown> = { server };
      if (input.serverGroup) body['os:scheduler_hints'] = { group: input.serverGroup };
      // Tags on create need 2.52, networks "auto"/"none" 2.37: the default microversion (2.60) has both.
      const res = await c.post('compute', '/servers', body);
      const id: string = res.body.server.id;
      ctx.heartbeat({ progress: `booting ${input.name} (${id})`, id });
      if (input.wait) {
        const [s] = await waitServers(c, ctx, [id], 'ACTIVE', ms(input.timeout));
        return { ...summarize(s), created: true, changed: true, marker: mark };
      }
      return { id, name: input.name, status: 'BUILD', taskState: null, host: null, ips: [], fixedIps: [], floatingIps: [], metadata: server.metadata, created: true, changed: true, marker: mark };
    });
  },
  plan: (i) => `boot server ${i.name} (${i.flavor}, ${i.image}) on ${i.cloud}${i.region ? `/${i.region}` : ''}${i.wait ? ', wait for ACTIVE' : ''}`,
});
