/**
 * Who may do what: the access policy file (worker side; the CLI and the Slack gateway read the
 * same file to refuse early). Groups come from the approvers file.
 *
 * ```yaml
 * # runwright.access.yaml (RUNWRIGHT_ACCESS_POLICY; default ./runwright.access.yaml when present)
 * rules:                                  # the first rule that matches the runbook AND names the verb decides
 *   - runbooks: ["capi-cluster-*"]        # globs on metadata.name (omit: any runbook)
 *     labels: { env: prod }               # every label must match (omit: any)
 *     start: [group:sre]
 *     approve: [group:leads]              # approve and reject (on top of the gate's own approvers)
 *     setParams: [group:sre]
 *     cancel: [group:sre, group:leads]
 * default:                                # verbs no rule decided; absent verb: nobody
 *   start: ["*"]                          # "*": any verified identity
 * gateways: [slack-gateway]               # principals trusted to vouch for Slack users
 * ```
 * No policy file: every verified identity may do everything (approval gates still apply).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readYamlConfig } from '../config-file';
import { z } from 'zod';
import { expandApprovers, type ApproversConfig } from '../approvers';
import { ENV } from '../config';

export const ACCESS_POLICY_ENV = ENV.accessPolicy;
export type Verb = 'start' | 'approve' | 'setParams' | 'cancel';
export const VERBS: Verb[] = ['start', 'approve', 'setParams', 'cancel'];

const Who = z.array(z.string().min(1));
const Verbs = { start: Who.optional(), approve: Who.optional(), setParams: Who.optional(), cancel: Who.optional() };
export const AccessPolicySchema = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        runbooks: z.array(z.string().min(1)).optional(),
        labels: z.record(z.string(), z.string()).optional(),
        ...Verbs,
      }),
    )
    .optional(),
  default: z.strictObject(Verbs).optional(),
  gateways: z.array(z.string().min(1)).optional(),
});
export type AccessPolicy = z.infer<typeof AccessPolicySchema> & { file?: string };

export class AccessPolicyError extends Error {
  name = 'AccessPolicyError';
}

export function accessPolicyFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[ACCESS_POLICY_ENV]) return resolve(env[ACCESS_POLICY_ENV]!);
  const local = resolve('runwright.access.yaml');
  return existsSync(local) ? local : undefined;
}

/** The policy, or undefined when none is configured. A configured file that cannot be read is an error (never "allow all"). */
export function loadAccessPolicy(env: NodeJS.ProcessEnv = process.env): AccessPolicy | undefined {
  const file = accessPolicyFile(env);
  if (!file) return undefined;
  return { ...readYamlConfig(file, 'access policy', AccessPolicySchema, (m) => new AccessPolicyError(m)), file };
}

const glob = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name);

/** Who may do `verb` on this runbook (entries as written: users, group:NAME, "*"), and which part of the policy said so. */
export function entriesFor(policy: AccessPolicy, verb: Verb, runbook: string, labels: Record<string, string> = {}): { who: string[]; from: string } {
  for (const [i, r] of (policy.rules ?? []).entries()) {
    if (r.runbooks && !r.runbooks.some((p) => glob(p, runbook))) continue;
    if (r.labels && !Object.entries(r.labels).every(([k, v]) => labels[k] === v)) continue;
    if (r[verb]) return { who: r[verb]!, from: `rules[${i}].${verb}` };
  }
  if (policy.default?.[verb]) return { who: policy.default[verb]!, from: `default.${verb}` };
  return { who: [], from: `(no rule and no default.${verb})` };
}

/** undefined when `user` may do `verb`; else why not. No policy: allowed. */
export function policyRefusal(
  policy: AccessPolicy | undefined,
  approvers: ApproversConfig,
  verb: Verb,
  runbook: string,
  labels: Record<string, string> | undefined,
  user: string,
): string | undefined {
  if (!policy) return undefined;
  const { who, from } = entriesFor(policy, verb, runbook, labels);
  if (who.includes('*')) return undefined;
  const users = expandApprovers(who, approvers);
  if (users.includes(user)) return undefined;
  return `${user} may not ${verb === 'setParams' ? 'change params of' : verb} runbook ${runbook} (access policy ${policy.file ?? ''} ${from}: ${who.join(', ') || 'nobody'})`;
}
