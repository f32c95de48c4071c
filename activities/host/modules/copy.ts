import { z } from 'zod';
import { AbsPath, defineModule, ensureFile, fileDiff, Mode, ModuleError, Owner, readRemoteFile } from '../module';

export default defineModule({
  name: 'copy',
  description: 'A file with exactly this content (`content`, or `src` on the worker) and mode/owner/group; compares sha256 checksums on the host.',
  args: z
    .strictObject({
      dest: AbsPath,
      content: z.string().optional(),
      src: z.string().optional().describe('Worker-side file, relative to the play file'),
      mode: Mode.optional(),
      owner: Owner.optional(),
      group: Owner.optional(),
      backup: z.boolean().default(false),
    })
    .refine((a) => (a.content === undefined) !== (a.src === undefined), 'give exactly one of content or src'),
  async run(a, ctx) {
    const content = a.content !== undefined ? Buffer.from(a.content) : await ctx.readLocal(a.src!);
    if (a.dest.endsWith('/')) throw new ModuleError(`dest ${a.dest} is a folder: name the file`);
    const before = ctx.diff ? await readRemoteFile(ctx, a.dest) : null;
    const res = await ensureFile(ctx, { path: a.dest, content, mode: a.mode, owner: a.owner, group: a.group, backup: a.backup });
    return { changed: res.changed, dest: a.dest, diff: ctx.diff ? fileDiff(a.dest, before, content, res) : undefined, backup_file: res.backupFile };
  },
});
