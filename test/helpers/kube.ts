/**
 * A real management cluster for the Cluster API tests: etcd + kube-apiserver (built from the Go
 * module proxy by scripts/kube-binaries) on free loopback ports, as Cluster API's envtest runs
 * them. HTTPS with the apiserver's own self-signed serving certificate (trusted through the
 * kubeconfig), bearer tokens from a token file, RBAC. The CRDs of test/fixtures/capi-crds are
 * installed and served before startKube returns. stop() ends both processes and removes the files.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KINDS, type KindInfo } from '../../activities/capi/api';

const root = resolve(__dirname, '../..');

export interface KubeEnv {
  server: string;
  dir: string;
  /** Admin (system:masters) kubeconfig file. */
  kubeconfig: string;
  /** A user who may only get/list/watch Cluster API objects (for "forbidden" tests). */
  viewerKubeconfig: string;
  kc: k8s.KubeConfig;
  /** Install the test CRDs (startKube does unless crds: false). */
  installCrds(): Promise<void>;
  stop(): Promise<void>;
}

/** Where kube-apiserver and etcd are: RUNWRIGHT_KUBE_BIN_DIR, or the scripts/kube-binaries cache. */
export function kubeBinDir(): string {
  return builtDir('RUNWRIGHT_KUBE_BIN_DIR', 'scripts/kube-binaries', 'kube-apiserver and etcd are not built: run scripts/kube-binaries first (a cold build takes 10-20 minutes; .ci/run does it)');
}

/** A build's directory: from the environment variable, else the script's cache (`--check`); else fail with `notBuilt`. */
export function builtDir(envVar: string, script: string, notBuilt: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  try {
    return execFileSync(join(root, script), ['--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new Error(notBuilt);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function startProcess(bin: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const p = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return p;
}

async function stopProcess(p: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string, n = 30): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, proc: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what}: process exited (${proc.exitCode ?? proc.signalCode}):\n${tail(log)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000}s:\n${tail(log)}`);
    await sleep(200);
  }
}

function httpsGet(url: string, token: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca, timeout: 5000 }, (r) => {
      let body = '';
      r.on('data', (c) => (body += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export function kubeconfigYaml(server: string, caPem: Buffer, user: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test`,
    `  cluster: { server: "${server}", certificate-authority-data: ${caPem.toString('base64')} }`,
    'users:',
    `- name: ${user}`,
    `  user: { token: ${token} }`,
    'contexts:',
    `- name: ${user}@test`,
    `  context: { cluster: test, user: ${user} }`,
    `current-context: ${user}@test`,
    '',
  ].join('\n');
}

export async function startKube(opts: { crds?: boolean } = {}): Promise<KubeEnv> {
  const bin = kubeBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'rw-kube-'));
  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  const stop = async () => {
    await stopProcess(apiserver);
    await stopProcess(etcd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // etcd
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const etcdLog = join(dir, 'etcd.log');
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    etcd = startProcess(
      join(bin, 'etcd'),
      [
        '--name=test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      etcdLog,
    );
    await waitFor('etcd', async () => ((await (await fetch(`${etcdUrl}/health`)).json()) as { health?: string }).health === 'true', 60_000, etcd, etcdLog);

    // kube-apiserver: token file, service-account keys, its own self-signed serving cert
    const adminToken = randomBytes(24).toString('hex');
    const viewerToken = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n${viewerToken},viewer,viewer-uid,viewers\n`, { mode: 0o600 });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const apiLog = join(dir, 'kube-apiserver.log');
    apiserver = startProcess(
      join(bin, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--endpoint-reconciler-type=none',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--v=1',
      ],
      apiLog,
    );
    const certFile = join(certDir, 'apiserver.crt');
    let ca = Buffer.alloc(0);
    await waitFor(
      'kube-apiserver',
      async () => {
        if (!existsSync(certFile)) return false;
        ca = readFileSync(certFile);
        const r = await httpsGet(`${server}/readyz`, adminToken, ca);
        return r.status === 200;
      },
      180_000,
      apiserver,
      apiLog,
    );
    const kubeconfig = join(dir, 'admin.kubeconfig');
    const viewerKubeconfig = join(dir, 'viewer.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, ca, 'admin', adminToken), { mode: 0o600 });
    writeFileSync(viewerKubeconfig, kubeconfigYaml(server, ca, 'viewer', viewerToken), { mode: 0o600 });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);

    // The viewer may read Cluster API objects, not change them.
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const groups = [...new Set(Object.values(KINDS).map((k) => k.group))];
    await rbac.createClusterRole({ body: { metadata: { name: 'capi-viewer' }, rules: [{ apiGroups: groups, resources: ['*'], verbs: ['get', 'list', 'watch'] }] } });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: 'capi-viewer' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'capi-viewer' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'viewers' }] },
    });

    const env: KubeEnv = { server, dir, kubeconfig, viewerKubeconfig, kc, installCrds: () => installCrds(kc), stop };
    if (opts.crds !== false) await env.installCrds();
    return env;
  } catch (e) {
    await stop();
    throw e;
  }
}

export const CRD_DIR = join(root, 'test/fixtures/capi-crds');

/** client-node's loadYaml maps JSON names (x-kubernetes-*) to its typed model, which it serializes back. */
const loadCrd = (f: string) => k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(CRD_DIR, f), 'utf8'));

/** Create the fixture CRDs, wait until each is Established and its kind is discoverable. */
export async function installCrds(kc: k8s.KubeConfig): Promise<void> {
  const crds = readdirSync(CRD_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => loadCrd(f));
  await createCrds(kc, crds, Object.values(KINDS));
}

/** Create CRDs, wait until each is Established and `kinds` are discoverable and listable. */
export async function createCrds(kc: k8s.KubeConfig, crds: k8s.V1CustomResourceDefinition[], kinds: readonly KindInfo[]): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const crd of crds) await ext.createCustomResourceDefinition({ body: crd });
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    for (;;) {
      const cur = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      if (cur.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata!.name} not established: ${JSON.stringify(cur.status?.conditions)}`);
      await sleep(100);
    }
  }
  // Discovery lags Established a little; wait until a fresh client sees every kind.
  for (;;) {
    const api = k8s.KubernetesObjectApi.makeApiClient(kc) as unknown as { resource(a: string, k: string): Promise<unknown> };
    const found = await Promise.all(kinds.map((k) => api.resource(k.apiVersion, k.kind).catch(() => undefined)));
    if (found.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error('CRD kinds not discoverable after 60s');
    await sleep(200);
  }
  // A new CRD answers 429 "storage is (re)initializing" until its watch cache is ready.
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const k of kinds) {
    for (;;) {
      const ok = await objects.list(k.apiVersion, k.kind, 'default').then(() => true, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`cannot list ${k.kind} 60s after installing its CRD`);
      await sleep(200);
    }
  }
}

/** Remove the fixture CRDs (and so every object of those kinds). */
export async function uninstallCrds(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const f of readdirSync(CRD_DIR).filter((x) => x.endsWith('.yaml'))) {
    const crd = loadCrd(f);
    await ext.deleteCustomResourceDefinition({ name: crd.metadata!.name! }).catch(() => undefined);
  }
}
