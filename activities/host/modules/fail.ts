import { z } from 'zod';
import { defineModule, ModuleError } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';
import { pyStr } from '../jinja';

/** ansible.builtin.fail's options (ansible-doc). */
export const FAIL_ANSIBLE: AnsibleSpelling = {
  module: 'fail',
  names: [...builtin('fail'), 'fail'],
  docs: ['ansible.builtin.fail'],
  options: { msg: { type: 'str' } },
};

/** Fail the host with a message (usually under a `when:`). Touches no host. */
export default defineModule({
  name: 'fail',
  description: 'Fail the task with a message (use with when:). Never touches the host.',
  args: ansibleArgs(FAIL_ANSIBLE, z.strictObject({ msg: z.unknown().optional() })),
  async run(a) {
    const msg = a.msg === undefined ? 'Failed as requested from task' : typeof a.msg === 'string' ? a.msg : pyStr(a.msg);
    throw new ModuleError(msg);
  },
});
