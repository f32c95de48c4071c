/**
 * A small stand-in for Cluster API's controllers (core, kubeadm control plane, CAPO), for tests
 * on a real kube-apiserver where no infrastructure exists. It reconciles the real objects every
 * tick and writes their v1beta2 status through the status subresource as CAPI does:
 *
 * - OpenStackCluster → ready after a few ticks; Cluster initialization.infrastructureProvisioned.
 * - KubeadmControlPlane / MachineDeployment → simulated machines (kept in memory): created one at
 *   a time, ready after `readyTicks`; rollouts replace outdated machines (version or template ref
 *   changed) surge-first, one at a time; status replicas/readyReplicas/availableReplicas/
 *   upToDateReplicas/versions/observedGeneration and conditions Available, RollingOut, ScalingUp/Down.
 *   Machines need their infrastructure template to exist; workers wait for the control plane.
 * - Cluster → phase Pending/Provisioning/Provisioned/Deleting, initialization.*, conditions
 *   InfrastructureReady, ControlPlaneInitialized, ControlPlaneAvailable, WorkersAvailable,
 *   RollingOut, Available; status.controlPlane/workers summaries; the <name>-kubeconfig Secret.
 * - Deletion with finalizers: a deleted Cluster deletes its MachineDeployments, then the control
 *   plane, then the OpenStackCluster, each draining its machines, then lets the Cluster go.
 * - Faults (`fault(cluster, ...)`): infrastructure stuck False with a reason, machines that never
 *   become ready, a deletion that never finishes.
 *
 * `events` records what it did in order (machine creates/deletes with versions), for assertions.
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { CLUSTER_NAME_LABEL, KINDS, kubeconfigSecretName, type KindInfo } from '../../activities/capi/api';

type Obj = k8s.KubernetesObject & { spec?: any; status?: any; data?: Record<string, string> };

export interface Fault {
  /** OpenStackCluster never becomes ready: its condition and the Cluster's InfrastructureReady are False with this reason. */
  infrastructure?: { reason: string; message: string };
  /** New machines of this cluster never become ready (e.g. a broken image). */
  machines?: { reason: string; message: string };
  /** Deleting the OpenStackCluster never finishes. */
  deletion?: { reason: string; message: string };
}

interface Machine {
  name: string;
  version: string;
  template: string;
  createdTick: number;
  ready: boolean;
}

const FINALIZERS = {
  Cluster: 'cluster.cluster.x-k8s.io',
  KubeadmControlPlane: 'kubeadm.controlplane.cluster.x-k8s.io',
  MachineDeployment: 'cluster.x-k8s.io',
  OpenStackCluster: 'openstackcluster.infrastructure.cluster.x-k8s.io',
} as const;

/** JSON with sorted keys and no undefined values: the apiserver re-orders keys of custom objects. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).filter(([, y]) => y !== undefined).sort(([a], [b]) => a.localeCompare(b))) : x));
}

export class CapiTestController {
  readonly events: string[] = [];
  readonly errors: string[] = [];
  /** kubeconfig Secret tokens handed out, so tests can look for them where they must not be. */
  readonly kubeconfigTokens: string[] = [];
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;
  private readonly machines = new Map<string, Machine[]>();
  private readonly firstSeen = new Map<string, number>();
  private readonly faults = new Map<string, Fault>();
  private tick = 0;
  private seq = 0;
  private loop?: Promise<void>;
  private stopped = false;

  constructor(
    kc: k8s.KubeConfig,
    private readonly opts: { tickMs?: number; readyTicks?: number; infraTicks?: number } = {},
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        this.tick++;
        try {
          await this.reconcileAll();
        } catch (e: any) {
          // Conflicts with concurrent writers are normal: the next tick sees fresh objects.
          if (e?.code !== 409 && e?.code !== 404) this.errors.push(String(e?.body?.message ?? e?.message ?? e));
        }
        await new Promise((r) => setTimeout(r, this.opts.tickMs ?? 100));
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  fault(cluster: string, f: Fault | undefined): void {
    if (f) this.faults.set(cluster, f);
    else this.faults.delete(cluster);
  }

  /** The simulated machines of a KCP or MachineDeployment. */
  machinesOf(kind: 'KubeadmControlPlane' | 'MachineDeployment', namespace: string, name: string): Machine[] {
    return [...(this.machines.get(`${kind}/${namespace}/${name}`) ?? [])];
  }

  private get readyTicks() {
    return this.opts.readyTicks ?? 3;
  }

  private async list(k: KindInfo): Promise<Obj[]> {
    return (await this.objects.list(k.apiVersion, k.kind)).items as Obj[];
  }

  private async reconcileAll(): Promise<void> {
    const [clusters, kcps, mds, oscs, osmts, kcts] = await Promise.all(
      [KINDS.Cluster, KINDS.KubeadmControlPlane, KINDS.MachineDeployment, KINDS.OpenStackCluster, KINDS.OpenStackMachineTemplate, KINDS.KubeadmConfigTemplate].map((k) => this.list(k)),
    );
    const byName = (list: Obj[], ns: string, name: string) => list.find((o) => o.metadata!.namespace === ns && o.metadata!.name === name);
    const clusterOf = (o: Obj) => byName(clusters, o.metadata!.namespace!, o.spec?.clusterName ?? o.metadata!.labels?.[CLUSTER_NAME_LABEL] ?? '');

    for (const osc of oscs) await this.reconcileInfra(osc, clusters.find((c) => c.metadata!.namespace === osc.metadata!.namespace && c.spec?.infrastructureRef?.name === osc.metadata!.name));
    for (const kcp of kcps) {
      const cluster = clusters.find((c) => c.metadata!.namespace === kcp.metadata!.namespace && c.spec?.controlPlaneRef?.name === kcp.metadata!.name);
      const osc = cluster && byName(oscs, cluster.metadata!.namespace!, cluster.spec?.infrastructureRef?.name);
      await this.reconcileMachines(kcp, cluster, {
        canCreate: osc?.status?.ready === true,
        templateExists: (n) => !!byName(osmts, kcp.metadata!.namespace!, n),
        template: kcp.spec?.machineTemplate?.spec?.infrastructureRef?.name,
        version: kcp.spec?.version,
        desired: kcp.spec?.replicas ?? 1,
      });
    }
    for (const md of mds) {
      const cluster = clusterOf(md);
      const kcp = cluster && byName(kcps, cluster.metadata!.namespace!, cluster.spec?.controlPlaneRef?.name);
      const t = md.spec?.template?.spec;
      await this.reconcileMachines(md, cluster, {
        canCreate: kcp?.status?.initialization?.controlPlaneInitialized === true && !!byName(kcts, md.metadata!.namespace!, t?.bootstrap?.configRef?.name),
        templateExists: (n) => !!byName(osmts, md.metadata!.namespace!, n),
        template: t?.infrastructureRef?.name,
        version: t?.version,
        desired: md.spec?.replicas ?? 1,
      });
    }
    // Re-read what the steps above changed, then summarise into the Clusters.
    const [kcps2, mds2, oscs2] = await Promise.all([KINDS.KubeadmControlPlane, KINDS.MachineDeployment, KINDS.OpenStackCluster].map((k) => this.list(k)));
    for (const c of clusters) await this.reconcileCluster(c, byName(kcps2, c.metadata!.namespace!, c.spec?.controlPlaneRef?.name), mds2.filter((m) => clusterOf(m) === c), byName(oscs2, c.metadata!.namespace!, c.spec?.infrastructureRef?.name));
  }

  private faultOf(cluster: Obj | undefined): Fault {
    return (cluster && this.faults.get(cluster.metadata!.name!)) || {};
  }

  private async ensureFinalizer(o: Obj, finalizer: string): Promise<void> {
    if (o.metadata!.deletionTimestamp || o.metadata!.finalizers?.includes(finalizer)) return;
    await this.objects.patch(
      { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata!.name, namespace: o.metadata!.namespace, finalizers: [...(o.metadata!.finalizers ?? []), finalizer], resourceVersion: o.metadata!.resourceVersion } },
      undefined, undefined, 'capi-test-controller', undefined, k8s.PatchStrategy.MergePatch,
    );
  }

  private async removeFinalizer(o: Obj, finalizer: string): Promise<void> {
    if (!o.metadata!.finalizers?.includes(finalizer)) return;
    await this.objects.patch(
      { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata!.name, namespace: o.metadata!.namespace, finalizers: o.metadata!.finalizers.filter((f) => f !== finalizer), resourceVersion: o.metadata!.resourceVersion } },
      undefined, undefined, 'capi-test-controller', undefined, k8s.PatchStrategy.MergePatch,
    );
    this.events.push(`${o.kind} ${o.metadata!.name} finalized`);
  }

  /** Write status through the status subresource, only when it changed. */
  private async writeStatus(o: Obj, status: any): Promise<void> {
    const withTimes = { ...status, conditions: status.conditions?.map((c: any) => this.keepTransitionTime(o, c)) };
    if (canon(withTimes) === canon(o.status ?? {})) return;
    const k = Object.values(KINDS).find((x) => x.kind === o.kind)!;
    await this.custom.replaceNamespacedCustomObjectStatus({
      group: k.group,
      version: k.version,
      namespace: o.metadata!.namespace!,
      plural: k.plural,
      name: o.metadata!.name!,
      body: { ...o, status: withTimes },
    });
  }

  private keepTransitionTime(o: Obj, c: any): any {
    const prev = (o.status?.conditions ?? []).find((p: any) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return { type: c.type, status: c.status, ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}), lastTransitionTime, reason: c.reason, ...(c.message ? { message: c.message } : {}) };
  }

  private async reconcileInfra(osc: Obj, cluster: Obj | undefined): Promise<void> {
    const key = `OpenStackCluster/${osc.metadata!.namespace}/${osc.metadata!.name}/${osc.metadata!.uid}`;
    const f = this.faultOf(cluster);
    if (osc.metadata!.deletionTimestamp) {
      if (f.deletion) {
        await this.writeStatus(osc, { ...osc.status, ready: osc.status?.ready ?? false, conditions: [{ type: 'Ready', status: 'False', reason: f.deletion.reason, message: f.deletion.message }] });
        return;
      }
      if (!this.firstSeen.has(`${key}/deleting`)) this.firstSeen.set(`${key}/deleting`, this.tick);
      if (this.tick - this.firstSeen.get(`${key}/deleting`)! >= (this.opts.infraTicks ?? 2)) await this.removeFinalizer(osc, FINALIZERS.OpenStackCluster);
      return;
    }
    if (!cluster) return; // CAPO waits for the owner Cluster
    await this.ensureFinalizer(osc, FINALIZERS.OpenStackCluster);
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, this.tick);
    if (f.infrastructure) {
      await this.writeStatus(osc, { ready: false, conditions: [{ type: 'Ready', status: 'False', reason: f.infrastructure.reason, message: f.infrastructure.message }] });
      return;
    }
    const ready = osc.status?.ready === true || this.tick - this.firstSeen.get(key)! >= (this.opts.infraTicks ?? 2);
    await this.writeStatus(osc, {
      ready,
      initialization: { provisioned: ready },
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Ready' : 'NetworkReconciling', message: ready ? undefined : 'creating network, router and load balancer' }],
    });
  }

  private async reconcileMachines(
    o: Obj,
    cluster: Obj | undefined,
    want: { canCreate: boolean; templateExists(name: string): boolean; template: string; version: string; desired: number },
  ): Promise<void> {
    const isKcp = o.kind === 'KubeadmControlPlane';
    const key = `${o.kind}/${o.metadata!.namespace}/${o.metadata!.name}`;
    const uidKey = `${key}/${o.metadata!.uid}`;
    if (!this.machines.has(uidKey)) this.machines.set(uidKey, []);
    const ms = this.machines.get(uidKey)!;
    this.machines.set(key, ms);
    const f = this.faultOf(cluster);
    const name = o.metadata!.name!;
    const finalizer = isKcp ? FINALIZERS.KubeadmControlPlane : FINALIZERS.MachineDeployment;

    if (o.metadata!.deletionTimestamp) {
      // Drain: one machine per tick, then let the object go.
      const m = ms.shift();
      if (m) this.events.push(`${o.kind} ${name}: delete machine ${m.name} (${m.version})`);
      else await this.removeFinalizer(o, finalizer);
      return;
    }
    if (!cluster) return;
    await this.ensureFinalizer(o, finalizer);

    // Machines that were created become ready after readyTicks (unless the cluster has a machine fault).
    for (const m of ms) if (!m.ready && !f.machines && this.tick - m.createdTick >= this.readyTicks) m.ready = true;
    const upToDate = (m: Machine) => m.version === want.version && m.template === want.template;
    const templateOk = want.template ? want.templateExists(want.template) : false;
    const allReady = ms.every((m) => m.ready);
    const outdated = ms.filter((m) => !upToDate(m));
    const create = () => {
      const m = { name: `${name}-${(this.seq++).toString(36)}`, version: want.version, template: want.template, createdTick: this.tick, ready: false };
      ms.push(m);
      this.events.push(`${o.kind} ${name}: create machine ${m.name} (${m.version})`);
    };
    const remove = (m: Machine) => {
      ms.splice(ms.indexOf(m), 1);
      this.events.push(`${o.kind} ${name}: delete machine ${m.name} (${m.version})`);
    };
    // One change at a time, only when every machine is ready (KCP: always one at a time).
    if (want.canCreate && templateOk && allReady) {
      if (ms.length < want.desired) create();
      else if (outdated.length && ms.length === want.desired) create(); // surge first
      else if (ms.length > want.desired) remove(outdated[0] ?? ms[0]);
    } else if (ms.length > want.desired && outdated.length === 0) {
      remove(ms.find((m) => !m.ready) ?? ms[0]);
    }

    const ready = ms.filter((m) => m.ready).length;
    const versions = [...new Set(ms.map((m) => m.version))].sort().map((v) => ({ version: v, replicas: ms.filter((m) => m.version === v).length }));
    const rolling = ms.some((m) => !upToDate(m));
    const gen = o.metadata!.generation;
    const initialized = o.status?.initialization?.controlPlaneInitialized === true || (isKcp && ready > 0);
    const available = isKcp ? initialized && ready >= Math.floor(want.desired / 2) + 1 : ready >= want.desired;
    const notReady = ms.filter((m) => !m.ready);
    const conditions = [
      {
        type: 'Available',
        status: available ? 'True' : 'False',
        reason: available ? 'Available' : f.machines && notReady.length ? f.machines.reason : 'NotAvailable',
        message: available ? undefined : f.machines && notReady.length ? f.machines.message : `${ready} of ${want.desired} machines ready`,
        observedGeneration: gen,
      },
      { type: 'RollingOut', status: rolling ? 'True' : 'False', reason: rolling ? 'RollingOut' : 'NotRollingOut', message: rolling ? `rolling out ${outdated.length} not up-to-date machines` : undefined, observedGeneration: gen },
      {
        type: 'ScalingUp',
        status: ms.length < want.desired ? 'True' : 'False',
        reason: !templateOk ? 'InfrastructureTemplateNotFound' : ms.length < want.desired ? 'ScalingUp' : 'NotScalingUp',
        message: !templateOk ? `OpenStackMachineTemplate ${want.template} not found` : ms.length < want.desired ? `scaling up to ${want.desired}` : undefined,
        observedGeneration: gen,
      },
      { type: 'ScalingDown', status: ms.length > want.desired ? 'True' : 'False', reason: ms.length > want.desired ? 'ScalingDown' : 'NotScalingDown', observedGeneration: gen },
    ];
    const status: any = {
      observedGeneration: gen,
      selector: `${CLUSTER_NAME_LABEL}=${cluster.metadata!.name}`,
      replicas: ms.length,
      readyReplicas: ready,
      availableReplicas: ready,
      upToDateReplicas: ms.filter(upToDate).length,
      ...(versions.length ? { versions } : {}),
      conditions,
    };
    if (isKcp) {
      if (versions.length) status.version = versions[0].version;
      status.initialization = { controlPlaneInitialized: initialized };
    } else {
      status.phase = ms.length === 0 && want.desired > 0 ? 'ScalingUp' : rolling ? 'Running' : ready === want.desired ? 'Running' : 'ScalingUp';
    }
    await this.writeStatus(o, status);
  }

  private async reconcileCluster(c: Obj, kcp: Obj | undefined, mds: Obj[], osc: Obj | undefined): Promise<void> {
    const ns = c.metadata!.namespace!;
    const name = c.metadata!.name!;
    const f = this.faultOf(c);
    if (c.metadata!.deletionTimestamp) {
      // Workers first, then the control plane, then infrastructure; then the Cluster itself.
      const del = async (o: Obj) => {
        if (!o.metadata!.deletionTimestamp) {
          await this.objects.delete(o);
          this.events.push(`Cluster ${name}: delete ${o.kind} ${o.metadata!.name}`);
        }
      };
      const waitingFor = mds.length ? 'WaitingForWorkersDeletion' : kcp ? 'WaitingForControlPlaneDeletion' : osc ? 'WaitingForInfrastructureDeletion' : 'Deleted';
      if (mds.length) for (const md of mds) await del(md);
      else if (kcp) await del(kcp);
      else if (osc) await del(osc);
      const msg =
        waitingFor === 'WaitingForInfrastructureDeletion' && f.deletion ? `* OpenStackCluster ${osc!.metadata!.name}: ${f.deletion.reason}: ${f.deletion.message}` : waitingFor === 'Deleted' ? undefined : `waiting for ${waitingFor.replace(/^WaitingFor|Deletion$/g, '').toLowerCase()} to be deleted`;
      await this.writeStatus(c, { ...c.status, phase: 'Deleting', conditions: [...(c.status?.conditions ?? []).filter((x: any) => x.type !== 'Deleting'), { type: 'Deleting', status: 'True', reason: waitingFor, message: msg }] });
      if (waitingFor === 'Deleted') {
        await this.core.deleteNamespacedSecret({ name: kubeconfigSecretName(name), namespace: ns }).catch(() => undefined);
        await this.removeFinalizer(c, FINALIZERS.Cluster);
      }
      return;
    }
    await this.ensureFinalizer(c, FINALIZERS.Cluster);

    const infra = osc?.status?.ready === true;
    const cpInit = kcp?.status?.initialization?.controlPlaneInitialized === true;
    const cond = (o: Obj | undefined, t: string) => (o?.status?.conditions ?? []).find((x: any) => x.type === t);
    const cpAvail = cond(kcp, 'Available');
    const mdNotAvail = mds.filter((m) => cond(m, 'Available')?.status !== 'True');
    const oscReady = (osc?.status?.conditions ?? []).find((x: any) => x.type === 'Ready');
    const conds = [
      {
        type: 'InfrastructureReady',
        status: infra ? 'True' : 'False',
        reason: infra ? 'Ready' : (oscReady?.reason ?? (osc ? 'NotReady' : 'InfrastructureDoesNotExist')),
        message: infra ? undefined : (oscReady?.message ?? `OpenStackCluster ${c.spec?.infrastructureRef?.name} ${osc ? 'is not ready' : 'does not exist'}`),
      },
      { type: 'ControlPlaneInitialized', status: cpInit ? 'True' : 'False', reason: cpInit ? 'Initialized' : 'NotInitialized', message: cpInit ? undefined : 'control plane not yet initialized' },
      {
        type: 'ControlPlaneAvailable',
        status: cpAvail?.status === 'True' ? 'True' : 'False',
        reason: cpAvail?.status === 'True' ? 'Available' : (cpAvail?.reason ?? 'NotAvailable'),
        message: cpAvail?.status === 'True' ? undefined : `* KubeadmControlPlane ${kcp?.metadata!.name ?? c.spec?.controlPlaneRef?.name}: ${cpAvail?.message ?? 'not reported'}`,
      },
      {
        type: 'WorkersAvailable',
        status: mdNotAvail.length ? 'False' : 'True',
        reason: mdNotAvail.length ? (cond(mdNotAvail[0], 'Available')?.reason ?? 'NotAvailable') : 'Available',
        message: mdNotAvail.length ? mdNotAvail.map((m) => `* MachineDeployment ${m.metadata!.name}: ${cond(m, 'Available')?.message ?? 'not reported'}`).join('\n') : undefined,
      },
      {
        type: 'RollingOut',
        status: [kcp, ...mds].some((o) => cond(o, 'RollingOut')?.status === 'True') ? 'True' : 'False',
        reason: [kcp, ...mds].some((o) => cond(o, 'RollingOut')?.status === 'True') ? 'RollingOut' : 'NotRollingOut',
      },
    ];
    const failing = conds.slice(0, 4).filter((x) => x.status !== 'True');
    conds.unshift({
      type: 'Available',
      status: failing.length ? 'False' : 'True',
      reason: failing.length ? (failing.find((x) => x.type === 'InfrastructureReady' && f.infrastructure)?.reason ?? 'NotAvailable') : 'Available',
      message: failing.length ? failing.map((x) => `* ${x.type}: ${x.message ?? x.reason}`).join('\n') : undefined,
    });
    const summary = (objs: Obj[], desired: (o: Obj) => number) => {
      const sum = (fn: (o: Obj) => number) => objs.reduce((a, o) => a + fn(o), 0);
      const vs = new Map<string, number>();
      for (const o of objs) for (const v of o.status?.versions ?? []) vs.set(v.version, (vs.get(v.version) ?? 0) + v.replicas);
      return {
        desiredReplicas: sum(desired),
        replicas: sum((o) => o.status?.replicas ?? 0),
        upToDateReplicas: sum((o) => o.status?.upToDateReplicas ?? 0),
        readyReplicas: sum((o) => o.status?.readyReplicas ?? 0),
        availableReplicas: sum((o) => o.status?.availableReplicas ?? 0),
        ...(vs.size ? { versions: [...vs].sort().map(([version, replicas]) => ({ version, replicas })) } : {}),
      };
    };
    await this.writeStatus(c, {
      phase: !infra ? (osc ? 'Provisioning' : 'Pending') : cpInit ? 'Provisioned' : 'Provisioning',
      observedGeneration: c.metadata!.generation,
      initialization: { infrastructureProvisioned: infra, controlPlaneInitialized: cpInit },
      conditions: conds,
      ...(kcp ? { controlPlane: summary([kcp], (o) => o.spec?.replicas ?? 1) } : {}),
      workers: summary(mds, (o) => o.spec?.replicas ?? 1),
    });

    // The kubeconfig Secret appears once the control plane is initialized, as CAPI's does.
    if (cpInit) {
      const secretName = kubeconfigSecretName(name);
      const exists = await this.core.readNamespacedSecret({ name: secretName, namespace: ns }).then(() => true, () => false);
      if (!exists) {
        const token = `kubeconfig-token-${randomBytes(12).toString('hex')}`;
        this.kubeconfigTokens.push(token);
        const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: ${name}\n  cluster:\n    server: https://${name}.k8s.example.invalid:6443\n    certificate-authority-data: ${Buffer.from(`ca-of-${name}`).toString('base64')}\nusers:\n- name: ${name}-admin\n  user:\n    token: ${token}\ncontexts:\n- name: ${name}-admin@${name}\n  context: { cluster: ${name}, user: ${name}-admin }\ncurrent-context: ${name}-admin@${name}\n`;
        await this.core.createNamespacedSecret({
          namespace: ns,
          body: { metadata: { name: secretName, namespace: ns, labels: { [CLUSTER_NAME_LABEL]: name } }, type: 'cluster.x-k8s.io/secret', data: { value: Buffer.from(kubeconfig).toString('base64') } },
        });
        this.events.push(`Cluster ${name}: kubeconfig secret created`);
      }
    }
  }
}
