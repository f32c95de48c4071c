/**
 * What the OpenStack actions share: the `cloud`/`region` inputs, running with a client and
 * mapping errors to Temporal failures, idempotency markers, name-or-id lookups and polling.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { cancellableSleep, type ActionContext } from '../define';
import { msOrDuration, toMs } from '../../lib/duration';
import { OpenStackClient, type ServiceType } from './client';
import { OpenStackError, classify, toFailure } from './errors';

export const Cloud = z
  .string()
  .min(1)
  .describe('Cloud name from clouds.yaml (OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack, /etc/openstack) or "envvars"; credentials stay on the worker');
export const Region = z.string().default('').describe('Region (default: the cloud\'s region_name, else its first region)');

export const target = { cloud: Cloud, region: Region };

/** Run an action body with a client for the input's cloud; OpenStack errors become Temporal failures. */
export async function withClient<T>(what: string, input: { cloud: string; region?: string }, ctx: ActionContext, fn: (c: OpenStackClient) => Promise<T>): Promise<T> {
  let client: OpenStackClient | undefined;
  try {
    client = new OpenStackClient(input.cloud, { region: input.region, signal: ctx.signal });
    return await fn(client);
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    throw toFailure(e, `${what} on ${input.cloud}${client?.region ? `/${client.region}` : input.region ? `/${input.region}` : ''}`);
  }
}

/**
 * The marker that ties a resource to the step that created it: derived from the step's
 * idempotency key (stable across retries of one step in one run), short enough for Neutron
 * (60 characters) and Octavia tags and Nova metadata values.
 */
export function marker(idempotencyKey: string): string {
  return `rw-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

/** Nova metadata key holding the marker. */
export const NOVA_MARKER_KEY = 'runwright-step';

/** Neutron has no tags on create (before 2023.2); the marker goes into `description`, which it has. */
export function neutronDescription(userDescription: string | undefined, mark: string): string {
  return userDescription ? `${userDescription} [${mark}]` : `[${mark}]`;
}

export function hasNeutronMarker(description: unknown, mark: string): boolean {
  return typeof description === 'string' && description.endsWith(`[${mark}]`);
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export const looksLikeId = (s: string) => UUID_RE.test(s);

export function notFound(what: string, ref: string): OpenStackError {
  return new OpenStackError(`${what} "${ref}" not found`, { kind: 'not-found' });
}

/**
 * Find a resource by id or name, like the openstack CLI: GET by id first, then a name filter;
 * exactly one match is needed.
 */
export async function findByNameOrId<T extends { id: string; name?: string }>(
  c: OpenStackClient,
  service: ServiceType,
  collection: string,
  key: string,
  ref: string,
  what: string,
  extraQuery: Record<string, string> = {},
): Promise<T> {
  const single = key.replace(/s$/, '').replace(/ie$/, 'y');
  if (looksLikeId(ref) || /^\d+$/.test(ref)) {
    const got = await c.find<any>(service, `${collection}/${encodeURIComponent(ref)}`);
    if (got) return (got[single] ?? got) as T;
  }
  const items = await c.list<T>(service, collection, key, { query: { name: ref, ...extraQuery } });
  const exact = items.filter((i) => i.name === ref);
  if (exact.length === 1) return exact[0];
  if (exact.length > 1) throw new OpenStackError(`${exact.length} ${what}s are named "${ref}"; use an id (${exact.map((i) => i.id).join(', ')})`, { kind: 'ambiguous' });
  throw notFound(what, ref);
}

export interface PollOptions {
  timeoutMs: number;
  /** First interval; kept for `fastForMs`, then grows by 1.5x up to maxIntervalMs. */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Poll at the first interval this long before backing off (default 5 s): most waits end early. */
  fastForMs?: number;
  /** Consecutive transient errors tolerated while polling. */
  tolerate?: number;
  what: string;
}

/**
 * Poll until `check` returns a value (not undefined), heartbeating with `progress` so a retried
 * attempt can resume and a cancelled step stops. Transient API errors (5xx, connection) are
 * tolerated a few times in a row.
 */
export async function poll<T>(ctx: ActionContext, o: PollOptions, check: () => Promise<T | undefined>, progress?: () => unknown): Promise<T> {
  const begin = Date.now();
  const end = begin + o.timeoutMs;
  let interval = o.intervalMs ?? 250;
  const fastFor = o.fastForMs ?? 5000;
  const max = o.maxIntervalMs ?? 2000;
  let errors = 0;
  for (;;) {
    try {
      const v = await check();
      errors = 0;
      if (v !== undefined) return v;
    } catch (e) {
      if (ctx.signal.aborted || !classify(e).retryable || ++errors > (o.tolerate ?? 5)) throw e;
      ctx.log(`${o.what}: transient error while polling (${(e as Error).message}); retrying`);
    }
    // Heartbeats carry a one-line `progress` (shown by `runwright run`/`status`) plus resume details.
    ctx.heartbeat({ progress: o.what, ...((progress?.() as object | undefined) ?? {}) });
    if (Date.now() + interval > end) throw new OpenStackError(`${o.what}: not done after ${Math.round(o.timeoutMs / 1000)} s`, { kind: 'timeout' });
    await cancellableSleep(interval, ctx.signal);
    if (Date.now() - begin > fastFor) interval = Math.min(max, Math.ceil(interval * 1.5));
  }
}

/** Milliseconds, or a duration string of the one grammar (lib/duration.ts): 500ms, 30s, 5m, 1h30m. */
export const Duration = msOrDuration(0).describe('Milliseconds, or a duration: 500ms / 30s / 5m / 1h30m');
export const ms = toMs;

/** `skip: true` makes a delete a no-op: compensations pass `!created` so adopted resources stay. */
export const Skip = z.boolean().default(false).describe('Do nothing (a compensation passes `{{ !steps.X.outputs.created }}` so resources that existed before stay)');
