import { z } from 'zod';
import { AbsPath, defineModule, Mode, ModuleError, Owner, readRemoteFile, writeEditedFile } from '../module';
import { ansibleArgs, builtin, FILE_COMMON, isPyRegExp, pyRegExp, VALIDATE, type AnsibleSpelling } from '../ansible-args';
import { makeParent } from './lineinfile';

/** ansible.builtin.blockinfile's options (ansible-doc), and what each is natively. */
export const BLOCKINFILE_ANSIBLE: AnsibleSpelling = {
  module: 'blockinfile',
  names: builtin('blockinfile'),
  docs: ['ansible.builtin.blockinfile'],
  options: {
    path: { aliases: ['dest', 'destfile', 'name'], type: 'path' },
    block: { aliases: ['content'], type: 'str' },
    marker: { type: 'str' },
    marker_begin: { type: 'str' },
    marker_end: { type: 'str' },
    state: { type: 'str' },
    insertafter: { type: 'str' },
    insertbefore: { type: 'str' },
    create: { type: 'bool' },
    backup: { type: 'bool' },
    mode: { type: 'raw' },
    owner: { type: 'str' },
    group: { type: 'str' },
    validate: VALIDATE,
    ...FILE_COMMON,
  },
};

const Regex = z.string().refine(isPyRegExp, 'not a valid regular expression');

function lastMatch(lines: string[], r: RegExp): number {
  for (let i = lines.length - 1; i >= 0; i--) if (r.test(lines[i])) return i;
  return -1;
}

/** Ansible's default marker: a host Ansible configured keeps one block when Runwright takes over. */
export const DEFAULT_MARKER = '# {mark} ANSIBLE MANAGED BLOCK';
/** Runwright's default before it used Ansible's: a block with it is adopted (rewritten), never doubled. */
export const LEGACY_MARKER = '# {mark} RUNWRIGHT MANAGED BLOCK';

export interface BlockArgs {
  block: string;
  marker: string;
  /** Also recognise a block with these markers (the default marker's older spelling) and replace it. */
  legacyMarker?: string;
  markerBegin: string;
  markerEnd: string;
  state: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
}

/** Compute the new text (pure; exported for unit tests). Ansible's blockinfile rules. */
export function editBlock(text: string | null, a: BlockArgs): string | null {
  const begin = a.marker.replace('{mark}', a.markerBegin);
  const end = a.marker.replace('{mark}', a.markerEnd);
  const src = text ?? '';
  const lines = src.length ? (src.endsWith('\n') ? src.slice(0, -1) : src).split('\n') : [];
  let b = lines.indexOf(begin);
  let e = b >= 0 ? lines.indexOf(end, b + 1) : -1;
  if ((b < 0 || e < 0) && a.legacyMarker) {
    const lb = lines.indexOf(a.legacyMarker.replace('{mark}', a.markerBegin));
    const le = lb >= 0 ? lines.indexOf(a.legacyMarker.replace('{mark}', a.markerEnd), lb + 1) : -1;
    if (lb >= 0 && le >= 0) [b, e] = [lb, le];
  }
  const blockLines = a.block === '' ? [] : (a.block.endsWith('\n') ? a.block.slice(0, -1) : a.block).split('\n');
  const wanted = a.state === 'present' && blockLines.length ? [begin, ...blockLines, end] : [];
  let out: string[];
  if (b >= 0 && e >= 0) {
    out = [...lines.slice(0, b), ...wanted, ...lines.slice(e + 1)];
  } else {
    if (!wanted.length) return text;
    let at = lines.length;
    if (a.insertbefore !== undefined) {
      if (a.insertbefore === 'BOF') at = 0;
      else {
        const r = pyRegExp(a.insertbefore);
        const m = lastMatch(lines, r);
        if (m >= 0) at = m;
      }
    } else if (a.insertafter !== undefined && a.insertafter !== 'EOF') {
      const r = pyRegExp(a.insertafter);
      const m = lastMatch(lines, r);
      if (m >= 0) at = m + 1;
    }
    out = [...lines];
    out.splice(at, 0, ...wanted);
  }
  const next = out.map((l) => `${l}\n`).join('');
  return next === src ? text : next;
}

export default defineModule({
  name: 'blockinfile',
  description: 'A block of lines between marker lines, inserted, updated or removed in a text file.',
  args: ansibleArgs(
    BLOCKINFILE_ANSIBLE,
    z
      .strictObject({
        path: AbsPath,
        block: z.string().default(''),
        // Unset: Ansible's marker (and a block with Runwright's older default is adopted).
        marker: z
          .string()
          .refine((m) => m.includes('{mark}') && !m.includes('\n'), 'marker must contain {mark} and be one line')
          .optional(),
        marker_begin: z.string().default('BEGIN'),
        marker_end: z.string().default('END'),
        state: z.enum(['present', 'absent']).default('present'),
        insertafter: z.union([z.literal('EOF'), Regex]).optional(),
        insertbefore: z.union([z.literal('BOF'), Regex]).optional(),
        create: z.boolean().default(false),
        mode: Mode.optional(),
        owner: Owner.optional(),
        group: Owner.optional(),
        backup: z.boolean().default(false),
      })
      .refine((a) => !(a.insertafter && a.insertbefore), 'give insertafter or insertbefore, not both'),
  ),
  async run(a, ctx) {
    const cur = await readRemoteFile(ctx, a.path);
    if (cur.exists && !cur.isFile) throw new ModuleError(`${a.path} is not a regular file`);
    if (!cur.exists && a.state === 'present' && !a.create) {
      // In check mode an earlier task may be the one that would create the file.
      if (ctx.check) return { changed: false, skipped: true, msg: `${a.path} does not exist (yet)` };
      throw new ModuleError(`${a.path} does not exist (set create: true to create it)`);
    }
    if (!cur.exists && a.state === 'absent') return { changed: false };
    const before = cur.content ? cur.content.toString('utf8') : null;
    const after = editBlock(before, { block: a.block, marker: a.marker ?? DEFAULT_MARKER, legacyMarker: a.marker === undefined ? LEGACY_MARKER : undefined, markerBegin: a.marker_begin, markerEnd: a.marker_end, state: a.state, insertafter: a.insertafter, insertbefore: a.insertbefore });
    if (after === before && cur.exists && !a.mode && !a.owner && !a.group) return { changed: false };
    if (!cur.exists) await makeParent(ctx, a.path);
    return writeEditedFile(ctx, a, cur, after);
  },
});
