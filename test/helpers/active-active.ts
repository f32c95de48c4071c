/**
 * Three Active-Active clusters with real steering in front, for the failover and DR-drill tests:
 * cluster-a/b/c HTTP backends (127.0.10.1-3), PowerDNS holding app.example.test with the three
 * addresses, HAProxy balancing across them, Prometheus scraping their request counters, the
 * OpenStack stand-in with an Octavia pool whose members are the three addresses, and a steady
 * trickle of user requests through HAProxy so metrics show where traffic goes.
 * `stop()` tears all of it down (call it in afterAll).
 */
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { CLUSTER_ADDRESSES, ServiceGroup, missingBinaries, type Cluster, type Haproxy, type Pdns, type Prometheus } from './services';
import { act, makePool, startSim, type SimEnv } from './openstack';
import { OpenStackClient } from '../../activities/openstack/client';
import { runtimeSet } from '../../activities/traffic/haproxy-client';

export const NAMES = Object.keys(CLUSTER_ADDRESSES);
export const PDNS_KEY_ENV = 'RW_TEST_AA_PDNS_KEY';
export const LOAD_QUERY = 'sum(rate(runwright_test_requests_total{cluster="$cluster"}[4s]))';

export interface ActiveActive {
  clusters: Record<string, Cluster>;
  pdns: Pdns;
  lb: Haproxy;
  prom: Prometheus;
  os: SimEnv;
  pool: { poolId: string; lbId: string };
  /** The failover runbook's params for this setup (all three steering backends). */
  params(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Addresses the DNS server really answers for app.example.test. */
  resolve(): Promise<string[]>;
  /** n requests through HAProxy, each on a new connection: which cluster answered each. */
  throughProxy(n: number): Promise<Record<string, number>>;
  /** Octavia member weights by address. */
  memberWeights(): Promise<Record<string, number>>;
  /** Put everything back as it started (all clusters healthy and at full weight). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function startActiveActive(): Promise<ActiveActive> {
  const missing = missingBinaries();
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run scripts/setup-test-env packages`);
  const group = new ServiceGroup();
  let loadTimer: NodeJS.Timeout | undefined;
  let stopLoad = () => clearTimeout(loadTimer);
  let os: SimEnv | undefined;
  try {
    const list = await group.startClusters();
    const clusters = Object.fromEntries(list.map((c) => [c.name, c]));
    const pdns = await group.startPdns();
    process.env[PDNS_KEY_ENV] = pdns.apiKey;
    // The key comes from the worker's secrets policy, granted to the runbooks that steer traffic
    // and bound to this PowerDNS: params name it (secret:pdns-key), they cannot choose it.
    const policy = join(mkdtempSync(join(tmpdir(), 'rw-aa-policy-')), 'runwright.secrets.yaml');
    writeFileSync(policy, `secrets:\n  pdns-key:\n    ref: env:${PDNS_KEY_ENV}\n    runbooks: [failover, dr-drill]\n    destinations: ["${pdns.api}"]\n`);
    process.env.RUNWRIGHT_SECRETS_POLICY = policy;
    await pdns.createZone('example.test', [{ name: 'app', type: 'A', ttl: 1, records: Object.values(CLUSTER_ADDRESSES) }]);
    const lb = await group.startHaproxy('app', list.map((c) => ({ name: c.name, hostPort: c.hostPort, weight: 100 })));
    const prom = await group.startPrometheus(list.map((c) => c.hostPort));
    os = await startSim();
    const pool = await makePool('cluster-a', 'global');
    await act('openstack.member.batch', { cloud: 'cluster-a', pool: pool.poolId, addresses: Object.values(CLUSTER_ADDRESSES), protocolPort: 80, weight: 10 });
    // User traffic: requests through the proxy as a Poisson process (mean 50 ms apart), errors
    // ignored (the probes count them). A fixed or narrowly jittered period falls in step with a
    // probe's interval, and round-robin then sends every probe request to the same server.
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      void get(`${lb.url}/`).catch(() => undefined);
      loadTimer = setTimeout(tick, Math.min(500, -Math.log(1 - Math.random()) * 50));
    };
    tick();
    stopLoad = () => {
      stopped = true;
      clearTimeout(loadTimer);
    };
    const client = new OpenStackClient('cluster-a');
    const aa: ActiveActive = {
      clusters,
      pdns,
      lb,
      prom,
      os,
      pool,
      params: (extra = {}) => ({
        clusters: NAMES,
        health: Object.fromEntries(list.map((c) => [c.name, `${c.url}/health`])),
        backends: [
          { kind: 'dns', api: pdns.api, apiKey: 'secret:pdns-key', zone: 'example.test', name: 'app', addresses: Object.fromEntries(NAMES.map((n) => [n, [CLUSTER_ADDRESSES[n]]])) },
          { kind: 'haproxy', socket: lb.socket, backend: 'app', servers: Object.fromEntries(NAMES.map((n) => [n, [n]])) },
          { kind: 'octavia', cloud: 'cluster-a', pool: pool.poolId, members: Object.fromEntries(NAMES.map((n) => [n, [CLUSTER_ADDRESSES[n]]])) },
        ],
        entrypoint: `${lb.url}/`,
        dnsServer: pdns.dnsServer,
        dnsName: 'app.example.test',
        prometheus: prom.url,
        loadQuery: LOAD_QUERY,
        probeInterval: '200ms',
        ...extra,
      }),
      async resolve() {
        const r = new Resolver({ timeout: 2000, tries: 2 });
        r.setServers([pdns.dnsServer]);
        try {
          return (await r.resolve4('app.example.test')).sort();
        } finally {
          r.cancel();
        }
      },
      async throughProxy(n) {
        const counts: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
          const r = await get(`${lb.url}/`);
          const who = r.status === 200 ? r.body : `HTTP ${r.status}`;
          counts[who] = (counts[who] ?? 0) + 1;
        }
        return counts;
      },
      async memberWeights() {
        const ms = await client.list('load-balancer', `/lbaas/pools/${pool.poolId}/members`, 'members');
        return Object.fromEntries(ms.map((m: any) => [m.address, m.weight]));
      },
      async reset() {
        os!.sim.clearFaults();
        for (const c of list) {
          c.healthStatus = 200;
          c.appStatus = 200;
          await c.start();
        }
        const res = await fetch(`${pdns.api}/api/v1/servers/localhost/zones/example.test.`, {
          method: 'PATCH',
          headers: { 'x-api-key': pdns.apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ rrsets: [{ name: 'app.example.test.', type: 'A', ttl: 1, changetype: 'REPLACE', records: Object.values(CLUSTER_ADDRESSES).map((content) => ({ content, disabled: false })) }] }),
        });
        if (!res.ok) throw new Error(`pdns reset: HTTP ${res.status} ${await res.text()}`);
        const api = { socket: lb.socket, timeoutMs: 5000 };
        for (const n of NAMES) {
          await runtimeSet(api, `set server app/${n} weight 100`);
          await runtimeSet(api, `set server app/${n} state ready`);
        }
        await act('openstack.member.batch', { cloud: 'cluster-a', pool: pool.poolId, addresses: Object.values(CLUSTER_ADDRESSES), protocolPort: 80, weight: 10 });
      },
      async stop() {
        stopLoad();
        delete process.env[PDNS_KEY_ENV];
        await os?.close();
        await group.stop();
      },
    };
    return aa;
  } catch (e) {
    stopLoad();
    await os?.close().catch(() => undefined);
    await group.stop().catch(() => undefined);
    throw e;
  }
}
