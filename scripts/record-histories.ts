/**
 * Record event histories of the shipped runbooks (and the construct fixtures) for the replay
 * test: `npx tsx scripts/record-histories.ts`. Re-record only on purpose: a change that breaks
 * replay of the committed histories is a change that breaks runs in flight.
 */
import { readdirSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { buildRegistry } from '../activities/registry';
import { resolveParams } from '../dsl/params';
import { loadRunbookFile } from '../client/runbooks';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { createWorker } from '../workers/worker';
import { writeRecordedHistory } from '../test/helpers/record-history';
import { dataConverter } from '../lib/codec';
import { INTERPRETER_WORKFLOW, decideUpdate, statusQuery } from '../workflows/definitions';

const root = resolve(__dirname, '..');
const OUT = join(root, 'test/histories');

async function main(): Promise<void> {
  process.env.RUNWRIGHT_RUNBOOK_PATH = join(root, 'runbooks');
  const cli = await findTemporalCli();
  const server = await startDevServer({ cli, headless: true });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const registry = buildRegistry();
  // Recorded histories are committed test data: plaintext whatever codec keys the shell has.
  const worker = await createWorker({ connection: native, taskQueue: 'record', registry, dataConverter: dataConverter({ keys: [], source: 'recorded histories are plaintext' }) });
  const running = worker.run();
  mkdirSync(OUT, { recursive: true });
  try {
    const files = [
      ...readdirSync(join(root, 'runbooks')).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'runbooks', f)),
      ...readdirSync(join(root, 'test/fixtures/replay')).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'test/fixtures/replay', f)),
    ];
    for (const file of files) {
      const { loaded, diagnostics } = loadRunbookFile(file, registry);
      if (!loaded) throw new Error(`${file}: ${diagnostics.map((d) => d.message).join('; ')}`);
      const { values, errors } = resolveParams(loaded.runbook, {});
      if (errors.length) {
        console.log(`skip ${file}: needs params (${errors.map((e) => e.param).join(', ')})`);
        continue;
      }
      const id = `replay-${basename(file, '.yaml')}`;
      const h = await client.workflow.start(INTERPRETER_WORKFLOW, { taskQueue: 'record', workflowId: id, args: [{ runbook: loaded.runbook, params: values, children: loaded.children, startedBy: 'recorder' }] });
      const done = h.result().then(() => 'succeeded', () => 'failed');
      let state: string | undefined;
      while (!(state = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))]))) {
        const st = await h.query(statusQuery).catch(() => undefined);
        for (const p of st?.pendingApprovals ?? [])
          await h.executeUpdate(decideUpdate, { args: [{ decision: 'approve', user: 'recorder-approver', step: p.step, reason: 'recording', source: 'cli' }] }).catch(() => undefined);
      }
      writeRecordedHistory(cli, server.address, id, join(OUT, `${basename(file, '.yaml')}.json`));
      console.log(`recorded ${id}: ${state}`);
    }
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await connection.close();
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
