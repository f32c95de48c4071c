/**
 * The real Cluster API controllers for the CAPI tests, on the test kube-apiserver of
 * test/helpers/kube.ts: the core manager, the kubeadm bootstrap and control-plane managers and the
 * in-memory infrastructure provider (CAPD's Dev* kinds, simulated machines and workload-cluster
 * API servers), all v1.13 built by scripts/capi-binaries from tools/capi, with the upstream CRDs
 * and webhook configurations of the same release.
 *
 * Outside a cluster the managers' webhooks are reached by URL: a CA and one serving certificate
 * for 127.0.0.1 are made here (openssl), every conversion webhook in the CRDs and every
 * validating/mutating webhook gets `url: https://127.0.0.1:<manager's port><path>` with that CA
 * instead of the in-cluster Service. Each manager runs in its own process group; stop() SIGKILLs
 * every group (also when startup failed half-way) and removes the files.
 *
 * `machines` follows the real Machine objects (polling), so tests can assert on what the
 * controllers did and in which order, as they did with the stand-in's event list.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kindsFor } from '../../activities/capi/api';
import { builtDir, createCrds, freePort, type KubeEnv } from './kube';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the built controllers are: RUNWRIGHT_CAPI_DIR, or the scripts/capi-binaries cache. */
export function capiDir(): string {
  return builtDir('RUNWRIGHT_CAPI_DIR', 'scripts/capi-binaries', 'the Cluster API controllers are not built: run scripts/capi-binaries first (a cold build takes 12-20 minutes; .ci/run does it)');
}

type Role = 'core' | 'bootstrap' | 'controlplane' | 'infrastructure';
const BINARIES: Record<Role, string> = { core: 'capi-manager', bootstrap: 'capi-bootstrap-kubeadm', controlplane: 'capi-controlplane-kubeadm', infrastructure: 'capi-inmemory' };

/** Which manager serves a CRD's conversion webhook, by API group. */
function roleOfGroup(group: string): Role {
  if (group.startsWith('bootstrap.')) return 'bootstrap';
  if (group.startsWith('controlplane.')) return 'controlplane';
  if (group.startsWith('infrastructure.')) return 'infrastructure';
  return 'core';
}

/** config/crd/kustomization.yaml of kubeadm bootstrap, kubeadm control plane and CAPD. */
const CONTRACT_LABELS = { 'cluster.x-k8s.io/v1beta1': 'v1beta1', 'cluster.x-k8s.io/v1beta2': 'v1beta2' };

/** The in-memory manager serves the Dev* webhooks only (no Docker, no machine pools). */
const servedByInMemory = (webhookName: string) => /^(default|validation)\.dev(cluster|clustertemplate|machine|machinetemplate)\./.test(webhookName);

export interface MachineEvent {
  /** "KubeadmControlPlane <name>" or "MachineDeployment <name>" */
  owner: string;
  machine: string;
  version: string;
  what: 'create' | 'delete';
}

export interface CapiEnv {
  dir: string;
  /** Machine creations and deletions in the order seen, and the Machines now. */
  machines: MachineLog;
  /** The last lines of every manager's log (for failure messages). */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

/** A CA and a serving certificate for 127.0.0.1/localhost, by openssl. */
function makeCerts(dir: string): { ca: Buffer } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=runwright-capi-test-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '2', '-extfile', 'san.ext']);
  return { ca: readFileSync(join(dir, 'ca.crt')) };
}

function loadAll(file: string): any[] {
  return k8s.loadAllYaml(readFileSync(file, 'utf8')).filter(Boolean);
}

/** Install the release's CRDs with their conversion webhooks pointed at the managers. */
async function installCrds(kc: k8s.KubeConfig, crdDir: string, url: (r: Role, path: string) => string, ca: Buffer): Promise<void> {
  const crds: k8s.V1CustomResourceDefinition[] = [];
  for (const f of readdirSync(crdDir).filter((x) => x.endsWith('.yaml')).sort()) {
    for (const crd of loadAll(join(crdDir, f)) as k8s.V1CustomResourceDefinition[]) {
      // The providers' kustomizations label their CRDs with the Cluster API contract versions
      // they implement; core reads them to find a provider's API version (no label: "cannot
      // find any versions matching contract versions").
      if (roleOfGroup(crd.spec.group) !== 'core') crd.metadata!.labels = { ...crd.metadata!.labels, ...CONTRACT_LABELS };
      if (crd.spec.versions.length > 1) {
        crd.spec.conversion = { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1', 'v1beta1'], clientConfig: { url: url(roleOfGroup(crd.spec.group), '/convert'), caBundle: ca.toString('base64') } } };
      }
      crds.push(crd);
    }
  }
  await createCrds(kc, crds, kindsFor('inmemory'));
}

/** Create the webhook configurations of every manager, by URL. */
async function installWebhooks(kc: k8s.KubeConfig, webhookDir: string, url: (r: Role, path: string) => string, ca: Buffer): Promise<void> {
  const adm = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const files: Record<Role, string> = { core: 'core.yaml', bootstrap: 'bootstrap.yaml', controlplane: 'controlplane.yaml', infrastructure: 'infrastructure.yaml' };
  for (const [role, file] of Object.entries(files) as [Role, string][]) {
    for (const cfg of loadAll(join(webhookDir, file))) {
      cfg.metadata = { name: `capi-${role}-${cfg.metadata.name}` };
      cfg.webhooks = (cfg.webhooks ?? [])
        .filter((w: any) => role !== 'infrastructure' || servedByInMemory(w.name))
        .map((w: any) => ({ ...w, clientConfig: { url: url(role, w.clientConfig.service.path), caBundle: ca.toString('base64') } }));
      if (!cfg.webhooks.length) continue;
      if (cfg.kind === 'MutatingWebhookConfiguration') await adm.createMutatingWebhookConfiguration({ body: cfg });
      else await adm.createValidatingWebhookConfiguration({ body: cfg });
    }
  }
}

const MACHINE = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine' };

/** Follows the Machine objects by polling: what was created and deleted, in order. */
export class MachineLog {
  readonly events: MachineEvent[] = [];
  readonly errors: string[] = [];
  private seen = new Map<string, MachineEvent>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private current: any[] = [];
  private readonly objects: k8s.KubernetesObjectApi;

  constructor(kc: k8s.KubeConfig) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  }

  static ownerOf(m: any): string {
    const l = m.metadata?.labels ?? {};
    if (l['cluster.x-k8s.io/control-plane-name']) return `KubeadmControlPlane ${l['cluster.x-k8s.io/control-plane-name']}`;
    if (l['cluster.x-k8s.io/deployment-name']) return `MachineDeployment ${l['cluster.x-k8s.io/deployment-name']}`;
    return `Machine`;
  }

  start(intervalMs = 100): this {
    const tick = async () => {
      try {
        const list = (await this.objects.list(MACHINE.apiVersion, MACHINE.kind)).items as any[];
        this.current = list;
        const now = new Set<string>();
        for (const m of list) {
          const key = `${m.metadata.namespace}/${m.metadata.name}`;
          now.add(key);
          if (!this.seen.has(key)) {
            const e: MachineEvent = { owner: MachineLog.ownerOf(m), machine: m.metadata.name, version: m.spec?.version ?? '', what: 'create' };
            this.seen.set(key, e);
            this.events.push(e);
          }
        }
        for (const [key, e] of [...this.seen]) {
          if (!now.has(key)) {
            this.seen.delete(key);
            this.events.push({ ...e, what: 'delete' });
          }
        }
      } catch (e: any) {
        if (this.errors.length < 10) this.errors.push(String(e?.message ?? e));
      }
    };
    const loop = () => {
      this.running = tick().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, intervalMs);
      });
    };
    this.timer = setTimeout(loop, 0);
    return this;
  }

  /** The Machines of a KubeadmControlPlane or MachineDeployment as last seen. */
  machinesOf(owner: 'KubeadmControlPlane' | 'MachineDeployment', namespace: string, name: string): { name: string; version: string }[] {
    return this.current.filter((m) => m.metadata.namespace === namespace && MachineLog.ownerOf(m) === `${owner} ${name}` && !m.metadata.deletionTimestamp).map((m) => ({ name: m.metadata.name, version: m.spec?.version ?? '' }));
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running?.catch(() => undefined);
  }
}

const MUX_PORTS = 50;

/** The kernel's ephemeral port range (outgoing connections take their local ports from it). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    /* not Linux: IANA's range */
  }
  return [49_152, 65_535];
}

/** Whether a port can be listened on at every address, as the in-memory provider does (":port"). */
function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, () => s.close(() => res(true)));
  });
}

/**
 * The simulated workload clusters' API servers get ports min, min+1, … in turn, and the in-memory
 * provider never checks that a port is free: a cluster whose port is taken never gets its API
 * server and its control plane never initializes. So the block lies below the ephemeral range
 * (a port there may be any outgoing connection's local port at any moment), at random so
 * parallel test files rarely collide, and every port of it is tried first.
 */
async function freeMuxBlock(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 20_000;
  const high = Math.min(ephemeralLow, 49_152) - MUX_PORTS;
  if (high <= low) throw new Error(`no room for ${MUX_PORTS} workload-cluster ports below the ephemeral range (starts at ${ephemeralLow})`);
  for (let i = 0; i < 20; i++) {
    const min = low + Math.floor(Math.random() * Math.floor((high - low) / MUX_PORTS)) * MUX_PORTS;
    let free = true;
    for (let p = min; p < min + MUX_PORTS && free; p++) free = await canListen(p);
    if (free) return min;
  }
  throw new Error(`no block of ${MUX_PORTS} free ports found between ${low} and ${high + MUX_PORTS}`);
}

/**
 * Start the four managers against the test kube-apiserver (started with `crds: false`), install
 * the upstream CRDs and webhook configurations, wait until every manager is ready.
 */
export async function startCapi(kube: KubeEnv, opts: { featureGates?: string; verbosity?: number } = {}): Promise<CapiEnv> {
  const capi = capiDir();
  const dir = mkdtempSync(join(tmpdir(), 'rw-capi-ctl-'));
  const procs: ChildProcess[] = [];
  const logFiles: Record<string, string> = {};
  const machines = new MachineLog(kube.kc);
  const logs = (lines = 40) =>
    Object.entries(logFiles)
      .map(([r, f]) => {
        let text = '(no log)';
        try {
          text = readFileSync(f, 'utf8').trim().split('\n').slice(-lines).join('\n');
        } catch {
          /* not started */
        }
        return `--- ${r} (${f})\n${text}`;
      })
      .join('\n');
  const keep = process.env.RUNWRIGHT_KEEP_CAPI_LOGS;
  const stop = async () => {
    await machines.stop();
    for (const p of procs) {
      if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) continue;
      const exited = new Promise((r) => p.once('exit', r));
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await Promise.race([exited, sleep(5_000)]);
    }
    if (keep) execFileSync('cp', ['-r', dir, keep]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    const { ca } = makeCerts(certDir);
    const ports = {} as Record<Role, { webhook: number; health: number }>;
    for (const r of Object.keys(BINARIES) as Role[]) ports[r] = { webhook: await freePort(), health: await freePort() };
    const url = (r: Role, path: string) => `https://127.0.0.1:${ports[r].webhook}${path}`;

    await installCrds(kube.kc, join(capi, 'crds'), url, ca);

    const muxMin = await freeMuxBlock();
    const debugPort = await freePort();
    const gates = opts.featureGates ?? '';
    const common = (r: Role) => [`--webhook-port=${ports[r].webhook}`, `--webhook-cert-dir=${certDir}`, `--health-addr=127.0.0.1:${ports[r].health}`, `--v=${opts.verbosity ?? 2}`, ...(gates ? [`--feature-gates=${gates}`] : [])];
    const args: Record<Role, string[]> = {
      core: [...common('core'), '--diagnostics-address=0', '--insecure-diagnostics', '--leader-elect=false'],
      bootstrap: [...common('bootstrap'), '--diagnostics-address=0', '--insecure-diagnostics', '--leader-elect=false'],
      controlplane: [...common('controlplane'), '--diagnostics-address=0', '--insecure-diagnostics', '--leader-elect=false'],
      infrastructure: [...common('infrastructure'), '--metrics-bind-addr=0', '--workload-cluster-host=127.0.0.1', `--workload-cluster-min-port=${muxMin}`, `--workload-cluster-max-port=${muxMin + MUX_PORTS - 1}`, `--workload-cluster-debug-port=${debugPort}`],
    };
    for (const r of Object.keys(BINARIES) as Role[]) {
      const bin = join(capi, 'bin', BINARIES[r]);
      if (!existsSync(bin)) throw new Error(`${bin} missing: run scripts/capi-binaries`);
      const log = join(dir, `${r}.log`);
      logFiles[r] = log;
      const fd = openSync(log, 'a');
      // Its own process group (detached), so stop() can kill it and anything it started.
      const p = spawn(bin, args[r], { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, KUBECONFIG: kube.kubeconfig } });
      closeSync(fd);
      procs.push(p);
    }

    const deadline = Date.now() + 120_000;
    for (const [i, r] of (Object.keys(BINARIES) as Role[]).entries()) {
      for (;;) {
        const p = procs[i];
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${BINARIES[r]} exited (${p.exitCode ?? p.signalCode}):\n${logs()}`);
        const ok = await fetch(`http://127.0.0.1:${ports[r].health}/readyz`).then(
          (res) => res.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`${BINARIES[r]} not ready after 120s:\n${logs()}`);
        await sleep(200);
      }
    }
    await installWebhooks(kube.kc, join(capi, 'webhooks'), url, ca);
    machines.start();
    return { dir, machines, logs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
