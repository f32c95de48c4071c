import { z } from 'zod';
import { defineAction } from '../define';
import { KINDS } from './api';
import { applyObject, connect, Connection, durationMs, DurationText, failure, getObject, Name, Namespace, requireKinds, type Kube, type KubeObject } from './kube';
import { machineDeploymentName } from './render';
import { rolloutProgress, waitForRollout } from './rollout';

/** Field manager for scaling: its own, so a later capi.cluster.apply sees the new count as owned by a scale. */
export const SCALE_FIELD_MANAGER = 'runwright-scale';

/** The cluster's MachineDeployment named by pool or full name; fails when there is none or it is another cluster's. */
async function findMachineDeployment(kube: Kube, input: { cluster: string; namespace: string; machineDeployment: string }): Promise<KubeObject> {
  await requireKinds(kube, [KINDS.MachineDeployment]);
  const candidates = [machineDeploymentName(input.cluster, input.machineDeployment), input.machineDeployment];
  let md = null;
  for (const n of candidates) if (!md) md = await getObject(kube, KINDS.MachineDeployment, input.namespace, n);
  if (!md) throw failure('KubeNotFound', `cluster ${input.namespace}/${input.cluster} has no MachineDeployment ${candidates.join(' or ')} on ${kube.where}`);
  if (md.spec?.clusterName !== input.cluster) throw failure('InvalidInput', `MachineDeployment ${md.metadata!.name} belongs to cluster ${md.spec?.clusterName}, not ${input.cluster}`);
  return md;
}

export default defineAction({
  name: 'capi.machinedeployment.scale',
  description: 'Set the replicas of a cluster\'s MachineDeployment (a worker pool) and wait until that many machines are ready and available.',
  input: z.strictObject({
    cluster: Name,
    namespace: Namespace,
    machineDeployment: z.string().min(1).describe('Pool name (MachineDeployment <cluster>-<pool>) or the MachineDeployment\'s full name.'),
    replicas: z.number().int().min(0).max(1000),
    ...Connection,
    wait: z.boolean().default(true),
    timeout: DurationText.default('30m'),
    pollInterval: DurationText.default('5s'),
  }),
  /** Beyond the input's own wait timeout, so the step does not cut the wait short. */
  defaults: { timeout: '35m' },
  async run(input, ctx) {
    const kube = connect(input);
    const md = await findMachineDeployment(kube, input);
    const name = md.metadata!.name!;
    const from = md.spec?.replicas ?? 1;
    let changed = false;
    if (from !== input.replicas) {
      const r = await applyObject(
        kube,
        { apiVersion: KINDS.MachineDeployment.apiVersion, kind: KINDS.MachineDeployment.kind, metadata: { name, namespace: input.namespace }, spec: { clusterName: input.cluster, replicas: input.replicas } },
        { fieldManager: SCALE_FIELD_MANAGER, force: true },
      );
      changed = r.changed;
      ctx.log(`MachineDeployment ${input.namespace}/${name}: replicas ${from} → ${input.replicas}`);
    }
    const progress = input.wait
      ? await waitForRollout(kube, ctx, KINDS.MachineDeployment, input.namespace, name, {
          timeoutMs: durationMs(input.timeout),
          intervalMs: durationMs(input.pollInterval),
          key: `scale:${input.namespace}/${name}:${input.replicas}`,
          phase: `scaling ${name} to ${input.replicas}`,
        })
      : rolloutProgress(md);
    return { machineDeployment: name, namespace: input.namespace, from, to: input.replicas, ready: progress.ready, available: progress.available, changed };
  },
  async dryRun(input) {
    const md = await findMachineDeployment(connect(input), input);
    const from = md.spec?.replicas ?? 1;
    const what = `MachineDeployment ${input.namespace}/${md.metadata!.name}`;
    return from === input.replicas ? { changed: false, summary: `${what} has ${from} replicas` } : { changed: true, summary: `scale ${what} from ${from} to ${input.replicas} replicas`, diff: `replicas: ${from} -> ${input.replicas}` };
  },
  plan: (i) => `scale MachineDeployment ${i.namespace}/${machineDeploymentName(i.cluster, i.machineDeployment)} to ${i.replicas} replicas${i.wait ? `, wait up to ${i.timeout}` : ''}`,
});
