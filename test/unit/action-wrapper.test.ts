/**
 * The action wrapper (activities/define.ts toActivity) in a mocked activity context: its own
 * heartbeats carry the action's latest progress and stop with the action; worker shutdown fails
 * the attempt retryably; outputs too large for Temporal fail, naming step and size.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { cancellableSleep, defineAction, MAX_OUTPUT_BYTES, toActivity } from '../../activities/define';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function envWith(info: Record<string, unknown>) {
  const env = new MockActivityEnvironment({ activityId: 'deploy.step', heartbeatTimeoutMs: 300, ...info } as never);
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  return { env, beats };
}

test('the wrapper heartbeats while the action runs, re-sending its latest details (or the previous attempt\'s), and stops when it ends', async () => {
  const seen: unknown[] = [];
  const act = toActivity(
    defineAction({
      name: 'test.quiet',
      description: 'Report progress once, then work quietly.',
      input: z.strictObject({}),
      async run(_i, ctx) {
        seen.push(ctx.heartbeatDetails());
        // Long enough for 6 and 9 wrapper beats; the test asks for 2 and 3 (timers slip on a loaded machine).
        await sleep(600);
        ctx.heartbeat({ progress: 'half' });
        await sleep(900);
        return { ok: true };
      },
    }),
  );
  const { env, beats } = envWith({ heartbeatDetails: { progress: 'from attempt 1' }, attempt: 2 });
  await env.run(act, {});
  // Every third of the 300 ms heartbeatTimeout, with nothing lost: first the previous attempt's
  // details, then the action's own; never an empty heartbeat that would overwrite them.
  expect(seen).toEqual([{ progress: 'from attempt 1' }]);
  const before = beats.filter((b: any) => b?.progress === 'from attempt 1').length;
  const after = beats.filter((b: any) => b?.progress === 'half').length;
  expect(before).toBeGreaterThanOrEqual(2);
  expect(after).toBeGreaterThanOrEqual(3);
  expect(beats.every((b) => b !== undefined)).toBe(true);
  const n = beats.length;
  await sleep(400);
  expect(beats.length).toBe(n);
});

test('worker shutdown (SDK cancel WORKER_SHUTDOWN) fails the attempt retryably and says so; a real cancel stays a cancel', async () => {
  const def = defineAction({
    name: 'test.wait',
    description: 'Wait until cancelled.',
    input: z.strictObject({}),
    run: async (_i, ctx) => cancellableSleep(60_000, ctx.signal),
  });
  const shut = envWith({});
  const p = shut.env.run(toActivity(def), {});
  await sleep(50);
  shut.env.cancel('WORKER_SHUTDOWN' as never);
  const err: any = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err.nonRetryable).toBe(false);
  expect(err.type).toBe('WorkerShutdown');
  expect(err.message).toMatch(/worker shutting down; the step will be retried/);

  const cancel = envWith({});
  const q = cancel.env.run(toActivity(def), {});
  await sleep(50);
  cancel.env.cancel('CANCELLED' as never);
  const err2: any = await q.catch((e: unknown) => e);
  expect(err2.name).toBe('CancelledFailure');
});

test('an output too large for Temporal fails without retry, naming the step and its size; one just under passes', async () => {
  const big = toActivity(
    defineAction({
      name: 'test.big',
      description: 'Return n bytes.',
      input: z.strictObject({ n: z.number() }),
      run: async ({ n }) => ({ text: 'x'.repeat(n) }),
    }),
  );
  const { env } = envWith({});
  const err: any = await env.run(big, { n: 2 * 1024 * 1024 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err.nonRetryable).toBe(true);
  expect(err.type).toBe('OutputTooLarge');
  expect(err.message).toMatch(/^step deploy\.step: test\.big returned 2\.00 MB of outputs, more than the 1\.5 MB/);
  const ok = (await env.run(big, { n: MAX_OUTPUT_BYTES - 100 })) as { outputs: any };
  expect(ok.outputs.text.length).toBe(MAX_OUTPUT_BYTES - 100);
});
