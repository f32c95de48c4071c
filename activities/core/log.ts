import { z } from 'zod';
import { defineAction } from '../define';

export default defineAction({
  name: 'core.log',
  readOnly: true,
  description: 'Write a message to the run log; its output is the message.',
  input: z.strictObject({
    message: z.string().describe('Text to log.'),
    level: z.enum(['info', 'warn', 'error']).default('info'),
  }),
  async run({ message, level }, ctx) {
    ctx.log(`[${level}] ${message}`);
    return { message, changed: false };
  },
  plan: ({ message }) => `log "${message}"`,
});
