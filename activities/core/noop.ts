import { z } from 'zod';
import { defineAction } from '../define';

export default defineAction({
  name: 'core.noop',
  readOnly: true,
  description: 'Do nothing and return `value` (useful for wiring outputs and for benchmarks).',
  input: z.strictObject({ value: z.unknown().optional() }),
  async run({ value }) {
    return { value: value ?? null, changed: false };
  },
  plan: () => 'nothing',
});
