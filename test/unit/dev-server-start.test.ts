/**
 * A dev server that dies while starting is started again, and the error that ends the attempts
 * carries the server's own last words (CI once saw only "exited with code 2").
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../../lib/dev-server';
import { findTemporalCli } from '../../lib/temporal-cli';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rw-devstart-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the Temporal CLI that counts its starts and fails as told. */
function fakeCli(body: string): string {
  const path = join(dir, 'temporal');
  writeFileSync(path, `#!/bin/sh\necho x >> "${dir}/starts"\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
const starts = () => readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n').length;

test('a start that dies early is tried three times, and the error quotes its stderr', async () => {
  const cli = fakeCli('echo "panic: listen tcp 127.0.0.1:40001: bind: address already in use" >&2\nexit 2');
  await expect(startDevServer({ cli, startTimeoutMs: 10_000 })).rejects.toThrow(
    /exited with code 2: panic: listen tcp 127\.0\.0\.1:40001: bind: address already in use/,
  );
  expect(starts()).toBe(3);
});

test('a start that dies early once and then comes up is a server, not an error', async () => {
  const real = await findTemporalCli({ log: () => undefined });
  const cli = fakeCli(`[ "$(wc -l < "${dir}/starts")" -ge 2 ] && exec "${real}" "$@"\nexit 2`);
  const server = await startDevServer({ cli, headless: true });
  try {
    expect(starts()).toBe(2);
    const conn = await Connection.connect({ address: server.address });
    await conn.close();
  } finally {
    await server.stop();
  }
}, 90_000);

test('with a log file the error points at it instead', async () => {
  const cli = fakeCli('echo boom >&2\nexit 2');
  const logFile = join(dir, 'server.log');
  await expect(startDevServer({ cli, logFile, startTimeoutMs: 10_000 })).rejects.toThrow(`(see ${logFile})`);
  expect(readFileSync(logFile, 'utf8')).toContain('boom');
});
