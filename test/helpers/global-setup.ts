/**
 * One real Temporal dev server for the whole jest run (tests that need their own server, such
 * as the restart test, start one more). Its address reaches the test files through env.
 */
import { findTemporalCli } from '../../lib/temporal-cli';
import { startDevServer, type DevServer } from '../../lib/dev-server';

export default async function globalSetup(): Promise<void> {
  const cli = await findTemporalCli({ log: (m) => console.log(m) });
  const server = await startDevServer({ cli, headless: true });
  process.env.RUNWRIGHT_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.RUNWRIGHT_TEST_TEMPORAL_CLI = cli;
  (globalThis as { __runwrightServer?: DevServer }).__runwrightServer = server;
}
