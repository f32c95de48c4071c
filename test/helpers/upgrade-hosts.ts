/**
 * SSH test hosts prepared for runbooks/openstack-upgrade.yaml (test/openstack-upgrade.test.ts,
 * the chaos suite): each host knows its name (/etc/rw-name), the OpenStack command-line tools
 * are shims that log every call to /var/log/rw-upgrade.log (and fail when /etc/rw-fail/<tool>
 * exists), and the dummy package rw-hello is at 1.0 (the harness's apt repository has 1.1).
 */
import type { TestHosts } from './testhosts';

export const UPGRADE_TOOLS = ['nova-status', 'placement-status', 'octavia-status', 'mysqldump', 'keystone-manage', 'glance-manage', 'placement-manage', 'nova-manage', 'neutron-db-manage', 'octavia-db-manage', 'systemctl'];

/** Stand-ins for the OpenStack tools: log every call; fail when /etc/rw-fail/<tool> exists. */
export const UPGRADE_SHIM = `#!/bin/sh
name=$(basename "$0")
echo "$(cat /etc/rw-name) $(date +%s%N) $name $*" >> /var/log/rw-upgrade.log
if [ -e "/etc/rw-fail/$name" ]; then echo "$name: injected failure" >&2; exit 1; fi
case "$name" in
  nova-manage)
    if [ "$1 $2" = "db online_data_migrations" ]; then
      n=$(cat /var/lib/rw-odm 2>/dev/null || echo 0); n=$((n+1)); echo $n > /var/lib/rw-odm
      if [ $n -lt 3 ]; then echo "migrated batch $n, more to do"; exit 1; fi
      echo "nothing left to migrate"
    fi ;;
  nova-status|placement-status|octavia-status) echo "Upgrade Check Results: Success" ;;
  mysqldump) echo "-- dump of every database (stand-in)" ;;
  systemctl) if [ "$1" = is-active ]; then shift; for s in "$@"; do echo active; done; fi ;;
esac
exit 0
`;

/** Install the shims on every host (host i is called names[i]) and put rw-hello at 1.0; empty log. */
export function prepareUpgradeHosts(th: TestHosts, names: string[]): void {
  th.hosts.forEach((h, i) => {
    th.sh(
      h.name,
      `set -e; echo ${names[i]} > /etc/rw-name; mkdir -p /etc/rw-fail /var/lib /etc/nova; : > /var/log/rw-upgrade.log; rm -f /var/lib/rw-odm
cat > /usr/local/bin/rw-shim; chmod 755 /usr/local/bin/rw-shim
for t in ${UPGRADE_TOOLS.join(' ')}; do ln -sf rw-shim /usr/local/bin/$t; done
apt-get install -y -q --allow-downgrades rw-hello=1.0 >/dev/null 2>&1`,
      UPGRADE_SHIM,
    );
  });
}

/** Inventory with group `controllers` (the first host) and `computes` (the rest), named as `names`. */
export function upgradeInventory(th: TestHosts, names: string[], file = 'openstack.ini'): string {
  return th.writeInventory(
    file,
    `[controllers]\n${names[0]} ansible_host=${th.hosts[0].address}\n\n[computes]\n${names
      .slice(1)
      .map((n, i) => `${n} ansible_host=${th.hosts[i + 1].address}`)
      .join('\n')}\n\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=${th.key}\n`,
  );
}
