import { z } from 'zod';
import { AbsPath, defineModule, ensureFile, fileDiff, Mode, Owner, readRemoteFile } from '../module';

/**
 * Like copy, but the content is a template rendered for each host in the play's language
 * (Jinja2 for play files and any `.j2` file; CEL for inline plays in a runbook): host vars,
 * `facts` (and Ansible's `ansible_*` names in Jinja2), registered results, `inventory_hostname`.
 */
export default defineModule({
  name: 'template',
  description: 'Render a template (`src` on the worker or inline `content`) with the host\'s variables and write it like copy.',
  rawArgs: ['content'],
  args: z
    .strictObject({
      dest: AbsPath,
      src: z.string().optional(),
      content: z.string().optional().describe('Inline template (use src for files)'),
      mode: Mode.optional(),
      owner: Owner.optional(),
      group: Owner.optional(),
      backup: z.boolean().default(false),
    })
    .refine((a) => (a.content === undefined) !== (a.src === undefined), 'give exactly one of src or content'),
  async run(a, ctx) {
    const tpl = a.src !== undefined ? (await ctx.readLocal(a.src)).toString('utf8') : a.content!;
    // A .j2 file is Jinja2 by name, whatever the play's language.
    const content = Buffer.from(a.src?.endsWith('.j2') && ctx.renderJinja ? ctx.renderJinja(tpl) : ctx.render(tpl));
    const before = ctx.diff ? await readRemoteFile(ctx, a.dest) : null;
    const res = await ensureFile(ctx, { path: a.dest, content, mode: a.mode, owner: a.owner, group: a.group, backup: a.backup });
    return { changed: res.changed, dest: a.dest, diff: ctx.diff ? fileDiff(a.dest, before, content, res) : undefined };
  },
});
