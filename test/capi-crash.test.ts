/**
 * Durability of a Cluster API upgrade: the worker process is SIGKILLed while the control plane
 * is rolling; a new worker picks the step up (after its heartbeat timeout), finds the update
 * already made, waits for the same rollout, and the run finishes with the workers upgraded:
 * one KubeadmControlPlane update, no second rollout. On the real Cluster API controllers
 * (test/helpers/capi-real.ts) with in-memory machines.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, singleUserWorkerEnv, startRun, uniqueQueue, type TestEnv } from './helpers/temporal';
import { startKube, type KubeEnv } from './helpers/kube';
import { startCapi, type CapiEnv } from './helpers/capi-real';
import { decideUpdate, statusQuery } from '../workflows/definitions';
import { DEV_KINDS, KINDS } from '../activities/capi/api';
import { connect, getObject, listObjects } from '../activities/capi/kube';
import capiApply from '../activities/capi/apply';
import capiWait from '../activities/capi/wait';
import type { ActionContext } from '../activities/define';

const root = resolve(__dirname, '..');
let kube: KubeEnv;
let capi: CapiEnv;
let env: TestEnv;
const procs: ChildProcess[] = [];

function startWorkerProcess(queue: string): ChildProcess {
  // node itself (not the tsx launcher, which forks a child) so SIGKILL hits the worker.
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'workers/main.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_ACTIONS: '', ...singleUserWorkerEnv() },
    stdio: 'ignore',
  });
  procs.push(p);
  return p;
}

beforeAll(async () => {
  kube = await startKube({ crds: false });
  // In-memory machines take a few seconds each, so the kill lands mid-rollout.
  capi = await startCapi(kube);
  env = await connectTestEnv();
}, 180_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))) : undefined)));
  await capi?.stop();
  await kube?.stop();
  await env?.close();
}, 60_000);

const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;

// On the real controllers the MachineDeployment's counts were seen full while its machines still
// ran the old version; the rollout wait now also reads the Machines (activities/capi/rollout.ts),
// and the assertion on the workers' machine versions below holds it to that.
test('worker SIGKILLed while the control plane rolls: a new worker finishes the upgrade, each change made once', async () => {
  const kubeconfig = kube.kubeconfig;
  await capiApply.run(
    capiApply.input.parse({ name: 'k1', kubernetesVersion: 'v1.31.4', image: 'img-1.31', controlPlane: { replicas: 3, flavor: 'm1.large' }, workers: [{ name: 'md-0', replicas: 2, flavor: 'm1.medium' }], infrastructure: 'inmemory', kubeconfig }),
    ctx,
  );
  await capiWait.run(capiWait.input.parse({ name: 'k1', kubeconfig, pollInterval: '500ms', timeout: '240s' }), ctx).catch((e) => {
    throw new Error(`${e.message}\n--- the controllers' last log lines:\n${capi.logs(15)}`);
  });
  const admin = connect({ kubeconfig });
  const kcpBefore = (await getObject(admin, KINDS.KubeadmControlPlane, 'default', 'k1-control-plane'))!;
  const mdBefore = (await getObject(admin, KINDS.MachineDeployment, 'default', 'k1-md-0'))!;
  const eventsBefore = capi.machines.events.length;

  // The shipped runbook, with a short heartbeat timeout so the lost attempt is noticed quickly.
  const text = readFileSync(join(root, 'runbooks/capi-cluster-upgrade.yaml'), 'utf8');
  expect(text).toContain('heartbeatTimeout: 30s');
  const rb = runbookFrom(text.replaceAll('heartbeatTimeout: 30s', 'heartbeatTimeout: 3s'));
  const queue = uniqueQueue('capi-crash');
  const first = startWorkerProcess(queue);
  const h = await startRun(env, queue, inputFor(rb, { name: 'k1', version: 'v1.32.1', image: 'img-1.32', kubeconfig, pollInterval: '500ms', timeout: '300s' }));

  const until = async (what: string, fn: () => Promise<boolean> | boolean, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until('approval', async () => ((await h.query(statusQuery).catch(() => undefined))?.pendingApprovals.length ?? 0) > 0);
  await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'alice', reason: 'go' }] });

  // Kill the worker once the control plane has new and old machines at once.
  await until('control plane mid-rollout', () => {
    const vs = capi.machines.machinesOf('KubeadmControlPlane', 'default', 'k1-control-plane').map((m) => m.version);
    return vs.includes('v1.32.1') && vs.includes('v1.31.4');
  }, 120_000);
  expect((await h.query(statusQuery)).steps.find((s) => s.id === 'controlPlane')?.state).toBe('running');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  expect(first.signalCode).toBe('SIGKILL');

  const second = startWorkerProcess(queue);
  const res = await h.result();
  const cp = (res.outputs.controlPlane as any).controlPlaneRollout;
  expect(cp).toMatchObject({ name: 'k1-control-plane', to: 'v1.32.1', rollout: { upToDate: 3, available: 3, versions: 'v1.32.1×3' } });
  // The retry found the update made (from is already the target) and only waited.
  expect(cp).toMatchObject({ from: 'v1.32.1', changed: false });
  expect((res.outputs.workers as any[])[0].pool.machineDeployment).toMatchObject({ name: 'k1-md-0', from: 'v1.31.4', changed: true, rollout: { upToDate: 2, available: 2 } });

  // The step really ran twice: the second attempt is the one that completed.
  const events: any[] = JSON.parse(
    String(execFileSync(process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!, ['workflow', 'show', '--address', serverAddress(), '-w', h.workflowId, '--output', 'json'], { maxBuffer: 64 << 20 })),
  ).events;
  const cpScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId?.endsWith('controlPlane'));
  const cpStarted = events.find((e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(cpScheduled.eventId));
  expect(cpStarted.activityTaskStartedEventAttributes.attempt).toBeGreaterThanOrEqual(2);

  // Each change once: one KCP update (generation +1), one MD update, the templates unchanged
  // (in-memory machines have no image), three new control-plane machines (no second rollout),
  // control plane before workers.
  expect((await getObject(admin, KINDS.KubeadmControlPlane, 'default', 'k1-control-plane'))!.metadata!.generation).toBe(kcpBefore.metadata!.generation! + 1);
  expect((await getObject(admin, KINDS.MachineDeployment, 'default', 'k1-md-0'))!.metadata!.generation).toBe(mdBefore.metadata!.generation! + 1);
  expect((await getObject(admin, KINDS.KubeadmControlPlane, 'default', 'k1-control-plane'))!.spec.machineTemplate.spec.infrastructureRef.kind).toBe(DEV_KINDS.DevMachineTemplate.kind);
  const ev = capi.machines.events.slice(eventsBefore).map((e) => `${e.owner} machine ${e.what} ${e.machine} ${e.version}`);
  expect(ev.filter((e) => e.startsWith('KubeadmControlPlane') && e.includes(' create ') && e.endsWith('v1.32.1'))).toHaveLength(3);
  // The workers' machines end on the new version, none created before the control plane's last change.
  expect(capi.machines.machinesOf('MachineDeployment', 'default', 'k1-md-0').map((m) => m.version)).toEqual(['v1.32.1', 'v1.32.1']);
  expect(ev.slice(0, ev.map((e) => e.startsWith('KubeadmControlPlane')).lastIndexOf(true)).filter((e) => e.startsWith('MachineDeployment') && e.includes(' create '))).toEqual([]);

  // SIGTERM is a graceful shutdown.
  const exited = new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
  second.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 900_000);
