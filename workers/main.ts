/**
 * Worker process entry (`node dist/workers/main.js`, the Dockerfile's CMD).
 * Connection settings come from the standard Temporal environment (TEMPORAL_ADDRESS, ...);
 * extra action modules from RUNWRIGHT_ACTIONS (comma-separated paths).
 * Runtime handles SIGINT/SIGTERM: the worker stops polling and finishes in-flight tasks.
 */
import { runWorkerProcess } from './run';
import { CodecConfigError } from '../lib/codec';

runWorkerProcess({ actionModules: (process.env.RUNWRIGHT_ACTIONS ?? '').split(',').filter(Boolean) }).catch((err) => {
  console.error(`runwright worker: ${err?.message ?? err}`);
  // A configuration mistake (codec keys) is the operator's to fix (2); anything else: cannot reach Temporal (3).
  process.exit(err instanceof CodecConfigError ? 2 : 3);
});
