/**
 * Install the worker runtime with a logger that keeps every line (INFO and up), so a test can
 * scan what the worker logged. Import this before ./temporal (which installs a quieter one).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

export const workerLog: string[] = [];

if (!(globalThis as { __rwRuntime?: boolean }).__rwRuntime) {
  Runtime.install({
    logger: new DefaultLogger('INFO', (e) => {
      workerLog.push(`${e.level} ${e.message} ${JSON.stringify(e.meta ?? {}, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Error ? `${v.message}\n${v.stack}` : v))}`);
    }),
  });
  (globalThis as { __rwRuntime?: boolean }).__rwRuntime = true;
}
