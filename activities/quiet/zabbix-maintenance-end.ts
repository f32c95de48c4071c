/**
 * `zabbix.maintenance.end`: delete a maintenance (maintenance.delete). Idempotent: one that no
 * longer exists is left as it is. The inverse of `zabbix.maintenance`.
 */
import { z } from 'zod';
import { defineAction } from '../define';
import { zabbixClient, zbxTarget, type ZbxMaintenance } from './zabbix-common';

export default defineAction({
  name: 'zabbix.maintenance.end',
  description: 'Zabbix: end a maintenance by deleting it (nothing to do when it is gone); the inverse of zabbix.maintenance.',
  input: z.strictObject({ ...zbxTarget, id: z.string().regex(/^\d+$/, 'a maintenance id') }),
  readOnly: false,
  async run(i, ctx) {
    const zbx = zabbixClient(i, ctx.signal);
    const found = await zbx.call<ZbxMaintenance[]>('maintenance.get', { output: ['maintenanceid', 'name'], maintenanceids: [i.id] });
    if (!found.length) return { id: i.id, changed: false, summary: `maintenance ${i.id} does not exist` };
    await zbx.call('maintenance.delete', [i.id]);
    return { id: i.id, name: found[0].name, changed: true, summary: `deleted maintenance ${i.id} (${found[0].name})` };
  },
  async dryRun(i, ctx) {
    const zbx = zabbixClient(i, ctx.signal);
    const found = await zbx.call<ZbxMaintenance[]>('maintenance.get', { output: ['maintenanceid', 'name'], maintenanceids: [i.id] });
    return found.length ? { changed: true, summary: `would delete maintenance ${i.id} (${found[0].name})` } : { changed: false, summary: `maintenance ${i.id} does not exist` };
  },
  plan: (i) => `end Zabbix maintenance ${i.id}`,
});
