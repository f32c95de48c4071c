/**
 * `npm run demo:drill`: a DR drill end to end on the embedded default — the OpenStack stand-in
 * (three clouds as the Active-Active clusters) and a local Temporal dev server with an
 * in-process worker. Injects a cloud outage into cluster-b, lets the failover runbook move the
 * global pool's traffic, restores, fails back, then prints the report (`runwright drill report`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, runwright, withStandIn } from './demo-common';
import { prepareStandInDrill } from './drill-stand-in';

withStandIn(async (sim) => {
  process.env.OS_CLIENT_CONFIG_FILE = sim.cloudsFile;
  const params = await prepareStandInDrill(sim.url);
  const file = join(ROOT, '.runwright', 'dr-drill.stand-in.yaml');
  mkdirSync(join(ROOT, '.runwright'), { recursive: true });
  writeFileSync(file, stringify(params));
  const id = `dr-drill-demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
  const env = { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloudsFile, RUNWRIGHT_REPORTS_DIR: process.env.RUNWRIGHT_REPORTS_DIR || join(ROOT, '.runwright', 'reports') };
  const code = await runwright(['run', join(ROOT, 'runbooks', 'dr-drill.yaml'), '--params', file, '--id', id, ...process.argv.slice(2)], env);
  if (code === 0 || code === 1) await runwright(['drill', 'report', id], env);
  return code;
});
