/** Start the production-shaped stack unless it is already up; remember that we started it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { prodstack, stackRuns, STARTED_MARK, STATE_DIR } from './helpers';

export default async function globalSetup(): Promise<void> {
  if (stackRuns()) return;
  try {
    prodstack(['up']);
  } catch (e) {
    // Jest runs no global teardown when setup fails: stop what a failed `up` started here.
    try {
      prodstack(['down'], 120_000);
    } catch {}
    const err = e as { stderr?: string; message: string };
    throw new Error(`scripts/prodstack up failed: ${err.stderr?.slice(-4000) || err.message}`);
  }
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(STARTED_MARK, `${process.pid}\n`);
}
