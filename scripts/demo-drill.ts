/**
 * `npm run demo:drill`: a DR drill end to end on the embedded default — the OpenStack stand-in
 * (three clouds as the Active-Active clusters) and a local Temporal dev server with an
 * in-process worker. Injects a cloud outage into cluster-b, lets the failover runbook move the
 * global pool's traffic, restores, fails back, then prints the report (`runwright drill report`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startDevOpenStack } from '../cli/sim';
import { prepareStandInDrill } from './drill-stand-in';

const root = join(__dirname, '..');

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, [join(root, 'bin', 'runwright'), ...args], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise<number>((resolve) => child.on('exit', (c, signal) => {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
    resolve(c ?? (signal ? 130 : 1));
  }));
}

async function main(): Promise<number> {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const sim = (await startDevOpenStack(log)) ?? (await startDevOpenStack(log, { port: 0 }));
  if (!sim) return 3;
  try {
    process.env.OS_CLIENT_CONFIG_FILE = sim.cloudsFile;
    const params = await prepareStandInDrill(sim.url);
    const file = join(root, '.runwright', 'dr-drill.stand-in.yaml');
    mkdirSync(join(root, '.runwright'), { recursive: true });
    writeFileSync(file, stringify(params));
    const id = `dr-drill-demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
    const env = { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloudsFile, RUNWRIGHT_REPORTS_DIR: process.env.RUNWRIGHT_REPORTS_DIR || join(root, '.runwright', 'reports') };
    const code = await cli(['run', join(root, 'runbooks', 'dr-drill.yaml'), '--params', file, '--id', id, ...process.argv.slice(2)], env);
    if (code === 0 || code === 1) await cli(['drill', 'report', id], env);
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
