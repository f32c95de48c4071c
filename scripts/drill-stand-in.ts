/**
 * A DR drill on the OpenStack stand-in alone (no PowerDNS/HAProxy needed): three clouds are the
 * Active-Active clusters, each cloud's Keystone endpoint is its health check, and traffic is
 * steered by the member weights of a "global" Octavia pool on cluster-a whose members stand for
 * the three clusters. The fault takes cluster-b's whole cloud down through the stand-in's fault
 * API. Used by `npm run demo:drill` and bench/drill-rto.ts.
 */
import { randomUUID } from 'node:crypto';
import type { ActionContext } from '../activities/define';
import { OPENSTACK_ACTIONS } from '../activities/openstack';

export const DRILL_CLUSTERS = ['cluster-a', 'cluster-b', 'cluster-c'];
/** The member address standing for each cluster in the global pool. */
export const CLUSTER_VIPS: Record<string, string> = { 'cluster-a': '10.0.0.201', 'cluster-b': '10.0.0.202', 'cluster-c': '10.0.0.203' };

function ctx(): ActionContext {
  let last: unknown;
  return {
    idempotencyKey: `drill-setup-${randomUUID()}`,
    get executionKey() { return this.idempotencyKey; },
    attempt: 1,
    signal: new AbortController().signal,
    heartbeat: (d) => void (last = d),
    heartbeatDetails: <T>() => last as T,
    log: () => undefined,
  };
}

async function act(name: string, input: Record<string, unknown>): Promise<any> {
  const a = OPENSTACK_ACTIONS.find((x) => x.name === name);
  if (!a) throw new Error(`no action ${name}`);
  return a.run(a.input.parse(input), ctx());
}

/** Create (or adopt) the global load balancer and pool; returns the dr-drill params. */
export async function prepareStandInDrill(simUrl: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const cloud = 'cluster-a';
  const lb = await act('openstack.loadbalancer.create', { cloud, name: 'global-lb', vipSubnet: 'private-subnet', adopt: true });
  const listener = await act('openstack.listener.create', { cloud, loadbalancer: lb.id, name: 'global-http', protocol: 'HTTP', protocolPort: 80, adopt: true });
  const pool = await act('openstack.pool.create', { cloud, listener: listener.id, name: 'global-pool', protocol: 'HTTP', adopt: true });
  await act('openstack.member.batch', { cloud, pool: pool.id, addresses: Object.values(CLUSTER_VIPS), protocolPort: 80, weight: 10 });
  return {
    target: 'cluster-b',
    clusters: DRILL_CLUSTERS,
    health: Object.fromEntries(DRILL_CLUSTERS.map((c) => [c, `${simUrl}/${c}/identity/v3`])),
    backends: [{ kind: 'octavia', cloud, pool: 'global-pool', members: Object.fromEntries(DRILL_CLUSTERS.map((c) => [c, [CLUSTER_VIPS[c]]])) }],
    fault: { kind: 'openstack-sim', endpoint: simUrl, cloud: 'cluster-b', down: 'refuse' },
    safe: true,
    objectiveRto: '30s',
    ...extra,
  };
}
