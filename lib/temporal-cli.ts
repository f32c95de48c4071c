/**
 * Locates (and if needed builds) the Temporal CLI binary, which Runwright uses for
 * `temporal server start-dev` in tests and local development.
 *
 * Search order: $TEMPORAL_CLI, `temporal` on PATH, the Runwright cache
 * ($RUNWRIGHT_CACHE_DIR or ~/.cache/runwright, file bin/temporal), <repo>/.tools/bin/temporal.
 * If nothing is found and Go is available, the pinned version is built into the cache.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENV } from './config';

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_INSTALL_COMMAND = `go install ${TEMPORAL_CLI_MODULE}@v${TEMPORAL_CLI_VERSION}`;
/** Overrides the cache root (default ~/.cache/runwright); the binary lives in <root>/bin/temporal. */
export const CACHE_DIR_ENV = 'RUNWRIGHT_CACHE_DIR';

// Release builds stamp the version via this ldflag; a plain `go install` reports 0.0.0-DEV,
// which would make the cached binary's version unverifiable.
const VERSION_LDFLAG = `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;
const FALLBACK_GO = '/usr/local/go/bin/go';
// A cold build downloads ~200 modules and compiles the server; leave generous room.
const LOCK_WAIT_MS = 30 * 60_000;

export class TemporalCliMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalCliMissingError';
  }
}

export interface FindTemporalCliOptions {
  /** Build the pinned version with Go when no binary is found (default true). */
  build?: boolean;
  /** Progress messages (default: stderr). */
  log?: (msg: string) => void;
  /** Environment to read TEMPORAL_CLI, PATH, HOME and the cache dir from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Repository whose .tools/bin is searched (default: the repo containing this module). */
  repoRoot?: string;
}

export async function findTemporalCli(opts: FindTemporalCliOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  // Default to stderr: a first-time build runs for minutes and should not look like a hang.
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));

  const explicit = env[ENV.temporalCli];
  if (explicit) {
    const resolved = path.resolve(explicit);
    // An explicit override that is wrong is an error; silently using another binary would hide it.
    if (!isExecutableFile(resolved)) {
      throw new TemporalCliMissingError(
        `${ENV.temporalCli}=${explicit} is not an executable file. Fix or unset ${ENV.temporalCli}.`,
      );
    }
    return resolved;
  }

  const onPath = whichSync('temporal', env);
  if (onPath) return onPath;

  const cacheDir = cacheRoot(env);
  const cached = path.join(cacheDir, 'bin', 'temporal');
  if (isCurrentCachedBuild(cached, log)) return cached;

  const repoTool = path.join(opts.repoRoot ?? repoRoot(), '.tools', 'bin', 'temporal');
  if (isExecutableFile(repoTool)) return repoTool;

  const go = whichSync('go', env) ?? (isExecutableFile(FALLBACK_GO) ? FALLBACK_GO : undefined);
  if (opts.build === false || !go) {
    const why = opts.build === false ? 'Automatic build is disabled.' : 'Go was not found, so it cannot be built automatically.';
    throw new TemporalCliMissingError(
      [
        `Temporal CLI not found (looked at $${ENV.temporalCli}, PATH, ${cached}, ${repoTool}). ${why}`,
        `Install it with Go >= 1.25:`,
        `  ${TEMPORAL_CLI_INSTALL_COMMAND}`,
        `then add "$(go env GOPATH)/bin" to PATH, or set ${ENV.temporalCli}=/path/to/temporal.`,
      ].join('\n'),
    );
  }

  fs.mkdirSync(cacheDir, { recursive: true });
  return withLock(path.join(cacheDir, 'temporal-build.lock'), log, async () => {
    // Another process may have finished the build while we waited for the lock.
    if (isCurrentCachedBuild(cached, () => {})) return cached;
    return buildIntoCache(go, cacheDir, cached, env, log);
  });
}

/** Returns the version a Temporal CLI binary reports, or undefined if it does not run. */
export function temporalCliVersion(bin: string): string | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return /temporal version (\S+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

function isCurrentCachedBuild(bin: string, log: (msg: string) => void): boolean {
  if (!isExecutableFile(bin)) return false;
  // The cache is ours, so insist on the pinned version; anything else gets rebuilt.
  const version = temporalCliVersion(bin);
  if (version === TEMPORAL_CLI_VERSION) return true;
  log(`Ignoring cached Temporal CLI ${bin}: reports version ${version ?? '(failed to run)'}, want ${TEMPORAL_CLI_VERSION}.`);
  return false;
}

async function buildIntoCache(
  go: string,
  cacheDir: string,
  target: string,
  env: NodeJS.ProcessEnv,
  log: (msg: string) => void,
): Promise<string> {
  // Build into a private GOBIN and rename into place, so readers never see a partial binary
  // and a failed build never replaces a working one.
  const tmpBin = fs.mkdtempSync(path.join(cacheDir, 'build-'));
  try {
    log(`Building Temporal CLI v${TEMPORAL_CLI_VERSION} with ${go} into ${target} (takes a few minutes the first time)...`);
    const started = Date.now();
    await run(go, ['install', '-ldflags', VERSION_LDFLAG, `${TEMPORAL_CLI_MODULE}@v${TEMPORAL_CLI_VERSION}`], {
      ...env,
      GOBIN: tmpBin,
    });
    const built = path.join(tmpBin, 'temporal');
    const version = temporalCliVersion(built);
    if (version !== TEMPORAL_CLI_VERSION) {
      throw new Error(`Built ${built}, but \`temporal --version\` reported ${version ?? 'nothing (it failed to run)'}.`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(built, target);
    log(`Built Temporal CLI in ${Math.round((Date.now() - started) / 1000)}s: ${target}`);
    return target;
  } finally {
    fs.rmSync(tmpBin, { recursive: true, force: true });
  }
}

/** Runs a command to completion; on failure the error carries the tail of its output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trimEnd()}`));
    });
  });
}

/**
 * mkdir-based lock: mkdir is atomic, so exactly one process creates the directory.
 * Builds rename their result into place atomically, so even if two processes ever
 * raced past the lock (e.g. stale-lock cleanup), the cache would stay consistent.
 */
async function withLock<T>(lockDir: string, log: (msg: string) => void, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isStaleLock(lockDir)) {
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for lock ${lockDir}; remove it if no build is running.`);
    if (!announced) {
      log(`Waiting for another process to finish building the Temporal CLI (lock ${lockDir})...`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function isStaleLock(lockDir: string): boolean {
  let pid = NaN;
  try {
    pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
  } catch {
    // No pid file yet: handled below.
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // The owner writes its pid right after mkdir; only treat a pid-less lock as stale once it is old.
    try {
      return Date.now() - fs.statSync(lockDir).mtimeMs > 60_000;
    } catch {
      return false; // Lock vanished meanwhile; the next mkdir attempt decides.
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Runwright's cache root: $RUNWRIGHT_CACHE_DIR or ~/.cache/runwright. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env[CACHE_DIR_ENV] || path.join(env.HOME || os.homedir(), '.cache', 'runwright'));
}

/** The nearest directory above this module holding a package.json (works from lib/ and dist/lib/). */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function whichSync(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    // An empty PATH entry means the current directory; skip it rather than pick up stray files.
    if (!dir) continue;
    const candidate = path.resolve(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
