/**
 * `openstack.security-group.create`: a security group with the rules it must have. Adopts a group
 * of the same name in the project by default (then `created` is false and the compensation keeps
 * it); rules are ensured either way (an identical rule is left as is).
 */
import { z } from 'zod';
import { defineAction } from '../../define';
import { target, withClient, undoneBy } from '../common';
import { ensureNeutron, lookupNeutron } from './neutron';
import { Rule, ensureRule, ruleText, sameRule } from './rules';

export default defineAction({
  name: 'openstack.security-group.create',
  description: 'Ensure a security group (by name, in your project) and its ingress/egress rules.',
  input: z.strictObject({ ...target, name: z.string().min(1).max(255), description: z.string().default(''), rules: z.array(Rule).default([]), adopt: z.boolean().default(true) }),
  inverse: undoneBy('openstack.security-group.delete'),
  async run(input, ctx) {
    return withClient(`openstack.security-group.create ${input.name}`, input, ctx, async (c) => {
      const { resource, created, changed } = await ensureNeutron(c, ctx, { path: '/security-groups', key: 'security_group', what: 'security group', adopt: input.adopt, body: { name: input.name, description: input.description || undefined } });
      const rules = [];
      for (const r of input.rules) rules.push(await ensureRule(c, resource.id, r, resource.security_group_rules ?? []));
      return { id: resource.id, name: resource.name, created, rules: rules.map((r) => r.id), rulesCreated: rules.filter((r) => r.created).length, changed: changed || rules.some((r) => r.created) };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.security-group.create ${input.name} (dry run)`, input, ctx, async (c) => {
      const hit = await lookupNeutron(c, ctx, { path: '/security-groups', key: 'security_group', what: 'security group', adopt: input.adopt, body: { name: input.name } });
      const missing = hit ? input.rules.filter((r) => !sameRule(hit.resource.security_group_rules ?? [], hit.resource.id, r)) : input.rules;
      const diff = [...(hit ? [] : [`+ security group ${input.name}`]), ...missing.map((r) => `+ rule ${ruleText(r)}`)].join('\n');
      if (!hit) return { changed: true, effect: 'create', summary: `create security group ${input.name} with ${input.rules.length} rule(s) on ${input.cloud}`, diff };
      if (!missing.length) return { changed: false, effect: 'none', summary: `security group ${input.name} exists (${hit.resource.id}) with its ${input.rules.length} rule(s)` };
      return { changed: true, effect: 'change', summary: `security group ${input.name} exists (${hit.resource.id}); add ${missing.length} rule(s)`, diff };
    });
  },
  plan: (i) => `ensure security group ${i.name} with ${i.rules.length} rule(s)`,
});
