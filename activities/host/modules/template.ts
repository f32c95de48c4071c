import { z } from 'zod';
import { AbsPath, defineModule, ensureFile, fileDiff, Mode, Owner, readRemoteFile } from '../module';
import { ansibleArgs, builtin, FILE_COMMON, VALIDATE, type AnsibleSpelling } from '../ansible-args';

const only = (v: string, what: string) => ({ type: 'str' as const, to: null, only: [v], unsupported: what });

/** ansible.builtin.template's options (ansible-doc), and what each is natively. */
export const TEMPLATE_ANSIBLE: AnsibleSpelling = {
  module: 'template',
  names: builtin('template'),
  docs: ['ansible.builtin.template'],
  options: {
    src: { type: 'path' },
    dest: { type: 'path' },
    mode: { type: 'raw' },
    owner: { type: 'str' },
    group: { type: 'str' },
    backup: { type: 'bool' },
    force: { type: 'bool', to: null, only: [true], unsupported: 'leaving an existing dest alone (force: no)' },
    follow: { type: 'bool', to: null, only: [false], unsupported: 'writing through a symlink at dest; Runwright replaces the link with the file' },
    validate: VALIDATE,
    // Jinja2 settings: the renderer's own (Ansible's defaults) only.
    trim_blocks: { type: 'bool', to: null, only: [true], unsupported: 'keeping the newline after a block tag' },
    lstrip_blocks: { type: 'bool', to: null, only: [false], unsupported: 'stripping whitespace before a block tag' },
    newline_sequence: only('\\n', 'line endings other than \\n'),
    output_encoding: only('utf-8', 'encodings other than utf-8'),
    block_start_string: only('{%', 'other Jinja2 delimiters'),
    block_end_string: only('%}', 'other Jinja2 delimiters'),
    variable_start_string: only('{{', 'other Jinja2 delimiters'),
    variable_end_string: only('}}', 'other Jinja2 delimiters'),
    comment_start_string: only('{#', 'other Jinja2 delimiters'),
    comment_end_string: only('#}', 'other Jinja2 delimiters'),
    ...FILE_COMMON,
  },
};

/**
 * Like copy, but the content is a template rendered for each host in the play's language
 * (Jinja2 for play files and any `.j2` file; CEL for inline plays in a runbook): host vars,
 * `facts` (and Ansible's `ansible_*` names in Jinja2), registered results, `inventory_hostname`.
 */
export default defineModule({
  name: 'template',
  description: 'Render a template (`src` on the worker or inline `content`) with the host\'s variables and write it like copy.',
  rawArgs: ['content'],
  args: ansibleArgs(
    TEMPLATE_ANSIBLE,
    z
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
  ),
  async run(a, ctx) {
    const tpl = a.src !== undefined ? (await ctx.readLocal(a.src)).toString('utf8') : a.content!;
    // A .j2 file is Jinja2 by name, whatever the play's language.
    const content = Buffer.from(a.src?.endsWith('.j2') && ctx.renderJinja ? ctx.renderJinja(tpl) : ctx.render(tpl));
    const before = ctx.diff ? await readRemoteFile(ctx, a.dest) : null;
    const res = await ensureFile(ctx, { path: a.dest, content, mode: a.mode, owner: a.owner, group: a.group, backup: a.backup });
    return { changed: res.changed, dest: a.dest, diff: ctx.diff ? fileDiff(a.dest, before, content, res) : undefined };
  },
});
