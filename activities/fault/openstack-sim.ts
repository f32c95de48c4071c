/**
 * `openstack-sim`: a fault on the OpenStack stand-in (sim/openstack), through its admin API
 * (`POST/GET/DELETE /_sim/faults`). The stand-in assigns fault ids itself and keeps extra
 * fields, so each fault we add carries a `label`: the spec's own `label`, else one derived from
 * the fault's content and the workflow id (label.ts), so `restore` (a later step or a
 * compensation of the same run) finds exactly the faults `inject` added, a retried `inject`
 * finds the one its first attempt added, and another drill with the same fault running at the
 * same time has a fault of its own (its restore leaves ours alone).
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineFaultKind, type FaultContext } from './kind';
import { faultLabel, Label, sameContent, type FaultOwner } from './label';

export const OpenStackSimFault = z.strictObject({
  kind: z.literal('openstack-sim'),
  endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'expected the stand-in base URL, e.g. http://127.0.0.1:8780').describe('Base URL of the OpenStack stand-in'),
  cloud: z.string().min(1),
  region: z.string().min(1).optional(),
  service: z.enum(['identity', 'compute', 'network', 'image', 'load-balancer']).optional(),
  host: z.string().min(1).optional().describe('Compute host whose nova-compute goes down'),
  down: z.enum(['refuse', 'unavailable']).optional().describe('refuse: connections closed; unavailable: 503. Default refuse, unless errorRate or latencyMs is given'),
  status: z.number().int().min(400).max(599).optional().describe('Status answered at errorRate (default 500)'),
  errorRate: z.number().min(0).max(1).optional(),
  retryAfter: z.number().int().min(0).optional(),
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  method: z.string().regex(/^[A-Z]+$/).optional(),
  path: z.string().min(1).optional().describe('Regex on the path after the service version'),
  times: z.number().int().min(1).optional().describe('Fire at most this many times'),
  label: Label,
});
export type OpenStackSimFault = z.output<typeof OpenStackSimFault>;

/** The fault body the stand-in gets (without the label). */
export function simFaultBody(s: OpenStackSimFault): Record<string, unknown> {
  const down = s.down ?? (s.errorRate === undefined && s.latencyMs === undefined ? 'refuse' : undefined);
  const body: Record<string, unknown> = { cloud: s.cloud, region: s.region, service: s.service, host: s.host, down, status: s.status, errorRate: s.errorRate, retryAfter: s.retryAfter, latencyMs: s.latencyMs, method: s.method, path: s.path, times: s.times };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/**
 * The label of the stand-in fault (label.ts): `label` if given, else the content hash plus,
 * inside a workflow, the workflow id's (from the step's idempotency key).
 */
export function simFaultLabel(s: OpenStackSimFault, owner?: FaultOwner): string {
  return faultLabel(simFaultBody(s), owner, s.label);
}

interface SimFault {
  id: string;
  label?: string;
  injectedAt?: string;
  fired?: number;
  [k: string]: unknown;
}

async function call(ctx: FaultContext, base: string, method: string, path: string, body?: unknown): Promise<any> {
  const url = `${base.replace(/\/+$/, '')}/_sim/faults${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
    });
  } catch (e: any) {
    if (ctx.signal.aborted) throw e;
    // Transient (stand-in restarting, network): the step's retry policy tries again.
    throw new Error(`openstack-sim: ${method} ${url}: ${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? e}`);
  }
  const text = await res.text();
  if (res.status >= 400) {
    const msg = `openstack-sim: ${method} ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`;
    if (res.status < 500) throw ApplicationFailure.nonRetryable(msg, 'FaultRefused');
    throw new Error(msg);
  }
  return text ? JSON.parse(text) : undefined;
}

async function faults(ctx: FaultContext, s: OpenStackSimFault): Promise<SimFault[]> {
  return ((await call(ctx, s.endpoint, 'GET', '')) as { faults?: SimFault[] })?.faults ?? [];
}

const ours = async (ctx: FaultContext, s: OpenStackSimFault, label: string) => (await faults(ctx, s)).filter((f) => f.label === label);

const summary = (f: SimFault) => ({ id: f.id, fired: f.fired ?? 0, injectedAt: f.injectedAt });

export default defineFaultKind({
  kind: 'openstack-sim',
  schema: OpenStackSimFault,
  describe(s) {
    const b = simFaultBody(s);
    const where = [s.cloud, s.region, s.service, s.host && `host ${s.host}`].filter(Boolean).join('/');
    const what = [b.down && `down: ${b.down}`, s.errorRate !== undefined && `${s.errorRate * 100}% HTTP ${s.status ?? 500}`, s.latencyMs !== undefined && `+${s.latencyMs} ms`, s.method && s.method, s.path && `path ${s.path}`]
      .filter(Boolean)
      .join(', ');
    return `stand-in cloud ${where} (${what}) at ${s.endpoint}`;
  },
  async inject(s, ctx) {
    const label = simFaultLabel(s, ctx);
    const found = await ours(ctx, s, label);
    if (found.length) return { changed: false, at: found[0].injectedAt, details: { label, faults: found.map(summary) } };
    const body = { ...simFaultBody(s), label, injectedAt: new Date().toISOString(), by: 'runwright' };
    if (ctx.dryRun) return { changed: true, details: { label, wouldAdd: body, faults: [] } };
    const added = (await call(ctx, s.endpoint, 'POST', '', body)) as { fault: SimFault };
    return { changed: true, at: body.injectedAt, details: { label, faults: [summary(added.fault)] } };
  },
  async restore(s, ctx) {
    const label = simFaultLabel(s, ctx);
    const all = await faults(ctx, s);
    const found = all.filter((f) => f.label === label);
    // The same fault injected by other drills (other workflows) stays: theirs to restore.
    const others = s.label ? [] : all.filter((f) => sameContent(simFaultBody(s), label, f.label)).map((f) => ({ ...summary(f), label: f.label }));
    const note = others.length ? { note: `${others.length} fault(s) with the same content from other runs left in place (labels ${others.map((o) => o.label).join(', ')})`, others } : {};
    if (ctx.dryRun || !found.length) return { changed: found.length > 0, details: { label, removed: [], ...(ctx.dryRun ? { wouldRemove: found.map(summary) } : {}), ...note } };
    // DELETE of an id that is already gone answers 204: a retried restore is harmless.
    for (const f of found) await call(ctx, s.endpoint, 'DELETE', `/${encodeURIComponent(f.id)}`);
    const left = await ours(ctx, s, label);
    if (left.length) throw new Error(`openstack-sim: faults labelled ${label} still present after delete: ${left.map((f) => f.id).join(', ')}`);
    return { changed: true, details: { label, removed: found.map(summary), ...note } };
  },
});
