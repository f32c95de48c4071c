import { z } from 'zod';
import { createHash } from 'node:crypto';
import { shq } from '../ssh';
import { AbsPath, defineModule, ensureFile, failed, kv, ModuleError, readRemoteFile } from '../module';
import { ansibleArgs, type AnsibleSpelling } from '../ansible-args';

/** ansible.posix.sysctl's options (ansible-doc), and what each is natively. */
export const SYSCTL_ANSIBLE: AnsibleSpelling = {
  module: 'sysctl',
  names: ['ansible.posix.sysctl'],
  docs: ['ansible.posix.sysctl'],
  options: {
    name: { aliases: ['key'], type: 'str' },
    value: { aliases: ['val'], type: 'raw' },
    state: { type: 'str' },
    sysctl_file: { type: 'path' },
    // Ansible reloads the file after changing it; natively the live value is set directly (the same end state).
    reload: { type: 'bool' },
    // Ansible: also check the live value and set it; natively that is what reload does.
    sysctl_set: {
      type: 'bool',
      apply: (v, args) => {
        if (v === true) args.reload = true;
      },
    },
    ignoreerrors: { type: 'bool', to: null, only: [false], unsupported: 'ignoring unknown keys' },
  },
};

const norm = (v: string): string => v.trim().split(/\s+/).join(' ');

/**
 * A kernel parameter, live (sysctl -w) and persisted in a sysctl.d file. Note that on test
 * hosts only per-network-namespace keys (net.*) are private to the host; others are the kernel's.
 */
export default defineModule({
  name: 'sysctl',
  description: 'A kernel parameter set live and persisted in /etc/sysctl.d (state absent removes it from the file).',
  args: ansibleArgs(
    SYSCTL_ANSIBLE,
    z.strictObject({
      name: z.string().regex(/^[a-zA-Z0-9_]+([./][a-zA-Z0-9_-]+)+$/, 'expected a sysctl key like net.ipv4.ip_forward'),
      // One line: a newline in the value would add another setting to the sysctl.d file.
      value: z.union([z.string(), z.number(), z.boolean()]).transform((v) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v))).refine((v) => !/[\n\r\0]/.test(v), 'value must be one line (no newline, carriage return or NUL): a newline would add another setting to the sysctl file').optional(),
      state: z.enum(['present', 'absent']).default('present'),
      sysctl_file: AbsPath.default('/etc/sysctl.d/99-runwright.conf'),
      reload: z.boolean().default(true).describe('Also set the live value'),
    }).refine((a) => a.state === 'absent' || a.value !== undefined, 'state: present needs value'),
  ),
  async run(a, ctx) {
    const key = a.name.replace(/\//g, '.');
    const procPath = `/proc/sys/${key.replace(/\./g, '/')}`;
    const live = await ctx.exec(`p=${shq(procPath)}; if [ -r "$p" ]; then echo "value=$(cat "$p" | tr '\\t' ' ')"; else echo missing=1; fi`, { noBecome: true });
    if (live.code !== 0) throw failed(live, 'reading sysctl');
    const l = kv(live.stdout);
    if (l.missing) throw new ModuleError(`${ctx.host}: unknown sysctl key ${key} (${procPath} does not exist)`);
    const file = await readRemoteFile(ctx, a.sysctl_file);
    const text = file.content?.toString('utf8') ?? '';
    const lines = text.length ? text.replace(/\n$/, '').split('\n') : [];
    const re = new RegExp(`^\\s*${key.replace(/\./g, '[./]')}\\s*=`);
    const kept = lines.filter((x) => !re.test(x));
    const next = a.state === 'present' ? [...kept, `${key} = ${a.value}`] : kept;
    const nextText = next.length ? `${next.join('\n')}\n` : '';
    const diff: string[] = [];
    let changed = false;
    if (nextText !== text && (file.exists || a.state === 'present')) {
      const res = await ensureFile(ctx, { path: a.sysctl_file, content: Buffer.from(nextText), expectSha: file.content ? createHash('sha256').update(file.content).digest('hex') : null });
      if (res.changed) {
        changed = true;
        diff.push(`${a.sysctl_file}: ${a.state === 'present' ? `${key} = ${a.value}` : `removed ${key}`}`);
      }
    }
    if (a.state === 'present' && a.reload && norm(l.value) !== norm(a.value!)) {
      changed = true;
      diff.push(`${key}: ${norm(l.value)} -> ${norm(a.value!)}`);
      if (!ctx.check) {
        const w = await ctx.exec(`printf '%s\\n' ${shq(a.value!)} > ${shq(procPath)}`);
        if (w.code !== 0) throw failed(w, `setting ${key}`);
      }
    }
    return { changed, name: key, value: a.state === 'present' ? a.value : undefined, diff: ctx.diff && diff.length ? diff.join('\n') : undefined };
  },
});
