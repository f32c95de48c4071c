import { z } from 'zod';
import { defineModule } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';

/** ansible.builtin.setup's options (ansible-doc): Runwright gathers one fixed set of facts. */
export const FACTS_ANSIBLE: AnsibleSpelling = {
  module: 'facts',
  names: [...builtin('setup'), 'setup'],
  docs: ['ansible.builtin.setup'],
  options: {
    gather_subset: { type: 'list', to: null, only: [['all']], unsupported: 'choosing subsets of facts; Runwright gathers one fixed set' },
    filter: { type: 'list', to: null, only: [[], ['']], unsupported: 'filtering facts' },
    gather_timeout: { ignored: 'Runwright gathers its facts with one command' },
    fact_path: { type: 'path', to: null, only: ['/etc/ansible/facts.d'], unsupported: 'local facts (facts.d)' },
  },
};

/** Gather facts again (they are gathered once per host at the start of a play when gather_facts is on). */
export default defineModule({
  name: 'facts',
  description: 'Host facts: os, hostname, kernel, addresses, routes, package and service manager. Never changes anything.',
  args: ansibleArgs(FACTS_ANSIBLE, z.strictObject({})),
  async run(_a, ctx) {
    const facts = await ctx.facts();
    return { changed: false, facts };
  },
});
