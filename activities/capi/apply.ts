import { z } from 'zod';
import { defineAction } from '../define';
import { resolveSecret } from '../../lib/secrets';
import { CLUSTER_NAME_LABEL, KINDS, kindsFor, MANAGED_BY, MANAGED_BY_LABEL } from './api';
import { applyObject, connect, Connection, failure, listObjects, requireKinds, type KubeObject } from './kube';
import { ClusterSpecInput, describeCluster, renderCluster } from './render';

const input = z.strictObject({
  ...ClusterSpecInput,
  ...Connection,
  force: z.boolean().default(false).describe('Take over fields another field manager owns (server-side apply force); default: fail with the conflict.'),
});

type ApplyInput = z.output<typeof input>;

/** The objects to apply: the cloud-config Secret (when Runwright makes it) and the rendered cluster. */
function objectsFor(input: ApplyInput): { rendered: ReturnType<typeof renderCluster>; objects: KubeObject[] } {
  if (input.infrastructure === 'openstack' && input.cloudsYaml && input.identitySecret) throw failure('InvalidInput', 'give either cloudsYaml (Runwright creates the Secret) or identitySecret (an existing one), not both');
  if (input.infrastructure === 'openstack' && !input.cloudsYaml && !input.identitySecret) throw failure('InvalidInput', 'cloudsYaml (a secret reference) or identitySecret (an existing Secret) is required for CAPO to reach OpenStack');
  const rendered = renderCluster(input);
  const objects: KubeObject[] = [];
  if (rendered.cloudConfigSecret) {
    // Resolved here, in the worker: the secret's content never enters workflow history.
    const data: Record<string, string> = { 'clouds.yaml': Buffer.from(resolveSecret(input.cloudsYaml!)).toString('base64') };
    if (input.caCert) data.cacert = Buffer.from(resolveSecret(input.caCert)).toString('base64');
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: rendered.cloudConfigSecret, namespace: input.namespace, labels: { [CLUSTER_NAME_LABEL]: input.name, [MANAGED_BY_LABEL]: MANAGED_BY } },
      type: 'Opaque',
      data,
    });
  }
  objects.push(...rendered.objects);
  return { rendered, objects };
}

export default defineAction({
  name: 'capi.cluster.apply',
  description:
    'Render a Cluster API workload cluster (Cluster, KubeadmControlPlane, MachineDeployments, KubeadmConfigTemplate, OpenStackCluster, OpenStackMachineTemplates, cloud-config Secret) and server-side apply it; re-running is idempotent.',
  input,
  async dryRun(input) {
    const { objects } = objectsFor(input);
    const kube = connect(input);
    await requireKinds(kube, kindsFor(input.infrastructure));
    const lines: string[] = [];
    for (const obj of objects) {
      const r = await applyObject(kube, obj, { force: input.force, dryRun: true });
      if (r.changed) lines.push(`${r.created ? '+' : '~'} ${obj.kind}/${obj.metadata!.name}`);
    }
    return lines.length ? { changed: true, summary: `${describeCluster(input)}: ${lines.length} object(s) would change (server-side dry run)`, diff: lines.join('\n') } : { changed: false, summary: `${describeCluster(input)}: unchanged (server-side dry run)` };
  },
  async run(input, ctx) {
    const { rendered, objects } = objectsFor(input);
    const kube = connect(input);
    await requireKinds(kube, kindsFor(input.infrastructure));

    const applied: { kind: string; name: string; created: boolean; changed: boolean }[] = [];
    for (const obj of objects) {
      ctx.heartbeat({ applying: `${obj.kind}/${obj.metadata!.name}` });
      const r = await applyObject(kube, obj, { force: input.force });
      applied.push({ kind: obj.kind!, name: obj.metadata!.name!, created: r.created, changed: r.changed });
    }

    // Pools that exist but are no longer in the parameters are reported, never deleted here.
    const wanted = new Set(rendered.objects.filter((o) => o.kind === KINDS.MachineDeployment.kind).map((o) => o.metadata!.name));
    const unmanaged = (await listObjects(kube, KINDS.MachineDeployment, input.namespace, `${CLUSTER_NAME_LABEL}=${input.name}`))
      .map((md) => md.metadata!.name!)
      .filter((n) => !wanted.has(n));
    const changed = applied.some((a) => a.changed);
    ctx.log(`${describeCluster(input)}: ${changed ? applied.filter((a) => a.changed).map((a) => `${a.kind}/${a.name}`).join(', ') + ' changed' : 'unchanged'}`);
    return {
      cluster: input.name,
      namespace: input.namespace,
      kubernetesVersion: input.kubernetesVersion,
      objects: applied,
      machineDeployments: [...wanted],
      unlistedMachineDeployments: unmanaged,
      changed,
    };
  },
  plan: (i) => `server-side apply ${describeCluster(i)}${i.force ? ' (force)' : ''}`,
});
