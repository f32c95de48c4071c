/**
 * `drill.guard`: may this DR drill inject its fault now? The blast-radius check a drill runbook
 * runs after its steady-state check and before anything destructive:
 *
 * - no change freeze is in force (the worker's freeze calendar, lib/freeze.ts) for a destructive
 *   (`safe: false`) drill — defense in depth behind the schedules' skip calendars, for manual
 *   runs and `runwright schedule trigger`; an unreadable calendar refuses too (fail closed);
 * - the fault kind is one of `allowedKinds` (when given);
 * - at most `maxTargets` clusters are targeted (default 1);
 * - the target is healthy (the steady state holds) and at least `minHealthyRemaining` other
 *   clusters of the Active-Active set stay healthy while it is down.
 *
 * A refusal is an answer, not a failure: `allowed: false` with human-readable `reasons`, so the
 * runbook branches with `when: "{{ steps.guard.outputs.allowed }}"`. Only inconsistent input (a
 * target or healthy cluster outside `clusters`) fails the step, non-retryably. Read-only, so
 * retries are harmless.
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';
import { activeFreeze, freezeLabel, loadFreezeCalendar, type FreezeCalendar, type FreezeWindow } from '../../lib/freeze';

const Cluster = z.string().trim().min(1);

const input = z.strictObject({
  target: z.union([Cluster, z.array(Cluster).min(1)]).describe('Cluster the fault is injected into (or a list of them).'),
  clusters: z.array(Cluster).min(1).describe('Every cluster of the Active-Active set.'),
  healthy: z.array(Cluster).describe('Clusters the steady-state check found healthy.'),
  minHealthyRemaining: z.number().int().min(0).default(1).describe('Clusters besides the target(s) that must stay healthy.'),
  faultKind: z.string().trim().min(1).describe('What the drill does, e.g. pod-kill, network-partition, ssh-service.'),
  allowedKinds: z.array(z.string().trim().min(1)).optional().describe('Fault kinds allowed; default any.'),
  safe: z.boolean().describe('The drill is non-destructive: it may run during a freeze and is auto-approved when allowed.'),
  freeze: z.boolean().default(true).describe('Check the change-freeze calendar of the worker (RUNWRIGHT_FREEZE_FILE).'),
  maxTargets: z.number().int().min(1).default(1).describe('Most clusters one drill may target.'),
});
export type DrillGuardInput = z.output<typeof input>;

export interface DrillGuardResult {
  allowed: boolean;
  /** Why not, human readable; empty when allowed. */
  reasons: string[];
  /** The change freeze in force (when checked), even when a safe drill may run in it. */
  freeze: FreezeWindow | null;
  /** Safe and allowed: the runbook may skip its approval gate. */
  autoApprove: boolean;
  checkedAt: string;
}

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');

/** The decision itself, pure: `calendar` is the freeze calendar, or the error reading it. */
export function decideDrillGuard(i: DrillGuardInput, opts: { now: Date; calendar?: FreezeCalendar | Error }): DrillGuardResult {
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
      if (freeze && !i.safe) reasons.push(`change freeze ${freezeLabel(freeze)} is active${freeze.reason ? `: ${freeze.reason}` : ''}`);
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
  return { allowed, reasons, freeze, autoApprove: allowed && i.safe, checkedAt: opts.now.toISOString() };
}

export const DRILL_GUARD = defineAction({
  name: 'drill.guard',
  description: 'Blast-radius check before a drill injects a fault: change freeze, fault kind, healthy clusters left. Answers allowed/reasons; never fails for a refusal.',
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
    return decideDrillGuard(i, { now: new Date(), calendar });
  },
  plan: (i) =>
    `check drill ${i.faultKind} on ${typeof i.target === 'string' ? i.target : i.target.join(', ')}: ` +
    `${i.minHealthyRemaining} other healthy cluster(s) of ${i.clusters.length} must remain${i.freeze ? ', no change freeze (unless safe)' : ''}`,
});

export default DRILL_GUARD;
