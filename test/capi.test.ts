/**
 * Cluster API lifecycle runbooks on a real kube-apiserver + etcd (test/helpers/kube.ts) with the
 * real Cluster API v1.13 controllers (core, kubeadm bootstrap and control plane, the in-memory
 * infrastructure provider: test/helpers/capi-real.ts) and their upstream CRDs, and a real
 * Temporal dev server: create → ready (3 control-plane and 3 worker machines), idempotent
 * re-apply, scale, upgrade (control plane first, then workers, rollout detection), refusal of a
 * minor skip, delete, timeout with the failing condition, kubeconfig never in history, and the
 * clear errors (CRDs missing, forbidden, conflict).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import * as k8s from '@kubernetes/client-node';
import type { Worker } from '@temporalio/worker';
import { connectTestEnv, inputFor, maybeRecordHistory, runbookFrom, serverAddress, startRun, startTestWorker, uniqueQueue, type TestEnv } from './helpers/temporal';
import { startKube, type KubeEnv } from './helpers/kube';
import { startCapi, type CapiEnv } from './helpers/capi-real';
import { decideUpdate, statusQuery } from '../workflows/definitions';
import { DEV_KINDS, KINDS, kindsFor } from '../activities/capi/api';
import { applyObject, connect, getObject, listObjects, type KubeObject } from '../activities/capi/kube';
import capiApply from '../activities/capi/apply';
import capiUpgrade from '../activities/capi/upgrade';
import capiKubeconfig from '../activities/capi/kubeconfig';
import type { ActionContext } from '../activities/define';
import { waitFor as waitUntil } from './helpers/wait';

const root = resolve(__dirname, '..');
const shipped = (name: string) => runbookFrom(readFileSync(join(root, 'runbooks', `${name}.yaml`), 'utf8'));

let kube: KubeEnv;
let capi: CapiEnv;
let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let dir: string;
const queue = uniqueQueue('capi');
const CLOUDS_SECRET = 'clouds: {openstack: {auth: {application_credential_secret: s3cr3t-clouds-yaml-value}}}';

beforeAll(async () => {
  kube = await startKube({ crds: false });
  capi = await startCapi(kube);
  env = await connectTestEnv();
  worker = await startTestWorker(env, queue);
  running = worker.run();
  dir = mkdtempSync(join(tmpdir(), 'rw-capi-'));
  process.env.RW_TEST_CLOUDS_YAML = CLOUDS_SECRET;
  // clouds.yaml is a param (secret: true): only the worker's secrets policy can grant it.
  writeFileSync(join(dir, 'runwright.secrets.yaml'), 'secrets:\n  clouds:\n    ref: env:RW_TEST_CLOUDS_YAML\n    runbooks: [capi-cluster-create]\n');
  process.env.RUNWRIGHT_SECRETS_POLICY = join(dir, 'runwright.secrets.yaml');
}, 180_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await capi?.stop();
  await kube?.stop();
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const admin = () => connect({ kubeconfig: kube.kubeconfig });
const get = (k: (typeof KINDS)[keyof typeof KINDS], name: string) => getObject(admin(), k, 'default', name);

function commonParams(name: string) {
  return { name, kubeconfig: kube.kubeconfig, pollInterval: '500ms', timeout: '240s' };
}

const createParams = (name: string, extra: Record<string, unknown> = {}) => ({
  ...commonParams(name),
  kubernetesVersion: 'v1.31.4',
  image: 'ubuntu-2404-kube-v1.31.4',
  controlPlaneReplicas: 3,
  workers: [
    { name: 'md-0', replicas: 2, flavor: 'm1.medium' },
    { name: 'md-1', replicas: 1, flavor: 'm1.large' },
  ],
  infrastructure: 'inmemory',
  ...extra,
});

/** The whole cause chain of a failed run, as text. */
async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    const parts: string[] = [];
    for (let c: any = e; c; c = c.cause) parts.push(`${c.type ?? c.name}: ${c.message}`);
    return parts.join(' <- ');
  }
  throw new Error('expected the run to fail');
}

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 30_000): Promise<T> => waitUntil(fn, what, ms, { ignoreErrors: true });

/** The exported history, as `temporal workflow show --output json` gives it to anyone with access. */
function exportedHistory(workflowId: string): string {
  return String(execFileSync(process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!, ['workflow', 'show', '--address', serverAddress(), '-w', workflowId, '--output', 'json'], { maxBuffer: 64 << 20 }));
}
/** Payloads in history are base64 JSON: decode every one so a scan sees their content. */
function decodedPayloads(historyJson: string): string {
  const out: string[] = [];
  const walk = (v: any) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.data === 'string' && v.metadata) out.push(Buffer.from(v.data, 'base64').toString('utf8'));
      Object.values(v).forEach(walk);
    }
  };
  walk(JSON.parse(historyJson));
  return out.join('\n');
}

/** Activity failures in a run's history: the action, the failure type, whether retryable, the attempt. */
function activityFailures(workflowId: string): { action: string; type: string; nonRetryable: boolean; attempt: number; message: string }[] {
  const events: any[] = JSON.parse(exportedHistory(workflowId)).events;
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  return events
    .filter((e) => e.activityTaskFailedEventAttributes)
    .map((e) => {
      const a = e.activityTaskFailedEventAttributes;
      const started = byId.get(String(a.startedEventId))?.activityTaskStartedEventAttributes;
      const scheduled = byId.get(String(a.scheduledEventId))?.activityTaskScheduledEventAttributes;
      return { action: scheduled.activityType.name, type: a.failure.applicationFailureInfo?.type, nonRetryable: !!a.failure.applicationFailureInfo?.nonRetryable, attempt: started.attempt, message: a.failure.message };
    });
}

/** The private key in the kubeconfig Secret KCP made for c1 (what must never reach the history). */
const clientKey = () => readFileSync(join(dir, 'c1', 'kubeconfig'), 'utf8').match(/client-key-data: (\S+)/)![1];

let lastCreateId = '';
async function create(name: string, extra: Record<string, unknown> = {}) {
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-create'), createParams(name, extra)));
  lastCreateId = h.workflowId;
  return { h, res: await h.result() };
}

async function approve(h: WorkflowHandle, step: string) {
  await waitFor(async () => (await h.query(statusQuery)).pendingApprovals.find((p) => p.step === step), `approval ${step}`);
  await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'alice', reason: 'change approved', step }] });
}

test('create → ready: objects applied, progress heartbeated, kubeconfig stored to a file and never in history', async () => {
  const to = join(dir, 'c1', 'kubeconfig');
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-create'), createParams('c1', { kubeconfigTo: `file:${to}` })));

  // While waiting, the wait step heartbeats its progress (visible in describe / the UI).
  const progress = await waitFor(async () => {
    const d = await h.describe();
    const p = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'capi.cluster.wait');
    const data = p?.heartbeatDetails?.payloads?.[0]?.data;
    return data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
  }, 'wait heartbeat');
  expect(progress).toMatchObject({ key: 'wait:default/c1', phase: expect.any(String), conditions: [expect.stringMatching(/^Available/), expect.stringMatching(/^ControlPlaneAvailable/), expect.stringMatching(/^WorkersAvailable/)] });

  const res = await h.result();
  expect(res.outputs.apply).toMatchObject({ cluster: 'c1', changed: true, machineDeployments: ['c1-md-0', 'c1-md-1'] });
  expect((res.outputs.apply as any).objects.map((o: any) => o.kind)).toEqual([
    'DevMachineTemplate',
    'DevMachineTemplate',
    'DevMachineTemplate',
    'KubeadmConfigTemplate',
    'DevCluster',
    'KubeadmControlPlane',
    'MachineDeployment',
    'MachineDeployment',
    'Cluster',
  ]);
  expect(res.outputs.wait).toMatchObject({ phase: 'Provisioned', infrastructureProvisioned: true, controlPlaneInitialized: true, controlPlane: '3/3 available, 3 up to date', workers: '3/3 available, 3 up to date' });
  // The kubeconfig KCP generated points at the simulated workload cluster's API server.
  expect(res.outputs.kubeconfig).toEqual({ cluster: 'c1', namespace: 'default', to: `file:${to}`, server: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/), changed: true });
  // 3 control-plane and 3 worker machines, real Machine objects.
  expect(capi.machines.machinesOf('KubeadmControlPlane', 'default', 'c1-control-plane')).toHaveLength(3);
  expect(capi.machines.machinesOf('MachineDeployment', 'default', 'c1-md-0').length + capi.machines.machinesOf('MachineDeployment', 'default', 'c1-md-1').length).toBe(3);

  // The real objects, as the API server has them.
  const cluster = await get(KINDS.Cluster, 'c1');
  expect(cluster?.spec).toMatchObject({
    controlPlaneRef: { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: 'c1-control-plane' },
    infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'DevCluster', name: 'c1' },
  });
  expect(cluster?.status).toMatchObject({ phase: 'Provisioned', initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true } });
  const kcp = await get(KINDS.KubeadmControlPlane, 'c1-control-plane');
  expect(kcp?.spec).toMatchObject({ replicas: 3, version: 'v1.31.4' });
  expect(kcp?.metadata?.managedFields?.map((m: any) => `${m.manager}:${m.operation}`)).toContain('runwright:Apply');
  const md = await get(KINDS.MachineDeployment, 'c1-md-1');
  expect(md?.spec).toMatchObject({ replicas: 1, template: { spec: { version: 'v1.31.4', bootstrap: { configRef: { kind: 'KubeadmConfigTemplate', name: 'c1-worker' } } } } });
  const devCluster = await get(DEV_KINDS.DevCluster, 'c1');
  expect(devCluster?.spec?.backend).toEqual({ inMemory: {} });

  // The kubeconfig went to the file, private to the owner, and nowhere into the history.
  const token = clientKey();
  expect(token.length).toBeGreaterThan(100);
  expect(readFileSync(to, 'utf8')).toContain(token);
  expect(statSync(to).mode & 0o777).toBe(0o600);
  const history = exportedHistory(h.workflowId);
  const payloads = decodedPayloads(history);
  expect(payloads).toContain('c1-control-plane'); // the scan does see the payloads' content
  for (const text of [history, payloads]) {
    expect(text).not.toContain(token);
    expect(text).not.toContain(readFileSync(to).toString('base64'));
    expect(text).not.toContain('s3cr3t-clouds-yaml-value');
  }
  await maybeRecordHistory(env, h.workflowId, 'capi-cluster-create');
}, 400_000);

test('kubeconfig to a Secret store on the management cluster; outputs say where, not what', async () => {
  const core = kube.kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'vault' } } });
  const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;
  const input = capiKubeconfig.input.parse({ cluster: 'c1', to: 'secret:vault/c1-admin#config', kubeconfig: kube.kubeconfig });
  const out = await capiKubeconfig.run(input, ctx);
  expect(out).toEqual({ cluster: 'c1', namespace: 'default', to: 'secret:vault/c1-admin#config', server: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/), changed: true });
  const stored = await getObject(admin(), { apiVersion: 'v1', kind: 'Secret' }, 'vault', 'c1-admin');
  expect(Buffer.from(stored!.data!.config, 'base64').toString()).toContain(clientKey());
  expect(JSON.stringify(out)).not.toContain(clientKey());
  expect(await capiKubeconfig.run(input, ctx)).toMatchObject({ changed: false });
  // Not there yet: a retryable error saying why.
  await expect(capiKubeconfig.run(capiKubeconfig.input.parse({ cluster: 'nope', to: 'file:/tmp/x', kubeconfig: kube.kubeconfig }), ctx)).rejects.toMatchObject({
    type: 'CapiKubeconfigNotReady',
    nonRetryable: false,
    message: expect.stringMatching(/Secret default\/nope-kubeconfig does not exist yet/),
  });
});

test('re-applying the same cluster is idempotent: nothing changes on the server', async () => {
  const objects = async () => {
    const kube2 = admin();
    const all: KubeObject[] = [];
    for (const k of kindsFor('inmemory')) all.push(...(await listObjects(kube2, k, 'default', 'cluster.x-k8s.io/cluster-name=c1')));
    return Object.fromEntries(all.map((o) => [`${o.kind}/${o.metadata!.name}`, `${o.metadata!.generation}`]));
  };
  const before = await objects();
  const { res } = await create('c1');
  expect(res.outputs.apply).toMatchObject({ changed: false });
  expect((res.outputs.apply as any).objects.every((o: any) => !o.created && !o.changed)).toBe(true);
  expect(await objects()).toEqual(before);
}, 120_000);

test('scale a worker pool: MachineDeployment replicas and ready machines follow', async () => {
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-scale'), { ...commonParams('c1'), pool: 'md-0', replicas: 4 }));
  const res = await h.result();
  expect(res.outputs.scale).toEqual({ machineDeployment: 'c1-md-0', namespace: 'default', from: 2, to: 4, ready: 4, available: 4, changed: true });
  const md = await get(KINDS.MachineDeployment, 'c1-md-0');
  expect(md?.spec?.replicas).toBe(4);
  expect(md?.status).toMatchObject({ replicas: 4, readyReplicas: 4, availableReplicas: 4, upToDateReplicas: 4 });
  expect(capi.machines.machinesOf('MachineDeployment', 'default', 'c1-md-0')).toHaveLength(4);
  expect(md?.metadata?.managedFields?.find((m: any) => m.manager === 'runwright-scale')?.fieldsV1?.['f:spec']).toHaveProperty('f:replicas');
  await maybeRecordHistory(env, h.workflowId, 'capi-cluster-scale');

  // The create runbook with the old count now conflicts with the scale, clearly, instead of undoing it.
  const msg = await failureOf(create('c1'));
  expect(msg).toMatch(/RunbookFailed: applying MachineDeployment default\/c1-md-0: conflict .*runwright-scale.*\.spec\.replicas.*force: true/s);
  expect(activityFailures(lastCreateId).map((f) => [f.action, f.type, f.nonRetryable, f.attempt])).toEqual([['capi.cluster.apply', 'KubeConflict', true, 1]]);
}, 400_000);

test('upgrade: refused minor skip up front; after approval the control plane rolls first, then each pool in order', async () => {
  const kcpBefore = (await get(KINDS.KubeadmControlPlane, 'c1-control-plane'))!;

  // A minor skip fails at the check, before the approval gate and before anything changes.
  const skip = await startRun(env, queue, inputFor(shipped('capi-cluster-upgrade'), { ...commonParams('c1'), version: 'v1.33.0', image: 'ubuntu-2404-kube-v1.33.0' }));
  expect(await failureOf(skip.result())).toMatch(/the control plane of default\/c1 is at v1\.31\.4; v1\.33\.0 skips a minor version/);
  expect((await skip.query(statusQuery)).approvals ?? []).toEqual([]);
  expect(activityFailures(skip.workflowId).map((f) => [f.action, f.type, f.nonRetryable])).toEqual([['capi.cluster.upgrade', 'CapiInvalidVersionJump', true]]);
  const down = await startRun(env, queue, inputFor(shipped('capi-cluster-upgrade'), { ...commonParams('c1'), version: 'v1.30.9', image: 'x' }));
  expect(await failureOf(down.result())).toMatch(/the control plane of default\/c1 is at v1\.31\.4; v1\.30\.9 would be a downgrade/);
  expect((await get(KINDS.KubeadmControlPlane, 'c1-control-plane'))!.metadata!.generation).toBe(kcpBefore.metadata!.generation);

  // Workers cannot go first.
  const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;
  await expect(capiUpgrade.run(capiUpgrade.input.parse({ cluster: 'c1', version: 'v1.32.1', image: 'x', scope: 'machineDeployment', machineDeployment: 'c1-md-0', kubeconfig: kube.kubeconfig }), ctx)).rejects.toMatchObject({
    type: 'CapiUpgradeOrder',
    message: expect.stringMatching(/control plane of default\/c1 is at v1\.31\.4; upgrade it to v1\.32\.1 first/),
  });

  const eventsBefore = capi.machines.events.length;
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-upgrade'), { ...commonParams('c1'), version: 'v1.32.1', image: 'ubuntu-2404-kube-v1.32.1' }));
  const pending = await waitFor(async () => (await h.query(statusQuery)).pendingApprovals[0], 'approval');
  expect(pending.message).toBe('Upgrade default/c1 from v1.31.4 to v1.32.1: roll the control plane (c1-control-plane), then 2 worker pool(s) one at a time');
  // Nothing rolls before the approval.
  await new Promise((r) => setTimeout(r, 500));
  expect((await get(KINDS.KubeadmControlPlane, 'c1-control-plane'))!.spec!.version).toBe('v1.31.4');
  await approve(h, 'approve');
  const res = await h.result();

  const cp = (res.outputs.controlPlane as any).controlPlaneRollout;
  expect(cp).toMatchObject({ name: 'c1-control-plane', from: 'v1.31.4', to: 'v1.32.1', changed: true, rollout: { upToDate: 3, available: 3, versions: 'v1.32.1×3' } });
  // A v1beta2 MachineDeployment reports no version: its rollout is read from upToDateReplicas.
  const pools = (res.outputs.workers as any[]).map((w) => w.pool.machineDeployment);
  expect(pools.map((p: any) => [p.name, p.from, p.rollout.upToDate, p.rollout.available])).toEqual([
    ['c1-md-0', 'v1.31.4', 4, 4],
    ['c1-md-1', 'v1.31.4', 1, 1],
  ]);

  // Version and template in one update: the KCP's generation moved by exactly one. In-memory
  // machines have no image, so the template stays (the version alone rolls them).
  const kcp = (await get(KINDS.KubeadmControlPlane, 'c1-control-plane'))!;
  expect(kcp.metadata!.generation).toBe(kcpBefore.metadata!.generation! + 1);
  expect(kcp.spec.machineTemplate.spec.infrastructureRef).toEqual({ ...kcpBefore.spec.machineTemplate.spec.infrastructureRef, name: cp.template });
  expect(await get(DEV_KINDS.DevMachineTemplate, cp.template)).not.toBeNull();

  // Order of what the controllers did: every control-plane machine replaced before any worker,
  // then md-0 entirely before md-1.
  const ev = capi.machines.events.slice(eventsBefore).map((e) => `${e.owner} machine ${e.what} ${e.machine} ${e.version}`);
  const lastCp = ev.map((e) => e.startsWith('KubeadmControlPlane')).lastIndexOf(true);
  const firstMd0 = ev.findIndex((e) => e.startsWith('MachineDeployment c1-md-0'));
  const lastMd0 = ev.map((e) => e.startsWith('MachineDeployment c1-md-0')).lastIndexOf(true);
  const firstMd1 = ev.findIndex((e) => e.startsWith('MachineDeployment c1-md-1'));
  expect(ev.filter((e) => e.startsWith('KubeadmControlPlane') && e.includes(' create '))).toHaveLength(3);
  expect(ev.filter((e) => e.startsWith('KubeadmControlPlane') && e.includes(' delete '))).toHaveLength(3);
  // No worker machine created before the last control-plane change; md-0's before md-1's.
  expect(ev.slice(0, lastCp).filter((e) => e.startsWith('MachineDeployment') && e.includes(' create '))).toEqual([]);
  if (firstMd0 >= 0 && firstMd1 >= 0) expect(lastMd0).toBeLessThan(firstMd1);
  expect(capi.machines.machinesOf('KubeadmControlPlane', 'default', 'c1-control-plane').map((m) => m.version)).toEqual(['v1.32.1', 'v1.32.1', 'v1.32.1']);
  expect(res.outputs.wait).toMatchObject({ phase: 'Provisioned', controlPlane: '3/3 available, 3 up to date' });
  await maybeRecordHistory(env, h.workflowId, 'capi-cluster-upgrade');

  // Re-running the same upgrade is a no-op that just confirms the rollout.
  const again = await capiUpgrade.run(capiUpgrade.input.parse({ cluster: 'c1', version: 'v1.32.1', image: 'ubuntu-2404-kube-v1.32.1', kubeconfig: kube.kubeconfig, pollInterval: '500ms' }), ctx);
  expect(again).toMatchObject({ changed: false });
  expect((await get(KINDS.KubeadmControlPlane, 'c1-control-plane'))!.metadata!.generation).toBe(kcp.metadata!.generation);
}, 900_000);

test('wait times out with the failing conditions\' reasons and messages', async () => {
  // Machines take longer than 3s to come up: the wait ends on what the real controllers report.
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-create'), createParams('c2', { timeout: '3s' })));
  const msg = await failureOf(h.result());
  // Within 3s the controllers may not have written any status yet.
  expect(msg).toMatch(/: Cluster default\/c2 not ready after 3s \(phase (unknown|Pending|Provisioning|Provisioned)\): Available(=(False|Unknown) \(\w+|: not reported yet)/);
  expect(msg).toMatch(/ControlPlaneAvailable(=(False|Unknown) \(\w+|: not reported yet)/);
  // A timeout is final: one attempt, a non-retryable CapiWaitTimeout.
  expect(activityFailures(h.workflowId)).toEqual([{ action: 'capi.cluster.wait', type: 'CapiWaitTimeout', nonRetryable: true, attempt: 1, message: expect.stringMatching(/^Cluster default\/c2 not ready after 3s/) }]);
  // It does come up.
  await waitFor(async () => (await get(KINDS.Cluster, 'c2'))?.status?.conditions?.find((c: any) => c.type === 'Available')?.status === 'True', 'c2 available', 240_000);
}, 300_000);

test('delete: waits for approval, then deletes through the finalizers and waits until gone', async () => {
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-delete'), commonParams('c2')));
  await waitFor(async () => (await h.query(statusQuery)).pendingApprovals[0], 'approval');
  expect(await get(KINDS.Cluster, 'c2')).not.toBeNull();
  const eventsBefore = capi.machines.events.length;
  await approve(h, 'approve');
  const res = await h.result();
  expect(res.outputs.delete).toMatchObject({ cluster: 'c2', deleted: true, alreadyGone: false, changed: true });
  expect((res.outputs.delete as any).removed).toEqual(expect.arrayContaining(['KubeadmConfigTemplate/c2-worker', expect.stringMatching(/^DevMachineTemplate\/c2-control-plane-/)]));
  for (const k of kindsFor('inmemory')) expect(await listObjects(admin(), k, 'default', 'cluster.x-k8s.io/cluster-name=c2')).toEqual([]);
  expect(await listObjects(admin(), { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine', plural: 'machines', group: 'cluster.x-k8s.io', version: 'v1beta2', provider: 'Cluster API core' }, 'default', 'cluster.x-k8s.io/cluster-name=c2')).toEqual([]);
  // CAPI's order: every worker machine goes before any control-plane machine.
  const deletes = capi.machines.events.slice(eventsBefore).filter((e) => e.what === 'delete' && e.machine.startsWith('c2-'));
  expect(deletes.length).toBeGreaterThan(0);
  const kinds = deletes.map((e) => e.owner.split(' ')[0]);
  expect(kinds.slice(kinds.indexOf('KubeadmControlPlane'))).not.toContain('MachineDeployment');
  await maybeRecordHistory(env, h.workflowId, 'capi-cluster-delete');

  // Deleting what is already gone succeeds and says so.
  const again = await startRun(env, queue, inputFor(shipped('capi-cluster-delete'), commonParams('c2')));
  await approve(again, 'approve');
  expect((await again.result()).outputs.delete).toMatchObject({ deleted: false, alreadyGone: true });
}, 300_000);

test('a stuck deletion times out naming what blocks it', async () => {
  await create('c3', { workers: [], controlPlaneReplicas: 1 });
  // A finalizer nobody removes holds the infrastructure cluster, as a cloud that cannot delete would.
  await applyObject(admin(), { apiVersion: DEV_KINDS.DevCluster.apiVersion, kind: 'DevCluster', metadata: { name: 'c3', namespace: 'default', finalizers: ['runwright.dev/test-hold'] } }, { fieldManager: 'test-hold', force: true });
  const h = await startRun(env, queue, inputFor(shipped('capi-cluster-delete'), { ...commonParams('c3'), timeout: '20s' }));
  await approve(h, 'approve');
  expect(await failureOf(h.result())).toMatch(/: Cluster default\/c3 still exists after 20s \(phase Deleting, finalizers cluster\.cluster\.x-k8s\.io\): Deleting=True \(WaitingForInfrastructureDeletion/);
  await applyObject(admin(), { apiVersion: DEV_KINDS.DevCluster.apiVersion, kind: 'DevCluster', metadata: { name: 'c3', namespace: 'default', finalizers: [] } }, { fieldManager: 'test-hold', force: true });
  await waitFor(async () => (await get(KINDS.Cluster, 'c3')) === null, 'c3 gone after the hold is released', 120_000);
}, 300_000);

describe('clear errors', () => {
  const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;
  const input = (kubeconfig: string, extra: Record<string, unknown> = {}) =>
    capiApply.input.parse({ name: 'e1', kubernetesVersion: 'v1.31.4', image: 'img', controlPlane: { replicas: 1, flavor: 'f' }, identitySecret: 'existing', infrastructure: 'inmemory', kubeconfig, ...extra });

  test('forbidden: the user and the verb the API server refused', async () => {
    await expect(capiApply.run(input(kube.viewerKubeconfig), ctx)).rejects.toMatchObject({
      type: 'KubeForbidden',
      nonRetryable: true,
      message: expect.stringMatching(/^applying DevMachineTemplate default\/e1-control-plane-[0-9a-f]{8}: forbidden on viewer@test \(https:\/\/127\.0\.0\.1:\d+\): .*User "viewer" cannot patch resource "devmachinetemplates"/),
    });
  });

  test('invalid: the API server\'s validation message (an immutable template changed in place)', async () => {
    await expect(capiApply.run(input(kube.kubeconfig, { name: 'e2' }), ctx)).resolves.toMatchObject({ changed: true });
    const kube2 = admin();
    const tpl = (await listObjects(kube2, DEV_KINDS.DevMachineTemplate, 'default', 'cluster.x-k8s.io/cluster-name=e2'))[0];
    await expect(applyObject(kube2, { apiVersion: tpl.apiVersion, kind: tpl.kind, metadata: { name: tpl.metadata!.name, namespace: 'default' }, spec: { template: { spec: { backend: { inMemory: { vm: { provisioning: { startupDuration: '9s' } } } } } } } }, { force: true })).rejects.toMatchObject({
      type: 'KubeInvalid',
      message: expect.stringMatching(/DevMachineTemplate spec\.template\.spec field is immutable/),
    });
  });

  test('CRDs missing: one error naming every missing kind and what installs it', async () => {
    const bare = await startKube({ crds: false });
    try {
      await expect(capiApply.run(input(bare.kubeconfig, { infrastructure: 'openstack' }), ctx)).rejects.toMatchObject({
        type: 'CapiCrdMissing',
        nonRetryable: true,
        message: expect.stringMatching(
          /lacks the CRDs for: Cluster \(cluster\.x-k8s\.io\/v1beta2: group\/version not served; install Cluster API core\), MachineDeployment .*KubeadmConfigTemplate \(bootstrap\.cluster\.x-k8s\.io\/v1beta2.*OpenStackMachineTemplate \(infrastructure\.cluster\.x-k8s\.io\/v1beta1: group\/version not served; install Cluster API Provider OpenStack \(CAPO\)\)/,
        ),
      });
    } finally {
      await bare.stop();
    }
  }, 120_000);

  test('no such context in the kubeconfig', async () => {
    await expect(capiApply.run(input(kube.kubeconfig, { context: 'prod' }), ctx)).rejects.toMatchObject({ type: 'KubeConfigError', message: 'kubeconfig has no context "prod" (contexts: admin@test)' });
  });
});
