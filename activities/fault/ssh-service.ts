/**
 * `ssh-service`: stop a service on inventory hosts (inject) and start it again (restore).
 * How the service is managed, per host: the `check`/`stop`/`start` commands when given (hosts
 * without an init system: test hosts, containers), else systemd when the host runs it (like
 * the `service` host module), else a SysV script /etc/init.d/<service>. Each host's state is
 * read first; only hosts not yet in the wanted state are changed, then the state is checked
 * again until it holds (or `timeout`). Inject leaves a marker file on each host where it stops
 * the service (none where it was already stopped); restore starts the service only where the
 * marker is, then removes it: a service stopped before the drill stays stopped.
 */
import { z } from 'zod';
import { Duration, ms } from '../openstack/common';
import { defineFaultKind, type FaultContext } from './kind';
import { faultLabel, Label } from './label';
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
    label: Label,
  })
  .refine((s) => (s.check === undefined && s.stop === undefined && s.start === undefined) || (s.check !== undefined && s.stop !== undefined && s.start !== undefined), {
    message: 'give all of check, stop and start, or none (systemd / init.d)',
  });
export type SshServiceFault = z.output<typeof SshServiceFault>;

/**
 * Prints manager=, before=, after= (running|stopped) and marker= (written | present | absent |
 * removed | would-write | would-remove); exits 3 with a message on stderr when it cannot.
 * The marker file (/run/<mark>, or /var/tmp/<mark> where /run is not writable) records that
 * this drill stopped the service: written before the stop (so a crash right after the stop
 * still leaves it), and removed by restore only once the service runs again.
 */
const SCRIPT = `${STDIN_PARAMS}mode=$(rw_get mode); dry=$(rw_get dry); svc=$(rw_get service); waitn=$(rw_get waitn); mark=$(rw_get mark)
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
markfile=; for d in /run /var/tmp; do [ -f "$d/$mark" ] && { markfile=$d/$mark; break; }; done
if [ "$mode" = stop ]; then want=stopped; else want=running; fi
before=$(state); echo "before=$before"
if [ "$mode" = stop ]; then
  if [ "$before" = stopped ]; then if [ -n "$markfile" ]; then echo marker=present; else echo marker=absent; fi; echo "after=$before"; exit 0; fi
  if [ "$dry" = 1 ]; then echo marker=would-write; echo "after=$before"; exit 0; fi
  if [ -z "$markfile" ]; then
    for d in /run /var/tmp; do
      if [ -d "$d" ] && [ -w "$d" ] && printf 'runwright fault %s: %s stopped %s\\n' "\${mark#runwright-fault-}" "$svc" "$(date -u +%FT%TZ)" > "$d/$mark" 2>/dev/null; then markfile=$d/$mark; break; fi
    done
    [ -n "$markfile" ] || { echo "cannot write the marker $mark in /run or /var/tmp" >&2; exit 3; }
  fi
  echo marker=written
else
  if [ -z "$markfile" ]; then echo marker=absent; echo "after=$before"; exit 0; fi
  if [ "$dry" = 1 ]; then echo marker=would-remove; echo "after=$before"; exit 0; fi
  if [ "$before" = running ]; then rm -f "$markfile" || exit 3; echo marker=removed; echo "after=$before"; exit 0; fi
fi
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
if [ "$mode" = start ]; then rm -f "$markfile" || exit 3; echo marker=removed; fi
echo "after=$now"
`;

type HostState = { before: string; after: string; changed: boolean; manager: string; marker: string; note?: string };

async function apply(s: SshServiceFault, ctx: FaultContext, mode: 'stop' | 'start') {
  const timeoutMs = ms(s.timeout);
  const label = faultLabel({ kind: 'ssh-service', service: s.service }, ctx, s.label);
  const mark = `runwright-fault-${label}`;
  const runs = await runOnHosts(s, ctx, `fault ssh-service: ${mode} ${s.service}`, SCRIPT, {
    mode,
    dry: ctx.dryRun ? '1' : '0',
    service: s.service,
    waitn: String(Math.max(1, Math.ceil(timeoutMs / 200))),
    check: s.check ?? '',
    stop: s.stop ?? '',
    start: s.start ?? '',
    mark,
  }, Math.ceil(timeoutMs / 1000) + 60);
  const want = mode === 'stop' ? 'stopped' : 'running';
  const hosts: Record<string, HostState> = {};
  const diff: string[] = [];
  const notes: string[] = [];
  for (const r of runs) {
    const before = r.out.before?.[0] ?? 'unknown';
    const marker = r.out.marker?.[0] ?? 'unknown';
    // Restore starts only what this drill stopped (its marker is there).
    const acts = mode === 'stop' ? before !== want : marker === 'removed' || marker === 'would-remove';
    const changed = acts && before !== want;
    const after = ctx.dryRun ? (changed ? want : before) : (r.out.after?.[0] ?? 'unknown');
    let note: string | undefined;
    if (mode === 'stop' && before === 'stopped') note = marker === 'present' ? `already stopped by this drill (marker ${mark})` : `${s.service} was already stopped before the drill: nothing to do, no marker left, restore will leave it stopped`;
    if (mode === 'start' && marker === 'absent') note = `no marker ${mark}: this drill did not stop ${s.service}, left as it is (${before})`;
    if (mode === 'start' && before === 'running' && acts) note = `${s.service} was already running again; marker ${ctx.dryRun ? 'would be ' : ''}removed`;
    hosts[r.host] = { before, after, changed, manager: r.out.manager?.[0] ?? 'unknown', marker, ...(note ? { note } : {}) };
    if (changed) diff.push(`${r.host}: ${s.service} ${before} -> ${want}`);
    else if (acts) diff.push(`${r.host}: - marker ${mark}`);
    if (note) notes.push(`${r.host}: ${note}`);
  }
  return { changed: diff.length > 0, details: { service: s.service, label, hosts, diff, ...(notes.length ? { notes } : {}) } };
}

export default defineFaultKind({
  kind: 'ssh-service',
  schema: SshServiceFault,
  describe: (s) => `service ${s.service} on ${describeHosts(s)}`,
  inject: (s, ctx) => apply(s, ctx, 'stop'),
  restore: (s, ctx) => apply(s, ctx, 'start'),
});
