/** Security group rules: input shape and an idempotent "ensure" (409 SecurityGroupRuleExists = already there). */
import { z } from 'zod';
import type { OpenStackClient } from '../client';
import { OpenStackError } from '../errors';

export const Rule = z.strictObject({
  direction: z.enum(['ingress', 'egress']).default('ingress'),
  protocol: z.string().default('tcp').describe('tcp, udp, icmp, a number, or "any"'),
  port: z.number().int().min(1).max(65535).optional().describe('One port (sets min and max)'),
  portRangeMin: z.number().int().min(1).max(65535).optional(),
  portRangeMax: z.number().int().min(1).max(65535).optional(),
  remoteIpPrefix: z.string().default('').describe('e.g. 0.0.0.0/0'),
  remoteGroup: z.string().default('').describe('Security group id'),
  ethertype: z.enum(['IPv4', 'IPv6']).default('IPv4'),
  description: z.string().default(''),
});
export type RuleInput = z.output<typeof Rule>;

/** A rule in one line, for plan and dry-run text: "ingress tcp/22 from 0.0.0.0/0". */
export function ruleText(r: RuleInput): string {
  const port = r.port ?? (r.portRangeMin !== undefined ? `${r.portRangeMin}${r.portRangeMax !== undefined && r.portRangeMax !== r.portRangeMin ? `-${r.portRangeMax}` : ''}` : undefined);
  return `${r.direction} ${r.protocol}${port !== undefined ? `/${port}` : ''}${r.remoteIpPrefix ? ` from ${r.remoteIpPrefix}` : r.remoteGroup ? ` from group ${r.remoteGroup}` : ''}`;
}

export function ruleBody(sgId: string, r: RuleInput): Record<string, unknown> {
  const b: Record<string, unknown> = { security_group_id: sgId, direction: r.direction, ethertype: r.ethertype };
  if (r.protocol && r.protocol !== 'any') b.protocol = r.protocol;
  const min = r.port ?? r.portRangeMin;
  const max = r.port ?? r.portRangeMax ?? r.portRangeMin;
  if (min !== undefined) b.port_range_min = min;
  if (max !== undefined) b.port_range_max = max;
  if (r.remoteIpPrefix) b.remote_ip_prefix = r.remoteIpPrefix;
  if (r.remoteGroup) b.remote_group_id = r.remoteGroup;
  if (r.description) b.description = r.description;
  return b;
}

/** The existing rule of a group (from its `security_group_rules`) that a create would duplicate. */
export function sameRule(existing: any[], sgId: string, r: RuleInput): any | undefined {
  const b = ruleBody(sgId, r);
  const norm = (x: unknown) => (x === undefined ? null : x);
  const prefix = (p: unknown) => (typeof p === 'string' && !p.includes('/') ? `${p}/32` : norm(p));
  return existing.find(
    (x) =>
      x.direction === b.direction &&
      x.ethertype === b.ethertype &&
      norm(x.protocol) === norm(b.protocol) &&
      norm(x.port_range_min) === norm(b.port_range_min) &&
      norm(x.port_range_max) === norm(b.port_range_max) &&
      prefix(x.remote_ip_prefix) === prefix(b.remote_ip_prefix) &&
      norm(x.remote_group_id) === norm(b.remote_group_id),
  );
}

/** Create a rule unless an identical one exists; Neutron names the existing rule in its 409. */
export async function ensureRule(c: OpenStackClient, sgId: string, r: RuleInput, existing: any[] = []): Promise<{ id: string; created: boolean }> {
  const known = sameRule(existing, sgId, r);
  if (known) return { id: known.id, created: false };
  try {
    const res = await c.post('network', '/security-group-rules', { security_group_rule: ruleBody(sgId, r) });
    return { id: res.body.security_group_rule.id, created: true };
  } catch (e) {
    if (e instanceof OpenStackError && e.status === 409 && e.info.apiType === 'SecurityGroupRuleExists') {
      const id = /Rule id is ([0-9a-f-]{36})/.exec(e.info.apiMessage ?? '')?.[1];
      if (id) return { id, created: false };
    }
    throw e;
  }
}
