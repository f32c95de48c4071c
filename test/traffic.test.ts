/**
 * Traffic-steering actions against real software started on loopback (test/helpers/services.ts):
 * PowerDNS (sqlite3 backend) through its HTTP API, checked with real DNS queries; HAProxy
 * through its runtime API, checked with real HTTP requests through the proxy. Actions run as
 * steps of runbooks on the real Temporal dev server.
 */
import http from 'node:http';
import { dirname } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { connectTestEnv, inputFor, runbookFrom, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { CLUSTER_ADDRESSES, ServiceGroup, missingBinaries, type Cluster, type Haproxy, type Pdns } from './helpers/services';
import { canonicalName } from '../activities/traffic/pdns-client';
import { parseServersState } from '../activities/traffic/haproxy-client';
import dnsRecordsSet, { desiredRecords, normalizeContent } from '../activities/traffic/dns-records-set';
import { defineAction, type ActionDefinition } from '../activities/define';

/** dns.records.set whose first attempt loses its reply after the change landed. */
const lostReply = defineAction({
  ...dnsRecordsSet,
  name: 'test.dns-set-lost-reply',
  async run(i, ctx) {
    const out = await dnsRecordsSet.run(i, ctx);
    if (ctx.attempt === 1) throw new Error('reply lost after the change');
    return out;
  },
}) as ActionDefinition;

let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let queue: string;
const services = new ServiceGroup();
let clusters: Cluster[];
let pdns: Pdns;
let lb: Haproxy;

const A = CLUSTER_ADDRESSES['cluster-a'];
const B = CLUSTER_ADDRESSES['cluster-b'];
const C = CLUSTER_ADDRESSES['cluster-c'];
const KEY_ENV = 'RW_TEST_PDNS_API_KEY';

beforeAll(async () => {
  const missing = missingBinaries();
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: install the Debian packages listed in .ci/run`);
  env = await connectTestEnv();
  queue = uniqueQueue('traffic');
  worker = await startTestWorker(env, queue, [lostReply]);
  running = worker.run();
  clusters = await services.startClusters();
  pdns = await services.startPdns();
  process.env[KEY_ENV] = pdns.apiKey;
  // No secrets policy here: the runbooks' own env:/file: references resolve, and file: ones only
  // inside a secret folder (lib/secrets.ts).
  process.env.RUNWRIGHT_SECRET_DIRS = dirname(pdns.apiKeyFile);
  await pdns.createZone('example.test', [{ name: 'app', type: 'A', ttl: 5, records: [A, B, C] }]);
  lb = await services.startHaproxy('app', clusters.map((c) => ({ name: c.name, hostPort: c.hostPort })));
}, 60_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
  delete process.env[KEY_ENV];
  await services.stop();
});

const rb = (body: string) => runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: traffic }\nspec:\n${body.replace(/^/gm, '  ')}`, [lostReply]);

async function run(body: string): Promise<Record<string, any>> {
  const h = await startRun(env, queue, inputFor(rb(body)));
  return (await h.result()).outputs as Record<string, any>;
}

async function failure(body: string): Promise<string> {
  const h = await startRun(env, queue, inputFor(rb(body)));
  try {
    await h.result();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    const cause = (e as WorkflowFailedError).cause as any;
    return [cause?.message, cause?.cause?.message].filter(Boolean).join(' | ');
  }
  throw new Error('expected the run to fail');
}

/** What the DNS server really answers, asked with node:dns directly (not through our action). */
async function resolveA(name: string): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  r.setServers([pdns.dnsServer]);
  try {
    return (await r.resolve4(name)).sort();
  } catch (e: any) {
    if (e.code === 'ENOTFOUND' || e.code === 'ENODATA') return [];
    throw e;
  } finally {
    r.cancel();
  }
}

/** n requests through the proxy, each on a new connection; which cluster answered each. */
async function throughProxy(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${lb.url}/`, { agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

const dnsWith = (extra: string) => `{ api: "${pdns.api}", apiKey: "env:${KEY_ENV}", zone: example.test, name: app, ${extra} }`;

describe('PowerDNS: dns.records.*', () => {
  test('exclude cluster-b: the DNS server stops answering its address; restore brings it back', async () => {
    expect(await resolveA('app.example.test')).toEqual([A, B, C]);
    const out = await run(`
steps:
  - id: before
    action: dns.records.get
    with: ${dnsWith('')}
  - id: plan
    action: dns.records.set
    with: ${dnsWith(`remove: ["${B}"], dryRun: true`)}
  - id: exclude
    action: dns.records.set
    with: ${dnsWith(`remove: ["${B}"]`)}
  - id: again
    action: dns.records.set
    with: ${dnsWith(`remove: ["${B}"]`)}
  - id: verify
    action: probe.dns
    with: { server: "${pdns.dnsServer}", name: app.example.test, expect: { excludes: ["${B}"], includes: ["${A}", "${C}"] } }
`);
    expect(out.before).toMatchObject({ exists: true, name: 'app.example.test.', type: 'A', ttl: 5, records: [A, B, C] });
    expect(out.plan).toMatchObject({ changed: true, dryRun: true, diff: { added: [], removed: [B], ttl: null } });
    expect(out.exclude).toMatchObject({ changed: true, dryRun: false, before: { records: [A, B, C], ttl: 5 }, after: { records: [A, C], ttl: 5 }, diff: { removed: [B] } });
    expect(out.again).toMatchObject({ changed: false, diff: { added: [], removed: [] } });
    expect(out.verify).toMatchObject({ pass: true, rcode: 'NOERROR', answers: [A, C] });
    // Independent check: ask the DNS server ourselves, several times (UDP, fresh resolvers).
    for (let i = 0; i < 5; i++) expect(await resolveA('app.example.test')).toEqual([A, C]);

    const back = await run(`
steps:
  - id: restore
    action: dns.records.set
    with: ${dnsWith(`records: ["${C}", "${A}", "${B}"], ttl: 30`)}
  - id: verify
    action: probe.dns
    with: { server: "${pdns.dnsServer}", name: app.example.test, expect: { equals: ["${A}", "${B}", "${C}"] } }
`);
    expect(back.restore).toMatchObject({ changed: true, diff: { added: [B], removed: [], ttl: { from: 5, to: 30 } }, after: { ttl: 30, records: [A, B, C] } });
    expect(await resolveA('app.example.test')).toEqual([A, B, C]);
  });

  test('the dry run changes nothing that DNS serves', async () => {
    const out = await run(`
steps:
  - id: plan
    action: dns.records.set
    with: ${dnsWith(`records: ["${A}"], dryRun: true`)}
`);
    expect(out.plan).toMatchObject({ changed: true, dryRun: true, after: { records: [A] }, diff: { removed: [B, C] } });
    expect(await resolveA('app.example.test')).toEqual([A, B, C]);
  });

  test('a new RRset is created (file: key reference), and probe.dns fails while an address is still served', async () => {
    const out = await run(`
steps:
  - id: create
    action: dns.records.set
    with: { api: "${pdns.api}", apiKey: "file:${pdns.apiKeyFile}", zone: example.test., name: api.example.test., add: ["${C}"] }
`);
    expect(out.create).toMatchObject({ changed: true, before: null, after: { ttl: 60, records: [C] }, diff: { added: [C], ttl: { from: null, to: 60 } } });
    expect(await resolveA('api.example.test')).toEqual([C]);
    const msg = await failure(`
steps:
  - id: verify
    action: probe.dns
    with: { server: "${pdns.dnsServer}", name: api.example.test, expect: { excludes: ["${C}"] }, wait: 600ms, interval: 200ms }
`);
    expect(msg).toMatch(/still answering \[127\.0\.10\.3\]/);
  });

  test('refuses to empty the RRset unless allowEmpty, and then deletes it', async () => {
    const msg = await failure(`
steps:
  - id: all
    action: dns.records.set
    with: ${dnsWith(`remove: ["${A}", "${B}", "${C}"]`)}
`);
    expect(msg).toMatch(/refusing to leave A app\.example\.test\. with no records/);
    expect(await resolveA('app.example.test')).toEqual([A, B, C]);

    await run(`
steps:
  - id: gone
    action: dns.records.set
    with: { api: "${pdns.api}", apiKey: "env:${KEY_ENV}", zone: example.test, name: api, records: [], allowEmpty: true }
`);
    expect(await resolveA('api.example.test')).toEqual([]);
  });

  test('a retry after a change that landed still reports the change', async () => {
    const out = await run(`
steps:
  - id: set
    action: test.dns-set-lost-reply
    with: ${dnsWith(`remove: ["${C}"]`)}
    retry: { maximumAttempts: 3, initialInterval: 100ms }
  - id: back
    action: dns.records.set
    with: ${dnsWith(`add: ["${C}"]`)}
`);
    expect(out.set).toMatchObject({ changed: true, before: { records: [A, B, C] }, after: { records: [A, B] }, diff: { removed: [C] } });
    expect(out.back).toMatchObject({ changed: true, diff: { added: [C] } });
    expect(await resolveA('app.example.test')).toEqual([A, B, C]);
  });

  test('a wrong API key fails at once and the key is not in the message', async () => {
    process.env.RW_TEST_WRONG_KEY = 'not-the-key-123456';
    try {
      const t0 = Date.now();
      const msg = await failure(`
steps:
  - id: get
    action: dns.records.get
    with: { api: "${pdns.api}", apiKey: "env:RW_TEST_WRONG_KEY", zone: example.test, name: app }
`);
      expect(msg).toMatch(/HTTP 401/);
      expect(msg).not.toContain('not-the-key-123456');
      expect(Date.now() - t0).toBeLessThan(5000); // not retried with backoff
    } finally {
      delete process.env.RW_TEST_WRONG_KEY;
    }
  });

  test('names, contents and desired sets', () => {
    expect(canonicalName('app', 'example.test')).toBe('app.example.test.');
    expect(canonicalName('App.Example.Test', 'example.test.')).toBe('app.example.test.');
    expect(canonicalName('@', 'example.test')).toBe('example.test.');
    expect(canonicalName('x.other.', 'example.test')).toBe('x.other.');
    expect(normalizeContent('AAAA', '2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(normalizeContent('CNAME', 'Target.example.test')).toBe('target.example.test.');
    expect(desiredRecords('A', ['1.1.1.1', '2.2.2.2'], { remove: ['2.2.2.2'], add: ['3.3.3.3'] })).toEqual(['1.1.1.1', '3.3.3.3']);
    expect(desiredRecords('A', ['1.1.1.1'], { records: ['5.5.5.5'] })).toEqual(['5.5.5.5']);
  });
});

describe('HAProxy: lb.haproxy.*', () => {
  const srv = (server: string, extra = '') => `{ socket: "${lb.socket}", backend: app, server: ${server}${extra ? `, ${extra}` : ''} }`;

  test('drain cluster-b: no request through the proxy reaches it; ready brings it back', async () => {
    const base = await throughProxy(9);
    expect(base).toEqual({ 'cluster-a': 3, 'cluster-b': 3, 'cluster-c': 3 });

    const out = await run(`
steps:
  - id: drain
    action: lb.haproxy.drain
    with: ${srv('cluster-b', 'waitForSessions: 5s')}
  - id: again
    action: lb.haproxy.drain
    with: ${srv('cluster-b')}
  - id: state
    action: lb.haproxy.state
    with: { socket: "${lb.tcpSocket}", backend: app }
`);
    expect(out.drain).toMatchObject({ changed: true, diff: { admin: { from: 'ready', to: 'drain' } }, after: { admin: 'drain', weight: 100 }, drained: true });
    expect(out.again).toMatchObject({ changed: false, diff: null });
    expect(out.state.byName['app/cluster-b']).toMatchObject({ admin: 'drain', status: 'DRAIN', address: B, port: clusters[1].port });
    expect(out.state.byName['app/cluster-a']).toMatchObject({ admin: 'ready', op: 'running', weight: 100 });

    const hitsB = clusters[1].hits;
    const drained = await throughProxy(40);
    expect(drained['cluster-b']).toBeUndefined();
    expect(drained['cluster-a']).toBeGreaterThan(10);
    expect(drained['cluster-c']).toBeGreaterThan(10);
    expect(clusters[1].hits).toBe(hitsB);

    const back = await run(`
steps:
  - id: ready
    action: lb.haproxy.ready
    with: ${srv('cluster-b')}
`);
    expect(back.ready).toMatchObject({ changed: true, diff: { admin: { from: 'drain', to: 'ready' } } });
    const after = await throughProxy(30);
    expect(after['cluster-b']).toBeGreaterThanOrEqual(8);
  });

  test('weights shape the distribution; maint takes a server out; restore', async () => {
    const out = await run(`
steps:
  - id: a
    action: lb.haproxy.set-weight
    with: ${srv('cluster-a', 'weight: 60')}
  - id: b
    action: lb.haproxy.set-weight
    with: ${srv('cluster-b', 'weight: 30')}
  - id: c
    action: lb.haproxy.set-weight
    with: ${srv('cluster-c', 'weight: 10')}
  - id: same
    action: lb.haproxy.set-weight
    with: ${srv('cluster-c', 'weight: 10')}
  - id: preview
    action: lb.haproxy.set-weight
    with: ${srv('cluster-c', 'weight: 0, dryRun: true')}
`);
    expect(out.a).toMatchObject({ changed: true, diff: { weight: { from: 100, to: 60 } }, after: { weight: 60, initialWeight: 100 } });
    expect(out.same).toMatchObject({ changed: false, diff: null });
    expect(out.preview).toMatchObject({ changed: true, dryRun: true, after: { weight: 0 } });
    const dist = await throughProxy(100);
    expect(dist['cluster-a']).toBeGreaterThanOrEqual(50);
    expect(dist['cluster-a']).toBeLessThanOrEqual(70);
    expect(dist['cluster-b']).toBeGreaterThanOrEqual(20);
    expect(dist['cluster-b']).toBeLessThanOrEqual(40);
    expect(dist['cluster-c']).toBeGreaterThanOrEqual(3);
    expect(dist['cluster-c']).toBeLessThanOrEqual(17);

    const maint = await run(`
steps:
  - id: m
    action: lb.haproxy.maint
    with: ${srv('cluster-a')}
`);
    expect(maint.m).toMatchObject({ changed: true, after: { admin: 'maint', status: 'MAINT' } });
    const noA = await throughProxy(20);
    expect(noA['cluster-a']).toBeUndefined();

    const restore = await run(`
steps:
  - id: each
    foreach: '{{ ["cluster-a", "cluster-b", "cluster-c"] }}'
    as: s
    steps:
      - id: ready
        action: lb.haproxy.ready
        with: { socket: "${lb.socket}", backend: app, server: "{{ s }}" }
      - id: weight
        action: lb.haproxy.set-weight
        with: { socket: "${lb.socket}", backend: app, server: "{{ s }}", weight: 100 }
`);
    expect(restore.each.map((x: any) => [x.ready.changed, x.weight.changed])).toEqual([[true, true], [false, true], [false, true]]);
    const even = await throughProxy(30);
    for (const c of ['cluster-a', 'cluster-b', 'cluster-c']) expect(even[c]).toBeGreaterThanOrEqual(8);
  });

  test('an unknown server or backend fails the step without retries', async () => {
    expect(await failure(`
steps:
  - id: x
    action: lb.haproxy.drain
    with: ${srv('cluster-z')}
`)).toMatch(/backend "app" has no server "cluster-z"/);
    expect(await failure(`
steps:
  - id: x
    action: lb.haproxy.set-weight
    with: { socket: "${lb.socket}", backend: nope, server: cluster-a, weight: 1 }
`)).toMatch(/nope/);
  });

  test('parses show servers state', () => {
    const text = `1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord\n3 app 1 a 10.0.0.1 2 8 50 100 1 6 3 4 6 0 0 0 - 8080 -\n3 app 2 b 10.0.0.2 0 1 100 100 1 6 3 4 6 0 0 0 - 8080 -\n`;
    expect(parseServersState(text)).toEqual([
      { backend: 'app', server: 'a', address: '10.0.0.1', port: 8080, admin: 'drain', adminFlags: 8, op: 'running', weight: 50, initialWeight: 100 },
      { backend: 'app', server: 'b', address: '10.0.0.2', port: 8080, admin: 'maint', adminFlags: 1, op: 'stopped', weight: 100, initialWeight: 100 },
    ]);
  });
});
