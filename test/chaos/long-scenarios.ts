/**
 * Chaos scenarios for the longer shipped runbooks (the "long" group, run in rounds of their own:
 * the DR drill steers the same DNS/HAProxy/Octavia as the failover scenario and takes cluster-b's
 * cloud down, which provision/decommission use):
 * - dr-drill on the active-active stand-ins: the fault injected into and removed from the
 *   OpenStack stand-in exactly once, traffic failed over and back;
 * - the Cluster API lifecycle (create, scale, upgrade, delete) on a real kube-apiserver + etcd
 *   with the test controller: objects' generations and machines created/deleted;
 * - openstack-upgrade on SSH test hosts (a controller and two computes) and the OpenStack
 *   stand-in, faults planned once the compute phase has begun: the shims' call log on each host
 *   (nova-compute restarted once per compute), packages, services, live migrations.
 * Approvals are answered by the harness (`approve`), as an operator would.
 */
import { OpenStackClient } from '../../activities/openstack/client';
import { KINDS } from '../../activities/capi/api';
import { connect, deleteObject, getObject, listObjects, type Kube } from '../../activities/capi/kube';
import capiApply from '../../activities/capi/apply';
import capiWait from '../../activities/capi/wait';
import type { ActionContext } from '../../activities/define';
import type { RunResult, RunStatus } from '../../workflows/definitions';
import { readServer } from '../../activities/traffic/haproxy-client';
import { shippedInput } from '../helpers/temporal';
import { act, type SimEnv } from '../helpers/openstack';
import type { TestHosts } from '../helpers/testhosts';
import type { ActiveActive } from '../helpers/active-active';
import { CapiTestController } from '../helpers/capi-controller';
import type { KubeEnv } from '../helpers/kube';
import { prepareUpgradeHosts, upgradeInventory } from '../helpers/upgrade-hosts';
import { CHAOS_LATENCY } from './scenarios';
import type { Scenario } from './harness';

const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

// ---------------------------------------------------------------------------------------------
// dr-drill

/**
 * dr-drill.yaml with its shipped settings: cluster-b's whole cloud refused on the stand-in
 * (health is each cloud's identity endpoint, as in test/drill.test.ts), the failover runbook as
 * a child, restore, failback. The stand-in counts the faults added and removed.
 */
export function drillScenario(aa: ActiveActive): Scenario {
  const sim = aa.os.sim;
  const counts = { injected: 0, removed: 0 };
  // The stand-in's admin API calls these (the drill's fault.inject/fault.restore in the worker).
  const add = sim.addFault.bind(sim);
  const remove = sim.removeFault.bind(sim);
  sim.addFault = (f) => (counts.injected++, add(f));
  sim.removeFault = (id) => {
    if (sim.world.faults.some((f) => f.id === id)) counts.removed++;
    remove(id);
  };
  return {
    name: 'drill',
    async prepare() {
      await aa.reset();
      const p = aa.params();
      // The drill skips itself when its steady-state probe (3 samples of each cloud's identity
      // endpoint) fails: start only once every endpoint answers, so a skip is the run's doing.
      for (const c of p.clusters as string[]) {
        for (let i = 0; ; i++) {
          const ok = await fetch(`${sim.url}/${c}/identity/v3`).then((r) => r.ok, () => false);
          if (ok) break;
          if (i >= 50) throw new Error(`dr-drill scenario: ${c}'s identity endpoint is not healthy after reset`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      return [
        {
          key: 'dr-drill#1',
          approve: true,
          input: shippedInput('dr-drill', {
            target: 'cluster-b',
            clusters: p.clusters,
            health: Object.fromEntries((p.clusters as string[]).map((c) => [c, `${sim.url}/${c}/identity/v3`])),
            backends: p.backends,
            fault: { kind: 'openstack-sim', endpoint: sim.url, cloud: 'cluster-b', down: 'refuse' },
            entrypoint: p.entrypoint,
            dnsServer: p.dnsServer,
            dnsName: p.dnsName,
            prometheus: p.prometheus,
            loadQuery: p.loadQuery,
          }),
          async finalState(res: RunResult) {
            const r = (res.outputs as any).report;
            const hp = await readServer({ socket: aa.lb.socket, timeoutMs: 5000 }, 'app', 'cluster-b');
            return {
              verdict: r.verdict,
              // Why a drill skipped itself (steady state not met, the guard), null when it ran.
              skipped: r.skipped ?? null,
              restored: r.restored,
              failedBack: r.failedBack,
              steadyAfter: r.steadyAfter,
              faultsLeft: sim.world.faults.length,
              dns: await aa.resolve(),
              haproxyB: `${hp.admin}/${hp.weight}`,
              weights: await aa.memberWeights(),
            };
          },
        },
      ];
    },
    async sideEffects() {
      return { 'faults injected': counts.injected, 'faults removed': counts.removed };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cluster API lifecycle

const CAPI_CTX = { idempotencyKey: 'chaos', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as unknown as ActionContext;

/** A cluster made directly (not through a run) for scale/upgrade/delete to work on. */
async function makeCluster(kubeconfig: string, name: string): Promise<void> {
  await capiApply.run(
    capiApply.input.parse({ name, kubernetesVersion: 'v1.31.4', image: 'img-1.31', controlPlane: { replicas: 1, flavor: 'm1.large' }, workers: [{ name: 'md-0', replicas: 2, flavor: 'm1.medium' }], identitySecret: 'cloud', kubeconfig }),
    CAPI_CTX,
  );
  await capiWait.run(capiWait.input.parse({ name, kubeconfig, pollInterval: '200ms', timeout: '120s' }), CAPI_CTX);
}

/** What a cluster looks like in the management cluster: generations show a repeated update. */
async function clusterState(kube: Kube, ctl: CapiTestController, name: string): Promise<unknown> {
  const ns = 'default';
  const cluster = await getObject(kube, KINDS.Cluster, ns, name);
  const sel = `cluster.x-k8s.io/cluster-name=${name}`;
  const left = (await Promise.all(Object.values(KINDS).map((k) => listObjects(kube, k, ns, sel)))).flat().length;
  if (!cluster) return { gone: true, objectsLeft: left };
  const kcp = await getObject(kube, KINDS.KubeadmControlPlane, ns, `${name}-control-plane`);
  const mds = await listObjects(kube, KINDS.MachineDeployment, ns, sel);
  const templates = await listObjects(kube, KINDS.OpenStackMachineTemplate, ns, sel);
  const machines = (kind: 'KubeadmControlPlane' | 'MachineDeployment', n: string) =>
    ctl
      .machinesOf(kind, ns, n)
      .map((m) => `${m.version}${m.ready ? '' : ' (not ready)'}`)
      .sort();
  return {
    phase: cluster.status?.phase,
    objects: left,
    controlPlane: { version: kcp?.spec?.version, replicas: kcp?.spec?.replicas, generation: kcp?.metadata?.generation, machines: machines('KubeadmControlPlane', `${name}-control-plane`) },
    workers: mds
      .map((md) => ({ name: md.metadata!.name!.slice(name.length), replicas: md.spec?.replicas, version: md.spec?.template?.spec?.version, generation: md.metadata?.generation, machines: machines('MachineDeployment', md.metadata!.name!) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    templateImages: templates.map((t) => t.spec?.template?.spec?.image?.filter?.name).sort(),
  };
}

/**
 * The four capi-cluster-* runbooks, one run each a round on clusters of their own (names carry
 * the round): create a new cluster; scale, upgrade and delete clusters made beforehand.
 */
export function capiScenario(kube: KubeEnv, ctl: CapiTestController): Scenario {
  const kubeconfig = kube.kubeconfig;
  let prefix = /^$/;
  let earlier: string[] = [];
  return {
    name: 'capi',
    async prepare(round: number) {
      const admin = connect({ kubeconfig });
      const n = (p: string) => `${p}${round}`;
      prefix = new RegExp(`^\\S+ (cc|cs|cu|cd)${round}-`);
      // Earlier rounds' clusters go (not waited for: the controller's deletions name other clusters).
      for (const name of earlier) await deleteObject(admin, KINDS.Cluster, 'default', name).catch(() => undefined);
      earlier = ['cc', 'cs', 'cu'].map(n);
      await Promise.all(['cs', 'cu', 'cd'].map((p) => makeCluster(kubeconfig, n(p))));
      const run = (runbook: string, name: string, params: Record<string, unknown>, approve = false) => ({
        key: `${runbook}#1`,
        approve,
        input: shippedInput(runbook, { name, kubeconfig, ...params }),
        finalState: () => clusterState(admin, ctl, name),
      });
      return [
        run('capi-cluster-create', n('cc'), { kubernetesVersion: 'v1.31.4', image: 'img-1.31', identitySecret: 'cloud' }),
        run('capi-cluster-scale', n('cs'), { replicas: 4 }),
        run('capi-cluster-upgrade', n('cu'), { version: 'v1.32.1', image: 'img-1.32' }, true),
        run('capi-cluster-delete', n('cd'), {}, true),
      ];
    },
    async sideEffects() {
      // Machines the controller created/deleted for this round's clusters: a repeated rollout shows here.
      const mine = ctl.events.filter((e) => prefix.test(e));
      return {
        'machines created': mine.filter((e) => e.includes(': create machine')).length,
        'machines deleted': mine.filter((e) => e.includes(': delete machine')).length,
        'controller errors': ctl.errors.length,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// openstack-upgrade, compute phase

export const UPGRADE_HOST_NAMES = ['ctl-1', 'compute-1', 'compute-2'];
const UPGRADE_CLOUD = 'cluster-a';
const PKG = ['rw-hello'];

/**
 * openstack-upgrade.yaml on a controller and two computes (test hosts) of cluster-a on the
 * stand-in, four tenant servers to drain. The run starts first; faults are planned once a
 * compute batch has begun.
 */
export function upgradeScenario(os: SimEnv, th: TestHosts): Scenario {
  const inventory = upgradeInventory(th, UPGRADE_HOST_NAMES, 'chaos-upgrade.ini');
  const c = () => new OpenStackClient(UPGRADE_CLOUD);
  const shimLog = (host: string) => th.sh(host, 'cat /var/log/rw-upgrade.log 2>/dev/null || true').split('\n').filter(Boolean);
  const migrations = async () => ((await c().get('compute', '/os-migrations')).body.migrations as any[]).length;
  return {
    name: 'upgrade',
    async prepare(round: number) {
      os.sim.setLatency(CHAOS_LATENCY);
      prepareUpgradeHosts(th, UPGRADE_HOST_NAMES);
      for (const h of th.hosts) th.sh(h.name, 'rm -rf /var/backups/openstack /etc/nova/nova.conf');
      // Services enabled, and fresh tenant servers (the same placement every round).
      for (const host of ['compute-1', 'compute-2', 'compute-3']) await act('openstack.compute-service.enable', { cloud: UPGRADE_CLOUD, host });
      const old = (await c().list('compute', '/servers', 'servers')).filter((s: any) => /^up\d+-/.test(s.name)).map((s: any) => s.id);
      if (old.length) await act('openstack.server.delete', { cloud: UPGRADE_CLOUD, ids: old, wait: true, deletePorts: true });
      const made = await Promise.all([1, 2, 3, 4].map((i) => act('openstack.server.create', { cloud: UPGRADE_CLOUD, name: `up${round}-${i}`, flavor: 'm1.small', image: 'cirros-0.6.2-x86_64-disk', networks: 'auto' })));
      await act('openstack.server.wait', { cloud: UPGRADE_CLOUD, ids: made.map((s: any) => s.id) });
      return [
        {
          key: 'openstack-upgrade#1',
          approve: true,
          armed: (st: RunStatus) => st.steps.some((s) => s.path.startsWith('compute-upgrade[') && s.state !== 'pending'),
          input: shippedInput(
            'openstack-upgrade',
            {
              cloud: UPGRADE_CLOUD,
              inventory,
              knownHosts: th.knownHosts,
              release: '2023.1',
              ...Object.fromEntries(['keystone', 'glance', 'placement', 'nova', 'neutron', 'octavia', 'compute'].map((s) => [`${s}Packages`, PKG])),
            },
            { startedBy: 'upgrade-starter' },
          ),
          async finalState() {
            const services = (await c().get('compute', '/os-services', { query: { binary: 'nova-compute' } })).body.services.map((s: any) => `${s.host}:${s.status}`).sort();
            const servers = (await c().list('compute', '/servers/detail', 'servers', { query: { all_tenants: 1 } })).filter((s: any) => s.name.startsWith(`up${round}-`));
            const hosts: Record<string, unknown> = {};
            for (const [i, h] of th.hosts.entries())
              hosts[UPGRADE_HOST_NAMES[i]] = {
                pkg: th.sh(h.name, "dpkg-query -W -f='${Version}' rw-hello"),
                backups: th.sh(h.name, 'ls /var/backups/openstack 2>/dev/null | wc -l').trim(),
                // Every tool call, counted (a task run twice shows here): "<tool> <args>" → n.
                calls: count(shimLog(h.name).map((l) => l.split(' ').slice(2).join(' ').replace(/pre-upgrade-\S+/, 'pre-upgrade-ID'))),
              };
            return { services, servers: servers.map((s: any) => `${s.status}@${s['OS-EXT-SRV-ATTR:host']}`).sort(), hosts };
          },
        },
      ];
    },
    async sideEffects() {
      let restarts = 0;
      for (const h of th.hosts) restarts += shimLog(h.name).filter((l) => l.includes('systemctl restart nova-compute')).length;
      return { 'nova-compute restarts': restarts, 'live migrations': await migrations() };
    },
  };
}
