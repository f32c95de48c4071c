/**
 * `zabbix.maintenance`: put hosts (by host name) and/or host groups (by name) into a one-time
 * Zabbix maintenance window (maintenance.create, Zabbix 6.0 API). Idempotent: the maintenance's
 * name carries a marker derived from the step's idempotency key and is looked up first
 * (maintenance.get), so a retry after a crash finds the one it made. Undone by
 * `zabbix.maintenance.end` (maintenance.delete).
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';
import { msField } from '../../dsl/duration';
import { maintenanceMarker, zabbixClient, zbxTarget, type ZabbixClient, type ZbxMaintenance } from './zabbix-common';

const input = z
  .strictObject({
    ...zbxTarget,
    hosts: z.array(z.string().min(1)).default([]).describe('Technical host names (host.get filter host).'),
    groups: z.array(z.string().min(1)).default([]).describe('Host group names.'),
    name: z.string().min(1).max(100).default('runwright').describe('Maintenance name; the step marker is appended (names are unique in Zabbix).'),
    description: z.string().max(2000).default(''),
    duration: msField(60_000, 366 * 86_400_000).optional().describe('Window length from now (default 1h); Zabbix counts in seconds, minimum 5 minutes.'),
    activeTill: z.iso.datetime({ offset: true }).optional().describe('End of the window (RFC 3339) instead of a duration.'),
    collectData: z.boolean().default(true).describe('Maintenance with data collection (true) or without (false).'),
  })
  .refine((i) => i.hosts.length + i.groups.length > 0, { message: 'give at least one host or group' })
  .refine((i) => !(i.duration !== undefined && i.activeTill !== undefined), { message: 'give duration or activeTill, not both' });

type Input = z.output<typeof input>;

async function resolveIds(zbx: ZabbixClient, i: Input): Promise<{ hostids: string[]; groupids: string[] }> {
  const hostids: string[] = [];
  const groupids: string[] = [];
  if (i.hosts.length) {
    const found = await zbx.call<{ hostid: string; host: string }[]>('host.get', { output: ['hostid', 'host'], filter: { host: i.hosts } });
    const missing = i.hosts.filter((h) => !found.some((f) => f.host === h));
    if (missing.length) throw ApplicationFailure.nonRetryable(`zabbix.maintenance: unknown host(s): ${missing.join(', ')}`, 'ZabbixNotFound');
    hostids.push(...found.map((f) => f.hostid));
  }
  if (i.groups.length) {
    const found = await zbx.call<{ groupid: string; name: string }[]>('hostgroup.get', { output: ['groupid', 'name'], filter: { name: i.groups } });
    const missing = i.groups.filter((g) => !found.some((f) => f.name === g));
    if (missing.length) throw ApplicationFailure.nonRetryable(`zabbix.maintenance: unknown host group(s): ${missing.join(', ')}`, 'ZabbixNotFound');
    groupids.push(...found.map((f) => f.groupid));
  }
  return { hostids, groupids };
}

async function findMarked(zbx: ZabbixClient, marker: string): Promise<ZbxMaintenance | undefined> {
  const found = await zbx.call<ZbxMaintenance[]>('maintenance.get', { output: ['maintenanceid', 'name', 'active_since', 'active_till'], search: { name: marker }, selectHosts: ['hostid', 'host'], selectGroups: ['groupid', 'name'] });
  return found.find((m) => m.name.includes(marker));
}

function windowOf(i: Input, now = Date.now()): { since: number; till: number } {
  const since = Math.floor(now / 1000);
  const till = i.activeTill ? Math.floor(Date.parse(i.activeTill) / 1000) : since + Math.round((i.duration ?? 3_600_000) / 1000);
  return { since, till };
}

const targets = (i: Input) => [...i.hosts.map((h) => `host ${h}`), ...i.groups.map((g) => `group ${g}`)].join(', ');

export default defineAction({
  name: 'zabbix.maintenance',
  description: 'Zabbix: put hosts and/or host groups into a maintenance window now (idempotent per step, even across a crash); outputs the maintenance id; undone by zabbix.maintenance.end.',
  input,
  readOnly: false,
  inverse: { action: 'zabbix.maintenance.end', with: { url: '{{ input.url }}', token: '{{ input.token }}', id: '{{ outputs.id }}' } },
  async run(i, ctx) {
    const zbx = zabbixClient(i, ctx.signal);
    const marker = maintenanceMarker(ctx.idempotencyKey);
    const existing = await findMarked(zbx, marker);
    if (existing) return { id: existing.maintenanceid, name: existing.name, activeSince: Number(existing.active_since), activeTill: Number(existing.active_till), changed: false, summary: `maintenance ${existing.maintenanceid} already exists` };
    const { hostids, groupids } = await resolveIds(zbx, i);
    const { since, till } = windowOf(i);
    if (till - since < 300) throw ApplicationFailure.nonRetryable(`zabbix.maintenance: the window ends in ${till - since}s; Zabbix needs at least 300s`, 'InvalidInput');
    const name = `${i.name} ${marker}`;
    const res = await zbx.call<{ maintenanceids: string[] }>('maintenance.create', {
      name,
      description: i.description,
      maintenance_type: i.collectData ? 0 : 1,
      active_since: since,
      active_till: till,
      ...(hostids.length ? { hosts: hostids.map((hostid) => ({ hostid })) } : {}),
      ...(groupids.length ? { groups: groupids.map((groupid) => ({ groupid })) } : {}),
      timeperiods: [{ timeperiod_type: 0, start_date: since, period: till - since }],
    });
    const id = res?.maintenanceids?.[0];
    if (!id) throw ApplicationFailure.retryable('zabbix.maintenance: maintenance.create returned no id', 'ZabbixBadResponse');
    return { id, name, activeSince: since, activeTill: till, changed: true, summary: `maintenance ${id} for ${targets(i)} until ${new Date(till * 1000).toISOString()}` };
  },
  async dryRun(i, ctx) {
    const zbx = zabbixClient(i, ctx.signal);
    const existing = await findMarked(zbx, maintenanceMarker(ctx.idempotencyKey));
    if (existing) return { changed: false, summary: `maintenance ${existing.maintenanceid} (${existing.name}) already exists` };
    await resolveIds(zbx, i); // unknown hosts/groups fail the dry run as they would fail the run
    const { till } = windowOf(i);
    return { changed: true, summary: `would put ${targets(i)} into maintenance until ${new Date(till * 1000).toISOString()}`, diff: `+ maintenance "${i.name}" (${i.collectData ? 'with' : 'without'} data collection): ${targets(i)}` };
  },
  plan: (i) => `Zabbix maintenance for ${targets(i)}`,
});
