import { z } from 'zod';
import { defineModule } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';
import { pyStr } from '../jinja';

/** ansible.builtin.debug's options (ansible-doc). */
export const DEBUG_ANSIBLE: AnsibleSpelling = {
  module: 'debug',
  names: [...builtin('debug'), 'debug'],
  docs: ['ansible.builtin.debug'],
  options: {
    msg: { type: 'str' },
    var: { type: 'str' },
    verbosity: { ignored: 'Runwright keeps every message in the task result; there is no -v level to filter on' },
  },
};

/** A message in the task's result (`msg`), or a variable's value (`var`). Touches no host. */
export default defineModule({
  name: 'debug',
  description: 'Put a message (msg) or the value of a variable (var) in the task result. Never touches the host.',
  args: ansibleArgs(DEBUG_ANSIBLE, z.strictObject({ msg: z.unknown().optional(), var: z.string().min(1).optional() }).refine((a) => !(a.msg !== undefined && a.var !== undefined), 'msg and var are mutually exclusive')),
  async run(a, ctx) {
    if (a.var !== undefined) {
      const v = ctx.evaluate(a.var);
      return { changed: false, msg: `${a.var}: ${pyStr(v)}`, [a.var]: v };
    }
    const msg = a.msg === undefined ? 'Hello world!' : a.msg;
    return { changed: false, msg: typeof msg === 'string' ? msg : pyStr(msg) };
  },
});
