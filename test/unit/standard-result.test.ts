/**
 * The standard result shape (activities/define.ts StandardResult): every readOnly action's
 * outputs say `changed` (the wrapper adds `changed: false` when it does not); an action that
 * changes things keeps its own claim.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { defineAction, standardOutputs, toActivity, type StandardResult } from '../../activities/define';

const run = (readOnly: boolean, outputs: unknown) =>
  new MockActivityEnvironment({ activityId: 's', heartbeatTimeoutMs: 1000 } as never).run(
    toActivity(defineAction({ name: 'test.out', description: 'returns what it is given', input: z.strictObject({}), readOnly, run: async () => outputs })),
    {},
  );

test('a readOnly action that does not say gets changed: false', async () => {
  await expect(run(true, { value: 1 })).resolves.toEqual({ outputs: { value: 1, changed: false }, attempt: 1 });
});

test("an action's own changed is kept, readOnly or not", async () => {
  await expect(run(true, { value: 1, changed: false })).resolves.toEqual({ outputs: { value: 1, changed: false }, attempt: 1 });
  await expect(run(false, { changed: true, diff: '+x' })).resolves.toEqual({ outputs: { changed: true, diff: '+x' }, attempt: 1 });
});

test('an action that changes things is never given a changed it did not claim', async () => {
  await expect(run(false, { id: 'x' })).resolves.toEqual({ outputs: { id: 'x' }, attempt: 1 });
});

test('outputs that are no object stay as they are', () => {
  expect(standardOutputs({ readOnly: true }, null)).toBeNull();
  expect(standardOutputs({ readOnly: true }, [1, 2])).toEqual([1, 2]);
  expect(standardOutputs({ readOnly: true }, 'text')).toBe('text');
});

test('StandardResult is changed, diff and summary beside the outputs', () => {
  const r: StandardResult<{ id: string }> = { changed: true, summary: 'created x', id: 'x' };
  expect(r.changed).toBe(true);
});
