/**
 * `npm run console`: the web console on http://127.0.0.1:8080 (local mode: it acts as you) with
 * the embedded Temporal server, an in-process worker and the OpenStack stand-in, so the shipped
 * runbooks (demo-cloud on cluster-a, …) can be started from the catalog. Extra arguments go to
 * `runwright console` (e.g. `npm run console -- --port 9000`). Ctrl-C stops everything.
 */
import { ROOT, runwright, withStandIn } from './demo-common';
import { join } from 'node:path';

withStandIn((sim) => runwright(['console', '--runbooks', join(ROOT, 'runbooks'), ...process.argv.slice(2)], { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloudsFile }));
