import { z } from 'zod';
import { defineModule, ModuleError } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';

/** ansible.builtin.assert's options (ansible-doc). */
export const ASSERT_ANSIBLE: AnsibleSpelling = {
  module: 'assert',
  names: [...builtin('assert'), 'assert'],
  docs: ['ansible.builtin.assert'],
  options: {
    // The action plugin takes one string as a list of one (no comma splitting: `x in 'a,b'` is one condition).
    that: { type: 'raw' },
    fail_msg: { aliases: ['msg'], type: 'str' },
    success_msg: { type: 'str' },
    quiet: { type: 'bool' },
  },
};

/** Each `that` is a bare expression (as `when:`); the first false one fails the task. Touches no host. */
export default defineModule({
  name: 'assert',
  description: 'Check that expressions are true (bare, as in when:); fail with fail_msg otherwise. Never touches the host.',
  // `that` stays unrendered: its entries are expressions, evaluated here one by one.
  rawArgs: ['that'],
  args: ansibleArgs(
    ASSERT_ANSIBLE,
    z.strictObject({
      that: z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(z.union([z.string().min(1), z.boolean()])).min(1)),
      fail_msg: z.unknown().optional(),
      success_msg: z.unknown().optional(),
      quiet: z.boolean().default(false),
    }),
  ),
  async run(a, ctx) {
    for (const cond of a.that) {
      const v = typeof cond === 'boolean' ? cond : ctx.evaluate(cond.includes('{{') ? cond.replace(/^\s*\{\{([\s\S]*)\}\}\s*$/, '$1') : cond);
      const ok = v === true || v === 'True' || v === 'true' || (typeof v !== 'string' && typeof v !== 'boolean' && !!v);
      if (!ok) throw new ModuleError(a.fail_msg !== undefined ? String(a.fail_msg) : 'Assertion failed', { assertion: cond, evaluated_to: false });
    }
    return { changed: false, msg: a.quiet ? undefined : a.success_msg !== undefined ? String(a.success_msg) : 'All assertions passed' };
  },
});
