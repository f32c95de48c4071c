/**
 * Cloud configuration resolved the way openstacksdk (openstack/config/loader.py) does it, so a
 * clouds.yaml that works with the `openstack` CLI works here unchanged:
 *
 * - clouds file: OS_CLIENT_CONFIG_FILE first, then clouds.{yaml,yml,json} in ./,
 *   $XDG_CONFIG_HOME/openstack (~/.config/openstack), ~/.config/openstack, the XDG site dir
 *   (/etc/xdg/openstack) and /etc/openstack. The first file that exists and can be read wins.
 * - secure file: OS_CLIENT_SECURE_FILE first, then secure.{yaml,yml,json} in the same places;
 *   merged into the clouds (nested keys merged, like `merge_clouds`).
 * - OS_* environment variables form a cloud named "envvars" (or OS_CLOUD_NAME) when any of
 *   them is more than a selector (OS_CLOUD, OS_REGION_NAME, OS_CLIENT_CONFIG_FILE, ...).
 * - the cloud: the name asked for, else OS_CLOUD, else "envvars", else the only cloud.
 *
 * Runbooks only name a cloud: credentials stay in these files and the worker's environment.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

export class CloudConfigError extends Error {
  name = 'CloudConfigError';
}

export type AuthType = 'password' | 'v3password' | 'v3applicationcredential' | 'token' | 'v3token';

export interface AuthOptions {
  auth_url?: string;
  username?: string;
  user_id?: string;
  password?: string;
  project_name?: string;
  project_id?: string;
  project_domain_name?: string;
  project_domain_id?: string;
  user_domain_name?: string;
  user_domain_id?: string;
  domain_name?: string;
  domain_id?: string;
  default_domain_name?: string;
  default_domain_id?: string;
  system_scope?: string;
  application_credential_id?: string;
  application_credential_name?: string;
  application_credential_secret?: string;
  token?: string;
}

export interface CloudConfig {
  /** The cloud's name ("envvars" for the environment form). */
  name: string;
  authType: AuthType;
  auth: AuthOptions;
  /** The region to use (asked for, else region_name, else the first of regions; '' = any). */
  region: string;
  /** Every region the cloud lists. */
  regions: string[];
  interface: 'public' | 'internal' | 'admin';
  /** TLS: verify server certificates; `cacert` is a CA bundle file. */
  verify: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  /** `<service_type>_endpoint_override` entries, keyed by service type (compute, network, ...). */
  endpointOverrides: Record<string, string>;
  /** Where it came from: a file path or "environment". */
  source: string;
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

const SUFFIXES = ['.yaml', '.yml', '.json'];

/** The folders openstacksdk searches, in its order. */
export function configSearchPath(src: ConfigSources = {}): string[] {
  const env = src.env ?? process.env;
  const home = src.home ?? homedir();
  const cwd = src.cwd ?? process.cwd();
  // appdirs: user_config_dir honours XDG_CONFIG_HOME; site_config_dir (multipath) joins every
  // XDG_CONFIG_DIRS entry with ":" (a single path in the usual case of one entry).
  const xdgHome = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() ? env.XDG_CONFIG_HOME : join(home, '.config');
  const xdgDirs = (env.XDG_CONFIG_DIRS && env.XDG_CONFIG_DIRS.trim() ? env.XDG_CONFIG_DIRS : '/etc/xdg').split(':').map((d) => join(d.replace(/\/+$/, ''), 'openstack'));
  const snapHome = env.SNAP_REAL_HOME;
  return [cwd, join(xdgHome, 'openstack'), join(snapHome ? snapHome : home, '.config', 'openstack'), xdgDirs.join(':'), '/etc/openstack'];
}

export function configFiles(src: ConfigSources = {}): { clouds: string[]; secure: string[] } {
  const env = src.env ?? process.env;
  const dirs = configSearchPath(src);
  const clouds = dirs.flatMap((d) => SUFFIXES.map((s) => join(d, `clouds${s}`)));
  const secure = dirs.flatMap((d) => SUFFIXES.map((s) => join(d, `secure${s}`)));
  if (env.OS_CLIENT_CONFIG_FILE) clouds.unshift(env.OS_CLIENT_CONFIG_FILE);
  if (env.OS_CLIENT_SECURE_FILE) secure.unshift(env.OS_CLIENT_SECURE_FILE);
  return { clouds, secure };
}

/** The first file of the list that exists and can be read (openstacksdk skips unreadable ones). */
function loadFirst(files: string[]): { path?: string; data: Record<string, any> } {
  for (const path of files) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e: any) {
      if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR' || e.code === 'ENOTDIR') continue;
      throw new CloudConfigError(`${path}: ${e.message}`);
    }
    try {
      const data = path.endsWith('json') ? JSON.parse(text) : parse(text);
      return { path, data: data && typeof data === 'object' ? data : {} };
    } catch (e: any) {
      throw new CloudConfigError(`${path}: not valid ${path.endsWith('json') ? 'JSON' : 'YAML'}: ${String(e.message).split('\n')[0]}`);
    }
  }
  return { data: {} };
}

/** Like dict.update, merging nested mappings (openstack.config._util.merge_clouds). */
export function mergeClouds(a: Record<string, any>, b: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = k in out && out[k] && typeof out[k] === 'object' ? mergeClouds(out[k], v) : { ...v };
    else out[k] = v;
  }
  return out;
}

const SELECTORS = new Set(['OS_CLOUD', 'OS_REGION_NAME', 'OS_CLIENT_CONFIG_FILE', 'OS_CLIENT_SECURE_FILE', 'OS_CLOUD_NAME']);

/** The environment form: OS_AUTH_URL → auth_url, ... (only when more than selectors are set). */
export function envCloud(env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const keys = Object.keys(env).filter((k) => k.startsWith('OS_') && !k.startsWith('OS_TEST') && !k.startsWith('OS_STD') && !k.startsWith('OS_LOG'));
  if (!keys.some((k) => !SELECTORS.has(k))) return undefined;
  return Object.fromEntries(keys.map((k) => [k.slice(3).toLowerCase(), String(env[k])]));
}

const AUTH_KEYS: (keyof AuthOptions)[] = [
  'auth_url',
  'username',
  'user_id',
  'password',
  'project_name',
  'project_id',
  'project_domain_name',
  'project_domain_id',
  'user_domain_name',
  'user_domain_id',
  'domain_name',
  'domain_id',
  'default_domain_name',
  'default_domain_id',
  'system_scope',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
  'token',
];

const norm = (k: string) => k.replace(/-/g, '_');

/** Turn one raw cloud entry into a CloudConfig, with openstacksdk's backwards-compatibility fixes. */
export function normalizeCloud(name: string, raw: Record<string, any>, source: string, region?: string): CloudConfig {
  const cloud: Record<string, any> = {};
  for (const [k, v] of Object.entries(raw)) cloud[norm(k)] = v;
  const auth: Record<string, any> = {};
  for (const [k, v] of Object.entries((cloud.auth as Record<string, any>) ?? {})) auth[norm(k)] = v;
  delete cloud.auth;
  if (cloud.profile || cloud.cloud) throw new CloudConfigError(`cloud "${name}" (${source}) uses a vendor profile ("profile: ${cloud.profile ?? cloud.cloud}"); vendor profiles are not supported: write its auth_url and regions out`);
  // tenant_* are old names of project_*; auth_plugin an old name of auth_type.
  for (const [from, to] of [
    ['tenant_id', 'project_id'],
    ['tenant_name', 'project_name'],
    ['auth_token', 'token'],
  ]) {
    for (const o of [cloud, auth]) {
      if (o[from] !== undefined) {
        if (auth[to] === undefined) auth[to] = String(o[from]);
        delete o[from];
      }
    }
  }
  const authType = String(cloud.auth_type ?? cloud.auth_plugin ?? 'password') as AuthType;
  if (!['password', 'v3password', 'v3applicationcredential', 'token', 'v3token'].includes(authType))
    throw new CloudConfigError(`cloud "${name}" (${source}): auth_type "${authType}" is not supported (password, v3password, v3applicationcredential, token)`);
  // Auth plugin options given at the top level (the environment form) move into auth; a value
  // already in auth wins, as in _find_winning_auth_value.
  for (const k of AUTH_KEYS) {
    if (cloud[k] !== undefined) {
      if (auth[k] === undefined) auth[k] = cloud[k];
      delete cloud[k];
    }
  }
  // domain_id/domain_name set both user and project domains when the token is project scoped.
  const projectScoped = auth.project_id !== undefined || auth.project_name !== undefined;
  for (const [target, pair] of [
    ['domain_id', ['user_domain_id', 'project_domain_id']],
    ['domain_name', ['user_domain_name', 'project_domain_name']],
  ] as const) {
    if (!projectScoped) continue;
    if (auth[target] !== undefined) {
      for (const k of pair) if (auth[k] === undefined) auth[k] = auth[target];
      delete auth[target];
    }
  }
  for (const k of Object.keys(auth)) if (auth[k] !== undefined && auth[k] !== null) auth[k] = String(auth[k]);
  if (!auth.auth_url) throw new CloudConfigError(`cloud "${name}" (${source}) has no auth_url`);

  // Regions: `regions` (names or {name, values}), else region_name (comma list is deprecated).
  let regions: string[] = [];
  if (Array.isArray(cloud.regions)) regions = cloud.regions.map((r: any) => (typeof r === 'string' ? r : String(r?.name)));
  else if (cloud.region_name) regions = Array.isArray(cloud.region_name) ? cloud.region_name.map(String) : String(cloud.region_name).split(',');
  let chosen = region ?? '';
  if (!chosen) chosen = regions[0] ?? '';
  else if (regions.length && !regions.includes(chosen))
    throw new CloudConfigError(`Region ${chosen} is not a valid region name for cloud ${name}. Valid choices are ${regions.join(',')}. Please note that region names are case sensitive.`);

  const iface = String(cloud.interface ?? cloud.endpoint_type ?? 'public').replace(/URL$/, '');
  if (!['public', 'internal', 'admin'].includes(iface)) throw new CloudConfigError(`cloud "${name}": interface "${iface}" must be public, internal or admin`);
  const bool = (v: unknown) => (typeof v === 'string' ? !['false', '0', 'no', 'off'].includes(v.toLowerCase()) : !!v);
  let verify = cloud.verify === undefined ? true : bool(cloud.verify);
  if (cloud.insecure !== undefined && bool(cloud.insecure)) verify = false;
  const endpointOverrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(cloud)) {
    const m = /^(.+)_endpoint_override$/.exec(k);
    if (m && typeof v === 'string') endpointOverrides[m[1].replace(/_/g, '-')] = v;
  }
  return {
    name,
    authType,
    auth: auth as AuthOptions,
    region: chosen,
    regions,
    interface: iface as CloudConfig['interface'],
    verify,
    cacert: cloud.cacert ? String(cloud.cacert) : undefined,
    cert: cloud.cert ? String(cloud.cert) : undefined,
    key: cloud.key ? String(cloud.key) : undefined,
    endpointOverrides,
    source,
  };
}

/** Resolve a cloud by name (or OS_CLOUD, or envvars, or the only one) from files and environment. */
export function loadCloud(name?: string, region?: string, src: ConfigSources = {}): CloudConfig {
  const env = src.env ?? process.env;
  const files = configFiles(src);
  const main = loadFirst(files.clouds);
  const secure = loadFirst(files.secure);
  let clouds: Record<string, any> = main.data.clouds && typeof main.data.clouds === 'object' ? { ...main.data.clouds } : {};
  if (secure.data.clouds && typeof secure.data.clouds === 'object') clouds = mergeClouds(clouds, secure.data.clouds);
  const envKey = env.OS_CLOUD_NAME || 'envvars';
  if (envKey in clouds && envCloud(env)) throw new CloudConfigError(`"${main.path}" defines a cloud named "${envKey}", but OS_CLOUD_NAME is also set to "${envKey}". Please rename either your environment based cloud, or one of your file-based clouds.`);
  const fromEnv = envCloud(env);
  if (fromEnv) clouds[envKey] = fromEnv;
  let chosen = name || env.OS_CLOUD || (fromEnv ? envKey : undefined);
  const names = Object.keys(clouds);
  if (!chosen && names.length === 1) chosen = names[0];
  if (!chosen) {
    throw new CloudConfigError(
      names.length
        ? `no cloud named: give one of ${names.join(', ')} (from ${main.path ?? 'the environment'})`
        : `no OpenStack cloud configured: no clouds.yaml found (searched ${files.clouds.slice(0, 4).join(', ')}, ...) and no OS_* variables; set OS_CLIENT_CONFIG_FILE or run \`runwright sim openstack\``,
    );
  }
  if (!(chosen in clouds)) throw new CloudConfigError(`Cloud ${chosen} was not found${main.path ? ` in ${main.path}` : ''} (clouds: ${names.join(', ') || 'none'})`);
  return normalizeCloud(chosen, clouds[chosen], chosen === envKey && fromEnv ? 'environment' : main.path ?? 'environment', region || undefined);
}
