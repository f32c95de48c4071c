import { posix } from 'node:path';
import { z } from 'zod';
import { shq } from '../ssh';
import { AbsPath, defineModule, failed, Mode, ModuleError, Owner, readRemoteFile, writeEditedFile, type ModuleContext } from '../module';
import { ansibleArgs, builtin, expandBackrefs, FILE_COMMON, isPyRegExp, pyRegExp, VALIDATE, type AnsibleSpelling } from '../ansible-args';

/** ansible.builtin.lineinfile's options (ansible-doc), and what each is natively. */
export const LINEINFILE_ANSIBLE: AnsibleSpelling = {
  module: 'lineinfile',
  names: builtin('lineinfile'),
  docs: ['ansible.builtin.lineinfile'],
  options: {
    path: { aliases: ['dest', 'destfile', 'name'], type: 'path' },
    line: { aliases: ['value'], type: 'str' },
    regexp: { aliases: ['regex'], type: 'str' },
    search_string: {
      type: 'str',
      apply: (v, args) => {
        if ('regexp' in args) return 'give regexp or search_string, not both';
        if (args.backrefs === true) return 'backrefs works with regexp, not search_string';
        args.regexp = String(v).replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      },
    },
    state: { type: 'str' },
    insertafter: { type: 'str' },
    insertbefore: { type: 'str' },
    firstmatch: { type: 'bool' },
    backrefs: { type: 'bool' },
    create: { type: 'bool' },
    backup: { type: 'bool' },
    mode: { type: 'raw' },
    owner: { type: 'str' },
    group: { type: 'str' },
    validate: VALIDATE,
    others: { docOnly: "ansible-doc's name for the file module's options; mode, owner and group work here" },
    ...FILE_COMMON,
  },
};

/** A Python regular expression (Ansible's), read as JavaScript (see pyRegExp). */
const Regex = z.string().refine(isPyRegExp, 'not a valid regular expression');

/** Ansible's `create` makes the missing folders too. */
export async function makeParent(ctx: ModuleContext, path: string): Promise<void> {
  if (ctx.check) return;
  // The folder is known here: no dirname process, and no mkdir when it exists.
  const dir = posix.dirname(path);
  const r = await ctx.exec(`[ -d ${shq(dir)} ] || mkdir -p -- ${shq(dir)}`);
  if (r.code !== 0) throw failed(r, `creating the folder of ${path}`);
}

/** Compute the new text (pure; exported for unit tests). Ansible's lineinfile rules. */
export function editLines(text: string | null, a: { line?: string; regexp?: string; state: 'present' | 'absent'; insertafter?: string; insertbefore?: string; firstmatch?: boolean; backrefs?: boolean }): string | null {
  if (text === null) {
    if (a.state === 'absent' || a.backrefs) return null;
    return `${a.line}\n`;
  }
  const endsNl = text.endsWith('\n');
  const lines = text.length ? (endsNl ? text.slice(0, -1) : text).split('\n') : [];
  const re = a.regexp !== undefined ? pyRegExp(a.regexp) : undefined;
  if (a.state === 'absent') {
    const kept = lines.filter((l) => (re ? !re.test(l) : l !== a.line));
    return kept.length === lines.length ? text : kept.map((l) => `${l}\n`).join('');
  }
  const line = a.line!;
  if (re) {
    let idx = -1;
    let match: RegExpExecArray | null = null;
    for (let i = 0; i < lines.length; i++) {
      const m = re.exec(lines[i]);
      if (m) {
        idx = i;
        match = m;
        if (a.firstmatch) break;
      }
    }
    if (idx >= 0) {
      // backrefs: the line is a template of the match (Python's match.expand: \1, \g<name>).
      const next = a.backrefs ? expandBackrefs(line, match!) : line;
      if (lines[idx] === next) return text;
      lines[idx] = next;
      return lines.map((l) => `${l}\n`).join('');
    }
  }
  // backrefs and no match: nothing to write (Ansible leaves the file alone).
  if (a.backrefs) return text;
  if (lines.includes(line)) return text;
  let at = lines.length;
  if (a.insertbefore !== undefined) {
    if (a.insertbefore === 'BOF') at = 0;
    else {
      const r = pyRegExp(a.insertbefore);
      let m = -1;
      for (let i = 0; i < lines.length; i++) if (r.test(lines[i])) {
        m = i;
        if (a.firstmatch) break;
      }
      if (m >= 0) at = m;
    }
  } else if (a.insertafter !== undefined && a.insertafter !== 'EOF') {
    const r = pyRegExp(a.insertafter);
    let m = -1;
    for (let i = 0; i < lines.length; i++) if (r.test(lines[i])) {
      m = i;
      if (a.firstmatch) break;
    }
    if (m >= 0) at = m + 1;
  }
  lines.splice(at, 0, line);
  return lines.map((l) => `${l}\n`).join('');
}

export default defineModule({
  name: 'lineinfile',
  description: 'One line present (replacing the last line matching `regexp`) or absent, in a text file.',
  args: ansibleArgs(
    LINEINFILE_ANSIBLE,
    z
      .strictObject({
        path: AbsPath,
        line: z.string().refine((l) => !l.includes('\n'), 'line must be a single line').optional(),
        regexp: Regex.optional(),
        state: z.enum(['present', 'absent']).default('present'),
        insertafter: z.union([z.literal('EOF'), Regex]).optional(),
        insertbefore: z.union([z.literal('BOF'), Regex]).optional(),
        firstmatch: z.boolean().default(false),
        backrefs: z.boolean().default(false).describe('line is a template of the regexp match (\\1, \\g<name>); no match: no change'),
        create: z.boolean().default(false),
        mode: Mode.optional(),
        owner: Owner.optional(),
        group: Owner.optional(),
        backup: z.boolean().default(false),
      })
      .refine((a) => a.state === 'absent' || a.line !== undefined, 'state: present needs line')
      .refine((a) => a.state === 'present' || a.line !== undefined || a.regexp !== undefined, 'state: absent needs line or regexp')
      .refine((a) => !(a.insertafter && a.insertbefore), 'give insertafter or insertbefore, not both')
      .refine((a) => !a.backrefs || a.regexp !== undefined, 'backrefs needs regexp'),
  ),
  async run(a, ctx) {
    const cur = await readRemoteFile(ctx, a.path);
    if (cur.exists && !cur.isFile) throw new ModuleError(`${a.path} is not a regular file`);
    if (!cur.exists && a.state === 'present' && !a.create) {
      // In check mode an earlier task may be the one that would create the file.
      if (ctx.check) return { changed: false, skipped: true, msg: `${a.path} does not exist (yet)` };
      throw new ModuleError(`${a.path} does not exist (set create: true to create it)`);
    }
    if (!cur.exists && a.state === 'absent') return { changed: false, msg: 'file absent' };
    const before = cur.content ? cur.content.toString('utf8') : null;
    let after: string | null;
    try {
      after = editLines(before, a);
    } catch (e: any) {
      throw new ModuleError(`backrefs: ${e.message}`);
    }
    if (!cur.exists && after === null) return { changed: false, msg: 'regexp did not match (backrefs): nothing to write' };
    if (!cur.exists) await makeParent(ctx, a.path);
    if (after === before && !a.mode && !a.owner && !a.group) return { changed: false };
    return writeEditedFile(ctx, a, cur, after);
  },
});
