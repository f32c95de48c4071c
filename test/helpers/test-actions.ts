/**
 * Actions used only by tests. Side effects go to files so a test (or a worker in another
 * process) can count them: `test.record` creates a marker once per key, however often it is retried.
 */
import { appendFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { cancellableSleep, defineAction } from '../../activities/define';

const record = defineAction({
  name: 'test.record',
  description: 'Append "<key>" to dir/journal.log once per key (idempotent); optional delay first.',
  input: z.strictObject({ dir: z.string(), key: z.string(), delayMs: z.number().int().min(0).default(0) }),
  async run({ dir, key, delayMs }, ctx) {
    if (delayMs) await cancellableSleep(delayMs, ctx.signal, () => ctx.heartbeat());
    mkdirSync(join(dir, 'markers'), { recursive: true });
    let created = false;
    try {
      // O_EXCL makes the create happen at most once per key, even across retries and workers.
      closeSync(openSync(join(dir, 'markers', key.replace(/[^\w.-]/g, '_')), 'wx'));
      created = true;
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw e;
    }
    if (created) appendFileSync(join(dir, 'journal.log'), `${key}\n`);
    // Every attempt is logged separately, to prove retries happened.
    appendFileSync(join(dir, 'attempts.log'), `${key} ${ctx.attempt}\n`);
    return { key, created, changed: created };
  },
});

const flaky = defineAction({
  name: 'test.flaky',
  description: 'Fail the first `failTimes` attempts, then succeed.',
  input: z.strictObject({ failTimes: z.number().int().min(0) }),
  async run({ failTimes }, ctx) {
    if (ctx.attempt <= failTimes) throw ApplicationFailure.retryable(`planned failure ${ctx.attempt} of ${failTimes}`, 'Flaky');
    return { attempt: ctx.attempt };
  },
});

const fail = defineAction({
  name: 'test.fail',
  description: 'Always fail, without retry.',
  input: z.strictObject({ message: z.string().default('planned failure') }),
  async run({ message }) {
    throw ApplicationFailure.nonRetryable(message, 'Planned');
  },
});

const failIf = defineAction({
  name: 'test.failIf',
  description: 'Fail (without retry) when `fail` is true, else return `value`.',
  input: z.strictObject({ fail: z.boolean(), value: z.unknown().optional() }),
  async run(i) {
    if (i.fail) throw ApplicationFailure.nonRetryable(`failing for ${JSON.stringify(i.value)}`, 'Planned');
    return { value: i.value ?? null };
  },
});

/** `<key> <event> <epoch ms>` lines in dir/events.log: when things started and stopped, across processes. */
const event = (dir: string, key: string, what: string) => appendFileSync(join(dir, 'events.log'), `${key} ${what} ${Date.now()}\n`);

const stubborn = defineAction({
  name: 'test.stubborn',
  description: 'Run until cancelled (logging start), then keep going `ignoreCancelMs` (a slow undo of half-done work) before stopping (logging stop).',
  input: z.strictObject({ dir: z.string(), key: z.string(), ignoreCancelMs: z.number().int().min(0) }),
  async run({ dir, key, ignoreCancelMs }, ctx) {
    event(dir, key, 'start');
    try {
      // No heartbeats of its own: the wrapper's deliver the cancel.
      await cancellableSleep(600_000, ctx.signal);
    } finally {
      await new Promise((r) => setTimeout(r, ignoreCancelMs));
      event(dir, key, 'stop');
    }
    return {};
  },
});

const stamp = defineAction({
  name: 'test.stamp',
  description: 'Log `<key> <what> <time>` to dir/events.log.',
  input: z.strictObject({ dir: z.string(), key: z.string(), what: z.string().default('ran') }),
  async run({ dir, key, what }) {
    event(dir, key, what);
    return { key };
  },
});

const big = defineAction({
  name: 'test.big',
  description: 'Return `bytes` bytes of text.',
  input: z.strictObject({ bytes: z.number().int().min(0) }),
  async run({ bytes }) {
    return { text: 'x'.repeat(bytes) };
  },
});

export const TEST_ACTIONS = [record, flaky, fail, failIf, stubborn, stamp, big];
export default TEST_ACTIONS;
