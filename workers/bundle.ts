/**
 * The workflow bundle, built once per source version and cached on disk.
 *
 * Bundling runs webpack; in the worker's own process that keeps about 120 MiB it never gives back
 * and takes 5-10 s at every start. So the bundle is built in a child process and stored under
 * <cache>/workflow-bundles/<key>.js, the key a hash of everything it can contain: the SDK version,
 * the lockfile, and every source file of the layers workflow code may import (workflows/, dsl/,
 * lib/), plus the failure converter. A worker started on an unchanged tree reads the file.
 *
 * The inline source map keeps its mappings (workflow stack traces point at the .ts lines) but not
 * `sourcesContent`, a second copy of every source the worker would hold in memory for a view the
 * worker does not serve (`showStackTraceSources` is off).
 *
 * RUNWRIGHT_WORKFLOW_BUNDLE_CACHE=0 bundles every time (still in a child process).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from '../lib/temporal-cli';

export interface BundleOptions {
  /** Module exporting the workflows (default: this repository's workflows/). */
  workflowsPath?: string;
  /** Failure converter module (lib/codec.ts, when history is sealed). */
  failureConverterPath?: string;
  /** Workflow interceptor modules (workflow metrics; tracing when on). */
  workflowInterceptorModules?: string[];
}

const SOURCE_LAYERS = ['workflows', 'dsl', 'lib'];
const inProcess = new Map<string, Promise<{ code: string }>>();

export function workflowBundle(opts: BundleOptions = {}): Promise<{ code: string }> {
  const workflowsPath = opts.workflowsPath ?? require.resolve('../workflows');
  const interceptors = opts.workflowInterceptorModules ?? [];
  const key = JSON.stringify([workflowsPath, opts.failureConverterPath ?? '', interceptors]);
  let b = inProcess.get(key);
  if (!b) {
    b = cachedBundle(workflowsPath, opts.failureConverterPath, interceptors);
    inProcess.set(key, b);
    b.catch(() => inProcess.delete(key));
  }
  return b;
}

async function cachedBundle(workflowsPath: string, failureConverterPath: string | undefined, interceptors: string[]): Promise<{ code: string }> {
  const useCache = process.env.RUNWRIGHT_WORKFLOW_BUNDLE_CACHE !== '0';
  const dir = path.join(cacheRoot(), 'workflow-bundles');
  const file = path.join(dir, `${bundleKey(workflowsPath, failureConverterPath, interceptors)}.js`);
  if (useCache) {
    try {
      return { code: fs.readFileSync(file, 'utf8') };
    } catch {
      // not built yet
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  // A private temporary name, renamed into place: concurrent builders never see half a file.
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await promisify(execFile)(process.execPath, ['-e', CHILD, workflowsPath, failureConverterPath ?? '', JSON.stringify(interceptors), tmp], {
      cwd: repoRoot(workflowsPath),
      maxBuffer: 16 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    const code = fs.readFileSync(tmp, 'utf8');
    if (useCache) fs.renameSync(tmp, file);
    return { code };
  } catch (e: any) {
    throw new Error(`bundling the workflow code (${workflowsPath}) failed: ${(e?.stderr || e?.message || String(e)).trim()}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Hash of everything the bundle can contain; any edit to a source file or a dependency changes it. */
export function bundleKey(workflowsPath: string, failureConverterPath?: string, interceptors: string[] = []): string {
  const h = createHash('sha256');
  const root = repoRoot(workflowsPath);
  const add = (label: string, data: string | Buffer) => h.update(`${label}\0${data.length}\0`).update(data);
  add('sdk', require('@temporalio/worker/package.json').version);
  add('node', process.version);
  add('child', CHILD);
  for (const lock of ['package-lock.json', 'node_modules/.package-lock.json']) {
    const p = path.join(root, lock);
    if (fs.existsSync(p)) add(lock, fs.readFileSync(p));
  }
  const files = new Set<string>();
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|json)$/.test(e.name)) files.add(p);
    }
  };
  // The layers beside the workflows module's folder (dist/ or the repository), and its own folder
  // (bench/workflows, test fixtures).
  const base = path.dirname(path.dirname(workflowsPath));
  for (const layer of SOURCE_LAYERS) walk(path.join(base, layer));
  walk(path.dirname(workflowsPath));
  add('workflows', workflowsPath);
  if (failureConverterPath) {
    add('converter', failureConverterPath);
    files.add(failureConverterPath);
  }
  // Interceptor modules: their paths (those in node_modules are covered by the lockfile).
  for (const m of interceptors) {
    add('interceptor', m);
    if (!m.includes(`${path.sep}node_modules${path.sep}`) && fs.existsSync(m)) files.add(m);
  }
  for (const f of [...files].sort()) add(f, fs.readFileSync(f));
  return h.digest('hex').slice(0, 32);
}

function repoRoot(from: string): string {
  let dir = path.dirname(from);
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.dirname(from);
    dir = up;
  }
  return dir;
}

// The child: bundle, drop the map's sourcesContent, write the file. Plain JS so it runs under
// node, tsx or jest alike (the SDK's bundler compiles the TypeScript itself).
const CHILD = `
const [workflowsPath, failureConverterPath, interceptors, out] = process.argv.slice(1);
const { bundleWorkflowCode } = require('@temporalio/worker');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: (m) => console.error(m), log() {} };
bundleWorkflowCode({ workflowsPath, failureConverterPath: failureConverterPath || undefined, workflowInterceptorModules: JSON.parse(interceptors), logger: quiet }).then(({ code }) => {
  const at = code.lastIndexOf('//# sourceMappingURL=data:');
  const b64 = code.indexOf('base64,', at) + 'base64,'.length;
  if (at > 0 && b64 > at) {
    const map = JSON.parse(Buffer.from(code.slice(b64).trim(), 'base64').toString());
    delete map.sourcesContent;
    code = code.slice(0, at) + '//# sourceMappingURL=data:application/json;base64,' + Buffer.from(JSON.stringify(map)).toString('base64');
  }
  require('fs').writeFileSync(out, code);
}, (e) => { console.error(e && e.stack || String(e)); process.exit(1); });
`;
