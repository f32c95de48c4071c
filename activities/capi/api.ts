/**
 * The one place that says which Cluster API versions Runwright speaks. Core, bootstrap and
 * control-plane objects are `v1beta2` (CAPI ≥ 1.11: references are `{apiGroup, kind, name}`,
 * extraArgs are `{name, value}` lists); the OpenStack provider (CAPO) is
 * `infrastructure.cluster.x-k8s.io/v1beta1`. Changing a version here changes it everywhere
 * (rendering, reads, CRD checks, the test CRDs are checked against it).
 */

export const GROUPS = {
  core: 'cluster.x-k8s.io',
  bootstrap: 'bootstrap.cluster.x-k8s.io',
  controlPlane: 'controlplane.cluster.x-k8s.io',
  infrastructure: 'infrastructure.cluster.x-k8s.io',
} as const;

export const VERSIONS = {
  core: 'v1beta2',
  bootstrap: 'v1beta2',
  controlPlane: 'v1beta2',
  infrastructure: 'v1beta1',
} as const;

export interface KindInfo {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  plural: string;
  /** What installs it, for "CRD missing" errors. */
  provider: string;
}

function kind(area: keyof typeof GROUPS, k: string, plural: string, provider: string, version: string = VERSIONS[area]): KindInfo {
  return { group: GROUPS[area], version, apiVersion: `${GROUPS[area]}/${version}`, kind: k, plural, provider };
}

export const KINDS = {
  Cluster: kind('core', 'Cluster', 'clusters', 'Cluster API core'),
  MachineDeployment: kind('core', 'MachineDeployment', 'machinedeployments', 'Cluster API core'),
  KubeadmConfigTemplate: kind('bootstrap', 'KubeadmConfigTemplate', 'kubeadmconfigtemplates', 'Cluster API kubeadm bootstrap provider'),
  KubeadmControlPlane: kind('controlPlane', 'KubeadmControlPlane', 'kubeadmcontrolplanes', 'Cluster API kubeadm control-plane provider'),
  OpenStackCluster: kind('infrastructure', 'OpenStackCluster', 'openstackclusters', 'Cluster API Provider OpenStack (CAPO)'),
  OpenStackMachineTemplate: kind('infrastructure', 'OpenStackMachineTemplate', 'openstackmachinetemplates', 'Cluster API Provider OpenStack (CAPO)'),
} as const satisfies Record<string, KindInfo>;

export type CapiKind = keyof typeof KINDS;

/** Cluster API's Machines: read to check that a rollout reached every machine (not in KINDS: a management cluster checked for CRDs has them, test fixtures need not). */
export const MACHINE = kind('core', 'Machine', 'machines', 'Cluster API core');

/**
 * Cluster API's in-memory infrastructure provider (CAPD's Dev* kinds with `backend.inMemory`,
 * `infrastructure.cluster.x-k8s.io/v1beta2`): simulated machines and workload-cluster API
 * servers, no VMs. For tests and demos; not in KINDS, whose CRDs an OpenStack management cluster has.
 */
export const DEV_KINDS = {
  DevCluster: kind('infrastructure', 'DevCluster', 'devclusters', 'Cluster API in-memory infrastructure provider (CAPD Dev* kinds)', 'v1beta2'),
  DevMachineTemplate: kind('infrastructure', 'DevMachineTemplate', 'devmachinetemplates', 'Cluster API in-memory infrastructure provider (CAPD Dev* kinds)', 'v1beta2'),
} as const satisfies Record<string, KindInfo>;

/** Where the machines come from: OpenStack (CAPO, the default) or the in-memory provider (tests). */
export const INFRASTRUCTURES = ['openstack', 'inmemory'] as const;
export type Infrastructure = (typeof INFRASTRUCTURES)[number];

/** The infrastructure cluster and machine-template kinds of an infrastructure. */
export const INFRA_KINDS: Record<Infrastructure, { cluster: KindInfo; machineTemplate: KindInfo }> = {
  openstack: { cluster: KINDS.OpenStackCluster, machineTemplate: KINDS.OpenStackMachineTemplate },
  inmemory: { cluster: DEV_KINDS.DevCluster, machineTemplate: DEV_KINDS.DevMachineTemplate },
};

/** The machine-template kinds Runwright renders, by kind name (a KCP's or MD's infrastructureRef.kind). */
export const machineTemplateKind = (k: string | undefined): KindInfo | undefined => Object.values(INFRA_KINDS).find((i) => i.machineTemplate.kind === k)?.machineTemplate;

/** Every kind a cluster on an infrastructure needs: core, kubeadm, and the infrastructure's. */
export function kindsFor(infrastructure: Infrastructure): KindInfo[] {
  const i = INFRA_KINDS[infrastructure];
  return [KINDS.Cluster, KINDS.MachineDeployment, KINDS.KubeadmConfigTemplate, KINDS.KubeadmControlPlane, i.cluster, i.machineTemplate];
}

/** Label CAPI puts on every object of a cluster. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
/** Label on the objects Runwright applied (templates, secrets), so delete can clean them up. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'runwright';
/** Server-side apply field manager. */
export const FIELD_MANAGER = 'runwright';

/** A v1beta2 reference. */
export function ref(k: KindInfo, name: string): { apiGroup: string; kind: string; name: string } {
  return { apiGroup: k.group, kind: k.kind, name };
}

export const kubeconfigSecretName = (cluster: string) => `${cluster}-kubeconfig`;
export const cloudConfigSecretName = (cluster: string) => `${cluster}-cloud-config`;
