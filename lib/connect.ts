/**
 * How the CLI and the worker find Temporal: the standard client settings first
 * (@temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
 * the TOML profile file). With nothing configured and nothing on localhost:7233, the CLI starts
 * an embedded dev server whose SQLite file lives under the data folder, so runs survive restarts.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { DEFAULT_TEMPORAL_ADDRESS, ENV } from './config';

export interface ConnectionConfig {
  address: string;
  namespace: string;
  tls?: NativeConnectionOptions['tls'];
  apiKey?: string;
  metadata?: Record<string, string>;
  /** True when the user configured a server (env or profile); false means defaults. */
  explicit: boolean;
}

export function loadConnectionConfig(env: NodeJS.ProcessEnv = process.env): ConnectionConfig {
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  const c = loadClientConnectConfig({ overrideEnvVars });
  const o = c.connectionOptions;
  return {
    address: o.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: c.namespace ?? 'default',
    tls: o.tls,
    apiKey: typeof o.apiKey === 'string' ? o.apiKey : undefined,
    metadata: o.metadata as Record<string, string> | undefined,
    explicit: o.address !== undefined,
  };
}

/** Where Runwright keeps local state (embedded server database, logs). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[ENV.home] || join(process.cwd(), '.runwright');
}

export function defaultCacheDir(): string {
  return process.env.RUNWRIGHT_CACHE_DIR || join(homedir(), '.cache', 'runwright');
}
