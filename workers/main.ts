/**
 * Worker process entry (`node dist/workers/main.js`, the Dockerfile's CMD).
 * Connection settings come from the standard Temporal environment (TEMPORAL_ADDRESS, ...);
 * extra action modules from RUNWRIGHT_ACTIONS (comma-separated paths).
 * Runtime handles SIGINT/SIGTERM: the worker stops polling and finishes in-flight tasks.
 */
import { runWorkerProcess } from '../lib/run-worker';

runWorkerProcess({ actionModules: (process.env.RUNWRIGHT_ACTIONS ?? '').split(',').filter(Boolean) }).catch((err) => {
  console.error(`runwright worker: ${err?.message ?? err}`);
  process.exit(3);
});
