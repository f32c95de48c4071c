import type { DevServer } from '../../lib/dev-server';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __runwrightServer?: DevServer }).__runwrightServer?.stop();
}
