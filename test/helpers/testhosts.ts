/**
 * Real SSH test hosts for jest (scripts/testhosts): sshd in its own network, mount, UTS and PID
 * namespaces on an overlay of a cached Debian rootfs. Call `startTestHosts` in beforeAll and
 * `hosts.down()` in afterAll; a crashed run's leftovers are removed by the next `up` of the
 * same set (or `scripts/testhosts cleanup`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'testhosts');

export interface TestHost {
  name: string;
  address: string;
  netns: string;
  pid: number;
}

export interface TestHosts {
  set: number;
  dir: string;
  gateway: string;
  hosts: TestHost[];
  /** Inventory the harness wrote: group `testhosts`, root with the harness key. */
  inventory: string;
  knownHosts: string;
  key: string;
  /** Run a shell command inside a host (not over SSH), for assertions. */
  sh(host: string, script: string, input?: string): string;
  /** Kill a host: its sshd and every process in its namespaces die at once. */
  stop(host: string): void;
  /** Write an inventory file into the harness folder; returns its path. */
  writeInventory(name: string, text: string): string;
  down(): void;
}

export function startTestHosts(set: number, count: number): TestHosts {
  if (process.getuid?.() !== 0) throw new Error('the host tests need root (network namespaces, mounts); run them as root, as CI does');
  const dir = `/tmp/runwright-testhosts/${set}`;
  const run = (args: string[], input?: string) => execFileSync(SCRIPT, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: 600_000 });
  try {
    run(['up', '--set', String(set), '--hosts', String(count), '--dir', dir]);
  } catch (e: any) {
    throw new Error(`scripts/testhosts up failed: ${e.stderr || e.message}`);
  }
  const meta = JSON.parse(readFileSync(join(dir, 'hosts.json'), 'utf8')) as { gateway: string; hosts: TestHost[] };
  let isDown = false;
  return {
    set,
    dir,
    gateway: meta.gateway,
    hosts: meta.hosts,
    inventory: join(dir, 'inventory.ini'),
    knownHosts: join(dir, 'known_hosts'),
    key: join(dir, 'id_ed25519'),
    sh: (host, script, input) => {
      try {
        return run(['exec', '--set', String(set), '--host', host, '--', '/bin/sh', '-c', script], input);
      } catch (e: any) {
        throw new Error(`in ${host}: ${script}: ${e.stderr || e.message}`);
      }
    },
    stop: (host) => void run(['stop-host', '--set', String(set), '--host', host]),
    writeInventory: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    down: () => {
      if (isDown) return;
      isDown = true;
      run(['down', '--set', String(set), '--dir', dir]);
    },
  };
}
