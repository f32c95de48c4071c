/**
 * Prints the absolute path of the Temporal CLI, building it into the cache if needed.
 * Progress goes to stderr so callers can capture stdout: TEMPORAL_CLI="$(scripts/ensure-temporal)".
 * Usage: ensure-temporal [--no-build]
 */
import { findTemporalCli } from '../lib/temporal-cli';

const build = !process.argv.slice(2).includes('--no-build');

findTemporalCli({ build, log: (msg) => process.stderr.write(`ensure-temporal: ${msg}\n`) }).then(
  (bin) => process.stdout.write(`${bin}\n`),
  (err: Error) => {
    process.stderr.write(`ensure-temporal: ${err.message}\n`);
    process.exitCode = 1;
  },
);
