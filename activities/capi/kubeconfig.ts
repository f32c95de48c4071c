/**
 * Fetch a workload cluster's kubeconfig (the `<cluster>-kubeconfig` Secret, key `value`) and
 * store it where the runbook says: a file (mode 0600) or a Secret in the management cluster.
 * The kubeconfig itself never leaves the worker: outputs say where it went, not what it is.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { defineAction } from '../define';
import { CLUSTER_NAME_LABEL, kubeconfigSecretName, MANAGED_BY, MANAGED_BY_LABEL } from './api';
import { applyObject, connect, Connection, failure, getObject, Name, Namespace, SECRET } from './kube';

const Destination = z
  .string()
  .regex(/^(file:.+|secret:([a-z0-9-]+\/)?[a-z0-9.-]+(#[A-Za-z0-9._-]+)?)$/, 'expected file:/path/to/kubeconfig or secret:[namespace/]name[#key]')
  .describe('Where to write it: file:/path (mode 0600) or secret:[namespace/]name[#key] (a Secret on the management cluster, key default "value").');

export default defineAction({
  name: 'capi.kubeconfig',
  description: "Write a workload cluster's admin kubeconfig (Secret <cluster>-kubeconfig, key value) to a file or a Secret; never returned into workflow history.",
  input: z.strictObject({
    cluster: Name,
    namespace: Namespace,
    to: Destination,
    ...Connection,
  }),
  async run(input, ctx) {
    const kube = connect(input);
    const secretName = kubeconfigSecretName(input.cluster);
    const secret = await getObject(kube, SECRET, input.namespace, secretName);
    if (!secret) throw failure('CapiKubeconfigNotReady', `Secret ${input.namespace}/${secretName} does not exist yet: the control plane of ${input.cluster} is not initialized (wait with capi.cluster.wait first)`, true);
    const b64 = secret.data?.value;
    if (!b64) throw failure('CapiKubeconfigNotReady', `Secret ${input.namespace}/${secretName} has no key "value"`, true);
    const text = Buffer.from(b64, 'base64').toString('utf8');
    let server: string | undefined;
    try {
      server = (parse(text) as any)?.clusters?.[0]?.cluster?.server;
    } catch {
      throw failure('CapiKubeconfigInvalid', `Secret ${input.namespace}/${secretName} does not hold a kubeconfig (YAML does not parse)`);
    }

    let changed: boolean;
    if (input.to.startsWith('file:')) {
      const path = input.to.slice(5);
      let before: string | undefined;
      try {
        before = readFileSync(path, 'utf8');
      } catch {
        before = undefined;
      }
      changed = before !== text;
      if (changed) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        const tmp = `${path}.tmp-${process.pid}`;
        writeFileSync(tmp, text, { mode: 0o600 });
        renameSync(tmp, path);
      }
    } else {
      const m = /^secret:(?:([a-z0-9-]+)\/)?([a-z0-9.-]+)(?:#([A-Za-z0-9._-]+))?$/.exec(input.to)!;
      const [ns, name, key] = [m[1] ?? input.namespace, m[2], m[3] ?? 'value'];
      if (ns === input.namespace && name === secretName) throw failure('InvalidInput', `${input.to} is the cluster's own kubeconfig Secret`);
      const r = await applyObject(kube, {
        ...SECRET,
        metadata: { name, namespace: ns, labels: { [CLUSTER_NAME_LABEL]: input.cluster, [MANAGED_BY_LABEL]: MANAGED_BY } },
        type: 'Opaque',
        data: { [key]: b64 },
      });
      changed = r.changed;
    }
    ctx.log(`kubeconfig of ${input.namespace}/${input.cluster} ${changed ? 'written to' : 'unchanged at'} ${input.to}`);
    return { cluster: input.cluster, namespace: input.namespace, to: input.to, server: server ?? null, changed };
  },
  /** Reads nothing: the kubeconfig is a secret, and comparing it with the destination would mean reading it. */
  async dryRun(input) {
    return { changed: true, summary: `write the kubeconfig of ${input.namespace}/${input.cluster} to ${input.to} (unchanged if it is already there)`, diff: `~ ${input.to}` };
  },
  plan: (i) => `write the kubeconfig of ${i.namespace}/${i.cluster} to ${i.to}`,
});
