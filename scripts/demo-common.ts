/** What `npm run demo` and `npm run demo:drill` share: the stand-in around a run of the real CLI. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startDevOpenStack, type DevOpenStack } from '../cli/sim';

export const ROOT = join(__dirname, '..');

/** `bin/runwright ARGS` in a child process (this one keeps serving the stand-in); Ctrl-C reaches it. */
export function runwright(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'runwright'), ...args], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise<number>((resolve) =>
    child.on('exit', (c, signal) => {
      process.removeListener('SIGINT', forward);
      process.removeListener('SIGTERM', forward);
      resolve(c ?? (signal ? 130 : 1));
    }),
  );
}

/** Run `body` with the OpenStack stand-in up, then exit with its code (3: no stand-in, 70: a crash). */
export function withStandIn(body: (sim: DevOpenStack) => Promise<number>): void {
  const main = async () => {
    const log = (m: string) => process.stderr.write(`${m}\n`);
    // The usual port first (a stand-in started by `runwright dev` is reused); any free port if it is taken.
    const sim = (await startDevOpenStack(log)) ?? (await startDevOpenStack(log, { port: 0 }));
    if (!sim) return 3;
    try {
      return await body(sim);
    } finally {
      await sim.close();
    }
  };
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(70);
    },
  );
}
