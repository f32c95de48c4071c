/** `openstack.server.migrations`: in-progress live migrations of a server (2.23+) and its migration history. */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient } from '../common';

export default defineAction({
  name: 'openstack.server.migrations',
  readOnly: true,
  description: 'Migration progress of a server (admin): in-progress live migrations with memory/disk bytes, and past migrations.',
  input: z.strictObject({ ...target, server: z.string().min(1).describe('Server id') }),
  async run(input, ctx) {
    return withClient(`openstack.server.migrations ${input.server}`, input, ctx, async (c) => {
      const cur = (await c.get('compute', `/servers/${input.server}/migrations`)).body.migrations ?? [];
      const past = (await c.get('compute', '/os-migrations', { query: { instance_uuid: input.server } })).body.migrations ?? [];
      const inProgress = cur.map((m: any) => ({
        id: m.id,
        status: m.status,
        source: m.source_compute,
        dest: m.dest_compute,
        memoryTotalBytes: m.memory_total_bytes,
        memoryProcessedBytes: m.memory_processed_bytes,
        memoryRemainingBytes: m.memory_remaining_bytes,
        percent: m.memory_total_bytes ? Math.round((100 * (m.memory_processed_bytes ?? 0)) / m.memory_total_bytes) : null,
      }));
      const history = past.map((m: any) => ({ id: m.id, type: m.migration_type, status: m.status, source: m.source_compute, dest: m.dest_compute, createdAt: m.created_at }));
      return { inProgress, history, changed: false };
    });
  },
  plan: (i) => `show migrations of server ${i.server}`,
});
