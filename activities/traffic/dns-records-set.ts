/**
 * Traffic steering by DNS: make one RRset hold exactly the given records (`records`), or edit it
 * (`add` / `remove`). For Active-Active failover, the A/AAAA RRset of the service name lists the
 * healthy clusters' addresses: remove the failed cluster's address, add it back on failback.
 * Idempotent: reads first and writes only when something differs; reports `changed` and a diff.
 * Refuses to leave the name with no records unless `allowEmpty` (that would black-hole traffic).
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';
import { getRRset, replaceRRset, type RRset } from './pdns-client';
import { PdnsConnection, names, pdnsTarget } from './dns-common';
import { firstBefore } from './first-before';

const Content = z.string().trim().min(1);
const DEFAULT_TTL = 60;

export interface RRsetView {
  ttl: number;
  records: string[];
}

export interface DnsSetResult {
  zone: string;
  name: string;
  type: string;
  changed: boolean;
  dryRun: boolean;
  before: RRsetView | null;
  after: RRsetView | null;
  diff: { added: string[]; removed: string[]; ttl: { from: number | null; to: number | null } | null };
}

const input = z
  .strictObject({
    ...PdnsConnection,
    records: z.array(Content).optional().describe('The complete new set of record contents (replaces the RRset).'),
    add: z.array(Content).optional().describe('Contents to add to the current RRset (kept if already there).'),
    remove: z.array(Content).optional().describe('Contents to remove from the current RRset (ignored if absent).'),
    ttl: z.number().int().min(0).max(2_147_483_647).optional().describe(`TTL in seconds; default: keep the current one (${DEFAULT_TTL} for a new RRset).`),
    allowEmpty: z.boolean().default(false).describe('Allow the result to have no records (the RRset is deleted).'),
    dryRun: z.boolean().default(false).describe('Compute and return the diff without changing anything.'),
  })
  .refine((i) => (i.records !== undefined) !== (i.add !== undefined || i.remove !== undefined), {
    message: 'give either `records` (replace) or `add`/`remove` (edit), not both and not neither',
  });

function describeTarget(i: z.output<typeof input>): string {
  if (i.records) return `= [${i.records.join(', ')}]`;
  return [i.add?.length ? `+ [${i.add.join(', ')}]` : '', i.remove?.length ? `- [${i.remove.join(', ')}]` : ''].filter(Boolean).join(' ');
}

/**
 * The form PowerDNS stores and returns, so comparisons hold: IPv6 compressed and lowercase,
 * names (CNAME, NS, PTR, ALIAS, DNAME) absolute and lowercase.
 */
export function normalizeContent(type: string, content: string): string {
  const c = content.trim();
  if (type === 'AAAA') {
    try {
      return new URL(`http://[${c}]/`).hostname.slice(1, -1);
    } catch {
      return c.toLowerCase();
    }
  }
  if (['CNAME', 'NS', 'PTR', 'ALIAS', 'DNAME'].includes(type)) return (c.endsWith('.') ? c : `${c}.`).toLowerCase();
  return c;
}

export function desiredRecords(type: string, current: readonly string[], i: { records?: string[]; add?: string[]; remove?: string[] }): string[] {
  const n = (xs: readonly string[]) => xs.map((x) => normalizeContent(type, x));
  const next = i.records ? new Set(n(i.records)) : new Set(n(current));
  for (const a of n(i.add ?? [])) next.add(a);
  for (const r of n(i.remove ?? [])) next.delete(r);
  return [...next].sort();
}

export default defineAction({
  name: 'dns.records.set',
  description: 'Set a PowerDNS RRset to exactly `records`, or add/remove contents; idempotent, returns changed + diff; dryRun computes only.',
  input,
  async run(i, ctx): Promise<DnsSetResult> {
    const { zone, name } = names(i);
    const target = pdnsTarget(i, ctx.signal);
    const current: RRset | null = await getRRset(target, zone, name, i.type);
    const records = desiredRecords(i.type, current?.records ?? [], i);
    if (!records.length && !i.allowEmpty) {
      throw ApplicationFailure.nonRetryable(
        `dns.records.set: refusing to leave ${i.type} ${name} with no records (that would take the name out of service); set allowEmpty: true to delete it`,
        'DnsWouldBeEmpty',
      );
    }
    const ttl = i.ttl ?? current?.ttl ?? DEFAULT_TTL;
    const after: RRsetView | null = records.length ? { ttl, records } : null;
    const differs = (from: { ttl: number; records: string[]; disabled?: string[] } | null) => {
      const was = new Set((from?.records ?? []).map((r) => normalizeContent(i.type, r)));
      const added = records.filter((r) => !was.has(r));
      const removed = (from?.records ?? []).filter((r) => !records.includes(normalizeContent(i.type, r)));
      const ttlChanged = !!after && !!from && from.ttl !== after.ttl;
      // Disabled records count as a difference: a replace leaves only enabled ones.
      const changed = added.length > 0 || removed.length > 0 || ttlChanged || (from === null) !== (after === null) || (from?.disabled?.length ?? 0) > 0;
      return { added, removed, ttlChanged, changed };
    };
    // Whether to write depends on the zone now; what is reported, on what the first attempt saw.
    const needsWrite = differs(current).changed;
    const snapshot = current && { ttl: current.ttl, records: current.records, disabled: current.disabled };
    const first = i.dryRun ? snapshot : firstBefore(ctx, snapshot);
    const { added, removed, ttlChanged, changed } = differs(first);
    const before: RRsetView | null = first && { ttl: first.ttl, records: first.records };
    const result: DnsSetResult = {
      zone,
      name,
      type: i.type,
      changed,
      dryRun: i.dryRun,
      before,
      after,
      diff: { added, removed, ttl: ttlChanged || (before === null) !== (after === null) ? { from: before?.ttl ?? null, to: after?.ttl ?? null } : null },
    };
    if (!needsWrite || i.dryRun) return result;
    ctx.log(`dns.records.set ${i.type} ${name}: +[${added.join(', ')}] -[${removed.join(', ')}]${ttlChanged ? ` ttl ${before?.ttl}→${ttl}` : ''}`);
    await replaceRRset(target, zone, name, i.type, ttl, records);
    // Read back: the API accepted it; make sure the zone now holds what we meant.
    const now = await getRRset(target, zone, name, i.type);
    const got = (now?.records ?? []).map((r) => normalizeContent(i.type, r)).sort();
    if (got.join('\n') !== records.join('\n')) {
      throw ApplicationFailure.retryable(`dns.records.set: after the update ${i.type} ${name} holds [${got.join(', ')}], expected [${records.join(', ')}]`, 'DnsVerifyFailed');
    }
    return result;
  },
  plan: (i) => `${i.dryRun ? 'dry run: ' : ''}set ${i.type} ${names(i).name} ${describeTarget(i)}${i.ttl !== undefined ? ` ttl ${i.ttl}` : ''} via ${i.api}`,
});
