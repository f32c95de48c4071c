/**
 * deploy/kubernetes/runwright.yaml (issue 18, item 7): every object passes a server-side dry-run
 * apply on a real kube-apiserver (schema, field names, value types, defaulting), the worker runs
 * with the same settings as docker-compose.yml's, and what the pods mount exists in the file.
 */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { applyObject, connect, type Kube } from '../activities/capi/kube';
import { startKube, type KubeEnv } from './helpers/kube';

const ROOT = join(__dirname, '..');
const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/runwright.yaml'), 'utf8')).map((d) => d.toJS());
const byKind = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

let env: KubeEnv;
let kube: Kube;

const PLURAL: Record<string, string> = { ServiceAccount: 'serviceaccounts', ConfigMap: 'configmaps', Service: 'services', Deployment: 'deployments' };

/**
 * Server-side apply, dry run, with strict field validation (what `kubectl apply --server-side
 * --dry-run=server` does): unknown or duplicate fields are errors, not warnings.
 */
async function strictDryRunApply(obj: any): Promise<{ status: number; body: any }> {
  const group = obj.apiVersion.includes('/') ? `apis/${obj.apiVersion}` : `api/${obj.apiVersion}`;
  const url = new URL(`${env.server}/${group}/namespaces/${obj.metadata.namespace}/${PLURAL[obj.kind]}/${obj.metadata.name}`);
  url.search = new URLSearchParams({ dryRun: 'All', fieldManager: 'runwright-test', fieldValidation: 'Strict' }).toString();
  const opts: https.RequestOptions = { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' } };
  await env.kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(obj));
  });
}
beforeAll(async () => {
  env = await startKube({ crds: false });
  kube = connect({ kubeconfig: env.kubeconfig });
}, 120_000);
afterAll(async () => env?.stop());

test('every object passes a server-side dry-run apply (the namespace created first, for real)', async () => {
  const ns = docs.find((d) => d.kind === 'Namespace');
  await applyObject(kube, ns);
  const results: string[] = [];
  for (const d of docs.filter((x) => x.kind !== 'Namespace')) {
    const r = await strictDryRunApply(d);
    results.push(`${d.kind}/${d.metadata.name} ${r.status}${r.status >= 300 ? ` ${r.body.message}` : ''}`);
  }
  // 201: would be created (nothing was: a dry run).
  expect(results).toEqual([
    'ServiceAccount/runwright 201',
    'ConfigMap/runwright-freeze 201',
    'Deployment/runwright-worker 201',
    'Service/runwright-worker-metrics 201',
    'Deployment/runwright-slack-gateway 201',
    'Service/runwright-slack-gateway 201',
  ]);
  expect(await kube.objects.list('apps/v1', 'Deployment', 'runwright').then((l) => l.items.length)).toBe(0);
}, 60_000);

test('the dry run can fail: a misspelt field is refused by the server', async () => {
  const bad = JSON.parse(JSON.stringify(byKind('Deployment', 'runwright-worker')));
  bad.spec.template.spec.containers[0].envv = [];
  const r = await strictDryRunApply(bad);
  // kube-apiserver answers a field the schema does not declare in an apply patch with a 500.
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.body.message).toMatch(/envv: field not declared in schema/);
}, 60_000);

test("the worker's environment is the compose worker's (same names, same values but for paths and the server address)", () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  const composeEnv: Record<string, string> = compose.services['runwright-worker'].environment;
  const k8sEnv: Record<string, string> = Object.fromEntries(byKind('Deployment', 'runwright-worker').spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
  expect(Object.keys(k8sEnv).sort()).toEqual(Object.keys(composeEnv).sort());
  const differs = Object.keys(k8sEnv).filter((k) => String(k8sEnv[k]) !== String(composeEnv[k]));
  // Only the server's address and the freeze file's folder (a ConfigMap mount) differ.
  expect(differs.sort()).toEqual(['RUNWRIGHT_FREEZE_FILE', 'TEMPORAL_ADDRESS']);
});

test('every volume a container mounts is declared, and the grace period outlasts the worker\'s shutdown grace', () => {
  for (const name of ['runwright-worker', 'runwright-slack-gateway']) {
    const spec = byKind('Deployment', name).spec.template.spec;
    const declared = new Set(spec.volumes.map((v: any) => v.name));
    for (const c of spec.containers) for (const m of c.volumeMounts) expect({ name, mount: m.name, declared: declared.has(m.name) }).toEqual({ name, mount: m.name, declared: true });
  }
  // RUNWRIGHT_SHUTDOWN_GRACE defaults to 5m (lib/config.ts): Kubernetes must not SIGKILL before.
  expect(byKind('Deployment', 'runwright-worker').spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(300);
});
