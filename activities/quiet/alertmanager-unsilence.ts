/**
 * `alertmanager.unsilence`: expire a silence (DELETE /api/v2/silence/{id}). Idempotent: a
 * silence already expired, or unknown to Alertmanager, is left as it is (changed: false).
 * The inverse of `alertmanager.silence`.
 */
import { z } from 'zod';
import { defineAction } from '../define';
import { amClient, amTarget, type Silence } from './alertmanager-common';

export default defineAction({
  name: 'alertmanager.unsilence',
  description: 'Alertmanager: expire a silence by id (nothing to do when it has already expired); the inverse of alertmanager.silence.',
  input: z.strictObject({ ...amTarget, id: z.string().min(1).regex(/^[A-Za-z0-9-]+$/, 'a silence id') }),
  readOnly: false,
  async run(i, ctx) {
    const am = amClient(i, ctx.signal);
    const path = `/api/v2/silence/${encodeURIComponent(i.id)}`;
    const got = await am.call<Silence | null>('GET', path, undefined, [404]);
    if (got.status === 404 || !got.json) return { id: i.id, state: 'unknown', changed: false, summary: `silence ${i.id} not found` };
    if (got.json.status.state === 'expired') return { id: i.id, state: 'expired', changed: false, summary: `silence ${i.id} already expired` };
    // Expired between our read and the delete (another run, a human): Alertmanager answers 500 "already expired"; read again.
    const del = await am.call('DELETE', path, undefined, [404, 500]);
    if (del.status !== 200) {
      const again = await am.call<Silence | null>('GET', path, undefined, [404]);
      if (again.status !== 404 && again.json?.status.state !== 'expired') return am.call('DELETE', path).then(() => ({ id: i.id, state: 'expired', changed: true }));
      return { id: i.id, state: 'expired', changed: false, summary: `silence ${i.id} already expired` };
    }
    return { id: i.id, state: 'expired', changed: true, summary: `expired silence ${i.id}` };
  },
  async dryRun(i, ctx) {
    const am = amClient(i, ctx.signal);
    const got = await am.call<Silence | null>('GET', `/api/v2/silence/${encodeURIComponent(i.id)}`, undefined, [404]);
    if (got.status === 404 || !got.json || got.json.status.state === 'expired') return { changed: false, summary: `silence ${i.id} is not in force` };
    return { changed: true, summary: `would expire silence ${i.id} (${got.json.status.state}, until ${got.json.endsAt})` };
  },
  plan: (i) => `expire silence ${i.id}`,
});
