/**
 * `runwright sim openstack`: the local OpenStack stand-in (sim/openstack) as a process, and the
 * same stand-in started alongside `runwright dev` (and by `npm run demo`): state in the data
 * folder (.runwright/openstack-sim.json, so a demo can be resumed) and a matching clouds.yaml
 * that the in-process worker finds through OS_CLIENT_CONFIG_FILE.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { dataDir } from '../lib/connect';
import { DEFAULT_LATENCIES, type CloudSpec, type Latencies } from '../sim/openstack/model';
import { startOpenStackSim, type OpenStackSim } from '../sim/openstack/server';
import { err, out } from './common';
import { CliError, EXIT } from './session';

export const DEFAULT_SIM_PORT = 8780;

export interface DevOpenStack {
  url: string;
  cloudsFile: string;
  /** Whether this process started it (else one was already running on the port). */
  started: boolean;
  close(): Promise<void>;
}

const healthy = async (url: string) => {
  try {
    const r = await fetch(`${url}/_sim/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
};

/**
 * Start the stand-in for `runwright dev` / `npm run demo`, or reuse one already listening on the
 * port; write its clouds.yaml and point OS_CLIENT_CONFIG_FILE at it unless that is set already.
 */
export async function startDevOpenStack(log: (m: string) => void, opts: { port?: number; cloudsFile?: string; stateFile?: string } = {}): Promise<DevOpenStack | undefined> {
  const port = opts.port ?? Number(process.env.RUNWRIGHT_OPENSTACK_SIM_PORT ?? DEFAULT_SIM_PORT);
  const cloudsFile = opts.cloudsFile ?? join(dataDir(), 'clouds.yaml');
  const stateFile = opts.stateFile ?? join(dataDir(), 'openstack-sim.json');
  let sim: OpenStackSim | undefined;
  let url = `http://127.0.0.1:${port}`;
  try {
    sim = await startOpenStackSim({ port, stateFile });
    sim.writeCloudsYaml(cloudsFile);
    url = sim.url;
    // However this process ends, the last changes reach the state file.
    const s = sim;
    process.once('exit', () => s.save());
  } catch (e: any) {
    if (e?.code !== 'EADDRINUSE') throw e;
    if (!(await healthy(url))) {
      log(`runwright: port ${port} is taken by something else; the OpenStack stand-in is not started (set RUNWRIGHT_OPENSTACK_SIM_PORT)`);
      return undefined;
    }
    const r = await fetch(`${url}/_sim/clouds.yaml`);
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    mkdirSync(dirname(cloudsFile), { recursive: true });
    writeFileSync(cloudsFile, await r.text(), { mode: 0o600 });
  }
  if (!process.env.OS_CLIENT_CONFIG_FILE) process.env.OS_CLIENT_CONFIG_FILE = cloudsFile;
  else if (process.env.OS_CLIENT_CONFIG_FILE !== cloudsFile) log(`runwright: OS_CLIENT_CONFIG_FILE is set (${process.env.OS_CLIENT_CONFIG_FILE}); the stand-in's clouds are in ${cloudsFile}`);
  log(`runwright: OpenStack stand-in ${sim ? 'at' : 'already running at'} ${url} (clouds cluster-a, cluster-b, cluster-c in ${cloudsFile})`);
  return { url, cloudsFile, started: !!sim, close: async () => sim?.close() };
}

function parseLatency(v: string, prev: Partial<Latencies>): Partial<Latencies> {
  const m = /^([A-Za-z]+)=(\d+)$/.exec(v);
  if (!m || !(m[1] in DEFAULT_LATENCIES)) throw new CliError(`--latency ${v}: expected NAME=MS with NAME one of ${Object.keys(DEFAULT_LATENCIES).join(', ')}`, EXIT.usage);
  return { ...prev, [m[1]]: Number(m[2]) };
}

export function registerSimCommands(program: Command): void {
  const sim = program.command('sim').description('local stand-ins for external systems (for dev, demos and tests)');
  sim
    .command('openstack')
    .option('--port <n>', `port (0 picks a free one)`, String(process.env.RUNWRIGHT_OPENSTACK_SIM_PORT ?? DEFAULT_SIM_PORT))
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--clouds-yaml <file>', 'write the matching clouds.yaml here (default: <data folder>/clouds.yaml)')
    .option('--secure-yaml <file>', 'write the passwords into this secure.yaml instead of clouds.yaml')
    .option('--state <file>', 'state file, loaded at start and kept up to date (default: <data folder>/openstack-sim.json)')
    .option('--reset', 'start from fresh state (new passwords, no servers)')
    .option('--clouds <names>', 'comma-separated cloud names (default cluster-a,cluster-b,cluster-c; cluster-c has RegionOne and RegionTwo)')
    .option('--latency <name=ms>', `state transition times, e.g. serverBuild=2000 (${Object.keys(DEFAULT_LATENCIES).join(', ')})`, parseLatency, {})
    .option('--token-ttl <seconds>', 'Keystone token lifetime', '3600')
    .option('--user <name>', 'whom clouds.yaml authenticates as: admin or demo', 'admin')
    .description('run the local OpenStack stand-in (Keystone, Nova, Neutron, Glance, Octavia; several clouds) until Ctrl-C')
    .action(async (o) => {
      const clouds: CloudSpec[] | undefined = o.clouds
        ? String(o.clouds)
            .split(',')
            .filter(Boolean)
            .map((name: string, i: number, all: string[]) => ({ name, regions: i === all.length - 1 && all.length > 2 ? ['RegionOne', 'RegionTwo'] : ['RegionOne'] }))
        : undefined;
      if (!['admin', 'demo'].includes(o.user)) throw new CliError('--user must be admin or demo', EXIT.usage);
      const cloudsFile = o.cloudsYaml ?? join(dataDir(), 'clouds.yaml');
      let s: OpenStackSim;
      try {
        s = await startOpenStackSim({
          port: Number(o.port),
          host: o.host,
          stateFile: o.state ?? join(dataDir(), 'openstack-sim.json'),
          reset: !!o.reset,
          clouds,
          latency: o.latency,
          tokenTtlSeconds: Number(o.tokenTtl),
          log: err,
        });
      } catch (e: any) {
        if (e?.code === 'EADDRINUSE') throw new CliError(`port ${o.port} is in use (another stand-in? check ${`http://127.0.0.1:${o.port}/_sim/health`}); use --port`, EXIT.usage);
        throw e;
      }
      s.writeCloudsYaml(cloudsFile, { user: o.user, secureFile: o.secureYaml });
      out(`OpenStack stand-in at ${s.url}`);
      out(`clouds.yaml: ${cloudsFile}${o.secureYaml ? ` (passwords in ${o.secureYaml})` : ''}`);
      out(`  export OS_CLIENT_CONFIG_FILE=${cloudsFile}${o.secureYaml ? ` OS_CLIENT_SECURE_FILE=${o.secureYaml}` : ''}`);
      out(`  openstack --os-cloud ${Object.keys(s.world.clouds)[0]} server list`);
      out(`faults, latency, counters: ${s.url}/_sim/{faults,config,counters,state} (see sim/openstack/README.md)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await s.close();
    });

  // `runwright dev` starts the stand-in too (skip with --no-openstack), before its worker starts.
  const dev = program.commands.find((c) => c.name() === 'dev');
  if (dev) {
    let running: DevOpenStack | undefined;
    dev.option('--no-openstack', 'do not start the local OpenStack stand-in');
    dev.hook('preAction', async (cmd) => {
      if (cmd.opts().openstack !== false) running = await startDevOpenStack(err);
    });
    dev.hook('postAction', async () => {
      await running?.close();
    });
  }
}
