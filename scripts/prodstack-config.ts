/**
 * The production-shaped Temporal stack's values, from ONE source (deploy/prodstack/topology.json),
 * turned into what runs it: the server config of each node, on loopback (scripts/prodstack) or in
 * containers (docker-compose.yml mounts deploy/prodstack/compose/*.yaml), and the client settings
 * (@temporalio/envconfig variables). test/unit/prodstack-topology.test.ts checks the compose side.
 *
 *   tsx scripts/prodstack-config.ts loopback STATE_DIR   writes STATE_DIR/etc/{node*.yaml,dynamicconfig.yaml,topology.sh}
 *   tsx scripts/prodstack-config.ts compose              writes deploy/prodstack/compose/*.yaml
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { SEARCH_ATTRIBUTES } from '../lib/config';

export const ROOT = join(__dirname, '..');
export const TOPOLOGY_FILE = join(ROOT, 'deploy', 'prodstack', 'topology.json');
export const COMPOSE_CONFIG_DIR = join(ROOT, 'deploy', 'prodstack', 'compose');
/** Where docker-compose.yml mounts deploy/prodstack/compose and the certificates. */
export const COMPOSE_MOUNTS = { config: '/etc/temporal/prodstack', tls: '/etc/temporal/tls' } as const;
/** The variable the server configs read the database password from (config templating, `env`). */
export const DB_PASSWORD_ENV = 'TEMPORAL_POSTGRES_PASSWORD';

const port = z.number().int().min(1).max(65535);
const PORT_NAMES = ['frontend', 'frontendHttp', 'history', 'matching', 'worker', 'frontendMembership', 'historyMembership', 'matchingMembership', 'workerMembership', 'metrics'] as const;
const TopologySchema = z.strictObject({
  $comment: z.string().optional(),
  temporalServer: z.strictObject({ module: z.string(), version: z.string().regex(/^v\d+\.\d+\.\d+$/) }),
  postgres: z.strictObject({
    version: z.number().int(),
    port,
    user: z.string().regex(/^[a-z_][a-z0-9_]*$/),
    database: z.string().regex(/^[a-z_][a-z0-9_]*$/),
    visibilityDatabase: z.string().regex(/^[a-z_][a-z0-9_]*$/),
    maxConns: z.number().int().positive(),
    visibilityMaxConns: z.number().int().positive(),
  }),
  numHistoryShards: z.number().int().positive(),
  namespace: z.string().min(1),
  retention: z.string().regex(/^\d+h$/),
  ports: z.strictObject(Object.fromEntries(PORT_NAMES.map((n) => [n, port])) as Record<(typeof PORT_NAMES)[number], typeof port>),
  tls: z.strictObject({ serverName: z.string().min(1), requireClientAuth: z.boolean() }),
  nodes: z.array(z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9-]*$/), loopbackPortOffset: z.number().int().min(0) })).min(1),
  loopback: z.strictObject({ host: z.string(), postgresPort: port }),
  compose: z.strictObject({ frontendAlias: z.string(), publishedFrontendPorts: z.record(z.string(), port) }),
});
export type Topology = z.infer<typeof TopologySchema>;
export type Ports = Topology['ports'];
export type Target = 'loopback' | 'compose';

export function parseTopology(value: unknown, source = TOPOLOGY_FILE): Topology {
  const r = TopologySchema.safeParse(value);
  if (!r.success) throw new Error(`${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const t = r.data;
  const names = t.nodes.map((n) => n.name);
  if (new Set(names).size !== names.length) throw new Error(`${source}: node names repeat: ${names.join(', ')}`);
  // On loopback every port of every node must be distinct (and not the database's).
  const seen = new Map<number, string>([[t.loopback.postgresPort, 'postgres']]);
  for (const n of names) {
    for (const [what, p] of Object.entries(nodePorts(t, n, 'loopback'))) {
      const other = seen.get(p);
      if (other) throw new Error(`${source}: on loopback ${n}.${what} and ${other} are both port ${p}: change loopbackPortOffset`);
      if (p > 65535) throw new Error(`${source}: ${n}.${what} is port ${p} on loopback (over 65535): lower loopbackPortOffset`);
      seen.set(p, `${n}.${what}`);
    }
  }
  for (const n of Object.keys(t.compose.publishedFrontendPorts)) if (!names.includes(n)) throw new Error(`${source}: compose.publishedFrontendPorts names unknown node ${n}`);
  return t;
}

export function loadTopology(file = TOPOLOGY_FILE): Topology {
  return parseTopology(JSON.parse(readFileSync(file, 'utf8')), file);
}

/** A node's ports: the base ports in a container (each has its own address), shifted on loopback. */
export function nodePorts(t: Topology, node: string, target: Target): Ports {
  const n = t.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`unknown node ${node} (topology has ${t.nodes.map((x) => x.name).join(', ')})`);
  const offset = target === 'loopback' ? n.loopbackPortOffset : 0;
  return Object.fromEntries(Object.entries(t.ports).map(([k, p]) => [k, p + offset])) as Ports;
}

/** Container (compose service) name of a node. */
export const composeService = (node: string) => `temporal-${node}`;

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}
export function tlsFiles(dir: string): TlsFiles {
  return { ca: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server.key'), clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key') };
}

/**
 * One node's server config (the shape of the module's config/development-postgres12.yaml, without
 * its archival: and namespaceDefaults: sections). All services in one process; nodes find each other
 * through the cluster_membership table (ringpop). TLS: the frontend requires client certificates
 * (mTLS) from SDK clients and from the node's own system worker; internode traffic
 * (history/matching/membership) is plain, which is only acceptable on a private network.
 */
export function serverConfig(t: Topology, node: string, target: Target, paths: { tlsDir: string; dynamicConfig: string }): Record<string, unknown> {
  const p = nodePorts(t, node, target);
  const loopback = target === 'loopback';
  const dbHost = loopback ? `${t.loopback.host}:${t.loopback.postgresPort}` : `postgresql:${t.postgres.port}`;
  // On loopback every node binds 127.0.0.1 on its own ports; in a container the server binds and
  // advertises the container's own address (it finds it itself when neither bind setting is given).
  const bind = loopback ? { bindOnLocalHost: true } : {};
  const host = loopback ? t.loopback.host : '0.0.0.0';
  const sql = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: dbHost,
      connectProtocol: 'tcp',
      user: t.postgres.user,
      password: `{{ env "${DB_PASSWORD_ENV}" }}`,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const tls = tlsFiles(paths.tlsDir);
  const client = { serverName: t.tls.serverName, rootCaFiles: [tls.ca] };
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({ rpc: { grpcPort, membershipPort, ...bind, ...extra } });
  return {
    log: { stdout: true, level: 'info' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: t.numHistoryShards,
      datastores: { 'postgres-default': sql(t.postgres.database, t.postgres.maxConns), 'postgres-visibility': sql(t.postgres.visibilityDatabase, t.postgres.visibilityMaxConns) },
    },
    global: {
      membership: { maxJoinDuration: '30s', ...(loopback ? { broadcastAddress: t.loopback.host } : {}) },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${host}:${p.metrics}` } },
      tls: {
        frontend: {
          server: { certFile: tls.serverCert, keyFile: tls.serverKey, requireClientAuth: t.tls.requireClientAuth, clientCaFiles: [tls.ca] },
          client,
        },
        // The node's system worker (namespace and search-attribute workflows) is a frontend client too.
        systemWorker: { certFile: tls.serverCert, keyFile: tls.serverKey, client },
      },
    },
    services: {
      frontend: service(p.frontend, p.frontendMembership, { httpPort: p.frontendHttp }),
      history: service(p.history, p.historyMembership),
      matching: service(p.matching, p.matchingMembership),
      worker: service(p.worker, p.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${loopback ? t.loopback.host : composeService(node)}:${p.frontend}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: paths.dynamicConfig, pollInterval: '10s' },
  };
}

/**
 * Dynamic config: Updates (approvals) on, as on the dev server; and per-step latency (issue 18,
 * item 9). A sequential step waits twice for the history service's transfer-queue reader, which
 * the server rate-limits to 20 polls/s per shard by default. The reader polls when it is told of
 * new tasks (and once a minute otherwise), so the limit caps bursts, not idle load: 200/s lets a
 * busy shard move its steps without queueing, at the cost of at most 200 range reads/s of
 * `transfer_tasks` per busy shard on PostgreSQL. Eager execution hands a workflow's next activity
 * straight back to the worker that completed the workflow task (no matching round trip); the
 * activity still times out and retries through the server as usual.
 */
export const DYNAMIC_CONFIG = {
  'frontend.enableUpdateWorkflowExecution': [{ value: true }],
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted': [{ value: true }],
  'history.transferProcessorMaxPollRPS': [{ value: 200 }],
  'system.enableActivityEagerExecution': [{ value: true }],
};

export function renderServerConfig(t: Topology, node: string, target: Target, paths: { tlsDir: string; dynamicConfig: string }): string {
  return [
    // The server renders files that say enable-template as Go templates: the password comes from the environment.
    '# enable-template',
    `# Generated by scripts/prodstack-config.ts from deploy/prodstack/topology.json (${node}, ${target}); do not edit.`,
    stringify(serverConfig(t, node, target, paths), { lineWidth: 0, aliasDuplicateObjects: false }),
  ].join('\n');
}

/** The standard client settings (@temporalio/envconfig, also read by the Temporal CLI) for one node. */
export function clientEnv(t: Topology, node: string, tlsDir: string, withClientCert = true): Record<string, string> {
  const tls = tlsFiles(tlsDir);
  return {
    TEMPORAL_ADDRESS: `${t.loopback.host}:${nodePorts(t, node, 'loopback').frontend}`,
    TEMPORAL_NAMESPACE: t.namespace,
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.ca,
    TEMPORAL_TLS_SERVER_NAME: t.tls.serverName,
    ...(withClientCert ? { TEMPORAL_TLS_CLIENT_CERT_PATH: tls.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: tls.clientKey } : {}),
  };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Values scripts/prodstack needs, as shell assignments. */
export function shellVars(t: Topology): string {
  const lines = [
    `SERVER_MODULE=${shq(t.temporalServer.module)}`,
    `SERVER_VERSION=${shq(t.temporalServer.version)}`,
    `PG_VERSION=${t.postgres.version}`,
    `PG_PORT=${t.loopback.postgresPort}`,
    `PG_USER=${shq(t.postgres.user)}`,
    `DB_NAME=${shq(t.postgres.database)}`,
    `VIS_DB_NAME=${shq(t.postgres.visibilityDatabase)}`,
    `NAMESPACE=${shq(t.namespace)}`,
    `RETENTION=${shq(t.retention)}`,
    `TLS_SERVER_NAME=${shq(t.tls.serverName)}`,
    `NODES=(${t.nodes.map((n) => shq(n.name)).join(' ')})`,
    // Runwright's search attributes (lib/config.ts), all Keyword.
    `SEARCH_ATTRIBUTES=(${Object.values(SEARCH_ATTRIBUTES).map(shq).join(' ')})`,
    'declare -gA FRONTEND_PORT=()',
    ...t.nodes.map((n) => `FRONTEND_PORT[${n.name}]=${nodePorts(t, n.name, 'loopback').frontend}`),
  ];
  return `# Generated by scripts/prodstack-config.ts from deploy/prodstack/topology.json; do not edit.\n${lines.join('\n')}\n`;
}

export function composeConfigFiles(t: Topology): Record<string, string> {
  const files: Record<string, string> = { 'dynamicconfig.yaml': stringify(DYNAMIC_CONFIG) };
  for (const n of t.nodes) {
    files[`${n.name}.yaml`] = renderServerConfig(t, n.name, 'compose', { tlsDir: COMPOSE_MOUNTS.tls, dynamicConfig: `${COMPOSE_MOUNTS.config}/dynamicconfig.yaml` });
  }
  return files;
}

function writeAll(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

function main(argv: string[]): number {
  const [cmd, dir] = argv;
  const t = loadTopology();
  if (cmd === 'loopback' && dir) {
    const etc = join(dir, 'etc');
    const paths = { tlsDir: join(dir, 'tls'), dynamicConfig: join(etc, 'dynamicconfig.yaml') };
    const files: Record<string, string> = { 'dynamicconfig.yaml': stringify(DYNAMIC_CONFIG), 'topology.sh': shellVars(t) };
    for (const n of t.nodes) {
      files[`${n.name}.yaml`] = renderServerConfig(t, n.name, 'loopback', paths);
      files[`${n.name}.env`] = Object.entries(clientEnv(t, n.name, paths.tlsDir)).map(([k, v]) => `export ${k}=${shq(v)}\n`).join('');
    }
    writeAll(etc, files);
    return 0;
  }
  if (cmd === 'compose') {
    writeAll(COMPOSE_CONFIG_DIR, composeConfigFiles(t));
    return 0;
  }
  process.stderr.write('usage: tsx scripts/prodstack-config.ts loopback STATE_DIR | compose\n');
  return 2;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`prodstack-config: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
