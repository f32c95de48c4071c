import { z } from 'zod';
import { defineModule } from '../module';

const Ident = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Ansible's set_fact: variables for the rest of this host's play (above play and role vars,
 * below extra vars). The play runner applies `ansible_facts` from the result; `cacheable` is
 * accepted (there is no fact cache: facts live for the play). Touches no host.
 */
export default defineModule({
  name: 'set_fact',
  description: 'Set variables for the rest of the host\'s play (key: value pairs, values rendered). Never touches the host.',
  args: z
    .record(z.string(), z.unknown())
    .superRefine((a, ctx) => {
      for (const k of Object.keys(a)) if (k !== 'cacheable' && !Ident.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is not a valid variable name (letters, digits, _)`, params: { at: 'key' } });
      if (!Object.keys(a).some((k) => k !== 'cacheable')) ctx.addIssue({ code: 'custom', message: 'set_fact needs at least one key: value' });
    })
    .transform(({ cacheable: _c, ...facts }) => facts),
  async run(facts) {
    return { changed: false, ansible_facts: facts };
  },
});
