/**
 * Render a workload cluster from a few parameters into the objects Cluster API and CAPO expect:
 * Cluster, KubeadmControlPlane, OpenStackCluster, OpenStackMachineTemplates (control plane and
 * one per worker pool), KubeadmConfigTemplate, MachineDeployments, and the cloud-config Secret.
 * Pure: no I/O, so plan mode and tests use it as is.
 *
 * Machine templates are immutable in CAPO: their names carry a hash of their spec, so a changed
 * flavor or image yields a new template (and a rollout), and an unchanged one re-applies as is.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SecretRef } from '../../lib/secrets';
import { CLUSTER_NAME_LABEL, cloudConfigSecretName, INFRA_KINDS, INFRASTRUCTURES, KINDS, MANAGED_BY, MANAGED_BY_LABEL, ref, type Infrastructure } from './api';
import { blankAsUnset, KubeVersion, Name, Namespace, type KubeObject } from './kube';

const Cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a CIDR like 10.6.0.0/24');

export const WorkerPool = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(20).describe('Pool name; the MachineDeployment is <cluster>-<name>.'),
  replicas: z.number().int().min(0).max(1000),
  flavor: z.string().min(1).describe('Nova flavor of the pool machines.'),
  image: blankAsUnset(z.string().min(1)).describe('Glance image (default: the cluster image).'),
});

export const ClusterSpecInput = {
  name: Name.describe('Cluster name.'),
  namespace: Namespace,
  kubernetesVersion: KubeVersion,
  image: z.string().min(1).describe('Glance image name for the machines (built for kubernetesVersion).'),
  controlPlane: z.strictObject({
    replicas: z.number().int().refine((n) => n >= 1 && n % 2 === 1, 'control-plane replicas must be odd (1, 3, 5, ...)').default(3),
    flavor: z.string().min(1),
  }),
  workers: z.array(WorkerPool).default([]),
  cloudName: z.string().min(1).default('openstack').describe('Entry of clouds.yaml to use.'),
  cloudsYaml: blankAsUnset(SecretRef).describe('clouds.yaml content (env:/file: reference), stored in the <name>-cloud-config Secret.'),
  caCert: blankAsUnset(SecretRef).describe('CA bundle for the OpenStack APIs (env:/file: reference), stored beside clouds.yaml.'),
  identitySecret: blankAsUnset(z.string().min(1)).describe('Existing Secret with clouds.yaml to use instead of cloudsYaml.'),
  sshKeyName: blankAsUnset(z.string().min(1)),
  network: z
    .strictObject({
      nodeCIDR: Cidr.default('10.6.0.0/24'),
      podCIDRs: z.array(Cidr).min(1).default(['192.168.0.0/16']),
      serviceCIDRs: z.array(Cidr).min(1).default(['10.96.0.0/12']),
      dnsNameservers: z.array(z.string().min(1)).default([]),
      externalNetworkId: blankAsUnset(z.string().min(1)),
    })
    .prefault({}),
  apiServerLoadBalancer: z.boolean().default(true),
  infrastructure: z
    .enum(INFRASTRUCTURES)
    .default('openstack')
    .describe('openstack: CAPO (OpenStackCluster, OpenStackMachineTemplates; the default). inmemory: Cluster API\'s in-memory provider (DevCluster, DevMachineTemplates), simulated machines for tests; image, flavor and the OpenStack fields are not used.'),
};
export const ClusterSpec = z.strictObject(ClusterSpecInput);
export type ClusterSpec = z.output<typeof ClusterSpec>;

export const controlPlaneName = (cluster: string) => `${cluster}-control-plane`;
export const machineDeploymentName = (cluster: string, pool: string) => `${cluster}-${pool}`;
export const workerConfigTemplateName = (cluster: string) => `${cluster}-worker`;

function labels(cluster: string, extra: Record<string, string> = {}): Record<string, string> {
  return { [CLUSTER_NAME_LABEL]: cluster, [MANAGED_BY_LABEL]: MANAGED_BY, ...extra };
}

/**
 * The node name from cloud-init, and for an OpenStack machine the kubelet flags of the external
 * cloud provider (not for simulated machines). Never empty: the CRDs want at least one property.
 */
const nodeRegistration = (infrastructure: Infrastructure) => ({
  name: '{{ local_hostname }}',
  ...(infrastructure === 'openstack'
    ? {
        kubeletExtraArgs: [
          { name: 'cloud-provider', value: 'external' },
          { name: 'provider-id', value: 'openstack:///{{ instance_id }}' },
        ],
      }
    : {}),
});

/** How long a simulated machine's parts take to come up (in-memory provider). */
const inMemoryStartup = (duration: string) => ({ provisioning: { startupDuration: duration, startupJitter: '0.2' } });

export function machineTemplateSpec(s: Pick<ClusterSpec, 'sshKeyName'> & { infrastructure?: Infrastructure }, flavor: string, image: string): Record<string, unknown> {
  if (s.infrastructure === 'inmemory') {
    return { backend: { inMemory: { vm: inMemoryStartup('2s'), node: inMemoryStartup('1s'), apiServer: inMemoryStartup('1s'), etcd: inMemoryStartup('1s') } } };
  }
  return { flavor, image: { filter: { name: image } }, ...(s.sshKeyName ? { sshKeyName: s.sshKeyName } : {}) };
}

/** A machine template (OpenStackMachineTemplate or DevMachineTemplate) whose name carries a hash of its spec. */
export function machineTemplate(cluster: string, namespace: string, role: string, spec: Record<string, unknown>, infrastructure: Infrastructure = 'openstack'): KubeObject {
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 8);
  const k = INFRA_KINDS[infrastructure].machineTemplate;
  return {
    apiVersion: k.apiVersion,
    kind: k.kind,
    metadata: { name: `${cluster}-${role}-${hash}`, namespace, labels: labels(cluster, { 'runwright.dev/machine-role': role }) },
    spec: { template: { spec } },
  };
}

export interface Rendered {
  /** In apply order: what others reference comes first, the Cluster last. */
  objects: KubeObject[];
  /** Secret with clouds.yaml, when cloudsYaml is given: data is filled in by the activity. */
  cloudConfigSecret?: string;
}

export function renderCluster(s: ClusterSpec): Rendered {
  const { name, namespace } = s;
  const meta = (n: string, extra: Record<string, string> = {}) => ({ name: n, namespace, labels: labels(name, extra) });
  const identitySecret = s.identitySecret ?? cloudConfigSecretName(name);
  const objects: KubeObject[] = [];

  const infra = INFRA_KINDS[s.infrastructure];
  const cpTemplate = machineTemplate(name, namespace, 'control-plane', machineTemplateSpec(s, s.controlPlane.flavor, s.image), s.infrastructure);
  objects.push(cpTemplate);
  const poolTemplates = s.workers.map((p) => machineTemplate(name, namespace, p.name, machineTemplateSpec(s, p.flavor, p.image ?? s.image), s.infrastructure));
  objects.push(...poolTemplates);

  if (s.workers.length) {
    objects.push({
      apiVersion: KINDS.KubeadmConfigTemplate.apiVersion,
      kind: KINDS.KubeadmConfigTemplate.kind,
      metadata: meta(workerConfigTemplateName(name)),
      spec: { template: { spec: { joinConfiguration: { nodeRegistration: nodeRegistration(s.infrastructure) } } } },
    });
  }

  objects.push({
    apiVersion: infra.cluster.apiVersion,
    kind: infra.cluster.kind,
    // The in-memory DevCluster reconciler (v1.13.7) writes its listener into metadata.annotations
    // without making the map: a DevCluster without annotations panics it ("assignment to entry
    // in nil map"). ClusterClass-made DevClusters always have some; give ours one.
    metadata: s.infrastructure === 'inmemory' ? { ...meta(name), annotations: { 'runwright.dev/infrastructure': 'inmemory' } } : meta(name),
    spec:
      s.infrastructure === 'inmemory'
        ? { backend: { inMemory: {} } }
        : {
            identityRef: { cloudName: s.cloudName, name: identitySecret },
            managedSubnets: [{ cidr: s.network.nodeCIDR, ...(s.network.dnsNameservers.length ? { dnsNameservers: s.network.dnsNameservers } : {}) }],
            ...(s.network.externalNetworkId ? { externalNetwork: { id: s.network.externalNetworkId } } : {}),
            apiServerLoadBalancer: { enabled: s.apiServerLoadBalancer },
            managedSecurityGroups: { allowAllInClusterTraffic: false },
          },
  });

  objects.push({
    apiVersion: KINDS.KubeadmControlPlane.apiVersion,
    kind: KINDS.KubeadmControlPlane.kind,
    metadata: meta(controlPlaneName(name)),
    spec: {
      replicas: s.controlPlane.replicas,
      version: s.kubernetesVersion,
      machineTemplate: { spec: { infrastructureRef: ref(infra.machineTemplate, cpTemplate.metadata!.name!) } },
      kubeadmConfigSpec: {
        ...(s.infrastructure === 'openstack' ? { clusterConfiguration: { controllerManager: { extraArgs: [{ name: 'cloud-provider', value: 'external' }] } } } : {}),
        initConfiguration: { nodeRegistration: nodeRegistration(s.infrastructure) },
        joinConfiguration: { nodeRegistration: nodeRegistration(s.infrastructure) },
      },
    },
  });

  s.workers.forEach((p, i) => {
    const md = machineDeploymentName(name, p.name);
    const selector = { [CLUSTER_NAME_LABEL]: name, 'cluster.x-k8s.io/deployment-name': md };
    objects.push({
      apiVersion: KINDS.MachineDeployment.apiVersion,
      kind: KINDS.MachineDeployment.kind,
      metadata: meta(md, { 'runwright.dev/pool': p.name }),
      spec: {
        clusterName: name,
        replicas: p.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: {
            clusterName: name,
            version: s.kubernetesVersion,
            bootstrap: { configRef: ref(KINDS.KubeadmConfigTemplate, workerConfigTemplateName(name)) },
            infrastructureRef: ref(infra.machineTemplate, poolTemplates[i].metadata!.name!),
          },
        },
      },
    });
  });

  objects.push({
    apiVersion: KINDS.Cluster.apiVersion,
    kind: KINDS.Cluster.kind,
    metadata: meta(name),
    spec: {
      clusterNetwork: { pods: { cidrBlocks: s.network.podCIDRs }, services: { cidrBlocks: s.network.serviceCIDRs }, serviceDomain: 'cluster.local' },
      controlPlaneRef: ref(KINDS.KubeadmControlPlane, controlPlaneName(name)),
      infrastructureRef: ref(infra.cluster, name),
    },
  });

  return { objects, cloudConfigSecret: s.cloudsYaml && s.infrastructure === 'openstack' ? cloudConfigSecretName(name) : undefined };
}

export function describeCluster(s: ClusterSpec): string {
  const pools = s.workers.map((p) => `${machineDeploymentName(s.name, p.name)} ${p.replicas}×${p.flavor}`).join(', ');
  return `Cluster ${s.namespace}/${s.name} ${s.kubernetesVersion} (${s.infrastructure === 'inmemory' ? 'in-memory machines' : `image ${s.image}`}): control plane ${s.controlPlane.replicas}×${s.controlPlane.flavor}${pools ? `; workers ${pools}` : '; no workers'}`;
}
