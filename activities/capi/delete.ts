import { z } from 'zod';
import { defineAction } from '../define';
import { CLUSTER_NAME_LABEL, INFRA_KINDS, KINDS, MANAGED_BY, MANAGED_BY_LABEL } from './api';
import { condition, connect, Connection, deleteObject, describeCondition, durationMs, DurationText, failure, getObject, listObjects, Name, Namespace, pollUntil, requireKinds, SECRET, type KubeObject } from './kube';

export default defineAction({
  name: 'capi.cluster.delete',
  description:
    'Delete a Cluster (Cluster API deletes its machines, control plane and infrastructure), wait until it is gone, then remove the templates and Secret Runwright applied for it.',
  input: z.strictObject({
    name: Name,
    namespace: Namespace,
    ...Connection,
    timeout: DurationText.default('30m'),
    pollInterval: DurationText.default('5s'),
  }),
  /** Beyond the input's own wait timeout, so the step does not cut the wait short. */
  defaults: { timeout: '35m' },
  async dryRun(input) {
    const kube = connect(input);
    await requireKinds(kube, [KINDS.Cluster]);
    const c = await getObject(kube, KINDS.Cluster, input.namespace, input.name);
    const where = `Cluster ${input.namespace}/${input.name}`;
    if (!c) return { changed: false, summary: `${where}: already gone` };
    return { changed: true, summary: `delete ${where}${c.metadata?.deletionTimestamp ? ' (already being deleted)' : ''} and the templates and Secret applied for it`, diff: `- ${where}` };
  },
  async run(input, ctx) {
    const kube = connect(input);
    await requireKinds(kube, [KINDS.Cluster, KINDS.KubeadmConfigTemplate]);
    const where = `Cluster ${input.namespace}/${input.name}`;
    const existed = (await getObject(kube, KINDS.Cluster, input.namespace, input.name)) !== null;
    if (existed) {
      await deleteObject(kube, KINDS.Cluster, input.namespace, input.name);
      ctx.log(`${where}: deletion requested`);
    }
    let last: KubeObject | null = null;
    await pollUntil(
      ctx,
      { timeoutMs: durationMs(input.timeout), intervalMs: durationMs(input.pollInterval), key: `delete:${input.namespace}/${input.name}` },
      async () => {
        const c = await getObject(kube, KINDS.Cluster, input.namespace, input.name);
        if (!c) return { done: true };
        last = c;
        // A retry may find the Cluster re-created without a deletion: request it again.
        if (!c.metadata?.deletionTimestamp) await deleteObject(kube, KINDS.Cluster, input.namespace, input.name);
        return { progress: { phase: c.status?.phase ?? 'Deleting', finalizers: c.metadata?.finalizers ?? [], deleting: describeCondition(condition(c, 'Deleting'), 'Deleting') } };
      },
      async () =>
        failure(
          'CapiWaitTimeout',
          `${where} still exists after ${input.timeout} (phase ${last?.status?.phase ?? 'unknown'}, finalizers ${(last?.metadata?.finalizers ?? []).join(', ') || 'none'}): ${describeCondition(condition(last, 'Deleting'), 'Deleting')}`,
        ),
    );
    // What capi.cluster.apply created and CAPI does not own: templates and the cloud-config Secret.
    const selector = `${CLUSTER_NAME_LABEL}=${input.name},${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    const removed: string[] = [];
    // The machine templates of whichever infrastructure providers the management cluster has.
    const templateKinds = [];
    for (const { machineTemplate } of Object.values(INFRA_KINDS)) if (await requireKinds(kube, [machineTemplate]).then(() => true, () => false)) templateKinds.push(machineTemplate);
    for (const k of [...templateKinds, KINDS.KubeadmConfigTemplate, SECRET]) {
      for (const o of await listObjects(kube, k, input.namespace, selector)) {
        if (await deleteObject(kube, k, input.namespace, o.metadata!.name!)) removed.push(`${k.kind}/${o.metadata!.name}`);
      }
    }
    return { cluster: input.name, namespace: input.namespace, deleted: existed, alreadyGone: !existed, removed, changed: existed || removed.length > 0 };
  },
  plan: (i) => `delete Cluster ${i.namespace}/${i.name} and everything Cluster API created for it (machines, control plane, infrastructure: OpenStack resources or in-memory machines); wait up to ${i.timeout} until gone`,
});
