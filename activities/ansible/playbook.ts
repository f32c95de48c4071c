/**
 * `ansible.playbook`: run the real ansible-playbook, for what is not (yet) a native host module.
 *
 * - Files come from the worker's playbook folder (paths.ts); an inline inventory and the extra
 *   vars are written to files in a private folder (0700, files 0600) and named with `-i`/`-e @`;
 *   nothing the runbook passes is put on the command line as text for a shell (argv, no shell),
 *   and every string is `!unsafe` to Ansible, so Jinja never evaluates a value (vars.ts).
 * - Secrets (the SSH key, the become and vault passwords, secret vars) are references resolved in
 *   the worker through its secrets policy, handed over in those private files, masked in
 *   outputs, heartbeats, errors and logs by the action wrapper, and removed afterwards.
 * - Progress: the `ansible.posix.jsonl` callback's events (events.ts) become heartbeats, e.g.
 *   "TASK [copy motd] h1 changed, h2 ok · 3/7 tasks"; the outputs carry a recap of the same shape
 *   as host.play's, so `runwright` prints one PLAY RECAP for both.
 * - Crash safety (process.ts): ansible-playbook is its own process group, killed on cancel,
 *   worker shutdown or timeout; after a worker crash, the retry kills the group the crashed
 *   attempt left running (a lock file per step) before it starts again.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction, dryRunVia, type ActionContext } from '../define';
import { msField } from '../../dsl/duration';
import { loadSecretsPolicy, resolveSecret, SecretRef } from '../../lib/secrets';
import { summarize, type PlayOutputs } from '../host/play';
import { PlaybookEvents, parseListing, type AnsibleCounts, type AnsibleHostResult } from './events';
import { ANSIBLE_PLAYBOOK_ENV, fileInRoot, PathError, playbookRoot, shown, stateDir } from './paths';
import { acquireLock, newRunDir, releaseLock, runGroup, SpawnError, sweep, tail, takeOver, type GroupRun, type TakeOver } from './process';
import { InlineInventory, inventoryProblems, unsafeYaml, varsProblems } from './vars';

const Names = z.union([z.string(), z.array(z.string().min(1))]);
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const PlaybookInput = z.strictObject({
  playbook: z.string().min(1).describe("Playbook file, relative to the worker's playbook folder (RUNWRIGHT_PLAYBOOK_DIR, else ./playbooks); no `..` out of it"),
  inventory: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1), InlineInventory])
    .optional()
    .describe("Inventory file(s) or folder(s) in the playbook folder, or an inline inventory (Ansible's YAML shape); default: Ansible's own (ansible.cfg)"),
  limit: z.string().optional().describe('Further limit the hosts (--limit pattern); "" = none'),
  tags: Names.optional().describe('Only tasks with these tags (--tags)'),
  skipTags: Names.optional().describe('Skip tasks with these tags (--skip-tags)'),
  extraVars: z.record(z.string(), z.unknown()).default({}).describe('Extra vars (-e), highest precedence; written to a file, every string passed as !unsafe (never templated)'),
  secretVars: z.record(z.string(), SecretRef).default({}).describe('Extra vars whose values are secret references (secret:NAME), resolved in the worker'),
  check: z.boolean().default(false).describe('--check: report what would change, change nothing'),
  diff: z.boolean().default(false).describe('--diff: diffs of what changes (or would)'),
  forks: z.number().int().min(1).max(1000).optional().describe('--forks (default: ansible.cfg, else 5)'),
  become: z.boolean().optional().describe('--become'),
  becomeUser: z.string().regex(/^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/, 'a user name').optional().describe('--become-user'),
  becomePassword: SecretRef.optional().describe('Become (sudo) password: a secret reference'),
  privateKey: SecretRef.optional().describe("SSH private key (its text): a secret reference; hosts whose inventory names ansible_ssh_private_key_file use that instead"),
  vaultPassword: z
    .union([SecretRef, z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'vault id labels: letters, digits, _ . -'), SecretRef)])
    .optional()
    .describe('Vault password (secret reference), or vault id label → secret reference'),
  maxFailPercentage: z.number().min(0).max(100).default(0).describe('Fail the step when more hosts than this failed or were unreachable (default 0: any)'),
  timeout: msField(1000, 7 * 24 * 3_600_000).optional().describe("Kill ansible-playbook after this long (milliseconds or a duration); default: only the step's timeout"),
  connectTimeout: msField(1000, 3_600_000).optional().describe('SSH connection timeout (ansible-playbook --timeout)'),
  ssh: z
    .strictObject({
      knownHostsFile: z.string().optional().describe('known_hosts file (default RUNWRIGHT_KNOWN_HOSTS if set, else ssh\'s own)'),
      hostKeyChecking: z.enum(['strict', 'accept-new', 'off']).optional().describe("Default: Ansible's (host_key_checking, on)"),
    })
    .default({})
    .describe("Host keys; when set, passed through ANSIBLE_SSH_COMMON_ARGS / ANSIBLE_HOST_KEY_CHECKING"),
});
export type PlaybookInputT = z.output<typeof PlaybookInput>;

export type AnsibleRecap = Record<string, AnsibleCounts & { status: AnsibleHostResult['status'] }>;

/** host.play's outputs (the CLI's recap reads them), and what only ansible-playbook has. */
export interface PlaybookOutputs extends Omit<PlayOutputs, 'recap' | 'hosts'> {
  recap: AnsibleRecap;
  hosts: Record<string, AnsibleHostResult>;
  playbook: string;
  /** ansible-playbook's exit code. */
  rc: number | null;
  /** Every diff, host by host (bounded). */
  diff?: string;
  /** Tasks started, and how many the playbook lists. */
  tasks: { started: number; listed?: number; handlers: number };
  /** ansible-playbook's warnings (stderr), the first few. */
  warnings?: string[];
  /** A previous attempt's ansible-playbook found still running (worker crash) and killed first. */
  killedPrevious?: TakeOver[];
}

const MAX_DIFF = 64 * 1024;
const OUTPUT_BUDGET = 1_200_000;

/** Runbook mistakes, found before anything runs: every one of them, in one message. */
function inputProblems(i: PlaybookInputT): string[] {
  const out: string[] = [];
  out.push(...varsProblems(i.extraVars, 'extraVars'));
  for (const k of Object.keys(i.extraVars)) if (!VAR_NAME.test(k)) out.push(`extraVars: ${JSON.stringify(k)} is not a variable name`);
  for (const k of Object.keys(i.secretVars)) {
    if (!VAR_NAME.test(k)) out.push(`secretVars: ${JSON.stringify(k)} is not a variable name`);
    else if (k.toLowerCase().startsWith('ansible_')) out.push(`secretVars: ${k} is refused: use privateKey / becomePassword for connection secrets`);
  }
  if (i.inventory && typeof i.inventory === 'object' && !Array.isArray(i.inventory)) out.push(...inventoryProblems(i.inventory));
  if (i.limit?.startsWith('@')) out.push('limit: "@file" host lists are not taken; write the pattern, or a group in the inventory');
  for (const [k, v] of [['tags', i.tags], ['skipTags', i.skipTags]] as const) for (const t of list(v)) if (/[,\s]/.test(t)) out.push(`${k}: ${JSON.stringify(t)}: one tag per entry, no commas or spaces`);
  return out;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

/** Python shlex quoting (Ansible splits ssh args with shlex). */
const shlexQuote = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/**
 * The environment of ansible-playbook: the worker's, without what is Runwright's own (codec keys,
 * tokens, Temporal settings) or a secret the policy reads from the environment, plus the
 * callback that makes its events readable.
 */
export function ansibleEnv(input: PlaybookInputT, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const drop = new Set<string>();
  try {
    for (const g of Object.values(loadSecretsPolicy(base)?.secrets ?? {})) if (g.ref.startsWith('env:')) drop.add(g.ref.slice(4));
  } catch {
    /* an unreadable policy: resolving a secret reports it */
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!/^(RUNWRIGHT_|TEMPORAL_)/.test(k) && !drop.has(k)) env[k] = v;
  Object.assign(env, {
    ANSIBLE_STDOUT_CALLBACK: 'ansible.posix.jsonl',
    ANSIBLE_JSON_INDENT: '0', // one event per line, whatever ansible.cfg says
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_RETRY_FILES_ENABLED: '0', // no .retry files in the playbook folder
    PYTHONUNBUFFERED: '1', // events as they happen
  });
  const known = input.ssh.knownHostsFile || base.RUNWRIGHT_KNOWN_HOSTS;
  const opts: string[] = [];
  if (known) opts.push(`-o UserKnownHostsFile=${shlexQuote(known)}`);
  if (input.ssh.hostKeyChecking === 'off') env.ANSIBLE_HOST_KEY_CHECKING = 'False';
  else if (input.ssh.hostKeyChecking) {
    env.ANSIBLE_HOST_KEY_CHECKING = 'True';
    opts.push(`-o StrictHostKeyChecking=${input.ssh.hostKeyChecking === 'strict' ? 'yes' : 'accept-new'}`);
  }
  if (opts.length) env.ANSIBLE_SSH_COMMON_ARGS = opts.join(' ');
  return env;
}

const failInput = (msg: string) => ApplicationFailure.nonRetryable(`ansible.playbook: ${msg}`, 'AnsiblePlaybookInput');

const NOT_INSTALLED = (cmd: string) =>
  `${cmd} is not installed on this worker (not found${cmd.includes('/') ? '' : ' on its PATH'}): install Ansible (Debian/Ubuntu: apt-get install ansible; RHEL: dnf install ansible-core; pip: pip install ansible-core, and ansible-galaxy collection install ansible.posix), or set ${ANSIBLE_PLAYBOOK_ENV} to its path`;

/** Why ansible-playbook stopped without results, from its stderr. */
function explainError(stderr: string, what: string): string {
  const text = stderr.trim();
  if (/Invalid callback for stdout specified: ansible\.posix\.jsonl|ansible\.posix\.jsonl.*(not found|could not be)/i.test(text))
    return `${what}: the ansible.posix collection (its jsonl callback) is missing on the worker: ansible-galaxy collection install ansible.posix (Debian's "ansible" package includes it)`;
  const errors = text.split('\n').filter((l) => /^ERROR!|^\[ERROR\]|error/i.test(l));
  const lines = (errors.length ? text.slice(text.indexOf(errors[0])) : text).split('\n').slice(0, 12).join('\n');
  return `${what}: ${lines.slice(0, 2000) || 'no message'}`;
}

/** Files in the private run folder: inventory, vars, key and vault passwords. Returns argv. */
function prepare(i: PlaybookInputT, root: { dir: string; from: string }, runDir: string, playbook: string): { args: string[]; inventories: string[] } {
  const file = (name: string, text: string) => {
    const p = join(runDir, name);
    writeFileSync(p, text, { mode: 0o600, flag: 'wx' });
    return p;
  };
  const args: string[] = [];
  const inventories: string[] = [];
  if (typeof i.inventory === 'string' || Array.isArray(i.inventory)) {
    for (const inv of ([] as string[]).concat(i.inventory)) {
      const p = fileInRoot(root, inv, 'inventory');
      inventories.push(shown(root, p));
      args.push('-i', p);
    }
  } else if (i.inventory) {
    args.push('-i', file('inventory.yml', `${unsafeYaml(i.inventory)}\n`));
    inventories.push('(inline)');
  }
  if (i.limit) args.push(`--limit=${i.limit}`);
  if (list(i.tags).length) args.push(`--tags=${list(i.tags).join(',')}`);
  if (list(i.skipTags).length) args.push(`--skip-tags=${list(i.skipTags).join(',')}`);
  if (Object.keys(i.extraVars).length) args.push(`--extra-vars=@${file('vars.yml', `${unsafeYaml(i.extraVars)}\n`)}`);
  const secretVars: Record<string, string> = {};
  for (const [k, ref] of Object.entries(i.secretVars)) secretVars[k] = resolveSecret(ref);
  if (i.becomePassword) secretVars.ansible_become_password = resolveSecret(i.becomePassword);
  if (Object.keys(secretVars).length) args.push(`--extra-vars=@${file('secret-vars.yml', `${unsafeYaml(secretVars)}\n`)}`);
  if (i.privateKey) {
    const key = resolveSecret(i.privateKey);
    args.push(`--private-key=${file('ssh-key', key.endsWith('\n') ? key : `${key}\n`)}`);
  }
  if (typeof i.vaultPassword === 'string') args.push(`--vault-password-file=${file('vault-pass', resolveSecret(i.vaultPassword))}`);
  else if (i.vaultPassword) for (const [label, ref] of Object.entries(i.vaultPassword)) args.push(`--vault-id=${label}@${file(`vault-${label}`, resolveSecret(ref))}`);
  if (i.check) args.push('--check');
  if (i.diff) args.push('--diff');
  if (i.forks) args.push(`--forks=${i.forks}`);
  if (i.become) args.push('--become');
  if (i.becomeUser) args.push(`--become-user=${i.becomeUser}`);
  if (i.connectTimeout) args.push(`--timeout=${Math.ceil(i.connectTimeout / 1000)}`);
  args.push('--', playbook);
  return { args, inventories };
}

/** Every diff of the run, host by host, within a budget. */
function allDiffs(hosts: Record<string, AnsibleHostResult>): string | undefined {
  const parts: string[] = [];
  let size = 0;
  let left = 0;
  for (const [h, r] of Object.entries(hosts))
    for (const t of [...r.tasks, ...r.handlers]) {
      if (!t.diff) continue;
      const text = `--- ${h}: ${t.task} (${t.module})\n${t.diff}\n`;
      if (size + text.length > MAX_DIFF) left++;
      else (parts.push(text), (size += text.length));
    }
  if (left) parts.push(`… ${left} more diff(s): see outputs.hosts.<host>.tasks`);
  return parts.length ? parts.join('') : undefined;
}

/** Keep outputs well under Temporal's payload limit: drop the quietest details first. */
function fit(out: PlaybookOutputs): PlaybookOutputs {
  const size = () => JSON.stringify(out).length;
  if (size() <= OUTPUT_BUDGET) return out;
  out.truncated = true;
  const all = Object.values(out.hosts);
  for (const r of all) for (const t of [...r.tasks, ...r.handlers]) delete t.stdout, delete t.stderr;
  if (size() <= OUTPUT_BUDGET) return out;
  for (const r of all) for (const t of [...r.tasks, ...r.handlers]) if (t.diff && t.diff.length > 1000) t.diff = `${t.diff.slice(0, 1000)}\n… (diff truncated)`;
  if (size() <= OUTPUT_BUDGET) return out;
  for (const r of all) if (r.status === 'ok' || r.status === 'changed') r.tasks = r.tasks.filter((t) => t.status === 'changed' || t.status === 'failed');
  if (size() <= OUTPUT_BUDGET) return out;
  for (const r of all) (r.tasks = r.tasks.filter((t) => t.status === 'failed')), (r.handlers = []);
  if (size() > OUTPUT_BUDGET) for (const r of all) (r.tasks = []), (r.handlers = []);
  return out;
}

async function runPlaybook(i: PlaybookInputT, ctx: ActionContext): Promise<PlaybookOutputs> {
  const problems = inputProblems(i);
  if (problems.length) throw failInput(problems.join('; '));
  let root: { dir: string; from: string };
  let playbook: string;
  try {
    root = playbookRoot();
    playbook = fileInRoot(root, i.playbook, 'playbook');
  } catch (e) {
    if (e instanceof PathError) throw failInput(e.message);
    throw e;
  }
  const name = shown(root, playbook);
  const state = stateDir();
  sweep(state);
  // Whatever a crashed attempt of this step left running is killed before anything starts.
  const killedPrevious = await takeOver(state, ctx.idempotencyKey, ctx.log);
  const runDir = newRunDir(state, ctx.attempt);
  const lock = acquireLock(state, ctx.idempotencyKey, ctx.attempt, runDir);
  try {
    let prepared: ReturnType<typeof prepare>;
    try {
      prepared = prepare(i, root, runDir, playbook);
    } catch (e) {
      if (e instanceof PathError) throw failInput(e.message);
      throw e;
    }
    const cmd = process.env[ANSIBLE_PLAYBOOK_ENV] || 'ansible-playbook';
    const env = ansibleEnv(i);
    const events = new PlaybookEvents();
    let lastBeat = 0;
    const beat = (force = false) => {
      if (!force && Date.now() - lastBeat < 500) return;
      lastBeat = Date.now();
      ctx.heartbeat({ ...events.progress(), playbook: name, attempt: ctx.attempt });
    };
    const common = { cmd, cwd: root.dir, env, lock, runDir, signal: ctx.signal, log: ctx.log };
    const spawnFailed = (e: unknown): never => {
      if (e instanceof SpawnError && (e.code === 'ENOENT' || e.code === 'EACCES')) throw failInput(NOT_INSTALLED(cmd));
      throw e;
    };

    // 1. The listing: the hosts and tasks (for "3/7 tasks"), and any playbook error, quickly.
    let listing: GroupRun;
    let listOut = '';
    try {
      listing = await runGroup({ ...common, args: [...prepared.args.slice(0, -2).filter((a) => a !== '--check' && a !== '--diff'), '--list-hosts', '--list-tasks', ...prepared.args.slice(-2)], onLine: (l) => (listOut += `${l}\n`), onOversized: () => undefined }, 'list');
    } catch (e) {
      return spawnFailed(e);
    }
    if (listing.killedFor) throw ctx.signal.reason ?? new Error('cancelled');
    if (listing.code !== 0) throw ApplicationFailure.nonRetryable(explainError(tail(join(runDir, 'list.stderr')), `ansible-playbook ${name}`), 'AnsiblePlaybookError');
    const listed = parseListing(listOut);
    events.total = listed.tasks;
    ctx.log(`ansible-playbook ${name}: ${listed.hosts.length} host(s), ${listed.tasks} task(s)${i.check ? ' (check mode)' : ''}${killedPrevious.length ? `; killed attempt ${killedPrevious[0].attempt}'s run first` : ''}`);
    beat(true);

    // 2. The run.
    let run: GroupRun;
    try {
      run = await runGroup({ ...common, timeoutMs: i.timeout, args: prepared.args, onLine: (l) => (events.line(l), beat()), onOversized: (h) => (events.oversized(h), beat()), onTick: () => beat() }, 'run');
    } catch (e) {
      return spawnFailed(e);
    }
    beat(true);
    const stderr = tail(join(runDir, 'run.stderr'), 8000);
    if (run.killedFor === 'abort') throw ctx.signal.reason ?? new Error('cancelled');

    const hosts = events.results();
    const recap: AnsibleRecap = Object.fromEntries(Object.entries(hosts).map(([h, r]) => [h, { ...r.counts, status: r.status }]));
    const failed = Object.keys(hosts).filter((h) => hosts[h].status === 'failed');
    const unreachable = Object.keys(hosts).filter((h) => hosts[h].status === 'unreachable');
    const warnings = stderr
      .split('\n')
      .filter((l) => /^\[WARNING\]|^\[DEPRECATION WARNING\]/.test(l))
      .slice(0, 20);
    const outputs = fit({
      changed: Object.values(hosts).some((r) => r.counts.changed > 0),
      check: i.check,
      playbook: name,
      rc: run.code,
      recap,
      hosts,
      failed,
      unreachable,
      summary: Object.keys(hosts).length ? summarize(hosts, i.check) : `no hosts matched${warnings.length ? `: ${warnings[0]}` : ''}`,
      tasks: { started: events.tasks, listed: listed.tasks, handlers: events.handlers },
      ...(allDiffs(hosts) ? { diff: allDiffs(hosts) } : {}),
      ...(warnings.length ? { warnings } : {}),
      ...(killedPrevious.length ? { killedPrevious } : {}),
    });

    const progress = events.progress().progress;
    if (run.killedFor === 'timeout')
      throw ApplicationFailure.create({ message: `ansible-playbook ${name}: timed out after ${Math.round(i.timeout! / 1000)}s and was killed (last: ${progress})`, type: 'AnsiblePlaybookTimeout', nonRetryable: true, details: [outputs] });
    if (!events.stats) {
      if (run.signal) throw ApplicationFailure.retryable(`ansible-playbook ${name} was killed by ${run.signal} (not by Runwright: out of memory?) at ${progress}`, 'AnsiblePlaybookKilled');
      throw ApplicationFailure.create({ message: explainError(stderr, `ansible-playbook ${name} exited ${run.code} without a recap`), type: 'AnsiblePlaybookError', nonRetryable: true, details: [outputs] });
    }
    const bad = [...unreachable, ...failed];
    const total = Math.max(1, Object.keys(hosts).length);
    if (bad.length && (bad.length * 100) / total > i.maxFailPercentage) {
      const sample = bad.slice(0, 5).map((h) => `${h}: ${hosts[h].msg}`).join('; ');
      throw ApplicationFailure.create({
        message: `ansible-playbook ${name}: ${bad.length} of ${Object.keys(hosts).length} host(s) failed${i.maxFailPercentage ? ` (max ${i.maxFailPercentage}%)` : ''}: ${sample}`,
        type: 'AnsiblePlaybookFailed',
        nonRetryable: true,
        details: [outputs],
      });
    }
    if (run.code !== 0 && !bad.length)
      throw ApplicationFailure.create({ message: explainError(stderr, `ansible-playbook ${name} exited ${run.code}`), type: 'AnsiblePlaybookError', nonRetryable: true, details: [outputs] });
    return outputs;
  } finally {
    releaseLock(lock);
    rmSync(runDir, { recursive: true, force: true });
  }
}

export default defineAction({
  name: 'ansible.playbook',
  description: "Run an Ansible playbook with the real ansible-playbook (the worker's playbook folder): inventory, limit, tags, extra vars as data, check and diff; per-host progress and a recap like host.play's; secrets by reference; crash-safe.",
  input: PlaybookInput,
  defaults: { timeout: '2h', heartbeatTimeout: '30s' },
  run: runPlaybook,
  /** ansible-playbook --check --diff: what would change, changing nothing. */
  dryRun: dryRunVia<PlaybookInputT>('check', (i, ctx) => runPlaybook({ ...i, check: true, diff: true }, ctx), (i) => `check ${i.playbook}`),
  plan(i) {
    const inv = i.inventory === undefined ? '' : typeof i.inventory === 'string' ? ` -i ${i.inventory}` : Array.isArray(i.inventory) ? i.inventory.map((x) => ` -i ${x}`).join('') : ' -i (inline)';
    const flags = [i.limit ? `--limit ${i.limit}` : '', list(i.tags).length ? `--tags ${list(i.tags).join(',')}` : '', i.check ? '--check' : '', i.diff ? '--diff' : ''].filter(Boolean).join(' ');
    return `ansible-playbook ${i.playbook}${inv}${flags ? ` ${flags}` : ''}`;
  },
});

