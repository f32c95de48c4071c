/** Stop the stack if global-setup.ts started it (a stack that was up before stays up). */
import { existsSync, rmSync } from 'node:fs';
import { prodstack, STARTED_MARK } from './helpers';

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STARTED_MARK)) return;
  prodstack(['down'], 120_000);
  rmSync(STARTED_MARK, { force: true });
}
