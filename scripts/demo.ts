/**
 * `npm run demo`: start the local OpenStack stand-in (state and clouds.yaml in the data folder,
 * .runwright/, so a second demo resumes on the same clouds), then run the demo runbook on its
 * cluster-a with the CLI: a load balancer with three servers behind it, end to end on the
 * embedded Temporal server. Extra arguments go to `runwright run` (e.g. `npm run demo -- --set count=5`).
 */
import { join } from 'node:path';
import { OpenStackClient } from '../activities/openstack/client';
import { ROOT, runwright, withStandIn } from './demo-common';

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

withStandIn(async (sim) => {
  const args = ['run', join(ROOT, 'runbooks', 'demo-cloud.yaml'), '--set', 'cloud=cluster-a', ...process.argv.slice(2)];
  const code = await runwright(args, { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloudsFile });
  if (code === 0) await summary(sim.cloudsFile).catch(() => undefined);
  return code;
});
