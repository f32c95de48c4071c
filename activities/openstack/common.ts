/**
 * What the OpenStack actions share: the `cloud`/`region` inputs, running with a client and
 * mapping errors to Temporal failures, idempotency markers, name-or-id lookups and polling.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type ActionContext, type ActionInverse } from '../define';
import { poll as sharedPoll, type PollOptions as SharedPollOptions } from '../poll';
import { msOrDuration, toMs } from '../../dsl/duration';
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

/** OpenStack's defaults for the one polling helper (activities/poll.ts). */
export interface PollOptions extends Omit<SharedPollOptions, 'tolerate' | 'details' | 'onTimeout'> {
  /** Consecutive transient API errors (5xx, connection) tolerated while polling (default 5). */
  tolerate?: number;
}

/**
 * Poll until `check` returns a value (not undefined) with the shared helper: the deadline
 * survives retries, heartbeats carry `progress` and resume details, transient API errors are
 * tolerated a few times in a row, and the timeout is an OpenStackError of kind timeout.
 */
export function poll<T>(ctx: ActionContext, o: PollOptions, check: () => Promise<T | undefined>, progress?: () => unknown): Promise<T> {
  return sharedPoll(
    ctx,
    {
      ...o,
      intervalMs: o.intervalMs ?? 250,
      maxIntervalMs: o.maxIntervalMs ?? 2000,
      tolerate: { count: o.tolerate ?? 5, transient: (e) => classify(e).retryable },
      details: progress as (() => Record<string, unknown> | undefined) | undefined,
      onTimeout: () => new OpenStackError(`${o.what}: not done after ${Math.round(o.timeoutMs / 1000)} s`, { kind: 'timeout' }),
    },
    check,
  );
}

/** Milliseconds, or a duration string of the one grammar (dsl/duration.ts): 500ms, 30s, 5m, 1h30m. */
export const Duration = msOrDuration(0).describe('Milliseconds, or a duration: 500ms / 30s / 5m / 1h30m');
export const ms = toMs;

/**
 * The inverse of a create: the matching delete by the outputs' id, in the same cloud and region,
 * only when this step created the resource (an adopted one stays).
 */
export function undoneBy(action: string, ref: Record<string, string> = { id: '{{ outputs.id }}' }): ActionInverse {
  return { action, with: { cloud: '{{ input.cloud }}', region: '{{ input.region }}', ...ref }, when: '{{ outputs.created }}' };
}

/**
 * Deprecated: `skip: true` makes a delete a no-op. Runbooks written before `compensate.when`
 * passed `{{ !steps.X.outputs.created }}`; write `compensate: { ..., when: "{{ steps.X.outputs.created }}" }` instead.
 */
export const Skip = z.boolean().default(false).describe('Deprecated (use `when` on the compensate): do nothing; kept so runbooks that pass `{{ !steps.X.outputs.created }}` still work');
