/**
 * Checks docker-compose.yml and the Dockerfile against the code they deploy (lib/config.ts,
 * @temporalio/envconfig, tsconfig.json). Every check is a function returning a list of
 * problems; each is run on the real files (expect none) and on a broken copy (expect some),
 * so no assertion can pass vacuously.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientConfigProfile } from '@temporalio/envconfig';
import { parse } from 'yaml';
import { DEFAULT_TASK_QUEUE, ENV, SEARCH_ATTRIBUTES } from '../lib/config';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, unknown> | string[];
  ports?: (string | number | { target: number })[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, unknown>;
  entrypoint?: string | string[];
  command?: string | string[];
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
}
interface Compose {
  services: Record<string, Service>;
}

const ROOT = path.resolve(__dirname, '..');
/** The frontend's name on the compose network: an alias every Temporal server node carries. */
const TEMPORAL = 'temporal';
const FRONTEND_PORT = 7233;
const WORKER = 'runwright-worker';
const UI = 'temporal-ui';
const ADMIN = 'temporal-admin-tools';

// merge: the file shares service settings through YAML merge keys (<<: *anchor), as Compose does.
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

function service(doc: Compose, name: string): Service {
  const svc = doc.services?.[name];
  if (!svc) throw new Error(`docker-compose.yml has no service "${name}"`);
  return svc;
}

/** Compose allows `environment` as a map or as a list of KEY=VALUE strings. */
function envOf(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '')]));
}

/** Container-side ports a service publishes or exposes ("8080:80", "127.0.0.1:80:80/tcp", {target}). */
function containerPorts(svc: Service): number[] {
  const fromPorts = (svc.ports ?? []).map((p) => (typeof p === 'object' ? p.target : Number(String(p).split('/')[0].split(':').pop())));
  return [...fromPorts, ...(svc.expose ?? []).map((p) => Number(String(p).split('/')[0]))];
}

/** Services reachable as `name` on the default network: by service name or network alias. */
function servicesNamed(doc: Compose, name: string): string[] {
  return Object.entries(doc.services)
    .filter(([n, svc]) => n === name || (!Array.isArray(svc.networks) && (svc.networks?.default?.aliases ?? []).includes(name)))
    .map(([n]) => n);
}

function argv(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}

/** Does @temporalio/envconfig (what the worker uses to connect) read this variable? */
function envconfigReads(name: string): boolean {
  const load = (vars: Record<string, string>) =>
    JSON.stringify(loadClientConfigProfile({ disableFile: true, overrideEnvVars: vars }));
  try {
    return load({ [name]: 'probe' }) !== load({});
  } catch {
    return true; // It parsed the value and rejected it, so it does read it.
  }
}

function workerConnection(doc: Compose) {
  return loadClientConfigProfile({ disableFile: true, overrideEnvVars: envOf(service(doc, WORKER)) });
}

function checkWorkerEnv(doc: Compose): string[] {
  const env = envOf(service(doc, WORKER));
  const problems: string[] = [];
  const ours = new Set<string>(Object.values(ENV));
  for (const name of Object.keys(env)) {
    if (!ours.has(name) && !envconfigReads(name)) {
      problems.push(`${WORKER} sets ${name}, which neither lib/config.ts ENV nor @temporalio/envconfig reads`);
    }
  }
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
    if (!env[name]) problems.push(`${WORKER} does not set ${name}`);
  }
  if (env[ENV.taskQueue] !== DEFAULT_TASK_QUEUE) {
    problems.push(`${WORKER} ${ENV.taskQueue}=${env[ENV.taskQueue]}, want ${DEFAULT_TASK_QUEUE}`);
  }
  return problems;
}

const CONSOLE = 'runwright-console';

/** The console service: a client of the worker's queue, reachable from outside only with token sign-in. */
function checkConsole(doc: Compose): string[] {
  const svc = service(doc, CONSOLE);
  const env = envOf(svc);
  const problems: string[] = [];
  const ours = new Set<string>(Object.values(ENV));
  for (const name of Object.keys(env)) if (!ours.has(name) && !envconfigReads(name)) problems.push(`${CONSOLE} sets ${name}, which neither lib/config.ts ENV nor @temporalio/envconfig reads`);
  const cmd = Array.isArray(svc.command) ? svc.command : String(svc.command ?? '').split(/\s+/);
  if (!cmd.includes('console')) problems.push(`${CONSOLE} does not run \`runwright console\``);
  const host = cmd[cmd.indexOf('--host') + 1];
  if (cmd.includes('--host') && !/^127\.|^localhost$/.test(host) && !env[ENV.consoleTokens]) problems.push(`${CONSOLE} listens on ${host} without ${ENV.consoleTokens} (local mode refuses that)`);
  const port = Number(cmd[cmd.indexOf('--port') + 1]);
  if (!containerPorts(svc).includes(port)) problems.push(`${CONSOLE} listens on ${port} but does not publish it`);
  const worker = envOf(service(doc, WORKER));
  for (const name of [ENV.taskQueue, 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', ENV.reportsDir])
    if (env[name] !== worker[name]) problems.push(`${CONSOLE} ${name}=${env[name]}, the worker has ${worker[name]}`);
  return problems;
}

function checkTemporalAddress(doc: Compose): string[] {
  const address = workerConnection(doc).address ?? '';
  const [host, port] = address.split(':');
  const problems: string[] = [];
  if (host !== TEMPORAL) problems.push(`${WORKER} connects to host "${host}", want the "${TEMPORAL}" service`);
  if (Number(port) !== FRONTEND_PORT) problems.push(`${WORKER} connects to port ${port}, want ${FRONTEND_PORT}`);
  const frontends = servicesNamed(doc, TEMPORAL);
  if (frontends.length === 0) problems.push(`no service is named or aliased "${TEMPORAL}"`);
  for (const name of frontends) {
    if (!containerPorts(doc.services[name]).includes(FRONTEND_PORT)) problems.push(`service "${name}" does not publish or expose ${FRONTEND_PORT}`);
  }
  return problems;
}

function checkUi(doc: Compose): string[] {
  const address = envOf(service(doc, UI)).TEMPORAL_ADDRESS;
  const want = `${TEMPORAL}:${FRONTEND_PORT}`;
  return address === want ? [] : [`${UI} TEMPORAL_ADDRESS=${address}, want ${want}`];
}

function checkPinnedImages(doc: Compose): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(doc.services)) {
    if (svc.image === undefined) {
      if (svc.build === undefined) problems.push(`${name} has neither image nor build`);
      continue;
    }
    if (svc.image.includes('@sha256:')) continue;
    // The tag follows the last ':' after the last '/', so a registry port ("host:5000/img") is not a tag.
    const lastSegment = svc.image.split('/').pop() ?? '';
    const tag = lastSegment.includes(':') ? lastSegment.split(':').pop() : undefined;
    if (!tag || tag === 'latest') problems.push(`${name} image ${svc.image} is not pinned to a version tag`);
  }
  return problems;
}

function checkDependsOn(doc: Compose): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(doc.services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const dep of deps) if (!doc.services[dep]) problems.push(`${name} depends on unknown service ${dep}`);
  }
  return problems;
}

function checkSearchAttributes(doc: Compose): string[] {
  const svc = service(doc, ADMIN);
  const args = [...argv(svc.entrypoint), ...argv(svc.command)];
  const prefix = ['temporal', 'operator', 'search-attribute', 'create'];
  if (prefix.some((word, i) => args[i] !== word)) return [`${ADMIN} does not run \`${prefix.join(' ')}\`: ${args.join(' ')}`];

  const flags = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
  const names = flags('--name');
  const types = flags('--type');
  const registered = Object.fromEntries(names.map((n, i) => [n, types[i]]));
  const wanted = Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((n) => [n, 'Keyword']));
  const problems: string[] = [];
  if (names.length !== types.length || JSON.stringify(sorted(registered)) !== JSON.stringify(sorted(wanted))) {
    problems.push(`${ADMIN} registers ${JSON.stringify(registered)}, want ${JSON.stringify(wanted)}`);
  }
  const conn = workerConnection(doc);
  if (flags('--namespace')[0] !== conn.namespace) {
    problems.push(`${ADMIN} registers in namespace ${flags('--namespace')[0]}, the worker uses ${conn.namespace}`);
  }
  if (flags('--address')[0] !== conn.address) {
    problems.push(`${ADMIN} talks to ${flags('--address')[0]}, the worker to ${conn.address}`);
  }
  return problems;
}

function sorted(obj: Record<string, unknown>): [string, unknown][] {
  return Object.entries(obj).sort(([a], [b]) => a.localeCompare(b));
}

/** The Dockerfile must start the compiled workers/main.ts, wherever tsconfig's outDir puts it. */
function checkDockerfileCmd(text: string): string[] {
  const cmds = text.split('\n').filter((line) => /^CMD\s/i.test(line.trim()));
  if (cmds.length === 0) return ['Dockerfile has no CMD'];
  let cmd: unknown;
  try {
    cmd = JSON.parse(cmds[cmds.length - 1].trim().slice(3));
  } catch {
    return [`Dockerfile CMD is not in exec (JSON) form: ${cmds[cmds.length - 1]}`];
  }
  const outDir = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')).compilerOptions.outDir as string;
  const want = ['node', path.posix.join(outDir, 'workers/main.js')];
  return JSON.stringify(cmd) === JSON.stringify(want) ? [] : [`Dockerfile CMD ${JSON.stringify(cmd)}, want ${JSON.stringify(want)}`];
}

function mutated(edit: (doc: Compose) => void): Compose {
  const copy = structuredClone(compose);
  edit(copy);
  return copy;
}
const env = (doc: Compose, name: string) => service(doc, name).environment as Record<string, string>;

describe('docker-compose.yml agrees with the code', () => {
  const checks: [string, (doc: Compose) => string[]][] = [
    ['worker env uses only known variables and the default task queue', checkWorkerEnv],
    ['worker TEMPORAL_ADDRESS is the temporal service on its frontend port', checkTemporalAddress],
    ['UI points at the temporal service', checkUi],
    ['images are pinned', checkPinnedImages],
    ['every depends_on target exists', checkDependsOn],
    ['registered search attributes match SEARCH_ATTRIBUTES', checkSearchAttributes],
    ['the console is a token-signed client of the worker\'s queue', checkConsole],
  ];
  it.each(checks)('%s', (_name, check) => {
    expect(check(compose)).toEqual([]);
  });

  // Broken variants: each must be reported, with a message naming what is wrong.
  const broken: [string, (doc: Compose) => string[], (doc: Compose) => void, string][] = [
    ['misspelled task queue variable', checkWorkerEnv, (d) => {
      const e = env(d, WORKER);
      e.RUNWRIGHT_TASKQUEUE = e[ENV.taskQueue];
      delete e[ENV.taskQueue];
    }, 'sets RUNWRIGHT_TASKQUEUE'],
    ['non-default task queue', checkWorkerEnv, (d) => void (env(d, WORKER)[ENV.taskQueue] = 'other'), 'RUNWRIGHT_TASK_QUEUE=other'],
    ['misspelled Temporal variable', checkWorkerEnv, (d) => void (env(d, WORKER).TEMPORAL_ADRESS = 'temporal:7233'), 'sets TEMPORAL_ADRESS'],
    ['missing namespace', checkWorkerEnv, (d) => void delete env(d, WORKER).TEMPORAL_NAMESPACE, 'does not set TEMPORAL_NAMESPACE'],
    ['worker points at another host', checkTemporalAddress, (d) => void (env(d, WORKER).TEMPORAL_ADDRESS = 'temporal-server:7233'), 'host "temporal-server"'],
    ['worker points at another port', checkTemporalAddress, (d) => void (env(d, WORKER).TEMPORAL_ADDRESS = 'temporal:7234'), 'port 7234'],
    ['a frontend node does not expose 7233', checkTemporalAddress, (d) => void (d.services['temporal-node2'].ports = ['7000:7000']), '"temporal-node2" does not publish or expose 7233'],
    ['no service answers to the frontend name', checkTemporalAddress, (d) => {
      for (const svc of Object.values(d.services)) delete svc.networks;
    }, 'no service is named or aliased "temporal"'],
    ['UI points elsewhere', checkUi, (d) => void (env(d, UI).TEMPORAL_ADDRESS = 'localhost:7233'), 'TEMPORAL_ADDRESS=localhost:7233'],
    ['latest tag', checkPinnedImages, (d) => void (d.services[UI].image = 'temporalio/ui:latest'), 'temporalio/ui:latest is not pinned'],
    ['no tag', checkPinnedImages, (d) => void (d.services[UI].image = 'temporalio/ui'), 'temporalio/ui is not pinned'],
    ['registry port but no tag', checkPinnedImages, (d) => void (d.services[UI].image = 'registry:5000/temporalio/ui'), 'registry:5000/temporalio/ui is not pinned'],
    ['unknown dependency', checkDependsOn, (d) => void (d.services[WORKER].depends_on = ['elasticsearch']), 'unknown service elasticsearch'],
    ['missing search attribute', checkSearchAttributes, (d) => {
      const cmd = d.services[ADMIN].command as string[];
      cmd.splice(cmd.lastIndexOf('--name'), 4);
    }, `${ADMIN} registers {`],
    ['wrong search attribute type', checkSearchAttributes, (d) => {
      const cmd = d.services[ADMIN].command as string[];
      cmd[cmd.lastIndexOf('Keyword')] = 'Text';
    }, '"Text"'],
    ['search attributes in another namespace', checkSearchAttributes, (d) => {
      const cmd = d.services[ADMIN].command as string[];
      cmd[cmd.indexOf('--namespace') + 1] = 'other';
    }, 'namespace other'],
    ['console without tokens on all interfaces', checkConsole, (d) => void delete env(d, CONSOLE)[ENV.consoleTokens], 'without RUNWRIGHT_CONSOLE_TOKENS'],
    ['console on another queue', checkConsole, (d) => void (env(d, CONSOLE)[ENV.taskQueue] = 'other'), 'RUNWRIGHT_TASK_QUEUE=other'],
    ['console port not published', checkConsole, (d) => void (d.services[CONSOLE].ports = []), 'does not publish it'],
    ['console env misspelled', checkConsole, (d) => void (env(d, CONSOLE).RUNWRIGHT_CONSOLE_TOKEN = 'x'), 'sets RUNWRIGHT_CONSOLE_TOKEN'],
  ];
  it.each(broken)('reports %s', (_name, check, edit, message) => {
    expect(check(mutated(edit)).join('\n')).toContain(message);
  });
});

describe('Dockerfile', () => {
  it('CMD runs the compiled worker entry point', () => {
    expect(checkDockerfileCmd(dockerfile)).toEqual([]);
  });

  it('reports a CMD pointing elsewhere', () => {
    expect(checkDockerfileCmd(dockerfile.replace('dist/workers/main.js', 'dist/worker/main.js'))).toEqual([
      'Dockerfile CMD ["node","dist/worker/main.js"], want ["node","dist/workers/main.js"]',
    ]);
    expect(checkDockerfileCmd(dockerfile.replace(/^CMD .*$/m, 'CMD node dist/workers/main.js'))).toEqual([
      'Dockerfile CMD is not in exec (JSON) form: CMD node dist/workers/main.js',
    ]);
  });

  it('the worker entry point source exists', () => {
    expect(fs.existsSync(path.join(ROOT, 'workers/main.ts'))).toBe(true);
  });
});
