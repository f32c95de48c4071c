import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import { shq } from '../ssh';
import { shlexSplit } from '../inventory-files';
import { defineModule, ModuleError, type ModuleContext, type ModuleResult } from '../module';
import { ansibleArgs, builtin, type AnsibleOption, type AnsibleSpelling } from '../ansible-args';

/** Options command and shell share (ansible-doc), and what each is natively. */
export const COMMAND_OPTIONS: Readonly<Record<string, AnsibleOption>> = {
  free_form: { docOnly: 'write the command as the module\'s value (`command: ls -l`) or as `cmd`' },
  _raw_params: { to: 'cmd', type: 'str', undocumented: true },
  cmd: { type: 'str' },
  chdir: { type: 'path' },
  creates: { type: 'path' },
  removes: { type: 'path' },
  stdin: { type: 'str' },
  stdin_add_newline: {
    type: 'bool',
    apply: (v, args) => {
      if (v === true && typeof args.stdin === 'string') args.stdin += '\n';
    },
  },
  strip_empty_ends: { type: 'bool', to: null, only: [true], unsupported: 'keeping the empty lines at the end of stdout and stderr' },
};

/** Native args of command and shell that are not Ansible options, by type (for `key=value` text). */
export const COMMAND_NATIVE = { env: 'dict', timeout: 'int' } as const;

/** ansible.builtin.command's options. */
export const COMMAND_ANSIBLE: AnsibleSpelling = {
  module: 'command',
  names: builtin('command'),
  docs: ['ansible.builtin.command'],
  // Ansible's command takes `executable` too, and ignores it with a warning (it is shell's).
  options: { ...COMMAND_OPTIONS, argv: { type: 'list' }, executable: { undocumented: true, ignored: "Ansible's command ignores it too (it only applies to shell)" } },
  native: COMMAND_NATIVE,
};

export const CommandOptions = {
  chdir: z.string().optional(),
  creates: z.string().optional().describe('Skip when this path (or glob pattern) exists'),
  removes: z.string().optional().describe('Skip unless this path (or glob pattern) exists'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  stdin: z.string().optional(),
  timeout: z.number().int().min(1).max(86_400).optional().describe('Seconds'),
};

/**
 * A test that a path exists; a path with *, ? or [ is a glob pattern (as in Ansible), expanded
 * from a variable with IFS empty: only pathname expansion applies to the value.
 */
function exists(p: string): string {
  if (!/[*?[]/.test(p)) return `[ -e ${shq(p)} ]`;
  return `(rw_p=${shq(p)}; IFS=; for rw_f in $rw_p; do [ -e "$rw_f" ] && exit 0; done; exit 1)`;
}

/**
 * Run a script with creates/removes/chdir in one round trip. The skip decision is printed as
 * a random marker only this run knows, so no command output can fake it.
 */
export async function runScript(ctx: ModuleContext, body: string, a: { chdir?: string; creates?: string; removes?: string; env: Record<string, string>; stdin?: string; timeout?: number }): Promise<ModuleResult> {
  const nonce = randomBytes(8).toString('hex');
  const pre: string[] = [];
  if (a.creates) pre.push(`if ${exists(a.creates)}; then echo RWSKIP-${nonce}-creates; exit 0; fi`);
  if (a.removes) pre.push(`if ! ${exists(a.removes)}; then echo RWSKIP-${nonce}-removes; exit 0; fi`);
  if (a.chdir) pre.push(`cd ${shq(a.chdir)} || exit 127`);
  if (ctx.check) pre.push(`echo RWCHECK-${nonce}; exit 0`);
  const r = await ctx.exec(`${pre.join('\n')}\n${body}`, { env: a.env, stdin: a.stdin, timeoutMs: a.timeout ? a.timeout * 1000 : undefined });
  const out = r.stdout.trim();
  if (out === `RWSKIP-${nonce}-creates`) return { changed: false, skipped: false, msg: `skipped: ${a.creates} exists`, rc: 0, stdout: '', stderr: '' };
  if (out === `RWSKIP-${nonce}-removes`) return { changed: false, skipped: false, msg: `skipped: ${a.removes} does not exist`, rc: 0, stdout: '', stderr: '' };
  if (out === `RWCHECK-${nonce}`) return { changed: false, skipped: true, msg: 'skipped in check mode' };
  const res: ModuleResult = { changed: true, rc: r.code ?? -1, stdout: r.stdout.replace(/\n$/, ''), stderr: r.stderr.replace(/\n$/, '') };
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join('\n');
    throw new ModuleError(`non-zero return code ${r.code ?? r.signal}${tail ? `: ${tail}` : ''}`, res);
  }
  return res;
}

export default defineModule({
  name: 'command',
  description: 'Run a program with arguments, without a shell (no pipes, redirects or variable expansion). `cmd` is split like a shell would, or give `argv`.',
  freeForm: 'cmd',
  argvTextArgs: ['cmd'],
  args: ansibleArgs(
    COMMAND_ANSIBLE,
    z
      .strictObject({
        cmd: z.string().optional(),
        argv: z.array(z.string()).min(1).optional(),
        ...CommandOptions,
      })
      .refine((a) => (a.cmd === undefined) !== (a.argv === undefined), 'give exactly one of cmd or argv'),
  ),
  async run(a, ctx) {
    let argv: string[];
    try {
      argv = a.argv ?? shlexSplit(a.cmd!, false);
    } catch (e: any) {
      throw new ModuleError(`cannot split cmd: ${e.message}`);
    }
    if (!argv.length) throw new ModuleError('empty command');
    // Every word is quoted: the command runs as exec argv, never re-parsed by a shell.
    return runScript(ctx, `exec ${argv.map(shq).join(' ')}`, a);
  },
});
