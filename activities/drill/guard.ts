/**
 * `drill.guard`: may this DR drill inject its fault now? The blast-radius check a drill runbook
 * runs after its steady-state check and before anything destructive:
 *
 * - no change freeze is in force (the worker's freeze calendar, lib/freeze.ts): a freeze pauses
 *   every drill, safe or not — defense in depth behind the schedules' skip calendars, for manual
 *   runs and `runwright schedule trigger`; an unreadable calendar refuses too (fail closed).
 *   `freeze: false` skips the check: for tests and emergencies only;
 * - the fault kind is one of `allowedKinds` (when given);
 * - at most `maxTargets` clusters are targeted (default 1);
 * - the target is healthy (the steady state holds) and at least `minHealthyRemaining` other
 *   clusters of the Active-Active set stay healthy while it is down.
 *
 * `safe` comes from whoever starts the drill, so it skips the approval gate (`autoApprove`) only
 * for fault kinds the worker lists as safe: RUNWRIGHT_DRILL_SAFE_KINDS (comma-separated; unset or
 * empty: openstack-sim). For any other kind the drill still runs if allowed, with autoApprove
 * false and a note saying why, so a human approves it.
 *
 * A refusal is an answer, not a failure: `allowed: false` with human-readable `reasons`, so the
 * runbook branches with `when: "{{ steps.guard.outputs.allowed }}"`. Only inconsistent input (a
 * target or healthy cluster outside `clusters`) fails the step, non-retryably. Read-only, so
 * retries are harmless.
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';
import { ENV } from '../../lib/config';
import { activeFreeze, freezeLabel, loadFreezeCalendar, type FreezeCalendar, type FreezeWindow } from '../../lib/freeze';

/** Fault kinds a worker auto-approves when the drill is marked safe, unless RUNWRIGHT_DRILL_SAFE_KINDS says otherwise. */
export const DEFAULT_SAFE_KINDS: readonly string[] = ['openstack-sim'];

/** The worker's safe fault kinds: RUNWRIGHT_DRILL_SAFE_KINDS (comma-separated), else DEFAULT_SAFE_KINDS. */
export function safeKinds(env: NodeJS.ProcessEnv = process.env): string[] {
  const kinds = (env[ENV.drillSafeKinds] ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return kinds.length ? kinds : [...DEFAULT_SAFE_KINDS];
}

const Cluster = z.string().trim().min(1);

const input = z.strictObject({
  target: z.union([Cluster, z.array(Cluster).min(1)]).describe('Cluster the fault is injected into (or a list of them).'),
  clusters: z.array(Cluster).min(1).describe('Every cluster of the Active-Active set.'),
  healthy: z.array(Cluster).describe('Clusters the steady-state check found healthy.'),
  minHealthyRemaining: z.number().int().min(0).default(1).describe('Clusters besides the target(s) that must stay healthy.'),
  faultKind: z.string().trim().min(1).describe('What the drill does, e.g. pod-kill, network-partition, ssh-service.'),
  allowedKinds: z.array(z.string().trim().min(1)).optional().describe('Fault kinds allowed; default any.'),
  safe: z.boolean().describe("The drill is non-destructive: auto-approved when allowed, if its fault kind is one of the worker's safe kinds (RUNWRIGHT_DRILL_SAFE_KINDS)."),
  freeze: z
    .boolean()
    .default(true)
    .describe('Check the change-freeze calendar of the worker (RUNWRIGHT_FREEZE_FILE); false is for tests and emergencies only: it lets a drill run during a freeze.'),
  maxTargets: z.number().int().min(1).default(1).describe('Most clusters one drill may target.'),
});
export type DrillGuardInput = z.output<typeof input>;

export interface DrillGuardResult {
  allowed: boolean;
  /** Why not, human readable; empty when allowed. */
  reasons: string[];
  /** The change freeze in force (when checked). */
  freeze: FreezeWindow | null;
  /** Allowed, marked safe and of a safe fault kind: the runbook may skip its approval gate. */
  autoApprove: boolean;
  /** Remarks that are not refusals, e.g. why a drill marked safe still needs an approval. */
  notes: string[];
  checkedAt: string;
}

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');

/** The decision itself, pure: `calendar` is the freeze calendar, or the error reading it. */
export function decideDrillGuard(i: DrillGuardInput, opts: { now: Date; calendar?: FreezeCalendar | Error; safeKinds?: readonly string[] }): DrillGuardResult {
  const targets = [...new Set(typeof i.target === 'string' ? [i.target] : i.target)];
  const problems: string[] = [];
  if (new Set(i.clusters).size !== i.clusters.length) problems.push(`clusters lists a cluster twice (${i.clusters.join(', ')})`);
  for (const t of targets) if (!i.clusters.includes(t)) problems.push(`target ${t} is not one of clusters (${i.clusters.join(', ')})`);
  for (const h of i.healthy) if (!i.clusters.includes(h)) problems.push(`healthy cluster ${h} is not one of clusters (${i.clusters.join(', ')})`);
  if (problems.length) throw ApplicationFailure.nonRetryable(`drill.guard: invalid input: ${problems.join('; ')}`, 'InvalidInput');

  const reasons: string[] = [];
  let freeze: FreezeWindow | null = null;
  if (i.freeze) {
    if (opts.calendar instanceof Error) reasons.push(`cannot check the change freeze calendar: ${opts.calendar.message.split('\n')[0]}`);
    else if (opts.calendar) {
      freeze = activeFreeze(opts.calendar, opts.now);
      if (freeze) reasons.push(`change freeze ${freezeLabel(freeze)} is active${freeze.reason ? `: ${freeze.reason}` : ''}`);
    }
  }
  if (i.allowedKinds && !i.allowedKinds.includes(i.faultKind)) reasons.push(`fault kind ${i.faultKind} not allowed (allowed: ${list(i.allowedKinds)})`);
  if (targets.length > i.maxTargets) reasons.push(`${targets.length} target clusters (${targets.join(', ')}); at most ${i.maxTargets} allowed`);

  const healthy = new Set(i.healthy);
  const unhealthyTargets = targets.filter((t) => !healthy.has(t));
  const remaining = i.clusters.filter((c) => healthy.has(c) && !targets.includes(c));
  if (unhealthyTargets.length)
    reasons.push(`target ${unhealthyTargets.join(', ')} ${unhealthyTargets.length === 1 ? 'is' : 'are'} not healthy: the steady state does not hold before the fault`);
  if (remaining.length < i.minHealthyRemaining) {
    if (targets.length === 1 && !unhealthyTargets.length && healthy.size === 1) reasons.push(`target ${targets[0]} is the only healthy cluster`);
    else
      reasons.push(
        `${remaining.length} healthy cluster${remaining.length === 1 ? '' : 's'} would remain besides ${targets.join(', ')} (${list(remaining)}); at least ${i.minHealthyRemaining} required`,
      );
  }

  const allowed = reasons.length === 0;
  const kinds = opts.safeKinds ?? DEFAULT_SAFE_KINDS;
  const safeKind = kinds.includes(i.faultKind);
  const notes: string[] = [];
  if (allowed && i.safe && !safeKind)
    notes.push(`marked safe, but fault kind ${i.faultKind} is not one of the worker's safe kinds (${ENV.drillSafeKinds}: ${list(kinds)}): approval required`);
  return { allowed, reasons, freeze, autoApprove: allowed && i.safe && safeKind, notes, checkedAt: opts.now.toISOString() };
}

export const DRILL_GUARD = defineAction({
  name: 'drill.guard',
  readOnly: true,
  description:
    'Blast-radius check before a drill injects a fault: change freeze (refuses every drill), fault kind, healthy clusters left; auto-approves safe drills of the worker\'s safe fault kinds. Answers allowed/reasons/notes; never fails for a refusal.',
  input,
  async run(i) {
    let calendar: FreezeCalendar | Error | undefined;
    if (i.freeze) {
      try {
        calendar = loadFreezeCalendar();
      } catch (e) {
        calendar = e as Error;
      }
    }
    return decideDrillGuard(i, { now: new Date(), calendar, safeKinds: safeKinds() });
  },
  plan: (i) =>
    `check drill ${i.faultKind} on ${typeof i.target === 'string' ? i.target : i.target.join(', ')}: ` +
    `${i.minHealthyRemaining} other healthy cluster(s) of ${i.clusters.length} must remain${i.freeze ? ', no change freeze' : ' (change freeze NOT checked)'}`,
});

export default DRILL_GUARD;
