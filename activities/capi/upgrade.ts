/**
 * Kubernetes version upgrade of a Cluster API cluster, as CAPI documents it: new machine
 * templates (CAPO's are immutable), the KubeadmControlPlane's version and template reference in
 * one update, wait for its rollout, then each MachineDeployment the same way, one at a time.
 * A minor-version skip or a downgrade is refused before anything changes.
 *
 * `scope` lets a runbook split the work into steps (check → approval → controlPlane → each
 * machineDeployment); `all` does everything in one step. Every scope is idempotent: a retry
 * (e.g. after a worker crash) finds the update already made and only waits for the rollout.
 */
import { z } from 'zod';
import { defineAction, type ActionContext } from '../define';
import { CLUSTER_NAME_LABEL, INFRA_KINDS, KINDS, machineTemplateKind, ref } from './api';
import { applyObject, blankAsUnset, compareVersions, connect, Connection, durationMs, DurationText, failure, getObject, KubeVersion, listObjects, Name, Namespace, requireKinds, semver, type Kube, type KubeObject } from './kube';
import { machineTemplate } from './render';
import { rolloutDone, specVersion, waitForRollout, type RolloutProgress } from './rollout';

export const UPGRADE_FIELD_MANAGER = 'runwright-upgrade';

const Input = z.strictObject({
  cluster: Name,
  namespace: Namespace,
  version: KubeVersion.describe('Target Kubernetes version (one minor at most above the control plane\'s).'),
  image: z.string().min(1).describe('Glance image built for the target version (control plane; workers too unless workerImage).'),
  workerImage: blankAsUnset(z.string().min(1)).describe('Glance image for the workers (default: image).'),
  scope: z.enum(['all', 'check', 'controlPlane', 'machineDeployment']).default('all'),
  machineDeployment: blankAsUnset(z.string().min(1)).describe('For scope machineDeployment: its name.'),
  ...Connection,
  timeout: DurationText.default('1h').describe('Per rollout (control plane, each MachineDeployment).'),
  pollInterval: DurationText.default('5s'),
});
type Input = z.output<typeof Input>;

/** Refuse a downgrade or a minor skip (CAPI and kubeadm upgrade one minor at a time). */
export function checkVersionJump(from: string, to: string, what: string): void {
  const [fMaj, fMin] = semver(from);
  const [tMaj, tMin] = semver(to);
  if (compareVersions(to, from) < 0) throw failure('CapiInvalidVersionJump', `${what} is at ${from}; ${to} would be a downgrade, which Cluster API does not support`);
  if (tMaj !== fMaj || tMin > fMin + 1) {
    throw failure('CapiInvalidVersionJump', `${what} is at ${from}; ${to} skips a minor version: upgrade one minor at a time (to v${fMaj}.${fMin + 1}.x first)`);
  }
}

interface Plan {
  cluster: KubeObject;
  kcp: KubeObject;
  mds: KubeObject[];
  from: string;
}

async function inspect(kube: Kube, i: Input): Promise<Plan> {
  const cluster = await getObject(kube, KINDS.Cluster, i.namespace, i.cluster);
  if (!cluster) throw failure('CapiClusterNotFound', `Cluster ${i.namespace}/${i.cluster} does not exist on ${kube.where}`);
  if (cluster.metadata?.deletionTimestamp) throw failure('CapiClusterDeleting', `Cluster ${i.namespace}/${i.cluster} is being deleted`);
  const cpRef = cluster.spec?.controlPlaneRef;
  if (cpRef?.kind !== KINDS.KubeadmControlPlane.kind) throw failure('InvalidInput', `Cluster ${i.cluster}'s control plane is ${cpRef?.kind ?? 'not set'}, not a KubeadmControlPlane`);
  const kcp = await getObject(kube, KINDS.KubeadmControlPlane, i.namespace, cpRef.name);
  if (!kcp) throw failure('KubeNotFound', `KubeadmControlPlane ${i.namespace}/${cpRef.name} of cluster ${i.cluster} not found`);
  const mds = (await listObjects(kube, KINDS.MachineDeployment, i.namespace, `${CLUSTER_NAME_LABEL}=${i.cluster}`))
    .filter((md) => md.spec?.clusterName === i.cluster)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  return { cluster, kcp, mds, from: kcp.spec?.version };
}

/**
 * The KCP's or MD's current machine template, with the image replaced: the template to roll to.
 * An in-memory (DevMachineTemplate) machine has no image: its template stays, the version alone rolls.
 */
async function nextTemplate(kube: Kube, i: Input, owner: KubeObject, currentRef: any, image: string, role: string): Promise<KubeObject> {
  const k = machineTemplateKind(currentRef?.kind);
  if (!k) throw failure('InvalidInput', `${owner.kind} ${owner.metadata!.name} uses ${currentRef?.kind ?? 'no'} infrastructure template, not an OpenStackMachineTemplate or DevMachineTemplate`);
  const cur = await getObject(kube, k, i.namespace, currentRef.name);
  if (!cur) throw failure('KubeNotFound', `${k.kind} ${i.namespace}/${currentRef.name} (used by ${owner.kind} ${owner.metadata!.name}) not found`);
  const infrastructure = k === INFRA_KINDS.inmemory.machineTemplate ? 'inmemory' : 'openstack';
  const spec = infrastructure === 'inmemory' ? (cur.spec?.template?.spec ?? {}) : { ...(cur.spec?.template?.spec ?? {}), image: { filter: { name: image } } };
  return machineTemplate(i.cluster, i.namespace, cur.metadata?.labels?.['runwright.dev/machine-role'] ?? role, spec, infrastructure);
}

/** What upgrading one KCP or MD means, read-only: its version and template now and the template to roll to. */
async function preview(kube: Kube, i: Input, owner: KubeObject, image: string, role: string) {
  const isKcp = owner.kind === KINDS.KubeadmControlPlane.kind;
  const currentRef = isKcp ? owner.spec?.machineTemplate?.spec?.infrastructureRef : owner.spec?.template?.spec?.infrastructureRef;
  const from = specVersion(owner);
  const tpl = await nextTemplate(kube, i, owner, currentRef, image, role);
  const tplName = tpl.metadata!.name!;
  return { isKcp, name: owner.metadata!.name!, currentRef, from, tpl, tplName, needed: from !== i.version || currentRef.name !== tplName };
}

const workerRole = (i: Input, md: KubeObject) => md.metadata?.labels?.['runwright.dev/pool'] ?? md.metadata!.name!.replace(`${i.cluster}-`, '');

/**
 * The checks every scope makes before it changes anything (order, minor skips, downgrades), and
 * what it rolls: the control plane and/or MachineDeployments with their image and role.
 */
function scopeTargets(i: Input, p: Plan): { owner: KubeObject; image: string; role: string }[] {
  const cpWhat = `the control plane of ${i.namespace}/${i.cluster}`;
  const worker = (md: KubeObject) => ({ owner: md, image: i.workerImage ?? i.image, role: workerRole(i, md) });
  if (i.scope === 'machineDeployment') {
    const md = p.mds.find((m) => m.metadata!.name === i.machineDeployment);
    if (!i.machineDeployment || !md) throw failure('InvalidInput', `scope machineDeployment needs machineDeployment: one of ${p.mds.map((m) => m.metadata!.name!).join(', ') || '(none)'}`);
    // Workers never run ahead of the control plane.
    if (p.from !== i.version || !rolloutDone(p.kcp)) {
      throw failure('CapiUpgradeOrder', `${cpWhat} is at ${p.from}${p.from === i.version ? ' but still rolling out' : ''}; upgrade it to ${i.version} first, then the workers`);
    }
    const mdFrom = specVersion(md);
    if (mdFrom !== i.version) checkVersionJump(mdFrom, i.version, `MachineDeployment ${md.metadata!.name}`);
    return [worker(md)];
  }
  // The control plane leads: it may already be at the target (a re-run), never beyond it.
  if (p.from !== i.version) checkVersionJump(p.from, i.version, cpWhat);
  for (const md of p.mds) {
    const v = specVersion(md);
    if (compareVersions(v, i.version) > 0) throw failure('CapiInvalidVersionJump', `MachineDeployment ${md.metadata!.name} is at ${v}, newer than ${i.version}: a downgrade, which Cluster API does not support`);
  }
  if (i.scope === 'check') return [];
  const cp = { owner: p.kcp, image: i.image, role: 'control-plane' };
  return i.scope === 'controlPlane' ? [cp] : [cp, ...p.mds.map(worker)];
}

async function upgradeOne(kube: Kube, ctx: ActionContext, i: Input, owner: KubeObject, image: string, role: string, phase: string): Promise<{ name: string; from: string; to: string; template: string; changed: boolean; rollout: RolloutProgress }> {
  const { isKcp, name, currentRef, from, tpl, tplName, needed } = await preview(kube, i, owner, image, role);
  const k = isKcp ? KINDS.KubeadmControlPlane : KINDS.MachineDeployment;
  let changed = false;
  if (needed) {
    ctx.heartbeat({ phase, step: 'template', template: tplName });
    await applyObject(kube, tpl);
    const infrastructureRef = ref(machineTemplateKind(tpl.kind)!, tplName);
    // Version and template in one update, so the controller rolls the machines once.
    const patch = isKcp
      ? { spec: { version: i.version, machineTemplate: { spec: { infrastructureRef } } } }
      : { spec: { clusterName: i.cluster, template: { spec: { clusterName: i.cluster, version: i.version, infrastructureRef } } } };
    await applyObject(kube, { apiVersion: k.apiVersion, kind: k.kind, metadata: { name, namespace: i.namespace }, ...patch }, { fieldManager: UPGRADE_FIELD_MANAGER, force: true });
    changed = true;
    ctx.log(`${k.kind} ${i.namespace}/${name}: ${from} → ${i.version}, template ${currentRef.name} → ${tplName}`);
  }
  const rollout = await waitForRollout(kube, ctx, k, i.namespace, name, {
    timeoutMs: durationMs(i.timeout),
    intervalMs: durationMs(i.pollInterval),
    key: `upgrade:${i.namespace}/${name}:${i.version}`,
    phase,
  });
  return { name, from, to: i.version, template: tplName, changed, rollout };
}

export default defineAction({
  name: 'capi.cluster.upgrade',
  description:
    'Upgrade a cluster\'s Kubernetes version: new OpenStackMachineTemplates, KubeadmControlPlane version + template in one update, wait for the rollout, then each MachineDeployment in order. Refuses minor skips and downgrades up front. scope: all | check | controlPlane | machineDeployment.',
  input: Input,
  /** Beyond the input's own wait timeout, so the step does not cut the wait short. */
  defaults: { timeout: '3h' },
  async run(i, ctx) {
    const kube = connect(i);
    await requireKinds(kube, [KINDS.Cluster, KINDS.KubeadmControlPlane, KINDS.MachineDeployment]);
    const p = await inspect(kube, i);
    const cpWhat = `the control plane of ${i.namespace}/${i.cluster}`;
    const summary = { cluster: i.cluster, namespace: i.namespace, from: p.from, to: i.version, controlPlane: p.kcp.metadata!.name!, machineDeployments: p.mds.map((m) => m.metadata!.name!) };
    const targets = scopeTargets(i, p);

    if (i.scope === 'machineDeployment') {
      const [{ owner: md, image, role }] = targets;
      const r = await upgradeOne(kube, ctx, i, md, image, role, `upgrading MachineDeployment ${md.metadata!.name}`);
      return { ...summary, from: r.from, machineDeployment: r, changed: r.changed };
    }

    if (i.scope === 'check') {
      return { ...summary, workers: Object.fromEntries(p.mds.map((m) => [m.metadata!.name!, specVersion(m)])), upToDate: p.from === i.version && rolloutDone(p.kcp) && p.mds.every((m) => specVersion(m) === i.version && rolloutDone(m)), changed: false };
    }

    const cp = await upgradeOne(kube, ctx, i, p.kcp, i.image, 'control-plane', `upgrading ${cpWhat}`);
    if (i.scope === 'controlPlane') return { ...summary, controlPlaneRollout: cp, changed: cp.changed };

    const workers = [];
    for (const md of p.mds) {
      const fresh = (await getObject(kube, KINDS.MachineDeployment, i.namespace, md.metadata!.name!)) ?? md;
      workers.push(await upgradeOne(kube, ctx, i, fresh, i.workerImage ?? i.image, workerRole(i, fresh), `upgrading MachineDeployment ${fresh.metadata!.name}`));
    }
    return { ...summary, controlPlaneRollout: cp, workers, changed: cp.changed || workers.some((w) => w.changed) };
  },
  async dryRun(i) {
    const kube = connect(i);
    await requireKinds(kube, [KINDS.Cluster, KINDS.KubeadmControlPlane, KINDS.MachineDeployment]);
    const p = await inspect(kube, i);
    const diff: string[] = [];
    for (const t of scopeTargets(i, p)) {
      const v = await preview(kube, i, t.owner, t.image, t.role);
      if (v.needed) diff.push(`${t.owner.kind} ${i.namespace}/${v.name}: version ${v.from} -> ${i.version}, template ${v.currentRef.name} -> ${v.tplName}`);
    }
    const where = `${i.namespace}/${i.cluster}`;
    if (!diff.length) return { changed: false, summary: i.scope === 'check' ? `${where} can go to ${i.version} (check changes nothing)` : `${where} (${i.scope}) is at ${i.version}` };
    return { changed: true, summary: `upgrade ${where} (${i.scope}) from ${p.from} to ${i.version}: ${diff.length} rollout(s)`, diff: diff.join('\n') };
  },
  plan: (i) =>
    i.scope === 'check'
      ? `check that ${i.namespace}/${i.cluster} can go to ${i.version} (no minor skip, no downgrade)`
      : i.scope === 'machineDeployment'
        ? `roll MachineDeployment ${i.machineDeployment ?? '?'} of ${i.namespace}/${i.cluster} to ${i.version} (image ${i.workerImage ?? i.image}) and wait`
        : `${i.scope === 'all' ? 'upgrade' : 'roll the control plane of'} ${i.namespace}/${i.cluster} to ${i.version} (image ${i.image}): new OpenStackMachineTemplate, KubeadmControlPlane version + template in one update, wait for the rollout${i.scope === 'all' ? ', then each MachineDeployment' : ''}`,
});

