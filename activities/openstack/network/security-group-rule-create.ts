/** `openstack.security-group-rule.create`: one rule (an identical existing rule is reused, created: false). */
import { z } from 'zod';
import { defineAction } from '../../define';
import { looksLikeId, target, withClient, undoneBy } from '../common';
import { findSecurityGroup } from './neutron';
import { Rule, ensureRule, ruleText, sameRule } from './rules';

export default defineAction({
  name: 'openstack.security-group-rule.create',
  description: 'Add a rule to a security group (name or id); idempotent: Neutron\'s "rule already exists" returns the existing rule.',
  input: Rule.extend({ ...target, securityGroup: z.string().min(1) }),
  inverse: undoneBy('openstack.security-group-rule.delete'),
  async run(input, ctx) {
    return withClient(`openstack.security-group-rule.create ${input.securityGroup}`, input, ctx, async (c) => {
      const sgId = looksLikeId(input.securityGroup) ? input.securityGroup : (await findSecurityGroup(c, ctx, input.securityGroup)).id;
      const r = await ensureRule(c, sgId, input);
      return { id: r.id, securityGroupId: sgId, created: r.created, changed: r.created };
    });
  },
  async dryRun(input, ctx) {
    return withClient(`openstack.security-group-rule.create ${input.securityGroup} (dry run)`, input, ctx, async (c) => {
      const sg = await findSecurityGroup(c, ctx, input.securityGroup);
      const known = sameRule(sg.security_group_rules ?? [], sg.id, input);
      return known ? { changed: false, effect: 'none', summary: `rule ${ruleText(input)} exists in ${input.securityGroup} (${known.id})` } : { changed: true, effect: 'create', summary: `add rule ${ruleText(input)} to ${input.securityGroup}`, diff: `+ rule ${ruleText(input)}` };
    });
  },
  plan: (i) => `allow ${ruleText(i)} in ${i.securityGroup}`,
});
