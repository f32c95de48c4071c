/**
 * `network-cut`: cut inventory hosts off from destinations (IPv4 CIDRs), inside each host.
 * The routes go into a routing table of their own (default 147), looked up through one policy
 * rule before the main table, and carry a protocol number of their own (default 147): a cut
 * works even for destinations the host has a route to (its own subnet), never replaces or
 * deletes a route it did not add, and restore removes exactly the routes it finds marked so
 * (then the rule, once no route of ours is left). Inject refuses when the table already holds
 * routes without our protocol: the rule would put them in force too. A destination that covers the address the
 * SSH session comes from is refused: the cut would lock the worker out and restore could
 * never run. Needs root on the host (become) and iproute2.
 */
import { z } from 'zod';
import { normDest } from '../host/modules/route';
import { defineFaultKind, type FaultContext } from './kind';
import { describeHosts, HostSelection, runOnHosts, STDIN_PARAMS } from './hosts';

const Cidr = z.string().transform((d, c) => {
  try {
    return normDest(d);
  } catch (e: any) {
    c.addIssue({ code: 'custom', message: e.message });
    return z.NEVER;
  }
});

export const NetworkCutFault = z.strictObject({
  kind: z.literal('network-cut'),
  ...HostSelection,
  destinations: z.array(Cidr).min(1).max(1000).describe('IPv4 destinations to cut: a.b.c.d or a.b.c.d/len'),
  type: z.enum(['blackhole', 'unreachable', 'prohibit']).default('blackhole').describe('blackhole: packets dropped (connect fails with EINVAL); unreachable / prohibit: ICMP-style errors'),
  table: z.number().int().min(1).max(252).default(147).describe('Routing table holding the cut routes'),
  priority: z.number().int().min(1).max(32765).default(147).describe('Priority of the policy rule that looks the table up (before main at 32766)'),
  protocol: z.number().int().min(5).max(255).default(147).describe('Route protocol number marking our routes'),
});
export type NetworkCutFault = z.output<typeof NetworkCutFault>;

/** Prints peer=, and per destination added= / kept= / removed= / absent=; rule=added|kept|removed|absent. */
const SCRIPT = `${STDIN_PARAMS}mode=$(rw_get mode); dry=$(rw_get dry); dests=$(rw_get dests); t=$(rw_get table); p=$(rw_get priority); proto=$(rw_get protocol); type=$(rw_get type)
command -v ip >/dev/null 2>&1 || { echo "ip (iproute2) is not installed" >&2; exit 3; }
ip2n() { old=$IFS; IFS=.; set -- $1; IFS=$old; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }
covers() {
  [ "$1" = default ] && return 0
  net=\${1%/*}; len=\${1#*/}; [ "$len" = "$1" ] && len=32
  mask=$(( (0xffffffff << (32 - len)) & 0xffffffff ))
  [ $(( $(ip2n "$net") & mask )) -eq $(( $(ip2n "$2") & mask )) ]
}
ours() { [ -n "$(ip -4 route show table "$t" exact "$1" proto "$proto" type "$type" 2>/dev/null)" ]; }
rule() { ip -4 rule show priority "$p" 2>/dev/null; }
if [ "$mode" = inject ]; then
  # The SSH client address of this session (SSH_CLIENT of an ancestor: sudo resets the environment).
  peer=; q=$$
  while [ -z "$peer" ] && [ "$q" -gt 1 ] 2>/dev/null; do
    peer=$(tr '\\000' '\\n' < /proc/$q/environ 2>/dev/null | sed -n 's/^SSH_CLIENT=\\([0-9.]*\\) .*/\\1/p')
    q=$(sed 's/.*) [A-Za-z] \\([0-9]*\\).*/\\1/' /proc/$q/stat 2>/dev/null)
  done
  echo "peer=\${peer:-unknown}"
  for d in $dests; do
    if [ -n "$peer" ] && covers "$d" "$peer"; then echo "refusing to cut $d: it covers $peer, where this SSH session comes from (the cut would lock the worker out and restore could not run)" >&2; exit 3; fi
  done
  # Routes in the table that runwright did not add (another protocol): the rule would put them in force too.
  n_all=$(ip -4 route show table "$t" 2>/dev/null | wc -l); n_ours=$(ip -4 route show table "$t" proto "$proto" 2>/dev/null | wc -l)
  if [ "$n_all" -ne "$n_ours" ]; then
    foreign=$(ip -4 route show table "$t" | grep -v " proto $proto *$" | grep -v " proto $proto " | sed 's/ *$//' | tr '\\n' ';' | sed 's/;$//; s/;/; /g')
    echo "routing table $t holds $((n_all - n_ours)) route(s) runwright did not add (not protocol $proto): \${foreign:-$(ip -4 route show table "$t" | tr '\\n' ' ')}; the cut's rule would put them in force too: choose another table (and priority), or remove them" >&2; exit 3
  fi
  for d in $dests; do
    if ours "$d"; then echo "kept=$d"; continue; fi
    if [ -n "$(ip -4 route show table "$t" exact "$d")" ]; then echo "table $t already has a route to $d that runwright did not add: $(ip -4 route show table "$t" exact "$d")" >&2; exit 3; fi
    [ "$dry" = 1 ] || ip route add "$type" "$d" table "$t" proto "$proto" || exit 3
    echo "added=$d"
  done
  r=$(rule)
  if [ -z "$r" ]; then
    [ "$dry" = 1 ] || ip rule add priority "$p" table "$t" protocol "$proto" || exit 3
    echo rule=added
  elif echo "$r" | grep -q "lookup $t\\b"; then echo rule=kept
  else echo "rule priority $p is taken by another rule: $r" >&2; exit 3; fi
else
  for d in $dests; do
    if ours "$d"; then
      [ "$dry" = 1 ] || ip route del "$type" "$d" table "$t" proto "$proto" || exit 3
      echo "removed=$d"
    else echo "absent=$d"; fi
  done
  left=$(ip -4 route show table "$t" proto "$proto" 2>/dev/null)
  if [ "$dry" = 1 ]; then left=$(for d in $(ip -4 route show table "$t" proto "$proto" | awk '{print $2}'); do case " $dests " in *" $d "*) ;; *) echo "$d";; esac; done); fi
  r=$(rule)
  if [ -n "$r" ] && echo "$r" | grep -q "lookup $t\\b" && [ -z "$left" ]; then
    # Only a rule with our protocol: the kernel leaves one someone else added.
    if [ "$dry" = 1 ] || ip rule del priority "$p" table "$t" protocol "$proto" 2>/dev/null; then echo rule=removed; else echo rule=kept; fi
  elif [ -n "$r" ]; then echo rule=kept
  else echo rule=absent; fi
fi
`;

async function apply(s: NetworkCutFault, ctx: FaultContext, mode: 'inject' | 'restore') {
  const runs = await runOnHosts(s, ctx, `fault network-cut: ${mode}`, SCRIPT, {
    mode,
    dry: ctx.dryRun ? '1' : '0',
    dests: s.destinations.join(' '),
    table: String(s.table),
    priority: String(s.priority),
    protocol: String(s.protocol),
    type: s.type,
  }, 120);
  const hosts: Record<string, { added: string[]; removed: string[]; unchanged: string[]; rule: string; peer?: string }> = {};
  const diff: string[] = [];
  for (const r of runs) {
    const added = r.out.added ?? [];
    const removed = r.out.removed ?? [];
    const rule = r.out.rule?.[0] ?? 'unknown';
    hosts[r.host] = { added, removed, unchanged: [...(r.out.kept ?? []), ...(r.out.absent ?? [])], rule, ...(r.out.peer ? { peer: r.out.peer[0] } : {}) };
    for (const d of added) diff.push(`${r.host}: + ${s.type} ${d} (table ${s.table})`);
    for (const d of removed) diff.push(`${r.host}: - ${s.type} ${d} (table ${s.table})`);
    if (rule === 'added' || rule === 'removed') diff.push(`${r.host}: ${rule === 'added' ? '+' : '-'} rule priority ${s.priority} lookup ${s.table}`);
  }
  return { changed: diff.length > 0, details: { destinations: s.destinations, type: s.type, table: s.table, hosts, diff } };
}

export default defineFaultKind({
  kind: 'network-cut',
  schema: NetworkCutFault,
  describe: (s) => `${describeHosts(s)} cut from ${s.destinations.join(', ')} (${s.type})`,
  inject: (s, ctx) => apply(s, ctx, 'inject'),
  restore: (s, ctx) => apply(s, ctx, 'restore'),
});
