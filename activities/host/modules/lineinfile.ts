import { z } from 'zod';
import { AbsPath, defineModule, Mode, ModuleError, Owner, readRemoteFile, writeEditedFile } from '../module';

const Regex = z.string().refine((r) => {
  try {
    new RegExp(r);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

/** Compute the new text (pure; exported for unit tests). Ansible's lineinfile rules. */
export function editLines(text: string | null, a: { line?: string; regexp?: string; state: 'present' | 'absent'; insertafter?: string; insertbefore?: string; firstmatch?: boolean }): string | null {
  if (text === null) {
    if (a.state === 'absent') return null;
    return `${a.line}\n`;
  }
  const endsNl = text.endsWith('\n');
  const lines = text.length ? (endsNl ? text.slice(0, -1) : text).split('\n') : [];
  const re = a.regexp !== undefined ? new RegExp(a.regexp) : undefined;
  if (a.state === 'absent') {
    const kept = lines.filter((l) => (re ? !re.test(l) : l !== a.line));
    return kept.length === lines.length ? text : kept.map((l) => `${l}\n`).join('');
  }
  const line = a.line!;
  if (re) {
    let idx = -1;
    for (let i = 0; i < lines.length; i++) if (re.test(lines[i])) {
      idx = i;
      if (a.firstmatch) break;
    }
    if (idx >= 0) {
      if (lines[idx] === line) return text;
      lines[idx] = line;
      return lines.map((l) => `${l}\n`).join('');
    }
  }
  if (lines.includes(line)) return text;
  let at = lines.length;
  if (a.insertbefore !== undefined) {
    if (a.insertbefore === 'BOF') at = 0;
    else {
      const r = new RegExp(a.insertbefore);
      let m = -1;
      for (let i = 0; i < lines.length; i++) if (r.test(lines[i])) {
        m = i;
        if (a.firstmatch) break;
      }
      if (m >= 0) at = m;
    }
  } else if (a.insertafter !== undefined && a.insertafter !== 'EOF') {
    const r = new RegExp(a.insertafter);
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
  args: z
    .strictObject({
      path: AbsPath,
      line: z.string().refine((l) => !l.includes('\n'), 'line must be a single line').optional(),
      regexp: Regex.optional(),
      state: z.enum(['present', 'absent']).default('present'),
      insertafter: z.union([z.literal('EOF'), Regex]).optional(),
      insertbefore: z.union([z.literal('BOF'), Regex]).optional(),
      firstmatch: z.boolean().default(false),
      create: z.boolean().default(false),
      mode: Mode.optional(),
      owner: Owner.optional(),
      group: Owner.optional(),
      backup: z.boolean().default(false),
    })
    .refine((a) => a.state === 'absent' || a.line !== undefined, 'state: present needs line')
    .refine((a) => a.state === 'present' || a.line !== undefined || a.regexp !== undefined, 'state: absent needs line or regexp')
    .refine((a) => !(a.insertafter && a.insertbefore), 'give insertafter or insertbefore, not both'),
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
    const after = editLines(before, a);
    if (after === before && !a.mode && !a.owner && !a.group) return { changed: false };
    return writeEditedFile(ctx, a, cur, after);
  },
});
