/**
 * One source for the production-shaped stack: deploy/prodstack/topology.json. scripts/prodstack
 * runs it on loopback, docker-compose.yml describes it for a container host; both through
 * scripts/prodstack-config.ts. Every check returns a list of problems and runs on the real files
 * (expect none) and on a broken copy (expect the named problem), so none can pass vacuously.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  COMPOSE_CONFIG_DIR,
  COMPOSE_MOUNTS,
  DB_PASSWORD_ENV,
  ROOT,
  clientEnv,
  composeConfigFiles,
  composeService,
  loadTopology,
  nodePorts,
  parseTopology,
  serverConfig,
  type Topology,
} from '../../scripts/prodstack-config';

interface Service {
  image?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown>;
  ports?: string[];
  volumes?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
}
interface Compose {
  services: Record<string, Service>;
}

const topology = loadTopology();
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const words = (v: string | string[] | undefined): string => (v === undefined ? '' : Array.isArray(v) ? v.join(' ') : v);
const release = (t: Topology) => t.temporalServer.version.replace(/^v/, '');

/** deploy/prodstack/compose/*.yaml are exactly what the generator makes of the topology. */
function checkGeneratedConfigs(t: Topology, dir = COMPOSE_CONFIG_DIR): string[] {
  const problems: string[] = [];
  for (const [name, text] of Object.entries(composeConfigFiles(t))) {
    let committed = '';
    try {
      committed = readFileSync(join(dir, name), 'utf8');
    } catch {
      problems.push(`deploy/prodstack/compose/${name} is missing`);
      continue;
    }
    if (committed !== text) problems.push(`deploy/prodstack/compose/${name} is stale: run \`npx tsx scripts/prodstack-config.ts compose\``);
  }
  return problems;
}

function checkServerNodes(doc: Compose, t: Topology): string[] {
  const problems: string[] = [];
  const nodeServices = Object.keys(doc.services).filter((n) => /^temporal-node/.test(n));
  const wanted = t.nodes.map((n) => composeService(n.name));
  if (JSON.stringify(nodeServices.sort()) !== JSON.stringify([...wanted].sort())) problems.push(`server node services ${nodeServices.join(', ')}, want ${wanted.join(', ')}`);
  for (const { name } of t.nodes) {
    const svc = doc.services[composeService(name)];
    if (!svc) continue;
    const s = composeService(name);
    if (svc.image !== `temporalio/server:${release(t)}`) problems.push(`${s} image ${svc.image}, want temporalio/server:${release(t)}`);
    if (!words(svc.command).includes(`--config-file ${COMPOSE_MOUNTS.config}/${name}.yaml`)) problems.push(`${s} does not start with --config-file ${COMPOSE_MOUNTS.config}/${name}.yaml: ${words(svc.command)}`);
    if (!(svc.volumes ?? []).some((v) => v.startsWith('./deploy/prodstack/compose:' + COMPOSE_MOUNTS.config))) problems.push(`${s} does not mount deploy/prodstack/compose at ${COMPOSE_MOUNTS.config}`);
    if (!(svc.volumes ?? []).some((v) => v.split(':')[1] === COMPOSE_MOUNTS.tls)) problems.push(`${s} does not mount the certificates at ${COMPOSE_MOUNTS.tls}`);
    if (!svc.environment?.[DB_PASSWORD_ENV]) problems.push(`${s} does not set ${DB_PASSWORD_ENV} (its config reads the database password from it)`);
    if (!(svc.networks?.default?.aliases ?? []).includes(t.compose.frontendAlias)) problems.push(`${s} is not reachable as "${t.compose.frontendAlias}"`);
    const published = t.compose.publishedFrontendPorts[name];
    const frontend = nodePorts(t, name, 'compose').frontend;
    if (published !== undefined && !(svc.ports ?? []).includes(`${published}:${frontend}`)) problems.push(`${s} does not publish its frontend ${frontend} as ${published}: ${(svc.ports ?? []).join(', ')}`);
  }
  return problems;
}

function checkDatabaseAndTools(doc: Compose, t: Topology): string[] {
  const problems: string[] = [];
  const pg = doc.services.postgresql;
  if (pg?.image !== `postgres:${t.postgres.version}`) problems.push(`postgresql image ${pg?.image}, want postgres:${t.postgres.version}`);
  if (pg?.environment?.POSTGRES_USER !== t.postgres.user) problems.push(`postgresql POSTGRES_USER ${pg?.environment?.POSTGRES_USER}, want ${t.postgres.user}`);
  const schema = doc.services['temporal-schema'];
  if (schema?.environment?.SQL_USER !== t.postgres.user) problems.push(`temporal-schema SQL_USER ${schema?.environment?.SQL_USER}, want ${t.postgres.user}`);
  if (String(schema?.environment?.SQL_PORT) !== String(t.postgres.port)) problems.push(`temporal-schema SQL_PORT ${schema?.environment?.SQL_PORT}, want ${t.postgres.port}`);
  const script = words(schema?.command);
  for (const db of [t.postgres.database, t.postgres.visibilityDatabase]) if (!script.includes(`${db}:`)) problems.push(`temporal-schema does not set up database ${db}`);
  for (const [name, svc] of Object.entries(doc.services)) {
    if (svc.image?.startsWith('temporalio/admin-tools:') && svc.image !== `temporalio/admin-tools:${release(t)}`) problems.push(`${name} image ${svc.image}, want temporalio/admin-tools:${release(t)}`);
  }
  const ns = words(doc.services['temporal-namespace']?.command);
  if (!ns.includes(`--retention ${t.retention}`) || !ns.includes(`--namespace ${t.namespace}`)) problems.push(`temporal-namespace does not create ${t.namespace} with retention ${t.retention}: ${ns}`);
  return problems;
}

/** The worker's TLS settings are the ones `scripts/prodstack env` prints, with container paths. */
function checkWorkerTls(doc: Compose, t: Topology): string[] {
  const env = doc.services['runwright-worker']?.environment ?? {};
  const want = clientEnv(t, t.nodes[0].name, '/etc/runwright/tls');
  const problems: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (k === 'TEMPORAL_ADDRESS') {
      const address = `${t.compose.frontendAlias}:${t.ports.frontend}`;
      if (env[k] !== address) problems.push(`runwright-worker ${k}=${env[k]}, want ${address}`);
    } else if (k !== 'TEMPORAL_TLS' && env[k] !== v) problems.push(`runwright-worker ${k}=${env[k]}, want ${v}`);
  }
  return problems;
}

const mutated = (edit: (d: Compose) => void): Compose => {
  const copy = structuredClone(compose);
  edit(copy);
  return copy;
};
const node2 = (d: Compose) => d.services['temporal-node2'];

describe('docker-compose.yml describes the topology of deploy/prodstack/topology.json', () => {
  it('the mounted server configs are what the generator makes', () => expect(checkGeneratedConfigs(topology)).toEqual([]));
  it('one server service per node: release, config, password, alias, published frontend', () => expect(checkServerNodes(compose, topology)).toEqual([]));
  it('database, schema job, admin tools and namespace follow the topology', () => expect(checkDatabaseAndTools(compose, topology)).toEqual([]));
  it('the worker connects with the client settings scripts/prodstack env prints', () => expect(checkWorkerTls(compose, topology)).toEqual([]));

  const broken: [string, () => string[], string][] = [
    ['a changed topology (stale configs)', () => checkGeneratedConfigs({ ...topology, numHistoryShards: topology.numHistoryShards * 2 }), 'node1.yaml is stale'],
    ['another server release', () => checkServerNodes(mutated((d) => void (node2(d).image = 'temporalio/server:1.29.1')), topology), 'temporal-node2 image temporalio/server:1.29.1'],
    ['a node with the other node config', () => checkServerNodes(mutated((d) => void (node2(d).command = ['temporal-server', '--config-file', '/etc/temporal/prodstack/node1.yaml', 'start'])), topology), 'node2.yaml'],
    ['a third node in the topology only', () => checkServerNodes(compose, { ...topology, nodes: [...topology.nodes, { name: 'node3', loopbackPortOffset: 12000 }] }), 'want temporal-node1, temporal-node2, temporal-node3'],
    ['a node without the password variable', () => checkServerNodes(mutated((d) => void (node2(d).environment = {})), topology), `does not set ${DB_PASSWORD_ENV}`],
    ['a node without the alias', () => checkServerNodes(mutated((d) => void (node2(d).networks = { default: { aliases: [] } })), topology), 'temporal-node2 is not reachable as "temporal"'],
    ['a frontend published on another port', () => checkServerNodes(mutated((d) => void (node2(d).ports = ['7999:7233'])), topology), 'does not publish its frontend 7233 as 7234'],
    ['another PostgreSQL', () => checkDatabaseAndTools(mutated((d) => void (d.services.postgresql.image = 'postgres:16')), topology), 'want postgres:15'],
    ['admin tools of another release', () => checkDatabaseAndTools(mutated((d) => void (d.services['temporal-admin-tools'].image = 'temporalio/admin-tools:1.29.1')), topology), 'temporal-admin-tools image temporalio/admin-tools:1.29.1'],
    ['another retention', () => checkDatabaseAndTools(compose, { ...topology, retention: '24h' }), 'retention 24h'],
    ['a worker without its client certificate', () => checkWorkerTls(mutated((d) => void delete d.services['runwright-worker'].environment!.TEMPORAL_TLS_CLIENT_CERT_PATH), topology), 'TEMPORAL_TLS_CLIENT_CERT_PATH=undefined'],
  ];
  it.each(broken)('reports %s', (_name, check, message) => expect(check().join('\n')).toContain(message));
});

describe('topology.json and what is derived from it', () => {
  it('loopback ports are the base ports shifted per node; in containers they are the base ports', () => {
    const [a, b] = topology.nodes;
    expect(nodePorts(topology, a.name, 'compose')).toEqual(topology.ports);
    expect(nodePorts(topology, b.name, 'loopback').frontend).toBe(topology.ports.frontend + b.loopbackPortOffset);
    expect(clientEnv(topology, b.name, '/tls').TEMPORAL_ADDRESS).toBe(`${topology.loopback.host}:${topology.ports.frontend + b.loopbackPortOffset}`);
  });

  it('every node of a cluster shares the database and shard count, and binds only its own ports', () => {
    const cfgs = topology.nodes.map((n) => serverConfig(topology, n.name, 'loopback', { tlsDir: '/tls', dynamicConfig: '/dc.yaml' }) as any);
    expect(new Set(cfgs.map((c) => JSON.stringify(c.persistence))).size).toBe(1);
    expect(cfgs[0].persistence.datastores['postgres-default'].sql.connectAddr).toBe(`${topology.loopback.host}:${topology.loopback.postgresPort}`);
    expect(cfgs[0].persistence.datastores['postgres-default'].sql.password).toBe(`{{ env "${DB_PASSWORD_ENV}" }}`);
    const ports = cfgs.flatMap((c) => Object.values(c.services).flatMap((s: any) => [s.rpc.grpcPort, s.rpc.membershipPort]));
    expect(new Set(ports).size).toBe(ports.length);
    for (const c of cfgs) expect(c.global.tls.frontend.server.requireClientAuth).toBe(topology.tls.requireClientAuth);
    // The module's sample sections that point at archival providers stay out.
    expect(cfgs[0]).not.toHaveProperty('archival');
    expect(cfgs[0]).not.toHaveProperty('namespaceDefaults');
  });

  it('clear errors for mistakes in topology.json', () => {
    const raw = JSON.parse(readFileSync(join(ROOT, 'deploy/prodstack/topology.json'), 'utf8'));
    const clash = structuredClone(raw);
    clash.nodes[1].loopbackPortOffset = clash.nodes[0].loopbackPortOffset;
    expect(() => parseTopology(clash, 'topology.json')).toThrow(/on loopback node2\.frontend and node1\.frontend are both port 17233/);
    const version = structuredClone(raw);
    version.temporalServer.version = '1.30.4';
    expect(() => parseTopology(version, 'topology.json')).toThrow(/topology.json: temporalServer.version:/);
    const twice = structuredClone(raw);
    twice.nodes[1].name = twice.nodes[0].name;
    expect(() => parseTopology(twice, 'topology.json')).toThrow(/node names repeat/);
    expect(() => nodePorts(topology, 'node9', 'loopback')).toThrow(/unknown node node9/);
  });
});
