/**
 * capi.cluster.apply's dry run against a real kube-apiserver (test/helpers/kube.ts): a
 * server-side dry-run apply (dryRun=All) that reports what would change and stores nothing. Last,
 * the live plan of the shipped capi-cluster-create runbook through Temporal (`runwright plan`'s
 * workflow) on the same kube-apiserver.
 */
import { startKube, type KubeEnv } from './helpers/kube';
import capiApply from '../activities/capi/apply';
import scale from '../activities/capi/scale';
import del from '../activities/capi/delete';
import upgrade from '../activities/capi/upgrade';
import { KINDS } from '../activities/capi/api';
import { connect, getObject } from '../activities/capi/kube';
import type { ActionContext } from '../activities/define';
import { countChanges, type StepPrediction } from '../dsl/live-plan';
import { PLAN_WORKFLOW, type PlanRunInput } from '../workflows/definitions';
import { shippedInput, startSuiteWorker } from './helpers/temporal';

let kube: KubeEnv;
beforeAll(async () => {
  kube = await startKube();
}, 180_000);
afterAll(async () => {
  await kube?.stop();
}, 60_000);

const ctx = { idempotencyKey: 'k', executionKey: 'k', attempt: 1, signal: new AbortController().signal, heartbeat() {}, heartbeatDetails: () => undefined, log() {} } as ActionContext;
const inputFor = (replicas: number) =>
  capiApply.input.parse({
    name: 'dry1',
    kubeconfig: kube.kubeconfig,
    kubernetesVersion: 'v1.31.4',
    image: 'ubuntu-2404-kube-v1.31.4',
    controlPlane: { replicas: 3, flavor: 'm1.large' },
    workers: [{ name: 'md-0', replicas, flavor: 'm1.medium' }],
    identitySecret: 'existing-clouds',
  });

test('new cluster: every object would be created, and nothing is stored', async () => {
  const r = await capiApply.dryRun!(inputFor(2), ctx);
  expect(r.changed).toBe(true);
  expect(r.diff).toMatch(/^\+ Cluster\/dry1$/m);
  expect(r.diff).toMatch(/^\+ MachineDeployment\/dry1-md-0$/m);
  expect(r.diff!.split('\n').every((l) => l.startsWith('+ '))).toBe(true);
  expect(await getObject(connect({ kubeconfig: kube.kubeconfig }), KINDS.Cluster, 'default', 'dry1')).toBeFalsy();
}, 60_000);

test('after the apply: no change; a different replica count changes only its MachineDeployment', async () => {
  await capiApply.run(inputFor(2), ctx);
  const same = await capiApply.dryRun!(inputFor(2), ctx);
  expect(same).toMatchObject({ changed: false });
  const more = await capiApply.dryRun!(inputFor(4), ctx);
  expect(more).toMatchObject({ changed: true, diff: '~ MachineDeployment/dry1-md-0' });
  const md = await getObject(connect({ kubeconfig: kube.kubeconfig }), KINDS.MachineDeployment, 'default', 'dry1-md-0');
  expect((md as any).spec.replicas).toBe(2);
}, 60_000);

test('scale and delete dry runs read the stored objects and change nothing', async () => {
  const s = (replicas: number) => scale.input.parse({ cluster: 'dry1', machineDeployment: 'md-0', replicas, kubeconfig: kube.kubeconfig });
  expect(await scale.dryRun!(s(2), ctx)).toEqual({ changed: false, summary: 'MachineDeployment default/dry1-md-0 has 2 replicas' });
  expect(await scale.dryRun!(s(5), ctx)).toEqual({ changed: true, summary: 'scale MachineDeployment default/dry1-md-0 from 2 to 5 replicas', diff: 'replicas: 2 -> 5' });
  await expect(scale.dryRun!(scale.input.parse({ cluster: 'dry1', machineDeployment: 'nope', replicas: 1, kubeconfig: kube.kubeconfig }), ctx)).rejects.toMatchObject({ type: 'KubeNotFound' });
  expect(await del.dryRun!(del.input.parse({ name: 'dry1', kubeconfig: kube.kubeconfig }), ctx)).toMatchObject({ changed: true, diff: '- Cluster default/dry1' });
  expect(await del.dryRun!(del.input.parse({ name: 'gone', kubeconfig: kube.kubeconfig }), ctx)).toEqual({ changed: false, summary: 'Cluster default/gone: already gone' });
  expect(await getObject(connect({ kubeconfig: kube.kubeconfig }), KINDS.Cluster, 'default', 'dry1')).toBeTruthy();
}, 60_000);

test('upgrade: the version change as a diff, nothing stored; no change at the current version; a minor skip is refused', async () => {
  const u = (version: string, image: string, scope = 'all') => upgrade.input.parse({ cluster: 'dry1', version, image, scope, kubeconfig: kube.kubeconfig });
  const r = await upgrade.dryRun!(u('v1.32.0', 'ubuntu-2404-kube-v1.32.0'), ctx);
  expect(r).toMatchObject({ changed: true, summary: 'upgrade default/dry1 (all) from v1.31.4 to v1.32.0: 2 rollout(s)' });
  expect(r.diff).toMatch(/^KubeadmControlPlane default\/dry1-control-plane: version v1\.31\.4 -> v1\.32\.0, template \S+ -> \S+$/m);
  expect(r.diff).toMatch(/^MachineDeployment default\/dry1-md-0: version v1\.31\.4 -> v1\.32\.0/m);
  expect(await upgrade.dryRun!(u('v1.32.0', 'ubuntu-2404-kube-v1.32.0', 'controlPlane'), ctx)).toMatchObject({ changed: true, diff: expect.not.stringMatching(/MachineDeployment/) });
  expect(await upgrade.dryRun!(u('v1.32.0', 'ubuntu-2404-kube-v1.32.0', 'check'), ctx)).toMatchObject({ changed: false });
  expect(await upgrade.dryRun!(u('v1.31.4', 'ubuntu-2404-kube-v1.31.4'), ctx)).toEqual({ changed: false, summary: 'default/dry1 (all) is at v1.31.4' });
  await expect(upgrade.dryRun!(u('v1.33.0', 'x'), ctx)).rejects.toMatchObject({ type: 'CapiInvalidVersionJump' });
  const kcp = await getObject(connect({ kubeconfig: kube.kubeconfig }), KINDS.KubeadmControlPlane, 'default', 'dry1-control-plane');
  expect((kcp as any).spec.version).toBe('v1.31.4');
}, 60_000);

test('live plan of capi-cluster-create: the apply step lists every object it would create (server-side dry run); nothing is stored', async () => {
  const suite = await startSuiteWorker('capi-plan');
  try {
    const input = shippedInput('capi-cluster-create', { name: 'plan1', kubernetesVersion: 'v1.31.4', image: 'ubuntu-2404-kube-v1.31.4', identitySecret: 'existing-clouds', kubeconfig: kube.kubeconfig, workers: [{ name: 'md-0', replicas: 2, flavor: 'm1.medium' }] });
    const arg: PlanRunInput = { runbook: input.runbook, params: input.params, startedBy: 'planner' };
    const h = await suite.env.client.workflow.start(PLAN_WORKFLOW, { taskQueue: suite.queue, workflowId: `plan-capi-${Date.now().toString(36)}`, args: [arg] });
    const { steps } = (await h.result()) as { steps: StepPrediction[] };
    const apply = steps.find((x) => x.path === 'apply')!;
    expect(apply).toMatchObject({ status: 'planned', changed: true, effect: 'create' });
    expect(apply.diff).toMatch(/^\+ Cluster\/plan1$/m);
    expect(apply.diff).toMatch(/^\+ KubeadmControlPlane\/plan1-control-plane$/m);
    expect(apply.diff).toMatch(/^\+ MachineDeployment\/plan1-md-0$/m);
    expect(countChanges(steps).create).toBeGreaterThanOrEqual(1);
    expect(await getObject(connect({ kubeconfig: kube.kubeconfig }), KINDS.Cluster, 'default', 'plan1')).toBeFalsy();
  } finally {
    await suite.stop();
  }
}, 120_000);
