import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CACHE_DIR_ENV, findTemporalCli, FindTemporalCliOptions, TemporalCliMissingError } from '../lib/temporal-cli';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runwright-cli-test-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Options that see nothing of the host: empty PATH, empty cache, repo without .tools, no build. */
function isolated(env: NodeJS.ProcessEnv = {}, logs: string[] = []): FindTemporalCliOptions {
  return {
    build: false,
    env: { PATH: '', HOME: tmp, [CACHE_DIR_ENV]: path.join(tmp, 'cache'), ...env },
    repoRoot: tmp,
    log: (msg) => logs.push(msg),
  };
}

/** A stand-in CLI that reports the given version. */
function fakeCli(file: string, version: string, mode = 0o755): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\necho "temporal version ${version} (Server 1.29.1, UI 2.42.1)"\n`, { mode });
  return file;
}

describe('findTemporalCli', () => {
  it('rejects TEMPORAL_CLI pointing at a non-executable file', async () => {
    const file = fakeCli(path.join(tmp, 'temporal'), '1.5.1', 0o644);
    const found = findTemporalCli(isolated({ TEMPORAL_CLI: file }));
    await expect(found).rejects.toThrow(TemporalCliMissingError);
    await expect(found).rejects.toThrow(`TEMPORAL_CLI=${file} is not an executable file`);
  });

  it('uses an executable TEMPORAL_CLI as given', async () => {
    const file = fakeCli(path.join(tmp, 'custom', 'temporal'), '1.0.0');
    await expect(findTemporalCli(isolated({ TEMPORAL_CLI: file }))).resolves.toBe(file);
  });

  it('finds temporal on PATH, skipping directories and non-executables', async () => {
    const dirA = path.join(tmp, 'a');
    fs.mkdirSync(path.join(dirA, 'temporal'), { recursive: true });
    fakeCli(path.join(tmp, 'b', 'temporal'), '1.5.1', 0o644);
    const good = fakeCli(path.join(tmp, 'c', 'temporal'), '1.5.1');
    const PATH = [dirA, path.join(tmp, 'b'), path.join(tmp, 'c')].join(path.delimiter);
    await expect(findTemporalCli(isolated({ PATH }))).resolves.toBe(good);
  });

  it('uses the cached build only if it reports the pinned version', async () => {
    const cached = fakeCli(path.join(tmp, 'cache', 'bin', 'temporal'), '1.5.1');
    await expect(findTemporalCli(isolated())).resolves.toBe(cached);

    fakeCli(cached, '0.0.0-DEV');
    const logs: string[] = [];
    await expect(findTemporalCli(isolated({}, logs))).rejects.toThrow(TemporalCliMissingError);
    expect(logs.join('\n')).toContain('reports version 0.0.0-DEV, want 1.5.1');
  });

  it('falls back to <repo>/.tools/bin/temporal', async () => {
    const tool = fakeCli(path.join(tmp, '.tools', 'bin', 'temporal'), '1.5.1');
    await expect(findTemporalCli(isolated())).resolves.toBe(tool);
  });

  it('without a binary and with build disabled, explains how to install it', async () => {
    const found = findTemporalCli(isolated());
    await expect(found).rejects.toThrow(TemporalCliMissingError);
    await expect(found).rejects.toThrow('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
    await expect(found).rejects.toThrow('TEMPORAL_CLI');
  });

  // The real binary is built by scripts/ensure-temporal (.ci/run does this before the tests).
  const realCacheDir = process.env[CACHE_DIR_ENV] || path.join(os.homedir(), '.cache', 'runwright');
  const realBinary = path.join(realCacheDir, 'bin', 'temporal');
  (fs.existsSync(realBinary) ? it : it.skip)('returns the real cached build, which is v1.5.1', async () => {
    const found = await findTemporalCli(isolated({ HOME: os.homedir(), [CACHE_DIR_ENV]: realCacheDir }));
    expect(found).toBe(realBinary);
    expect(execFileSync(found, ['--version'], { encoding: 'utf8' })).toMatch(/^temporal version 1\.5\.1 /);
  });
});
