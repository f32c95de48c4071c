/**
 * `npm run demo`: start the local OpenStack stand-in (state and clouds.yaml in the data folder,
 * .runwright/, so a second demo resumes on the same clouds), then run the demo runbook on its
 * cluster-a with the CLI: a load balancer with three servers behind it, end to end on the
 * embedded Temporal server. Extra arguments go to `runwright run` (e.g. `npm run demo -- --set count=5`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { OpenStackClient } from '../activities/openstack/client';
import { startDevOpenStack } from '../cli/sim';

/** What the demo built, straight from the stand-in's APIs. */
async function summary(cloudsFile: string): Promise<void> {
  process.env.OS_CLIENT_CONFIG_FILE = cloudsFile;
  const c = new OpenStackClient('cluster-a');
  const lb = (await c.list('load-balancer', '/lbaas/loadbalancers', 'loadbalancers', { query: { name: 'demo-lb' } }))[0];
  const pool = (await c.list('load-balancer', '/lbaas/pools', 'pools', { query: { name: 'demo-pool' } }))[0];
  if (!lb || !pool) return;
  const members = await c.list('load-balancer', `/lbaas/pools/${pool.id}/members`, 'members');
  process.stdout.write(`\ndemo-lb ${lb.vip_address}:80 ${lb.operating_status} on the OpenStack stand-in (cluster-a):\n`);
  for (const m of members) process.stdout.write(`  ${m.name.padEnd(12)} ${m.address.padEnd(12)} ${m.operating_status}\n`);
  process.stdout.write(`Look around: OS_CLIENT_CONFIG_FILE=${cloudsFile} openstack --os-cloud cluster-a server list\n`);
}

async function main(): Promise<number> {
  const root = join(__dirname, '..');
  const log = (m: string) => process.stderr.write(`${m}\n`);
  // The usual port first (a stand-in started by `runwright dev` is reused); any free port if it is taken.
  const sim = (await startDevOpenStack(log)) ?? (await startDevOpenStack(log, { port: 0 }));
  if (!sim) return 3;
  try {
    // The CLI runs in a child process; this one keeps serving the stand-in meanwhile.
    const args = ['run', join(root, 'runbooks', 'demo-cloud.yaml'), '--set', 'cloud=cluster-a', ...process.argv.slice(2)];
    const child = spawn(process.execPath, [join(root, 'bin', 'runwright'), ...args], { stdio: 'inherit', env: { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloudsFile } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 130 : 1))));
    if (code === 0) await summary(sim.cloudsFile).catch(() => undefined);
    return code;
  } finally {
    await sim.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(70);
  },
);
