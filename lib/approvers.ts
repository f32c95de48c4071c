/**
 * Who may approve: the approvers file that the worker (for groups) and the Slack gateway (for
 * identities and ChatOps) read. Nothing here runs inside a workflow; the interpreter gets group
 * members through an activity, so the workflow stays deterministic and the history records
 * exactly whom a gate accepted.
 *
 * ```yaml
 * # approvers.yaml (RUNWRIGHT_APPROVERS_FILE; default ./approvers.yaml when present)
 * groups:
 *   sre: [alice, bob, carol]
 *   leads: [dave, group:sre]        # groups may include groups
 * users:                            # identity <-> Slack mapping
 *   alice: { slack: U01ALICE, email: alice@example.com }
 * chatops:                          # who may use /runwright run|status
 *   allow: [group:sre]
 * ```
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readYamlConfig } from './config-file';
import { z } from 'zod';

export const APPROVERS_FILE_ENV = 'RUNWRIGHT_APPROVERS_FILE';

const Name = z.string().min(1);
export const ApproversConfigSchema = z.strictObject({
  groups: z.record(Name, z.array(Name)).optional(),
  users: z
    .record(
      Name,
      z.strictObject({
        slack: z.string().min(1).optional().describe('Slack user id (U…)'),
        email: z.string().min(3).optional(),
      }),
    )
    .optional(),
  chatops: z.strictObject({ allow: z.array(Name).optional() }).optional(),
});
export type ApproversConfig = z.infer<typeof ApproversConfigSchema> & { file?: string };

export class ApproversConfigError extends Error {
  name = 'ApproversConfigError';
}

export function approversFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[APPROVERS_FILE_ENV]) return resolve(env[APPROVERS_FILE_ENV]!);
  const local = resolve('approvers.yaml');
  return existsSync(local) ? local : undefined;
}

/** Read and check the approvers file; no file means no groups and no mappings. */
export function loadApprovers(env: NodeJS.ProcessEnv = process.env): ApproversConfig {
  const file = approversFile(env);
  if (!file) return {};
  return { ...readYamlConfig(file, 'approvers file', ApproversConfigSchema, (m) => new ApproversConfigError(m)), file };
}

/**
 * Expand users and `group:NAME` entries into the sorted set of user identities.
 * Unknown groups are an error: a gate must never silently become impossible (or open).
 */
export function expandApprovers(entries: readonly string[], cfg: ApproversConfig): string[] {
  const out = new Set<string>();
  const visit = (entry: string, trail: string[]) => {
    if (!entry.startsWith('group:')) {
      out.add(entry);
      return;
    }
    const g = entry.slice('group:'.length);
    if (trail.includes(g)) throw new ApproversConfigError(`group "${g}" includes itself (${[...trail, g].join(' -> ')})`);
    const members = cfg.groups?.[g];
    if (!members)
      throw new ApproversConfigError(
        `group "${g}" is not defined in ${cfg.file ? `the approvers file ${cfg.file}` : `any approvers file (set ${APPROVERS_FILE_ENV} on the worker)`}`,
      );
    for (const m of members) visit(m, [...trail, g]);
  };
  for (const e of entries) visit(e, []);
  return [...out].sort();
}

/** The identity a Slack user acts as: the configured mapping by Slack id, else by e-mail. */
export function identityForSlackUser(cfg: ApproversConfig, slackId: string, email?: string): string | undefined {
  for (const [name, u] of Object.entries(cfg.users ?? {})) if (u.slack === slackId) return name;
  if (email) for (const [name, u] of Object.entries(cfg.users ?? {})) if (u.email && u.email.toLowerCase() === email.toLowerCase()) return name;
  return undefined;
}

/** Slack user id of an identity (for mentions), if mapped. */
export function slackIdFor(cfg: ApproversConfig, identity: string): string | undefined {
  return cfg.users?.[identity]?.slack;
}

/** ChatOps (`/runwright run|status`) is allowed only to identities listed under chatops.allow. */
export function chatopsAllowed(cfg: ApproversConfig, identity: string): boolean {
  const allow = cfg.chatops?.allow;
  if (!allow?.length) return false;
  return expandApprovers(allow, cfg).includes(identity);
}
