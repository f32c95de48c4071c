import { z } from 'zod';
import { shq } from '../ssh';
import { AbsPath, defineModule, failed } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';

/** ansible.builtin.stat's options (ansible-doc). */
export const STAT_ANSIBLE: AnsibleSpelling = {
  module: 'stat',
  names: [...builtin('stat'), 'stat'],
  docs: ['ansible.builtin.stat'],
  options: {
    path: { aliases: ['dest', 'name'], type: 'path' },
    follow: { type: 'bool' },
    get_checksum: { type: 'bool' },
    checksum_algorithm: { aliases: ['checksum', 'checksum_algo'], type: 'str' },
    get_mime: { aliases: ['mime', 'mime_type', 'mime-type'], ignored: 'mimetype and charset are not gathered' },
    get_attributes: { aliases: ['attr', 'attributes'], ignored: 'lsattr attributes are not gathered' },
  },
};

const SUMS = { md5: 'md5sum', sha1: 'sha1sum', sha224: 'sha224sum', sha256: 'sha256sum', sha384: 'sha384sum', sha512: 'sha512sum' } as const;

/** What Ansible's stat returns under `stat` (exists, mode, owner, size, checksum, link target…); changes nothing. */
export default defineModule({
  name: 'stat',
  description: "A file's facts under `stat` (exists, isdir/isreg/islnk, mode, uid/gid and names, size, times, checksum, link target). Never changes anything.",
  args: ansibleArgs(
    STAT_ANSIBLE,
    z.strictObject({
      path: AbsPath,
      follow: z.boolean().default(false),
      get_checksum: z.boolean().default(true),
      checksum_algorithm: z.enum(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha1'),
    }),
  ),
  async run(a, ctx) {
    const st = a.follow ? 'stat -L' : 'stat';
    const script = `p=${shq(a.path)}
if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; exit 0; fi
${st} -c '%f|%a|%u|%g|%U|%G|%s|%Y|%X|%Z|%i|%h|%d' -- "$p"
if [ -L "$p" ]; then printf 'lnk=%s\\n' "$(readlink -- "$p")"; printf 'tgt=%s\\n' "$(readlink -f -- "$p")"; fi
${a.get_checksum ? `if [ -f "$p" ] && [ -r "$p" ]; then printf 'sum=%s\\n' "$(${SUMS[a.checksum_algorithm]} < "$p" | cut -d' ' -f1)"; fi` : ''}
[ -r "$p" ] && echo r=1; [ -w "$p" ] && echo w=1; [ -x "$p" ] && echo x=1; true`;
    const r = await ctx.exec(script);
    if (r.code !== 0) throw failed(r, `stat ${a.path}`);
    const lines = r.stdout.split('\n');
    if (lines[0] === 'absent') return { changed: false, stat: { exists: false } };
    const [rawmode, mode, uid, gid, owner, group, size, mtime, atime, ctime, inode, nlink, dev] = lines[0].split('|');
    const kind = parseInt(rawmode, 16) & 0o170000;
    const kv = Object.fromEntries(lines.slice(1).filter((l) => /^[a-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const stat: Record<string, unknown> = {
      exists: true,
      path: a.path,
      mode: mode.padStart(4, '0'),
      isdir: kind === 0o040000,
      isreg: kind === 0o100000,
      islnk: kind === 0o120000,
      isblk: kind === 0o060000,
      ischr: kind === 0o020000,
      isfifo: kind === 0o010000,
      issock: kind === 0o140000,
      uid: Number(uid),
      gid: Number(gid),
      pw_name: owner,
      gr_name: group,
      size: Number(size),
      mtime: Number(mtime),
      atime: Number(atime),
      ctime: Number(ctime),
      inode: Number(inode),
      nlink: Number(nlink),
      dev: Number(dev),
      readable: kv.r === '1',
      writeable: kv.w === '1',
      executable: kv.x === '1',
    };
    if (kv.lnk !== undefined) Object.assign(stat, { lnk_source: kv.tgt, lnk_target: kv.lnk });
    if (kv.sum) stat.checksum = kv.sum;
    return { changed: false, stat };
  },
});
