/**
 * Management-cluster access for the Cluster API actions, through @kubernetes/client-node.
 * The client is ESM-only; Node ≥ 20.19 loads it with require() (TypeScript `module: node20`), so
 * this CommonJS file imports it as usual; jest transforms it (jest.config.js).
 *
 * Errors become Temporal failures with a type a runbook can match on: missing CRDs, forbidden,
 * conflicts and invalid objects are not retried; connection trouble and 5xx/429 are.
 */
import type * as K8s from '@kubernetes/client-node';

/**
 * Loaded on first use, not at import: the client is large, and the CLI and every worker import
 * all action modules (for their schemas) whether or not they talk to Kubernetes.
 */
let loaded: typeof K8s | undefined;
function k8sClient(): typeof K8s {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('@kubernetes/client-node') as typeof K8s);
}
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { DurationString, durationMs } from '../../dsl/duration';
import { cancellableSleep, type ActionContext } from '../define';
import { poll } from '../poll';
import { FIELD_MANAGER, KINDS, type KindInfo } from './api';

export type KubeObject = K8s.KubernetesObject & { spec?: any; status?: any; data?: Record<string, string>; [k: string]: any };

/** An optional input where "" (a runbook param's empty default) means "not set". */
export function blankAsUnset<T extends z.ZodTypeAny>(schema: T) {
  return z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());
}

/** Which management cluster: as kubectl, --kubeconfig, else KUBECONFIG, ~/.kube/config, in-cluster. */
export const Connection = {
  kubeconfig: blankAsUnset(z.string().min(1)).describe('Kubeconfig file of the management cluster (default: KUBECONFIG, ~/.kube/config, then in-cluster, as kubectl).'),
  context: blankAsUnset(z.string().min(1)).describe('Kubeconfig context (default: its current-context).'),
};
export const Name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a DNS-1123 label (lowercase letters, digits, -)').max(48);
export const Namespace = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a namespace name').max(63).default('default');
export const KubeVersion = z.string().regex(/^v\d+\.\d+\.\d+$/, 'expected a Kubernetes version like v1.31.4');
export const DurationText = DurationString;
export { durationMs };

export function failure(type: string, message: string, retryable = false): ApplicationFailure {
  return retryable ? ApplicationFailure.retryable(message, type) : ApplicationFailure.nonRetryable(message, type);
}

export interface Kube {
  kc: K8s.KubeConfig;
  objects: K8s.KubernetesObjectApi;
  /** "context (server)", for messages. */
  where: string;
}

export function connect(input: { kubeconfig?: string; context?: string }): Kube {
  const k8s = k8sClient();
  const kc = new k8s.KubeConfig();
  try {
    if (input.kubeconfig) kc.loadFromFile(input.kubeconfig.replace(/^file:/, ''));
    else kc.loadFromDefault();
  } catch (e: any) {
    throw failure('KubeConfigError', `cannot load kubeconfig ${input.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config'}: ${e.message}`);
  }
  if (input.context) {
    if (!kc.getContextObject(input.context)) {
      throw failure('KubeConfigError', `kubeconfig has no context "${input.context}" (contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(input.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw failure('KubeConfigError', `kubeconfig context "${kc.getCurrentContext()}" names no cluster`);
  if (!input.kubeconfig && kc.getCurrentContext() === 'loaded-context' && cluster.server === 'http://localhost:8080') {
    throw failure('KubeConfigError', 'no management cluster configured: set the kubeconfig input, KUBECONFIG, ~/.kube/config, or run in a cluster');
  }
  return { kc, objects: k8s.KubernetesObjectApi.makeApiClient(kc), where: `${kc.getCurrentContext()} (${cluster.server})` };
}

/** The Kubernetes Status message of an API error, without headers or bodies of secrets. */
function statusOf(e: any): { code?: number; reason?: string; message: string } {
  if (e && typeof e.code === 'number' && 'body' in e) {
    let body = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        /* plain text */
      }
    }
    const message = typeof body === 'object' && body?.message ? String(body.message) : typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${e.code}`;
    return { code: e.code, reason: body?.reason, message };
  }
  const cause = e?.cause?.code ?? e?.code ?? e?.errno;
  return { message: `${e?.message ?? String(e)}${cause && !String(e?.message).includes(cause) ? ` (${cause})` : ''}` };
}

export function isNotFound(e: any): boolean {
  return e?.code === 404 && 'body' in (e ?? {});
}
function isConflict(e: any): boolean {
  return e?.code === 409 && 'body' in (e ?? {});
}

/** Turn a client error into a typed Temporal failure. `what` names the operation and object. */
export function kubeFailure(e: any, what: string, kube?: Kube): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  const s = statusOf(e);
  const at = kube ? ` on ${kube.where}` : '';
  switch (s.code) {
    case 401:
      return failure('KubeUnauthorized', `${what}: unauthorized${at}: the kubeconfig's credentials were refused (${s.message})`);
    case 403:
      return failure('KubeForbidden', `${what}: forbidden${at}: ${s.message}`);
    case 404:
      return failure('KubeNotFound', `${what}: not found${at}: ${s.message}`);
    case 409:
      return failure(
        'KubeConflict',
        /Apply failed with/.test(s.message)
          ? `${what}: conflict${at}: ${s.message}. Another field manager owns these fields with other values; change the inputs to match, or set force: true to take them over`
          : `${what}: conflict${at}: ${s.message}`,
      );
    case 400:
    case 422:
      return failure('KubeInvalid', `${what}: rejected as invalid${at}: ${s.message}`);
    case undefined:
      if (/Unrecognized API version and kind|Failed to fetch resource metadata/.test(s.message)) return failure('CapiCrdMissing', `${what}: ${s.message}${at}`);
      return failure('KubeUnavailable', `${what}: cannot reach the management cluster${at}: ${s.message}`, true);
    default:
      return failure(s.code >= 500 || s.code === 429 ? 'KubeUnavailable' : 'KubeError', `${what}: HTTP ${s.code}${at}: ${s.message}`, s.code >= 500 || s.code === 429);
  }
}

const header = (k: KindInfo | { apiVersion: string; kind: string }, namespace: string | undefined, name: string) => ({
  apiVersion: k.apiVersion,
  kind: k.kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

export const SECRET = { apiVersion: 'v1', kind: 'Secret' } as const;

/** Discovery of one kind (client-node caches per client; undefined when the group has no such kind). */
function discover(kube: Kube, apiVersion: string, kind: string): Promise<K8s.V1APIResource | undefined> {
  // KubernetesObjectApi.resource() is the client's own discovery, declared protected.
  return (kube.objects as unknown as { resource(a: string, k: string): Promise<K8s.V1APIResource | undefined> }).resource(apiVersion, kind);
}

/**
 * Check that the management cluster serves every kind the action uses; one clear error listing
 * all that are missing (CRDs not installed, or an older Cluster API without v1beta2).
 */
export async function requireKinds(kube: Kube, kinds: readonly KindInfo[] = Object.values(KINDS)): Promise<void> {
  const missing: string[] = [];
  const groups = new Map<string, Set<string> | 'missing'>();
  for (const k of kinds) {
    if (!groups.has(k.apiVersion)) {
      try {
        const list = await discover(kube, k.apiVersion, k.kind);
        groups.set(k.apiVersion, list ? new Set([k.kind]) : new Set());
      } catch (e: any) {
        if (e?.code === 404) groups.set(k.apiVersion, 'missing');
        else throw kubeFailure(e, `discovering ${k.apiVersion}`, kube);
      }
    }
    const g = groups.get(k.apiVersion)!;
    if (g === 'missing') {
      missing.push(`${k.kind} (${k.apiVersion}: group/version not served; install ${k.provider})`);
      continue;
    }
    if (!g.has(k.kind)) {
      const found = await discover(kube, k.apiVersion, k.kind).catch(() => undefined);
      if (found) g.add(k.kind);
      else missing.push(`${k.kind} (${k.apiVersion}; install ${k.provider})`);
    }
  }
  if (missing.length) {
    throw failure(
      'CapiCrdMissing',
      `the management cluster ${kube.where} lacks the CRDs for: ${missing.join(', ')}. Runwright needs Cluster API with v1beta2 APIs (core, kubeadm bootstrap and control plane) and CAPO v1beta1; check the kubeconfig context or install them (clusterctl init --infrastructure openstack)`,
    );
  }
}

export async function getObject(kube: Kube, k: KindInfo | typeof SECRET, namespace: string | undefined, name: string): Promise<KubeObject | null> {
  try {
    return (await kube.objects.read(header(k, namespace, name) as any)) as KubeObject;
  } catch (e: any) {
    if (isNotFound(e)) return null;
    throw kubeFailure(e, `reading ${k.kind} ${namespace ? `${namespace}/` : ''}${name}`, kube);
  }
}

export async function listObjects(kube: Kube, k: KindInfo | typeof SECRET, namespace: string, labelSelector?: string): Promise<KubeObject[]> {
  try {
    const list = await kube.objects.list(k.apiVersion, k.kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
    return list.items as KubeObject[];
  } catch (e: any) {
    throw kubeFailure(e, `listing ${k.kind} in ${namespace}`, kube);
  }
}

/** What an apply can change: everything but the server's own bookkeeping. */
function content(o: KubeObject | undefined): string {
  if (!o) return '';
  const { metadata, status: _status, ...rest } = o as KubeObject & { status?: unknown };
  const { labels, annotations } = metadata ?? {};
  return JSON.stringify({ ...rest, metadata: { labels, annotations } });
}

/**
 * Server-side apply. Returns the object and whether anything changed (resourceVersion moved).
 * With `dryRun` the server runs the apply (admission, defaulting, conflicts) and stores nothing
 * (dryRun=All); `changed` then compares the answer with what is stored.
 */
export async function applyObject(kube: Kube, obj: KubeObject, opts: { fieldManager?: string; force?: boolean; dryRun?: boolean } = {}): Promise<{ object: KubeObject; changed: boolean; created: boolean }> {
  const what = `applying ${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
  const before = await getObject(kube, obj as any, obj.metadata?.namespace, obj.metadata!.name!);
  try {
    const object = (await kube.objects.patch(obj, undefined, opts.dryRun ? 'All' : undefined, opts.fieldManager ?? FIELD_MANAGER, opts.force ?? false, k8sClient().PatchStrategy.ServerSideApply)) as KubeObject;
    if (opts.dryRun) return { object, changed: !before || content(before) !== content(object), created: !before };
    return { object, changed: !before || before.metadata?.resourceVersion !== object.metadata?.resourceVersion, created: !before };
  } catch (e: any) {
    throw kubeFailure(e, what, kube);
  }
}

export async function deleteObject(kube: Kube, k: KindInfo | typeof SECRET, namespace: string, name: string): Promise<boolean> {
  try {
    await kube.objects.delete(header(k, namespace, name) as any, undefined, undefined, undefined, undefined, 'Background');
    return true;
  } catch (e: any) {
    if (isNotFound(e)) return false;
    throw kubeFailure(e, `deleting ${k.kind} ${namespace}/${name}`, kube);
  }
}

/** Read-modify-write with optimistic locking (retried on resourceVersion conflicts). */
export async function updateObject(kube: Kube, k: KindInfo, namespace: string, name: string, mutate: (o: KubeObject) => boolean | void): Promise<{ object: KubeObject; changed: boolean }> {
  for (let i = 0; ; i++) {
    const cur = await getObject(kube, k, namespace, name);
    if (!cur) throw failure('KubeNotFound', `${k.kind} ${namespace}/${name} not found on ${kube.where}`);
    if (mutate(cur) === false) return { object: cur, changed: false };
    try {
      return { object: (await kube.objects.replace(cur, undefined, undefined, FIELD_MANAGER)) as KubeObject, changed: true };
    } catch (e: any) {
      if (isConflict(e) && i < 5) continue;
      throw kubeFailure(e, `updating ${k.kind} ${namespace}/${name}`, kube);
    }
  }
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
}

export function condition(obj: KubeObject | null | undefined, type: string): Condition | undefined {
  return (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

export function describeCondition(c: Condition | undefined, type: string): string {
  if (!c) return `${type}: not reported yet`;
  return `${type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : c.message ? ` (${c.message})` : ''}`;
}

/**
 * Poll `check` until it returns a value, heartbeating progress; fail with `onTimeout`'s
 * message when the deadline passes. The shared helper (activities/poll.ts) counts the deadline
 * from the first attempt of the step (kept in heartbeat details under `key`), so a retry after a
 * worker crash does not restart the clock.
 */
export async function pollUntil<T>(
  ctx: ActionContext,
  opts: { timeoutMs: number; intervalMs: number; key: string },
  check: () => Promise<{ done: T } | { progress: Record<string, unknown> }>,
  onTimeout: () => Promise<ApplicationFailure>,
): Promise<T> {
  let last: Record<string, unknown> = {};
  const r = await poll(ctx, { timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs, key: opts.key, what: opts.key, details: () => last, onTimeout }, async () => {
    const x = await check();
    if ('done' in x) return { done: x.done };
    last = x.progress;
    return undefined;
  });
  return r.done;
}

/** Parse "v1.31.4". */
export function semver(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) throw failure('CapiInvalidVersion', `not a Kubernetes version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
export function compareVersions(a: string, b: string): number {
  const x = semver(a);
  const y = semver(b);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}
