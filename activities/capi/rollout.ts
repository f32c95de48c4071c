/**
 * Rollout detection for KubeadmControlPlane and MachineDeployment (v1beta2 status): the
 * controller has seen the latest spec (observedGeneration), every replica is up to date, ready and
 * available, and all machines run the spec's version.
 */
import type { ActionContext } from '../define';
import { MACHINE, type KindInfo } from './api';
import { describeCondition, failure, getObject, isNotFound, kubeFailure, pollUntil, type Kube, type KubeObject } from './kube';

export interface RolloutProgress {
  kind: string;
  name: string;
  version: string;
  desired: number;
  replicas: number;
  upToDate: number;
  ready: number;
  available: number;
  versions: string;
  observedGeneration: number;
  generation: number;
  [k: string]: unknown;
}

export const specVersion = (o: KubeObject): string => (o.kind === 'KubeadmControlPlane' ? o.spec?.version : o.spec?.template?.spec?.version) ?? '';

export function rolloutProgress(o: KubeObject): RolloutProgress {
  const st = o.status ?? {};
  const versions: { version: string; replicas?: number }[] = st.versions ?? (st.version ? [{ version: st.version, replicas: st.replicas }] : []);
  return {
    kind: o.kind!,
    name: o.metadata!.name!,
    version: specVersion(o),
    desired: o.spec?.replicas ?? 1,
    replicas: st.replicas ?? 0,
    upToDate: st.upToDateReplicas ?? 0,
    ready: st.readyReplicas ?? 0,
    available: st.availableReplicas ?? 0,
    versions: versions.map((v) => `${v.version}×${v.replicas ?? '?'}`).join(', ') || 'none',
    observedGeneration: st.observedGeneration ?? 0,
    generation: o.metadata?.generation ?? 0,
  };
}

export function rolloutDone(o: KubeObject): boolean {
  const p = rolloutProgress(o);
  const st = o.status ?? {};
  const versions: { version: string }[] = st.versions ?? (st.version ? [{ version: st.version }] : []);
  // A KubeadmControlPlane reports status.version (its machines' lowest); a v1beta2 MachineDeployment
  // reports no version at all: there, upToDateReplicas (machines matching the spec, version
  // included) is what says the rollout reached every machine.
  const versionsOk = p.desired === 0 || (versions.length === 0 ? o.kind === 'MachineDeployment' : versions.length === 1 && versions[0].version === p.version);
  const rollingOut = (st.conditions ?? []).find((c: any) => c.type === 'RollingOut')?.status === 'True';
  return (
    p.observedGeneration >= p.generation &&
    p.replicas === p.desired &&
    p.upToDate === p.desired &&
    p.ready === p.desired &&
    p.available === p.desired &&
    versionsOk &&
    !rollingOut
  );
}

/**
 * The Machines of a KubeadmControlPlane or MachineDeployment, by Cluster API's own labels;
 * undefined where the API has no Machine kind (a stand-in that keeps machines to itself).
 */
async function machinesOf(kube: Kube, o: KubeObject): Promise<KubeObject[] | undefined> {
  const label = o.kind === 'KubeadmControlPlane' ? 'cluster.x-k8s.io/control-plane-name' : 'cluster.x-k8s.io/deployment-name';
  try {
    const list = await kube.objects.list(MACHINE.apiVersion, MACHINE.kind, o.metadata!.namespace, undefined, undefined, undefined, undefined, `${label}=${o.metadata!.name}`);
    return list.items as KubeObject[];
  } catch (e: any) {
    if (isNotFound(e) || /unrecognized api version and kind/i.test(String(e?.message))) return undefined;
    throw kubeFailure(e, `listing the Machines of ${o.kind} ${o.metadata!.namespace}/${o.metadata!.name}`, kube);
  }
}

/**
 * Counts and conditions can say "done" before the machines do: a v1beta2 MachineDeployment has no
 * status.version, and its counts were seen full while its machines still ran the old version. So
 * the rollout is done only when there are exactly `desired` Machines, none being deleted, all
 * on the spec's version. Returns what is still off, or '' when all is well.
 */
export function machinesPending(o: KubeObject, machines: KubeObject[]): string {
  const p = rolloutProgress(o);
  const deleting = machines.filter((m) => m.metadata?.deletionTimestamp).length;
  const old = machines.filter((m) => m.spec?.version !== p.version).length;
  if (machines.length === p.desired && !deleting && !old) return '';
  return `${machines.length} machines (${p.desired} wanted), ${deleting} being deleted, ${old} not on ${p.version}`;
}

export function describeRollout(p: RolloutProgress): string {
  return `${p.kind} ${p.name} → ${p.version}: ${p.upToDate}/${p.desired} up to date, ${p.available} available, ${p.replicas} machines (versions ${p.versions})${p.observedGeneration < p.generation ? `, generation ${p.generation} not yet observed` : ''}`;
}

export async function waitForRollout(
  kube: Kube,
  ctx: ActionContext,
  k: KindInfo,
  namespace: string,
  name: string,
  opts: { timeoutMs: number; intervalMs: number; key: string; phase: string },
): Promise<RolloutProgress> {
  let last: KubeObject | null = null;
  return pollUntil<RolloutProgress>(
    ctx,
    { timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs, key: opts.key },
    async () => {
      const o = await getObject(kube, k, namespace, name);
      if (!o) throw failure('KubeNotFound', `${k.kind} ${namespace}/${name} disappeared during ${opts.phase}`);
      last = o;
      const p = rolloutProgress(o);
      if (!rolloutDone(o)) return { progress: { phase: opts.phase, ...p } };
      const machines = await machinesOf(kube, o);
      const pending = machines ? machinesPending(o, machines) : '';
      return pending ? { progress: { phase: opts.phase, ...p, machines: pending } } : { done: p };
    },
    async () => {
      const notTrue = ((last?.status?.conditions ?? []) as any[]).filter((c) => (c.type === 'RollingOut' ? c.status === 'True' : c.status !== 'True'));
      return failure(
        'CapiRolloutTimeout',
        `${opts.phase}: rollout not complete after ${Math.round(opts.timeoutMs / 1000)}s: ${last ? describeRollout(rolloutProgress(last)) : 'no status'}${notTrue.length ? `; ${notTrue.map((c) => describeCondition(c, c.type)).join('; ')}` : ''}`,
      );
    },
  );
}
