/**
 * Faults on inventory hosts run as a one-task play through the host layer (activities/host:
 * the same inventory, host patterns, connection vars, sudo, known_hosts checks and forks as
 * `host.play`). The task is a shell script of ours; every value it needs (including users'
 * commands) arrives on its stdin, base64-encoded, so none appears in a process command line
 * where a user's `pkill -f`/`pgrep -f` could match our own script.
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import type { ActionContext } from '../define';
import { InventoryError, loadInventory, PatternError, selectHosts } from '../host/inventory-files';
import { redact } from '../../lib/secrets';
import { PlayInput } from '../host/play';
import { PlaySchema } from '../host/play-schema';
import { runPlay } from '../host/runner';

export const HostSelection = {
  inventory: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Inventory file(s) or folder(s), INI or YAML (as host.inventory)'),
  hosts: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Host pattern (Ansible syntax: group, host, a:b, a:!b, web*) or a list of hosts/patterns; required (no default: a fault never targets every host by accident)'),
  limit: z.string().default('').describe('Further limit, like --limit'),
  become: z.boolean().optional().describe('Run as root through sudo (default: the inventory\'s ansible_become)'),
  forks: z.number().int().min(1).max(1000).default(50),
  ssh: PlayInput.shape.ssh,
};
const HostSelectionObject = z.object(HostSelection);
export type HostSelection = z.output<typeof HostSelectionObject>;

/** Resolve the selection to inventory host names (errors are the user's: not retried). */
export function selectFaultHosts(sel: Pick<HostSelection, 'inventory' | 'hosts' | 'limit'>): string[] {
  try {
    const pattern = Array.isArray(sel.hosts) ? sel.hosts.join(',') : sel.hosts;
    const hosts = selectHosts(loadInventory(sel.inventory), pattern, sel.limit);
    if (!hosts.length) throw new PatternError(`no hosts match "${pattern}"${sel.limit ? ` limited to "${sel.limit}"` : ''}`);
    return hosts;
  } catch (e: any) {
    if (e instanceof InventoryError || e instanceof PatternError) throw ApplicationFailure.nonRetryable(e.message, e.name);
    throw e;
  }
}

export const describeHosts = (sel: Pick<HostSelection, 'hosts' | 'limit'>): string =>
  `hosts ${Array.isArray(sel.hosts) ? sel.hosts.join(',') : sel.hosts}${sel.limit ? ` (limit ${sel.limit})` : ''}`;

/** Shell prelude: stdin saved to a temp file; `rw_get KEY` prints a value. */
export const STDIN_PARAMS = `rw_in=$(mktemp) || exit 3
trap 'rm -f "$rw_in"' EXIT
cat > "$rw_in"
rw_get() { sed -n "s/^$1=//p" "$rw_in" | base64 -d; }
`;

export interface HostRun {
  host: string;
  address: string;
  /** `key=value` lines the script printed, values in order per key. */
  out: Record<string, string[]>;
}

export function parseLines(stdout: string): Record<string, string[]> {
  const o: Record<string, string[]> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) (o[line.slice(0, i)] ??= []).push(line.slice(i + 1));
  }
  return o;
}

/**
 * Run `script` (which starts with STDIN_PARAMS) on every selected host and return what each
 * printed. A host where the script fails (exit code not 0) fails the action without retry; if
 * hosts were only unreachable, the failure is retryable (the step's retry policy applies).
 */
export async function runOnHosts(sel: HostSelection, ctx: ActionContext, what: string, script: string, params: Record<string, string>, timeoutSeconds: number): Promise<HostRun[]> {
  const hosts = selectFaultHosts(sel);
  const inventory = loadInventory(sel.inventory);
  const stdin = Object.entries(params)
    .map(([k, v]) => `${k}=${Buffer.from(v).toString('base64')}\n`)
    .join('');
  const play = PlaySchema.parse({ gather_facts: false, become: sel.become, tasks: [{ name: what, shell: { cmd: script, stdin, timeout: timeoutSeconds } }] });
  const beat = setInterval(() => ctx.heartbeat({ progress: `${what} on ${hosts.length} host(s)` }), 1000);
  let results: Awaited<ReturnType<typeof runPlay>>['results'];
  let secrets: string[];
  try {
    ({ results, secrets } = await runPlay({
      inventory,
      hosts,
      play,
      check: false,
      diff: false,
      forks: sel.forks,
      extraVars: {},
      ssh: { ...sel.ssh, knownHostsFile: sel.ssh.knownHostsFile || undefined },
      signal: ctx.signal,
      log: ctx.log,
    }));
  } finally {
    clearInterval(beat);
  }
  const bad = Object.entries(results).filter(([, r]) => r.status === 'failed' || r.status === 'unreachable');
  if (bad.length) {
    const onlyUnreachable = bad.every(([, r]) => r.status === 'unreachable');
    const msg = redact(`${what}: ${bad.length} of ${hosts.length} host(s) ${onlyUnreachable ? 'unreachable' : 'failed'}: ${bad.map(([h, r]) => `${h}: ${r.msg ?? r.status}`).join('; ')}`, secrets);
    throw ApplicationFailure.create({ message: msg, type: onlyUnreachable ? 'FaultHostUnreachable' : 'FaultHostFailed', nonRetryable: !onlyUnreachable });
  }
  return hosts.map((h) => ({ host: h, address: results[h].address, out: parseLines(results[h].tasks[0]?.stdout ?? '') }));
}
