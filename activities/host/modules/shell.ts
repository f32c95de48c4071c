import { z } from 'zod';
import { shq } from '../../../lib/ssh';
import { defineModule } from '../module';
import { CommandOptions, runScript } from './command';

/**
 * A shell script. `{{ }}` placeholders in `cmd` are inserted as single quoted shell words, so
 * a value can never inject shell syntax; the rest of `cmd` is the script as written.
 */
export default defineModule({
  name: 'shell',
  description: 'Run a shell script (pipes, redirects). Values from `{{ }}` placeholders are inserted as quoted words.',
  freeForm: 'cmd',
  shellQuotedArgs: ['cmd'],
  args: z.strictObject({
    cmd: z.string().min(1),
    executable: z.string().regex(/^\/[\w./-]+$/).default('/bin/sh'),
    ...CommandOptions,
  }),
  async run(a, ctx) {
    return runScript(ctx, `exec ${shq(a.executable)} -c ${shq(a.cmd)}`, a);
  },
});
