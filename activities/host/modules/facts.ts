import { z } from 'zod';
import { defineModule } from '../module';

/** Gather facts again (they are gathered once per host at the start of a play when gather_facts is on). */
export default defineModule({
  name: 'facts',
  description: 'Host facts: os, hostname, kernel, addresses, routes, package and service manager. Never changes anything.',
  args: z.strictObject({}),
  async run(_a, ctx) {
    const facts = await ctx.facts();
    return { changed: false, facts };
  },
});
