/** `openstack.floating-ip.create`: allocate a floating IP from an external network, optionally on a port. */
import { z } from 'zod';
import { defineAction } from '../../define';
import type { OpenStackClient } from '../client';
import { looksLikeId, notFound, target, withClient, undoneBy } from '../common';
import { ensureNeutron, findNetwork } from './neutron';

export function fipSummary(f: any) {
  return { id: f.id, address: f.floating_ip_address, portId: f.port_id ?? null, fixedIp: f.fixed_ip_address ?? null, status: f.status };
}

/** The external network's id and the port to associate with (the server's first port), read-only. */
async function resolveTarget(c: OpenStackClient, input: { network: string; port: string; server: string }): Promise<{ netId: string; port: string }> {
  const netId = looksLikeId(input.network) ? input.network : (await findNetwork(c, input.network)).id;
  let port = input.port;
  if (!port && input.server) {
    const ports = await c.list('network', '/ports', 'ports', { query: { device_id: input.server } });
    if (!ports.length) throw notFound('port of server', input.server);
    port = ports[0].id;
  }
  return { netId, port };
}

export default defineAction({
  name: 'openstack.floating-ip.create',
  description: 'Allocate a floating IP on an external network (default "public") and associate it with a port; idempotent across retries.',
  input: z.strictObject({
    ...target,
    network: z.string().default('public').describe('External network name or id'),
    port: z.string().default('').describe('Port id to associate with'),
    server: z.string().default('').describe("Or a server id: its first port (ports Nova created)"),
    fixedIp: z.string().default('').describe("Which of the port's fixed IPs"),
    description: z.string().default(''),
  }),
  inverse: undoneBy('openstack.floating-ip.release', { floatingIp: '{{ outputs.id }}' }),
  async run(input, ctx) {
    return withClient('openstack.floating-ip.create', input, ctx, async (c) => {
      const { netId, port } = await resolveTarget(c, input);
      const body: Record<string, unknown> = { floating_network_id: netId, description: input.description || undefined };
      if (port) body.port_id = port;
      if (input.fixedIp) body.fixed_ip_address = input.fixedIp;
      const { resource, created, changed } = await ensureNeutron(c, ctx, { path: '/floatingips', key: 'floatingip', what: 'floating IP', adopt: false, body, filters: { floating_network_id: netId } });
      return { ...fipSummary(resource), created, changed };
    });
  },
  async dryRun(input, ctx) {
    return withClient('openstack.floating-ip.create (dry run)', input, ctx, async (c) => {
      // Every step allocates its own address (no name to adopt by): a run always allocates one.
      const { port } = await resolveTarget(c, input);
      return { changed: true, effect: 'create', summary: `allocate a floating IP from ${input.network}${port ? ` for port ${port}` : ''}`, diff: `+ floating IP (${input.network})${port ? ` -> port ${port}` : ''}` };
    });
  },
  plan: (i) => `allocate a floating IP from ${i.network}${i.port ? ` for port ${i.port}` : i.server ? ` for server ${i.server}` : ''}`,
});
