import { z } from 'zod';
import { defineAction } from '../define';
import { KINDS } from './api';
import { condition, connect, Connection, describeCondition, durationMs, DurationText, failure, getObject, Name, Namespace, pollUntil, requireKinds, type Kube, type KubeObject } from './kube';

/** Conditions a ready v1beta2 Cluster has True. */
export const READY_CONDITIONS = ['Available', 'ControlPlaneAvailable', 'WorkersAvailable'] as const;

export interface ClusterProgress {
  phase: string;
  infrastructureProvisioned: boolean;
  controlPlaneInitialized: boolean;
  controlPlane: string;
  workers: string;
  conditions: string[];
  [k: string]: unknown;
}

const replicas = (r: any) => (r ? `${r.availableReplicas ?? 0}/${r.desiredReplicas ?? r.replicas ?? 0} available, ${r.upToDateReplicas ?? 0} up to date` : 'not reported');

export function clusterProgress(c: KubeObject, conditions: readonly string[]): ClusterProgress {
  const st = c.status ?? {};
  return {
    phase: st.phase ?? 'Pending',
    infrastructureProvisioned: st.initialization?.infrastructureProvisioned === true,
    controlPlaneInitialized: st.initialization?.controlPlaneInitialized === true,
    controlPlane: replicas(st.controlPlane),
    workers: replicas(st.workers),
    conditions: conditions.map((t) => describeCondition(condition(c, t), t)),
  };
}

/** Why a cluster is not ready: the first required condition that is not True, else the phase. */
export function notReadyReason(c: KubeObject, conditions: readonly string[]): string {
  const failing = conditions.map((t) => [t, condition(c, t)] as const).filter(([, cond]) => cond?.status !== 'True');
  // A False condition with a reason says more than Unknown or missing ones.
  failing.sort(([, a], [, b]) => Number(b?.status === 'False') - Number(a?.status === 'False'));
  const parts = failing.map(([t, cond]) => describeCondition(cond, t));
  const others = ((c.status?.conditions ?? []) as any[]).filter((x) => x.status === 'False' && !conditions.includes(x.type)).map((x) => describeCondition(x, x.type));
  const st = c.status ?? {};
  const counts = [allReplicas(st.controlPlane) ? '' : `control plane ${replicas(st.controlPlane)}`, allReplicas(st.workers) ? '' : `workers ${replicas(st.workers)}`].filter(Boolean);
  return [...parts, ...others, ...counts].join('; ') || `phase ${c.status?.phase ?? 'unknown'}`;
}

/**
 * Every desired machine exists, is up to date and available. CAPI's Available conditions are True
 * earlier: ControlPlaneAvailable with one healthy control-plane machine of three, while KCP
 * still scales up one machine at a time.
 */
const allReplicas = (r: any) => !r || ((r.replicas ?? 0) === (r.desiredReplicas ?? 0) && (r.upToDateReplicas ?? 0) === (r.desiredReplicas ?? 0) && (r.availableReplicas ?? 0) === (r.desiredReplicas ?? 0));

export function isReady(c: KubeObject, conditions: readonly string[]): boolean {
  const st = c.status ?? {};
  if (c.metadata?.deletionTimestamp) return false;
  if ((c.metadata?.generation ?? 0) > (st.observedGeneration ?? 0)) return false;
  return (
    st.phase === 'Provisioned' &&
    st.initialization?.infrastructureProvisioned === true &&
    st.initialization?.controlPlaneInitialized === true &&
    conditions.every((t) => condition(c, t)?.status === 'True') &&
    allReplicas(st.controlPlane) &&
    allReplicas(st.workers)
  );
}

export async function waitForCluster(
  kube: Kube,
  ctx: Parameters<typeof pollUntil>[0],
  input: { name: string; namespace: string; conditions: readonly string[]; timeoutMs: number; intervalMs: number },
): Promise<ClusterProgress> {
  const where = `Cluster ${input.namespace}/${input.name}`;
  let last: KubeObject | null = null;
  return pollUntil<ClusterProgress>(
    ctx,
    { timeoutMs: input.timeoutMs, intervalMs: input.intervalMs, key: `wait:${input.namespace}/${input.name}` },
    async () => {
      const c = await getObject(kube, KINDS.Cluster, input.namespace, input.name);
      if (!c) throw failure('CapiClusterNotFound', `${where} does not exist on ${kube.where}`);
      last = c;
      if (c.metadata?.deletionTimestamp) throw failure('CapiClusterDeleting', `${where} is being deleted`);
      if (c.status?.phase === 'Failed') throw failure('CapiClusterFailed', `${where} failed: ${notReadyReason(c, input.conditions)}`);
      const progress = clusterProgress(c, input.conditions);
      return isReady(c, input.conditions) ? { done: progress } : { progress };
    },
    async () =>
      failure(
        'CapiWaitTimeout',
        `${where} not ready after ${Math.round(input.timeoutMs / 1000)}s (phase ${last?.status?.phase ?? 'unknown'}): ${last ? notReadyReason(last, input.conditions) : 'no status'}`,
      ),
  );
}

export default defineAction({
  name: 'capi.cluster.wait',
  readOnly: true,
  description: 'Wait until a Cluster is Provisioned and its Available, ControlPlaneAvailable and WorkersAvailable conditions are True and every control-plane and worker machine is up to date and available (v1beta2 status), heartbeating progress; on timeout, fail with the failing conditions\' reasons.',
  input: z.strictObject({
    name: Name,
    namespace: Namespace,
    ...Connection,
    conditions: z.array(z.string().min(1)).min(1).default([...READY_CONDITIONS]).describe('Conditions that must be True.'),
    timeout: DurationText.default('30m'),
    pollInterval: DurationText.default('5s'),
  }),
  /** Beyond the input's own wait timeout, so the step does not cut the wait short. */
  defaults: { timeout: '35m' },
  async run(input, ctx) {
    const kube = connect(input);
    await requireKinds(kube, [KINDS.Cluster]);
    const progress = await waitForCluster(kube, ctx, { ...input, timeoutMs: durationMs(input.timeout), intervalMs: durationMs(input.pollInterval) });
    return { cluster: input.name, namespace: input.namespace, ...progress, changed: false };
  },
  plan: (i) => `wait up to ${i.timeout} for Cluster ${i.namespace}/${i.name}: ${i.conditions.join(', ')} True`,
});
