/**
 * `ssh-service`: stop a service on inventory hosts (inject) and start it again (restore).
 * How the service is managed, per host: the `check`/`stop`/`start` commands when given (hosts
 * without an init system: test hosts, containers), else systemd when the host runs it (like
 * the `service` host module), else a SysV script /etc/init.d/<service>. Each host's state is
 * read first; only hosts not yet in the wanted state are changed, then the state is checked
 * again until it holds (or `timeout`).
 */
import { z } from 'zod';
import { Duration, ms } from '../openstack/common';
import { defineFaultKind, type FaultContext } from './kind';
import { describeHosts, HostSelection, runOnHosts, STDIN_PARAMS } from './hosts';

export const SshServiceFault = z
  .strictObject({
    kind: z.literal('ssh-service'),
    ...HostSelection,
    service: z.string().regex(/^[A-Za-z0-9@:._-]+$/, 'expected a service (unit) name').describe('systemd unit or /etc/init.d script name; with commands, a label'),
    check: z.string().min(1).optional().describe('Shell command: exit 0 while the service runs (with stop/start; e.g. pgrep -x myd)'),
    stop: z.string().min(1).optional().describe('Shell command that stops the service'),
    start: z.string().min(1).optional().describe('Shell command that starts it (must return: daemonize, or end with &)'),
    timeout: Duration.default('30s').describe('How long to wait for the service to reach the state'),
  })
  .refine((s) => (s.check === undefined && s.stop === undefined && s.start === undefined) || (s.check !== undefined && s.stop !== undefined && s.start !== undefined), {
    message: 'give all of check, stop and start, or none (systemd / init.d)',
  });
export type SshServiceFault = z.output<typeof SshServiceFault>;

/** Prints manager=, before=, after= (running|stopped); exits 3 with a message on stderr when it cannot. */
const SCRIPT = `${STDIN_PARAMS}mode=$(rw_get mode); dry=$(rw_get dry); svc=$(rw_get service); waitn=$(rw_get waitn)
check=$(rw_get check); stopc=$(rw_get stop); startc=$(rw_get start)
if [ -n "$check" ]; then mgr=command
elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then mgr=systemd
  load=$(systemctl show -p LoadState --value -- "$svc" 2>/dev/null)
  if [ -z "$load" ] || [ "$load" = not-found ]; then echo "no systemd unit named $svc" >&2; exit 3; fi
elif [ -x "/etc/init.d/$svc" ]; then mgr=sysv
else echo "no systemd and no /etc/init.d/$svc on this host: give check, stop and start commands" >&2; exit 3; fi
echo "manager=$mgr"
running() {
  case $mgr in
  command) sh -c "$check" </dev/null >/dev/null 2>&1 ;;
  systemd) s=$(systemctl is-active -- "$svc" 2>/dev/null); [ "$s" = active ] || [ "$s" = activating ] || [ "$s" = reloading ] ;;
  sysv) "/etc/init.d/$svc" status </dev/null >/dev/null 2>&1 ;;
  esac
}
state() { if running; then echo running; else echo stopped; fi; }
if [ "$mode" = stop ]; then want=stopped; else want=running; fi
before=$(state); echo "before=$before"
if [ "$before" = "$want" ] || [ "$dry" = 1 ]; then echo "after=$before"; exit 0; fi
log=$(mktemp) || exit 3
# Output goes to a file, not to this session: a started daemon keeps no hold on the SSH channel.
case $mgr in
command) if [ "$mode" = stop ]; then sh -c "$stopc" </dev/null >"$log" 2>&1; else sh -c "$startc" </dev/null >"$log" 2>&1; fi; rc=$? ;;
systemd) systemctl "$mode" -- "$svc" </dev/null >"$log" 2>&1; rc=$? ;;
sysv) "/etc/init.d/$svc" "$mode" </dev/null >"$log" 2>&1; rc=$? ;;
esac
out=$(tail -c 600 "$log" | tr '\\n' ' '); rm -f "$log"
if [ "$rc" -ne 0 ]; then echo "$mode $svc failed (rc=$rc): $out" >&2; exit 3; fi
i=0
while now=$(state); [ "$now" != "$want" ]; do
  i=$((i + 1))
  if [ "$i" -ge "$waitn" ]; then echo "$svc is still $now after $mode ($out)" >&2; exit 3; fi
  sleep 0.2
done
echo "after=$now"
`;

async function apply(s: SshServiceFault, ctx: FaultContext, mode: 'stop' | 'start') {
  const timeoutMs = ms(s.timeout);
  const runs = await runOnHosts(s, ctx, `fault ssh-service: ${mode} ${s.service}`, SCRIPT, {
    mode,
    dry: ctx.dryRun ? '1' : '0',
    service: s.service,
    waitn: String(Math.max(1, Math.ceil(timeoutMs / 200))),
    check: s.check ?? '',
    stop: s.stop ?? '',
    start: s.start ?? '',
  }, Math.ceil(timeoutMs / 1000) + 60);
  const want = mode === 'stop' ? 'stopped' : 'running';
  const hosts: Record<string, { before: string; after: string; changed: boolean; manager: string }> = {};
  const diff: string[] = [];
  for (const r of runs) {
    const before = r.out.before?.[0] ?? 'unknown';
    const after = ctx.dryRun ? (before === want ? before : want) : (r.out.after?.[0] ?? 'unknown');
    const changed = before !== want;
    hosts[r.host] = { before, after, changed, manager: r.out.manager?.[0] ?? 'unknown' };
    if (changed) diff.push(`${r.host}: ${s.service} ${before} -> ${want}`);
  }
  return { changed: diff.length > 0, details: { service: s.service, hosts, diff } };
}

export default defineFaultKind({
  kind: 'ssh-service',
  schema: SshServiceFault,
  describe: (s) => `service ${s.service} on ${describeHosts(s)}`,
  inject: (s, ctx) => apply(s, ctx, 'stop'),
  restore: (s, ctx) => apply(s, ctx, 'start'),
});
