/**
 * `alertmanager.silence`: silence alerts for the work a runbook does (Alertmanager API v2,
 * POST /api/v2/silences). Idempotent: the comment carries a marker derived from the step's
 * idempotency key, and a silence still in force with that marker is reused, so a retry after a
 * crash never creates a second one. Undone by `alertmanager.unsilence` (expires it).
 */
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';
import { msField } from '../../dsl/duration';
import { amClient, amTarget, describeMatchers, Matcher, quietMarker, type Silence } from './alertmanager-common';

const input = z
  .strictObject({
    ...amTarget,
    matchers: z.array(Matcher).min(1).describe('Alerts to silence: every matcher must hold (label name, value, isRegex, isEqual).'),
    duration: msField(1000, 366 * 86_400_000).optional().describe('How long from now (ms or a duration, e.g. "2h"); default 1h unless endsAt is given.'),
    endsAt: z.iso.datetime({ offset: true }).optional().describe('End time (RFC 3339) instead of a duration.'),
    comment: z.string().min(1).max(1000).default('silenced by a Runwright runbook'),
    createdBy: z.string().min(1).default('runwright'),
  })
  .refine((i) => !(i.duration !== undefined && i.endsAt !== undefined), { message: 'give duration or endsAt, not both' });

export function silenceEnd(i: { duration?: number; endsAt?: string }, now = Date.now()): Date {
  return i.endsAt ? new Date(i.endsAt) : new Date(now + (i.duration ?? 3_600_000));
}

export default defineAction({
  name: 'alertmanager.silence',
  description: 'Alertmanager: silence matching alerts for a while (idempotent per step, even across a crash); outputs the silence id; undone by alertmanager.unsilence.',
  input,
  readOnly: false,
  inverse: {
    action: 'alertmanager.unsilence',
    with: { url: '{{ input.url }}', headers: '{{ input.headers }}', secretHeaders: '{{ input.secretHeaders }}', id: '{{ outputs.id }}' },
  },
  async run(i, ctx) {
    const am = amClient(i, ctx.signal);
    const marker = quietMarker(ctx.idempotencyKey);
    const existing = await am.silencesMarked(marker);
    if (existing.length) {
      const s = existing[0];
      ctx.log(`silence ${s.id} of this step already exists (${s.status.state}); not creating another`);
      return { id: s.id, state: s.status.state, endsAt: s.endsAt, marker, matchers: describeMatchers(i.matchers), changed: false, summary: `silence ${s.id} already in force` };
    }
    const end = silenceEnd(i);
    if (end.getTime() <= Date.now()) throw ApplicationFailure.nonRetryable(`alertmanager.silence: endsAt ${end.toISOString()} is in the past`, 'InvalidInput');
    const body = { matchers: i.matchers, startsAt: new Date().toISOString(), endsAt: end.toISOString(), createdBy: i.createdBy, comment: `${i.comment} ${marker}` };
    const { json } = await am.call<{ silenceID: string }>('POST', '/api/v2/silences', body);
    if (!json?.silenceID) throw ApplicationFailure.retryable('alertmanager.silence: the response carries no silenceID', 'AlertmanagerBadResponse');
    return { id: json.silenceID, state: 'active' as Silence['status']['state'], endsAt: body.endsAt, marker, matchers: describeMatchers(i.matchers), changed: true, summary: `silenced ${describeMatchers(i.matchers)} until ${body.endsAt}` };
  },
  /** Reads silences and alerts: says whether this step's silence exists and which alerts firing now it would silence. */
  async dryRun(i, ctx) {
    const am = amClient(i, ctx.signal);
    const existing = await am.silencesMarked(quietMarker(ctx.idempotencyKey));
    const what = describeMatchers(i.matchers);
    if (existing.length) return { changed: false, summary: `silence ${existing[0].id} for ${what} already in force` };
    const firing = (await am.alertsMatching(i.matchers)).filter((a) => a.status?.state === 'active');
    const names = firing.map((a) => `${a.labels.alertname ?? '?'}{${Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}="${v}"`).join(',')}}`);
    return {
      changed: true,
      summary: `would silence ${what} until ${silenceEnd(i).toISOString()}; ${firing.length} alert(s) firing now would be silenced`,
      diff: [`+ silence ${what}`, ...names.map((n) => `  firing: ${n}`)].join('\n'),
    };
  },
  plan: (i) => `silence ${describeMatchers(i.matchers)} for ${i.endsAt ? `until ${i.endsAt}` : `${Math.round((i.duration ?? 3_600_000) / 1000)}s`}`,
});
