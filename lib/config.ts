/**
 * Runtime configuration shared by the CLI, the worker and docker-compose.yml.
 * Temporal connection settings themselves come from @temporalio/envconfig
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profile file).
 */
import { DURATION_PATTERN } from '../dsl/duration';
import { SITE_NAME_RE } from '../dsl/site';

export const DEFAULT_TASK_QUEUE = 'runwright';
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_UI_PORT = 8233;

/** Environment variables Runwright itself reads (besides Temporal's own). */
export const ENV = {
  taskQueue: 'RUNWRIGHT_TASK_QUEUE',
  /** Sites this worker serves, comma-separated (`runwright worker --site`); see dsl/site.ts. */
  sites: 'RUNWRIGHT_SITES',
  uiUrl: 'RUNWRIGHT_UI_URL',
  consoleUrl: 'RUNWRIGHT_CONSOLE_URL',
  /** The console's users and token hashes (api/auth.ts). */
  consoleTokens: 'RUNWRIGHT_CONSOLE_TOKENS',
  /** SSH key a client (CLI, console) signs requests with (lib/identity). */
  signingKey: 'RUNWRIGHT_SIGNING_KEY',
  /** Principal a gateway (Slack, console) signs as, in the workers' allowed_signers. */
  gatewayPrincipal: 'RUNWRIGHT_GATEWAY_PRINCIPAL',
  home: 'RUNWRIGHT_HOME',
  runbookPath: 'RUNWRIGHT_RUNBOOK_PATH',
  temporalCli: 'TEMPORAL_CLI',
  /** Port of the embedded dev server (default 7233; its UI is this + 1000). */
  embeddedPort: 'RUNWRIGHT_EMBEDDED_PORT',
  /** Where drill.report writes report.json/md and timeline.png (default ./.runwright/reports). */
  reportsDir: 'RUNWRIGHT_REPORTS_DIR',
  /** The change-freeze calendar (default ./runwright.freeze.yaml, then ./.runwright/freeze.yaml). */
  freezeFile: 'RUNWRIGHT_FREEZE_FILE',
  drillSafeKinds: 'RUNWRIGHT_DRILL_SAFE_KINDS',
  /** How long a stopping worker (SIGTERM) lets running steps finish before failing them retryably (default 5m). */
  shutdownGrace: 'RUNWRIGHT_SHUTDOWN_GRACE',
  /** heartbeatTimeout of steps that name none, for runs started here (RunInput.defaults; below spec.defaults). */
  defaultHeartbeatTimeout: 'RUNWRIGHT_DEFAULT_HEARTBEAT_TIMEOUT',
  /** Payload codec key / keyring (lib/codec.ts); a worker on a configured server needs one. */
  codecKey: 'RUNWRIGHT_CODEC_KEY',
  codecKeys: 'RUNWRIGHT_CODEC_KEYS',
  /** OpenSSH allowed_signers file the worker verifies requests against (lib/identity). */
  allowedSigners: 'RUNWRIGHT_ALLOWED_SIGNERS',
  /** Who may start, approve, change params and cancel (lib/identity/policy.ts). */
  accessPolicy: 'RUNWRIGHT_ACCESS_POLICY',
  /** Which secrets go to which runbooks and destinations (lib/secrets.ts). */
  secretsPolicy: 'RUNWRIGHT_SECRETS_POLICY',
  /** host:port of the worker's Prometheus endpoint (/metrics); unset: none (workers/telemetry.ts). */
  metricsAddr: 'RUNWRIGHT_METRICS_ADDR',
  /** `1`: play tasks with `delegate_to: localhost` may run on this worker (activities/host/local.ts). */
  localTasks: 'RUNWRIGHT_LOCAL_TASKS',
  /** `0`: run every host command on an SSH channel of its own, not in the connection's long-lived shell (activities/host/remote-shell.ts); `sh`: that shell in POSIX sh even where bash is there. */
  sshShell: 'RUNWRIGHT_SSH_SHELL',
  /** SSH handshakes in flight at once in a worker (default 32); more connections wait their turn. */
  sshHandshakes: 'RUNWRIGHT_SSH_HANDSHAKES',
} as const;

/** Long enough for a package upgrade or a service restart over SSH to end on its own. */
export const DEFAULT_SHUTDOWN_GRACE = '5m';

/**
 * Step defaults taken from the environment of whoever starts a run (CLI, schedule, Slack
 * gateway) and recorded in its input: the workflow cannot read a worker's environment.
 */
export function runDefaults(env: NodeJS.ProcessEnv = process.env): { heartbeatTimeout?: string } | undefined {
  const v = env[ENV.defaultHeartbeatTimeout]?.trim();
  if (!v) return undefined;
  if (!DURATION_PATTERN.test(v)) throw new Error(`${ENV.defaultHeartbeatTimeout}: expected a duration such as "20s", got ${JSON.stringify(v)}`);
  return { heartbeatTimeout: v };
}

/** The worker's shutdown grace time, from RUNWRIGHT_SHUTDOWN_GRACE (a duration such as "90s" or "5m"). */
export function shutdownGraceTime(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[ENV.shutdownGrace]?.trim();
  if (!v) return DEFAULT_SHUTDOWN_GRACE;
  if (!DURATION_PATTERN.test(v)) throw new Error(`${ENV.shutdownGrace}: expected a duration such as "90s" or "5m", got ${JSON.stringify(v)}`);
  return v;
}

/** Custom search attributes the interpreter sets so `runwright list` can filter server-side. */
export const SEARCH_ATTRIBUTES = {
  runbook: 'RunwrightRunbook',
  state: 'RunwrightState',
} as const;

/** A worker's site list is wrong (the CLI exits 2). */
export class SiteConfigError extends Error {}

/** Sites a worker serves: `--site` values, else RUNWRIGHT_SITES; each a DNS label. */
export function workerSites(flags: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = flags?.length ? flags : (env[ENV.sites] ?? '').split(',');
  const sites = [...new Set(raw.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))];
  const bad = sites.filter((s) => !SITE_NAME_RE.test(s));
  if (bad.length) throw new SiteConfigError(`site ${bad.map((b) => JSON.stringify(b)).join(', ')}: expected a site name (lowercase letters, digits and "-", as in cluster-b)${flags?.length ? '' : ` in ${ENV.sites}`}`);
  return sites;
}

export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env[ENV.taskQueue] || DEFAULT_TASK_QUEUE;
}

export function uiBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env[ENV.uiUrl] || `http://localhost:${DEFAULT_UI_PORT}`;
}

export function workflowUiLink(namespace: string, workflowId: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${uiBaseUrl(env)}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Where a run is shown to people (CLI output, Slack cards): the console's run page when RUNWRIGHT_CONSOLE_URL is set, else Temporal's UI. */
export function runLink(namespace: string, workflowId: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env[ENV.consoleUrl]?.trim().replace(/\/+$/, '');
  return base ? `${base}/#/runs/${encodeURIComponent(workflowId)}` : workflowUiLink(namespace, workflowId, env);
}

export function embeddedPort(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env[ENV.embeddedPort]) || 7233;
}
