import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineAction } from '../define';

/** Fail the run on purpose when a computed condition is false (e.g. a drill whose verdict is fail). */
export default defineAction({
  name: 'core.assert',
  readOnly: true,
  description: 'Fail the step (not retried) with `message` unless `that` is true; use it to turn a computed verdict into the run\'s outcome.',
  input: z.strictObject({ that: z.boolean(), message: z.string().min(1).default('assertion failed') }),
  async run({ that, message }) {
    if (!that) throw ApplicationFailure.nonRetryable(message, 'AssertionFailed');
    return { ok: true, changed: false };
  },
  plan: (i) => `check: ${i.message}`,
});
