/** The one polling helper (activities/poll.ts): deadlines that survive retries. Pure, no Temporal. */
import type { ActionContext } from '../../activities/define';
import { poll, type PollBeat } from '../../activities/poll';

function ctxWith(previous?: unknown): ActionContext & { beats: any[] } {
  const beats: any[] = [];
  return { idempotencyKey: 'k', executionKey: 'k', attempt: previous ? 2 : 1, signal: new AbortController().signal, heartbeat: (d) => beats.push(d), heartbeatDetails: () => previous as any, log: () => undefined, beats };
}

describe('poll', () => {
  test('returns the first defined value and heartbeats key, start and progress', async () => {
    const ctx = ctxWith();
    let n = 0;
    const v = await poll(ctx, { timeoutMs: 5000, what: 'thing to be ready', intervalMs: 5, details: () => ({ n }) }, async () => (++n >= 3 ? 'ok' : undefined));
    expect(v).toBe('ok');
    expect(ctx.beats[0]).toMatchObject({ key: 'thing to be ready', startedAt: expect.any(Number), progress: 'thing to be ready', n: 1 });
  });

  test("a retry keeps the first attempt's deadline (same key)", async () => {
    const startedAt = Date.now() - 10_000;
    const ctx = ctxWith({ key: 'w', startedAt, progress: 'w' } satisfies PollBeat);
    let checks = 0;
    const t0 = Date.now();
    await expect(poll(ctx, { timeoutMs: 10_000, what: 'w', intervalMs: 5 }, async () => void checks++)).rejects.toThrow('w: not done after 10 s');
    expect(checks).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(ctx.beats[0].startedAt).toBe(startedAt);
  });

  test('another key, or a second wait on the key in one attempt, starts its own clock', async () => {
    const ctx = ctxWith({ key: 'w', startedAt: Date.now() - 10_000 });
    let n = 0;
    await expect(poll(ctx, { timeoutMs: 10_000, what: 'other', intervalMs: 5 }, async () => (++n > 2 ? 1 : undefined))).resolves.toBe(1);
    await expect(poll(ctx, { timeoutMs: 10_000, what: 'w', intervalMs: 5 }, async () => undefined).catch(() => 'late')).resolves.toBe('late');
    n = 0;
    await expect(poll(ctx, { timeoutMs: 10_000, what: 'w', intervalMs: 5 }, async () => (++n > 2 ? 2 : undefined))).resolves.toBe(2);
  });

  test('transient errors are tolerated up to the count; others fail at once', async () => {
    const ctx = ctxWith();
    let n = 0;
    const tolerate = { count: 2, transient: (e: unknown) => (e as Error).message === 'blip' };
    await expect(poll(ctx, { timeoutMs: 5000, what: 'x', intervalMs: 1, tolerate }, async () => (++n <= 2 ? Promise.reject(new Error('blip')) : 'ok'))).resolves.toBe('ok');
    n = 0;
    await expect(poll(ctx, { timeoutMs: 5000, what: 'y', intervalMs: 1, tolerate }, async () => (++n <= 3 ? Promise.reject(new Error('blip')) : 'ok'))).rejects.toThrow('blip');
    await expect(poll(ctx, { timeoutMs: 5000, what: 'z', intervalMs: 1, tolerate }, async () => Promise.reject(new Error('hard')))).rejects.toThrow('hard');
  });

  test('onTimeout decides the error; the last check runs at the deadline', async () => {
    const ctx = ctxWith();
    let checks = 0;
    const err = await poll(ctx, { timeoutMs: 60, what: 'x', intervalMs: 25, onTimeout: (ms) => new RangeError(`late ${ms >= 60}`) }, async () => void checks++).catch((e) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('late true');
    expect(checks).toBeGreaterThanOrEqual(3);
  });
});
