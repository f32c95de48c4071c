/**
 * `host.play`: run a play (tasks, handlers) on one batch of hosts, Ansible style. One activity
 * per batch: a crash mid-batch retries the batch, hosts that finished are skipped (heartbeat
 * details), the rest re-run their idempotent tasks, and handlers notified before the crash
 * still run. Cancelling the run kills the remote commands.
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction, type ActionContext } from '../define';
import { loadInventory, InventoryError } from './inventory-files';
import { redact, resolveSecret, SecretRef } from '../../lib/secrets';
import { inlinePlayProblems, PlaySchema, Tags } from './play-schema';
import { ENV } from '../../lib/config';
import { runPlay, type HostCounts, type HostResult, type PlayProgress } from './runner';

export const PlayInput = z.strictObject({
  inventory: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  hosts: z.array(z.string().min(1)).describe('Inventory host names of this batch (from host.inventory)'),
  play: PlaySchema.describe('tasks, handlers, vars, become, gather_facts, forks, max_fail_percentage'),
  check: z.boolean().default(false).describe('Report what would change, change nothing'),
  diff: z.boolean().default(false).describe('Return diffs of what changed (or would change)'),
  forks: z.number().int().min(1).max(1000).optional().describe('Hosts at once (default: play forks, else 50)'),
  maxFailPercentage: z.number().min(0).max(100).optional().describe('Fail the batch when more hosts than this fail (default: play max_fail_percentage, else 0)'),
  vars: z.record(z.string(), z.unknown()).default({}).describe('Extra vars (like -e), highest precedence'),
  tags: Tags.default([]).describe('Run only tasks with these tags (like --tags); `always` tasks run too, `never` tasks only by name'),
  skipTags: Tags.default([]).describe('Skip tasks with these tags (like --skip-tags)'),
  vaultPassword: z
    .union([SecretRef, z.literal('')])
    .optional()
    .describe("Opens the play's ansible-vault encrypted vars: a secret reference (secret:NAME) the worker's secrets policy grants this runbook; '' for none"),
  ssh: z
    .strictObject({
      knownHostsFile: z.string().optional().describe('Default ~/.ssh/known_hosts (or RUNWRIGHT_KNOWN_HOSTS)'),
      hostKeyChecking: z.enum(['strict', 'accept-new', 'off']).default('strict').describe('Unknown keys are refused unless accept-new/off'),
      connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    })
    .default({ hostKeyChecking: 'strict', connectTimeoutMs: 10_000 }),
});

export type Recap = Record<string, HostCounts & { status: HostResult['status'] }>;

export interface PlayOutputs {
  changed: boolean;
  check: boolean;
  recap: Recap;
  hosts: Record<string, HostResult>;
  failed: string[];
  unreachable: string[];
  /** A few lines per host (status, first lines of diffs), for approval messages. */
  summary: string;
  truncated?: boolean;
}

const SUMMARY_BUDGET = 6000;

/** Short text for humans: one line per host, then the first diff lines, within a budget. */
export function summarize(results: Record<string, HostResult>, check: boolean): string {
  const lines: string[] = [];
  const diffs: string[] = [];
  for (const [h, r] of Object.entries(results)) {
    const changedTasks = r.tasks.filter((t) => t.status === 'changed').map((t) => t.task);
    lines.push(`${h}: ${r.status}${r.msg ? ` (${r.msg})` : ''}${changedTasks.length ? ` — ${check ? 'would change' : 'changed'}: ${changedTasks.join(', ')}` : ''}`);
    for (const t of r.tasks) if (t.diff) diffs.push(`[${h}] ${t.task}:`, ...t.diff.split('\n').slice(0, 20), ...(t.diff.split('\n').length > 20 ? [`  … ${t.diff.split('\n').length - 20} more line(s)`] : []));
  }
  let text = lines.join('\n');
  if (diffs.length) text += `\n${diffs.join('\n')}`;
  return text.length > SUMMARY_BUDGET ? `${text.slice(0, SUMMARY_BUDGET)}\n… (see the run's outputs for everything)` : text;
}

/** Keep outputs well under Temporal's 2 MB payload limit: drop details of the quietest hosts first. */
function fitOutputs(out: PlayOutputs, budget = 1_500_000): PlayOutputs {
  if (JSON.stringify(out).length <= budget) return out;
  out.truncated = true;
  const order = Object.keys(out.hosts).sort((a, b) => rank(out.hosts[a]) - rank(out.hosts[b]));
  for (const pass of [1, 2, 3]) {
    for (const h of order) {
      const r = out.hosts[h];
      if (pass === 1) for (const t of [...r.tasks, ...r.handlers]) delete t.stdout, delete t.stderr;
      if (pass === 2) for (const t of [...r.tasks, ...r.handlers]) if (t.diff && t.diff.length > 2000) t.diff = `${t.diff.slice(0, 2000)}\n… (diff truncated)`;
      if (pass === 3 && r.status !== 'failed' && r.status !== 'unreachable') r.tasks = r.tasks.filter((t) => t.status === 'changed').map((t) => ({ ...t, diff: undefined }));
      if (JSON.stringify(out).length <= budget) return out;
    }
  }
  for (const h of order) out.hosts[h] = { ...out.hosts[h], tasks: [], handlers: [] };
  return out;
}
const rank = (r: HostResult): number => (r.status === 'ok' ? 0 : r.status === 'changed' ? 1 : 2);

/** Run the play on the batch (the action's `run`; its dry run runs it in check mode with diff). */
async function runPlayAction(input: z.output<typeof PlayInput>, ctx: ActionContext): Promise<PlayOutputs> {
  let inventory;
  try {
    inventory = loadInventory(input.inventory);
  } catch (e: any) {
    if (e instanceof InventoryError) throw ApplicationFailure.nonRetryable(e.message, 'InventoryError');
    throw e;
  }
  const unknown = input.hosts.filter((h) => !inventory.hosts.has(h));
  if (unknown.length) throw ApplicationFailure.nonRetryable(`hosts not in the inventory: ${unknown.join(', ')}`, 'InventoryError');
  const resume = ctx.attempt > 1 ? ctx.heartbeatDetails<PlayProgress>() : undefined;
  if (resume) ctx.log(`attempt ${ctx.attempt}: resuming; ${Object.keys(resume.done).length} host(s) already done`);
  let last: PlayProgress = resume ?? { done: {}, notified: {} };
  // Heartbeat regularly even while a long command runs (the SDK throttles what it sends).
  const beat = setInterval(() => ctx.heartbeat(last), 1000);
  let results: Record<string, HostResult>;
  let secrets: string[];
  try {
    ({ results, secrets } = await runPlay({
      inventory,
      hosts: input.hosts,
      play: input.play,
      check: input.check,
      diff: input.diff,
      forks: input.forks ?? input.play.forks ?? 50,
      extraVars: input.vars,
      tags: input.tags,
      skipTags: input.skipTags,
      localTasks: process.env[ENV.localTasks] === '1',
      ssh: { ...input.ssh, knownHostsFile: input.ssh.knownHostsFile || undefined },
      signal: ctx.signal,
      resume,
      journalKey: ctx.executionKey,
      // Resolved here, on the worker, under the secrets policy; the value never reaches history.
      vaultPassword: input.vaultPassword ? resolveSecret(input.vaultPassword) : undefined,
      onProgress: (p) => {
        last = JSON.parse(JSON.stringify(p));
        ctx.heartbeat(last);
      },
      log: ctx.log,
    }));
  } finally {
    clearInterval(beat);
  }
  const recap: Recap = Object.fromEntries(Object.entries(results).map(([h, r]) => [h, { ...r.counts, status: r.status }]));
  const failed = Object.keys(results).filter((h) => results[h].status === 'failed');
  const unreachable = Object.keys(results).filter((h) => results[h].status === 'unreachable');
  let outputs: PlayOutputs = {
    changed: Object.values(results).some((r) => r.counts.changed > 0),
    check: input.check,
    recap,
    hosts: results,
    failed,
    unreachable,
    summary: summarize(results, input.check),
  };
  if (secrets.length) outputs = JSON.parse(redact(JSON.stringify(outputs), secrets.map((s) => JSON.stringify(s).slice(1, -1))));
  outputs = fitOutputs(outputs);
  const bad = failed.length + unreachable.length;
  const max = input.maxFailPercentage ?? input.play.max_fail_percentage ?? 0;
  if (bad > 0 && (bad * 100) / Math.max(1, input.hosts.length) > max) {
    const sample = [...unreachable, ...failed].slice(0, 5).map((h) => (results[h].msg?.startsWith(`${h} `) ? results[h].msg : `${h}: ${results[h].msg}`)).join('; ');
    // The details carry the whole result, so the CLI can print the recap of a failed batch too.
    throw ApplicationFailure.create({
      message: redact(`${bad} of ${input.hosts.length} host(s) failed (max ${max}%): ${sample}`, secrets),
      type: 'HostPlayFailed',
      nonRetryable: true,
      details: [outputs],
    });
  }
  return outputs;
}

export default defineAction({
  name: 'host.play',
  description: 'Run a play (tasks + handlers, Ansible-style modules) on a batch of inventory hosts over SSH; check and diff modes; per-host recap.',
  input: PlayInput,
  run: runPlayAction,
  /**
   * Check mode with diff, as a plan shows it: per host, each task that would change and its diff
   * (files, lines, routes). The diff is what an apply re-checks, so a host whose file was edited
   * after the plan is drift.
   */
  async dryRun(input, ctx) {
    // A step that is itself a check changes nothing when it runs.
    if (input.check) return { changed: false, effect: 'none', summary: 'check mode only: changes nothing' };
    const out = await runPlayAction({ ...input, check: true, diff: true }, ctx);
    const lines: string[] = [];
    for (const host of Object.keys(out.hosts).sort()) {
      const r = out.hosts[host];
      for (const t of [...r.tasks, ...r.handlers].filter((x) => x.status === 'changed')) {
        lines.push(`~ ${host}: ${t.task}`);
        if (t.diff) lines.push(...t.diff.replace(/\n$/, '').split('\n').map((l) => `    ${l}`));
      }
    }
    return { changed: out.changed, effect: out.changed ? 'change' : 'none', summary: out.summary, ...(lines.length ? { diff: lines.join('\n') } : {}) };
  },
  templateProblems(input) {
    return inlinePlayProblems(input);
  },
  plan(input) {
    const tasks = input.play.tasks.map((t) => t.name ?? t.module);
    return `${input.check ? 'check ' : ''}play on ${input.hosts.length} host(s) (${input.hosts.slice(0, 5).join(', ')}${input.hosts.length > 5 ? ', …' : ''}): ${tasks.join('; ')}`;
  },
});
