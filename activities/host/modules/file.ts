import { z } from 'zod';
import { shq } from '../ssh';
import { AbsPath, ctxFlag, defineModule, failed, kv, Mode, ModuleError, Owner } from '../module';
import { ansibleArgs, builtin, FILE_COMMON, type AnsibleSpelling } from '../ansible-args';

/** ansible.builtin.file's options (ansible-doc), and what each is natively. */
export const FILE_ANSIBLE: AnsibleSpelling = {
  module: 'file',
  names: builtin('file'),
  docs: ['ansible.builtin.file'],
  options: {
    path: { aliases: ['dest', 'name'], type: 'path' },
    state: { only: ['absent', 'directory', 'file', 'link', 'touch'], unsupported: 'hard links' },
    src: { type: 'path' },
    mode: { type: 'raw' },
    owner: { type: 'str' },
    group: { type: 'str' },
    recurse: { type: 'bool' },
    force: { type: 'bool' },
    follow: { type: 'bool', to: null, only: [true], unsupported: 'acting on a symlink itself instead of the file it points to' },
    modification_time: { to: null, only: ['preserve'], unsupported: 'setting timestamps; Runwright leaves them as they are (`preserve`)' },
    access_time: { to: null, only: ['preserve'], unsupported: 'setting timestamps; Runwright leaves them as they are (`preserve`)' },
    modification_time_format: { ignored: 'only used with a timestamp in modification_time, which is refused' },
    access_time_format: { ignored: 'only used with a timestamp in access_time, which is refused' },
    ...FILE_COMMON,
  },
};

/** Paths: directories, empty files, symlinks, absence, and their mode/owner/group. One round trip. */
export default defineModule({
  name: 'file',
  description: 'A path in a given state: directory, file (must exist), touch, link (symlink to src), absent; with mode/owner/group. Without state: the current state (file if absent, directory with recurse), as in Ansible.',
  args: ansibleArgs(
    FILE_ANSIBLE,
    z
      .strictObject({
        path: AbsPath,
        state: z.enum(['file', 'directory', 'touch', 'link', 'absent']).optional().describe('Default: what the path is now (file if it does not exist, directory with recurse)'),
        // One line: the module reports the link back line by line.
        src: z.string().refine((p) => !/[\n\0]/.test(p), 'src must not contain NUL or newlines').optional().describe('Link target for state: link'),
        mode: Mode.optional(),
        owner: Owner.optional(),
        group: Owner.optional(),
        recurse: z.boolean().default(false).describe('directory: apply owner/group to everything inside'),
        force: z.boolean().default(false).describe('link: replace an existing file that is not a link'),
      })
      .refine((a) => a.state !== 'link' || !!a.src, 'state: link needs src')
      .refine((a) => a.path !== '/' || a.state !== 'absent', 'refusing to remove /'),
  ),
  async run(a, ctx) {
    const script = `p=${shq(a.path)}; state=${shq(a.state ?? '')}; src=${shq(a.src ?? '')}; mode=${shq(a.mode ?? '')}; owner=${shq(a.owner ?? '')}; group=${shq(a.group ?? '')}; check=${ctxFlag(ctx.check)}; recurse=${a.recurse ? 1 : 0}; force=${a.force ? 1 : 0}
kind() { if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo directory; elif [ -f "$1" ]; then echo file; elif [ -e "$1" ]; then echo other; else echo absent; fi; }
run() { [ "$check" = 1 ] && return 0; "$@" || { echo "err=$* failed"; exit 0; }; }
before=$(kind "$p"); echo "before=$before"
if [ -z "$state" ]; then
  case "$before" in
    absent) if [ "$recurse" = 1 ]; then state=directory; else state=file; fi ;;
    link) echo "err=$p is a symlink and no state was given: give state: link with its src, or the path it points to"; exit 0 ;;
    other) state=file ;;
    *) state=$before ;;
  esac
fi
echo "state=$state"
case "$state" in
  absent) if [ "$before" != absent ]; then echo changed=1; run rm -rf -- "$p"; fi; exit 0 ;;
  file) if [ "$before" = absent ]; then echo "err=$p does not exist (use state: touch to create it)"; exit 0; fi
        if [ "$before" != file ]; then echo "err=$p is a $before, not a file"; exit 0; fi ;;
  directory) if [ "$before" = absent ]; then echo changed=1; run mkdir -p -- "$p"; elif [ "$before" != directory ]; then echo "err=$p is a $before, not a directory"; exit 0; fi ;;
  touch) if [ "$before" = absent ]; then echo changed=1; run touch -- "$p"; elif [ "$before" = directory ]; then :; fi ;;
  link) cur=$(readlink -- "$p" 2>/dev/null)
        if [ "$before" = link ] && [ "$cur" = "$src" ]; then :; 
        elif [ "$before" = directory ]; then
          if [ "$force" = 1 ] && [ -z "$(ls -A -- "$p")" ]; then echo "changed=1"; printf 'link=%s -> %s\\n' "(empty directory)" "$src"; run rmdir -- "$p"; run ln -s -- "$src" "$p";
          elif [ "$force" = 1 ]; then echo "err=$p is a directory that is not empty: refusing to replace it with a link"; exit 0;
          else echo "err=$p is a directory; set force: true to replace it (when empty) with a link"; exit 0; fi
        elif [ "$before" = absent ] || [ "$before" = link ] || [ "$force" = 1 ]; then echo "changed=1"; printf 'link=%s -> %s\\n' "$cur" "$src"; run ln -sfn -- "$src" "$p";
        else echo "err=$p is a $before; set force: true to replace it with a link"; exit 0; fi
        exit 0 ;;
esac
if [ -e "$p" ]; then set -- $(stat -c '%a %U %G' -- "$p"); else case "$state" in directory) set -- 755 x x ;; *) set -- 644 x x ;; esac; fi
if [ -n "$mode" ] && [ "$1" != "$mode" ]; then echo "mode=$1 -> $mode"; run chmod "$mode" -- "$p"; fi
if [ -n "$owner" ] && [ "$2" != "$owner" ]; then echo "owner=$2 -> $owner"; run chown -- "$owner" "$p"; fi
if [ -n "$group" ] && [ "$3" != "$group" ]; then echo "group=$3 -> $group"; run chgrp -- "$group" "$p"; fi
if [ "$recurse" = 1 ] && [ "$state" = directory ] && { [ -n "$owner" ] || [ -n "$group" ]; } && [ -d "$p" ]; then
  spec="$owner"; [ -n "$group" ] && spec="$owner:$group"
  n=$(find "$p" -mindepth 1 \\( \\( ! -user "\${owner:-$(id -un)}" \\) -o \\( ! -group "\${group:-$(id -gn)}" \\) \\) 2>/dev/null | head -1 | wc -l)
  if [ "$n" != 0 ]; then echo "recurse=owner/group inside $p"; run chown -R -- "$spec" "$p"; fi
fi
exit 0`;
    const r = await ctx.exec(script);
    if (r.code !== 0) throw failed(r, `file ${a.path}`);
    const o = kv(r.stdout);
    if (o.err) throw new ModuleError(o.err);
    const changes = ['mode', 'owner', 'group', 'recurse', 'link'].filter((k) => o[k]).map((k) => `${a.path}: ${k} ${o[k]}`);
    const stateChanged = o.changed === '1';
    const changed = stateChanged || changes.length > 0;
    const state = o.state || a.state;
    const after = state === 'touch' ? (o.before === 'absent' ? 'file' : o.before) : state;
    const diff = ctx.diff && changed ? [stateChanged ? `${a.path}: ${o.before} -> ${after}` : '', ...changes].filter(Boolean).join('\n') : undefined;
    return { changed, path: a.path, state: after, diff };
  },
});
