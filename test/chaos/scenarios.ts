/**
 * Chaos scenarios: the shipped runbooks that run on the local stand-ins, each with the outside
 * world reset before a round, a normalised final state per run (names without ids or addresses,
 * statuses, counts) and the side effects to count (OpenStack resources created; handler runs
 * on the test hosts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenStackClient, resetSessions } from '../../activities/openstack/client';
import type { RunResult } from '../../workflows/definitions';
import { shippedInput } from '../helpers/temporal';
import { act, makePool, type SimEnv } from '../helpers/openstack';
import type { TestHosts } from '../helpers/testhosts';
import type { ActiveActive } from '../helpers/active-active';
import { readServer } from '../../activities/traffic/haproxy-client';
import type { PreparedRun, Scenario } from './harness';

export const CHAOS_LATENCY = { serverBuild: 1500, serverDelete: 800, liveMigration: 1000, lbCreate: 300, lbUpdate: 400, lbDelete: 100, healthCheck: 600 };

const client = (cloud: string) => new OpenStackClient(cloud);
const serversNamed = async (cloud: string, prefix: string) => (await client(cloud).list('compute', '/servers/detail', 'servers', { query: { name: `^${prefix}-` } })) as any[];
const poolMembers = async (cloud: string, poolId: string) => (await client(cloud).list('load-balancer', `/lbaas/pools/${poolId}/members`, 'members')) as any[];
const ports = async (cloud: string) => (await client(cloud).list('network', '/ports', 'ports')) as any[];
const fips = async (cloud: string) => (await client(cloud).list('network', '/floatingips', 'floatingips')) as any[];
const norm = (s: string, prefix: string) => s.split(prefix).join('P');

/** Boot servers directly (not through a run) for decommission-vm to take out. */
async function bootServers(cloud: string, prefix: string, n: number, poolName?: string): Promise<void> {
  const prep = await act('openstack.server.prepare', { cloud, count: n, namePrefix: prefix, flavor: 'm1.tiny', image: 'cirros-0.6.2-x86_64-disk', network: 'private' });
  const made = await act('openstack.server.create-batch', { cloud, names: prep.names, flavor: prep.flavorId, image: prep.imageId, networks: [{ network: prep.networkId }], wait: true });
  if (poolName)
    await act('openstack.member.batch', { cloud, pool: poolName, addresses: made.servers.map((s: any) => s.fixedIps[0]), names: made.servers.map((s: any) => s.name), subnet: prep.subnetId, waitOnline: true });
}

/**
 * provision-vm and decommission-vm on the OpenStack stand-in, four runs a round on three clouds
 * (quota: 10 instances a project): two provisions (one with floating IPs), two decommissions
 * (one draining a pool).
 */
export function openstackScenario(os: SimEnv, opts: { shared?: boolean } = {}): Scenario {
  const clouds = ['cluster-b', 'cluster-c'];
  return {
    name: 'openstack',
    async prepare(round: number) {
      if (opts.shared) {
        // The stand-in also serves the failover scenario (its pool on cluster-a): no reset,
        // remove what earlier rounds made instead (quotas: 10 servers, 10 security groups).
        await cleanUp(clouds);
      } else {
        os.sim.reset();
        resetSessions();
      }
      // Slower than the unit tests' latencies, so runs last long enough for faults to land mid-run.
      os.sim.setLatency(CHAOS_LATENCY);
      const runs: PreparedRun[] = [];
      const px = (p: string) => `${p}${round}`;

      const provision = async (key: string, cloud: string, prefix: string, count: number, floatingIp: boolean) => {
        const { poolId } = await makePool(cloud, prefix);
        runs.push({
          key,
          input: shippedInput('provision-vm', { cloud, pool: `${prefix}-pool`, count, namePrefix: prefix, securityGroup: `${prefix}-sg`, floatingIp }),
          async finalState(res: RunResult) {
            const out = res.outputs as any;
            const srv = await serversNamed(cloud, prefix);
            const ids = new Set(srv.map((s) => s.id));
            const serverPorts = (await ports(cloud)).filter((p) => ids.has(p.device_id));
            const portIds = new Set(serverPorts.map((p) => p.id));
            return {
              names: out.prepare.names.map((n: string) => norm(n, prefix)),
              servers: srv.map((s) => `${norm(s.name, prefix)}:${s.status}`).sort(),
              members: (await poolMembers(cloud, poolId)).map((m) => `${norm(m.name, prefix)}:${m.operating_status}`).sort(),
              serverPorts: serverPorts.length,
              fips: (await fips(cloud)).filter((f) => portIds.has(f.port_id)).length,
              secgroupCreated: out.secgroup.created,
            };
          },
        });
      };
      const decommission = async (key: string, cloud: string, prefix: string, count: number, withPool: boolean) => {
        let poolId: string | undefined;
        if (withPool) poolId = (await makePool(cloud, prefix)).poolId;
        await bootServers(cloud, prefix, count, withPool ? `${prefix}-pool` : undefined);
        runs.push({
          key,
          input: shippedInput('decommission-vm', { cloud, servers: Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`), pool: withPool ? `${prefix}-pool` : '' }),
          async finalState(res: RunResult) {
            const out = res.outputs as any;
            return {
              found: out.find.map((f: any) => norm(f.get.name, prefix)),
              servers: (await serversNamed(cloud, prefix)).map((s) => s.name),
              members: poolId ? (await poolMembers(cloud, poolId)).length : null,
              // Not out.remove.removed: a retried removal reports only what it removed itself.
            };
          },
        });
      };
      // cluster-a is left to the failover scenario's pool; at most 4 servers on a cloud at once.
      await provision('provision-vm#1', 'cluster-b', px('pva'), 2, true);
      await provision('provision-vm#2', 'cluster-c', px('pvb'), 1, false);
      await decommission('decommission-vm#1', 'cluster-b', px('dca'), 2, true);
      await decommission('decommission-vm#2', 'cluster-c', px('dcc'), 1, false);
      return runs;
    },
    async sideEffects() {
      // Resources created per cloud and kind: a duplicate create shows up here.
      return { ...os.sim.counters().created };
    },
  };
}

/** Remove the servers, load balancers and security groups earlier rounds created (names pv*, dc*). */
async function cleanUp(clouds: string[]): Promise<void> {
  const mine = (name: string) => /^(pv|dc)[a-z]\d+/.test(name ?? '');
  for (const cloud of clouds) {
    const ids = (await client(cloud).list('compute', '/servers', 'servers')).filter((x: any) => mine(x.name)).map((x: any) => x.id);
    if (ids.length) await act('openstack.server.delete', { cloud, ids, wait: true, deletePorts: true, releaseFloatingIps: true });
    for (const lb of (await client(cloud).list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers')).filter((x: any) => mine(x.name)))
      await act('openstack.loadbalancer.delete', { cloud, id: lb.id, cascade: true, wait: true });
    for (const sg of (await client(cloud).list('network', '/security-groups', 'security_groups')).filter((x: any) => mine(x.name)))
      await act('openstack.security-group.delete', { cloud, id: sg.id });
  }
}

/**
 * failover.yaml against real PowerDNS, HAProxy and Prometheus plus Octavia weights on the
 * stand-in (test/helpers/active-active.ts): cluster-b's health check fails, the run moves its
 * traffic to a and c on every backend. One run a round (the backends are shared).
 */
export function failoverScenario(aa: ActiveActive): Scenario {
  return {
    name: 'failover',
    async prepare() {
      await aa.reset();
      aa.clusters['cluster-b'].healthStatus = 503;
      return [
        {
          key: 'failover#1',
          input: shippedInput('failover', aa.params({ cluster: 'cluster-b' })),
          async finalState(res: RunResult) {
            const out = res.outputs as any;
            const hp = await readServer({ socket: aa.lb.socket, timeoutMs: 5000 }, 'app', 'cluster-b');
            return {
              verdict: out.confirm?.verdict,
              healthy: out.peers?.healthyClusters,
              // Which backends the shift covered. Not `changed`: that is the last attempt's own
              // report, and an attempt retried after a kill that came before the first attempt's
              // heartbeat reached the server finds the change already made (the world below is
              // what must match).
              backendsShifted: out.shift?.backends?.map((b: any) => b.kind),
              dns: await aa.resolve(),
              haproxyB: hp.admin,
              weights: await aa.memberWeights(),
            };
          },
        },
      ];
    },
    async sideEffects() {
      return {};
    },
  };
}

/**
 * configure-hosts on real sshd test hosts: a play whose handler appends a line to a log on each
 * host (the marker: exactly one line per host per run), with a slow task so faults land mid-play.
 */
export function hostsScenario(th: TestHosts, dir: string): Scenario {
  const play = join(dir, 'chaos-play.yaml');
  mkdirSync(dir, { recursive: true });
  return {
    name: 'hosts',
    async prepare(round: number) {
      writeFileSync(
        play,
        `name: chaos
hosts: all
serial: 1
gather_facts: false
tasks:
  - name: folder
    file: { path: /etc/rw-chaos, state: directory, mode: "0755" }
  - name: config line
    lineinfile: { path: /etc/rw-chaos/app.conf, regexp: "^round ", line: "round ${round}", create: true }
    notify: app changed
  - name: slow task
    shell: sleep 1.5
handlers:
  - name: app changed
    shell: echo "handler round ${round}" >> /var/log/rw-chaos-handler.log
`,
      );
      for (const h of th.hosts) th.sh(h.name, 'rm -rf /etc/rw-chaos /var/log/rw-chaos-handler.log');
      return [
        {
          key: 'configure-hosts#1',
          input: shippedInput('configure-hosts', { inventory: th.inventory, play, knownHosts: th.knownHosts }),
          async finalState(res: RunResult) {
            const perHost: Record<string, unknown> = {};
            for (const h of th.hosts) {
              perHost[h.name] = {
                conf: th.sh(h.name, 'cat /etc/rw-chaos/app.conf 2>/dev/null || true').replace(`round ${round}`, 'round N').trim(),
                handlerRuns: th.sh(h.name, 'cat /var/log/rw-chaos-handler.log 2>/dev/null || true').split('\n').filter(Boolean).length,
              };
            }
            return { batches: (res.outputs as any).play.length, hosts: perHost };
          },
        },
      ];
    },
    async sideEffects() {
      let n = 0;
      for (const h of th.hosts) n += th.sh(h.name, 'cat /var/log/rw-chaos-handler.log 2>/dev/null || true').split('\n').filter(Boolean).length;
      return { 'handler runs': n };
    },
  };
}
