import { z } from 'zod';
import { basename } from 'node:path';
import { shq } from '../ssh';
import { AbsPath, ctxFlag, defineModule, ensureFile, failed, fileDiff, isText, kv, Mode, ModuleError, Owner, readRemoteFile, textDiff, type ModuleContext, type ModuleResult } from '../module';
import { ansibleArgs, builtin, FILE_COMMON, notSupported, VALIDATE, type AnsibleSpelling } from '../ansible-args';

/** ansible.builtin.copy's options (ansible-doc), and what each is natively. */
export const COPY_ANSIBLE: AnsibleSpelling = {
  module: 'copy',
  names: builtin('copy'),
  docs: ['ansible.builtin.copy'],
  options: {
    dest: { type: 'path' },
    src: { type: 'path' },
    content: { type: 'str' },
    remote_src: { type: 'bool' },
    force: { type: 'bool' },
    mode: { type: 'raw' },
    owner: { type: 'str' },
    group: { type: 'str' },
    backup: { type: 'bool' },
    follow: { type: 'bool', to: null, only: [false], unsupported: 'writing through a symlink at dest; Runwright replaces the link with the file' },
    local_follow: { type: 'bool', to: null, only: [true], unsupported: 'copying a symlink on the worker as a link' },
    decrypt: { type: 'bool', to: null, only: [true], unsupported: 'copying an Ansible Vault file still encrypted' },
    directory_mode: { unsupported: 'copying folders' },
    checksum: { unsupported: 'checking the copied file against a given SHA-1 checksum' },
    validate: VALIDATE,
    ...FILE_COMMON,
  },
};

const VAULT = Buffer.from('$ANSIBLE_VAULT;');

/** remote_src: the host copies its own file (compare, temp file + rename, attributes) in one round trip. */
async function copyOnHost(ctx: ModuleContext, a: { src: string; dest: string; mode?: string; owner?: string; group?: string; backup: boolean }): Promise<ModuleResult> {
  const script = `src=${shq(a.src)}; dest=${shq(a.dest)}; mode=${shq(a.mode ?? '')}; owner=${shq(a.owner ?? '')}; group=${shq(a.group ?? '')}; check=${ctxFlag(ctx.check)}; backup=${a.backup ? 1 : 0}
if [ -d "$src" ]; then echo "err=src $src is a folder on the host: ${notSupported('copying folders')}"; exit 0; fi
if [ ! -f "$src" ]; then echo "err=src $src does not exist on the host (or is not a regular file)"; exit 0; fi
if [ -e "$dest" ] && [ ! -f "$dest" ]; then echo "err=$dest exists and is not a regular file"; exit 0; fi
if [ -f "$dest" ]; then existed=1; before=$(sha256sum < "$dest" | cut -c1-64); else existed=0; before=absent; fi
echo "existed=$existed"
want=$(sha256sum < "$src" | cut -c1-64) || { echo "err=cannot read $src"; exit 0; }
if [ "$before" != "$want" ]; then
  echo content=1
  if [ "$check" != 1 ]; then
    d=$(dirname -- "$dest")
    if [ ! -d "$d" ]; then echo "err=folder $d does not exist"; exit 0; fi
    tmp=$(mktemp "$d/.rw-XXXXXX") || { echo "err=cannot create a temporary file in $d"; exit 0; }
    if ! cp -- "$src" "$tmp"; then rm -f "$tmp"; echo "err=cannot copy $src to $tmp"; exit 0; fi
    if [ "$existed" = 1 ]; then chmod --reference="$dest" "$tmp"; chown --reference="$dest" "$tmp" 2>/dev/null
      if [ "$backup" = 1 ]; then b="$dest.$(date +%Y%m%d%H%M%S)~"; cp -p -- "$dest" "$b" && echo "backup=$b"; fi
    else chmod 0644 "$tmp"; fi
    mv -f -- "$tmp" "$dest" || { rm -f "$tmp"; echo "err=cannot replace $dest"; exit 0; }
  fi
fi
if [ -e "$dest" ]; then set -- $(stat -c '%a %U %G' -- "$dest"); else set -- 644 $(id -un) $(id -gn); fi
if [ -n "$mode" ] && [ "$1" != "$mode" ]; then echo "mode=$1 -> $mode"; [ "$check" = 1 ] || chmod "$mode" -- "$dest" || echo "err=chmod failed"; fi
if [ -n "$owner" ] && [ "$2" != "$owner" ]; then echo "owner=$2 -> $owner"; [ "$check" = 1 ] || chown -- "$owner" "$dest" || echo "err=chown failed"; fi
if [ -n "$group" ] && [ "$3" != "$group" ]; then echo "group=$3 -> $group"; [ "$check" = 1 ] || chgrp -- "$group" "$dest" || echo "err=chgrp failed"; fi
exit 0`;
  // The diff needs both texts: read them first (small text files only).
  const small = async (p: string) => {
    try {
      return await readRemoteFile(ctx, p, 256 * 1024);
    } catch {
      return null;
    }
  };
  const [before, source] = ctx.diff ? [await small(a.dest), await small(a.src)] : [null, null];
  const r = await ctx.exec(script);
  if (r.code !== 0) throw failed(r, `copying ${a.src} to ${a.dest}`);
  const o = kv(r.stdout);
  if (o.err) throw new ModuleError(`${o.err}${r.stderr ? ` (${r.stderr.trim().split('\n').pop()})` : ''}`);
  const attrChanges = (['mode', 'owner', 'group'] as const).filter((k) => o[k]).map((k) => `${a.dest}: ${k}: ${o[k]}`);
  const contentChanged = o.content === '1';
  let diff: string | undefined;
  if (ctx.diff && (contentChanged || attrChanges.length)) {
    const parts: string[] = [];
    if (contentChanged) {
      const b = before?.content ?? null;
      const s = source?.content ?? null;
      parts.push(s && isText(s) && (b === null || isText(b)) ? textDiff(a.dest, b === null ? null : b.toString('utf8'), s.toString('utf8')) : `${a.dest}: content replaced by ${a.src} (binary or large)`);
    }
    parts.push(...attrChanges);
    diff = parts.join('\n');
  }
  return { changed: contentChanged || attrChanges.length > 0, dest: a.dest, src: a.src, diff, backup_file: o.backup };
}

export default defineModule({
  name: 'copy',
  description: 'A file with exactly this content (`content`, `src` on the worker, or with remote_src a file on the host) and mode/owner/group; compares sha256 checksums on the host.',
  args: ansibleArgs(
    COPY_ANSIBLE,
    z
      .strictObject({
        dest: AbsPath.describe('The file; ending in / (with src): the folder to copy src into'),
        content: z.string().optional(),
        src: z.string().optional().describe('Worker-side file, relative to the play file (with remote_src: a file on the host)'),
        remote_src: z.boolean().default(false).describe('src is a file on the host'),
        force: z.boolean().default(true).describe('false: only create dest when it does not exist yet'),
        mode: Mode.optional(),
        owner: Owner.optional(),
        group: Owner.optional(),
        backup: z.boolean().default(false),
      })
      .refine((a) => (a.content === undefined) !== (a.src === undefined), 'give exactly one of content or src')
      .refine((a) => !a.remote_src || (a.src !== undefined && a.src.startsWith('/')), 'remote_src needs src, an absolute path on the host'),
  ),
  async run(a, ctx) {
    let dest = a.dest;
    if (dest.endsWith('/')) {
      if (a.src === undefined || a.src.endsWith('/')) throw new ModuleError(`dest ${a.dest} is a folder: name the file`);
      dest = `${dest}${basename(a.src)}`;
    }
    if (!a.force) {
      const e = await ctx.exec(`if [ -e ${shq(dest)} ] || [ -L ${shq(dest)} ]; then echo exists=1; fi`);
      if (e.code !== 0) throw failed(e, `checking ${dest}`);
      if (kv(e.stdout).exists) return { changed: false, dest, msg: `${dest} exists (force: false)` };
    }
    if (a.remote_src) return copyOnHost(ctx, { ...a, src: a.src!, dest });
    const content = a.content !== undefined ? Buffer.from(a.content) : await ctx.readLocal(a.src!);
    if (a.src !== undefined && content.subarray(0, VAULT.length).equals(VAULT))
      throw new ModuleError(`${a.src} is encrypted with Ansible Vault: ${notSupported('decrypting Vault files')}`);
    const before = ctx.diff ? await readRemoteFile(ctx, dest) : null;
    const res = await ensureFile(ctx, { path: dest, content, mode: a.mode, owner: a.owner, group: a.group, backup: a.backup });
    return { changed: res.changed, dest, diff: ctx.diff ? fileDiff(dest, before, content, res) : undefined, backup_file: res.backupFile };
  },
});
