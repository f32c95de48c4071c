import { z } from 'zod';
import { defineAction, cancellableSleep } from '../define';

/** A sleep inside an activity (occupies a worker slot); use the `sleep:` step for durable timers. */
export default defineAction({
  name: 'core.sleep',
  readOnly: true,
  description: 'Wait inside a worker for `ms` milliseconds, heartbeating; cancellable.',
  input: z.strictObject({ ms: z.number().int().min(0).max(86_400_000) }),
  async run({ ms }, ctx) {
    await cancellableSleep(ms, ctx.signal, () => ctx.heartbeat());
    return { sleptMs: ms, changed: false };
  },
  plan: ({ ms }) => `wait ${ms} ms in the worker`,
});
