import { z } from 'zod';
import { shq } from '../ssh';
import { VALUE_VAR } from '../shell-values';
import { defineModule, ModuleError } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';
import { COMMAND_NATIVE, COMMAND_OPTIONS, CommandOptions, runScript } from './command';

/** ansible.builtin.shell's options (ansible-doc), and what each is natively. */
export const SHELL_ANSIBLE: AnsibleSpelling = {
  module: 'shell',
  names: builtin('shell'),
  docs: ['ansible.builtin.shell'],
  // The shell module is command with a shell, so it takes command's strip_empty_ends too.
  options: { ...COMMAND_OPTIONS, strip_empty_ends: { ...COMMAND_OPTIONS.strip_empty_ends, undocumented: true }, executable: { type: 'path' } },
  native: COMMAND_NATIVE,
};

const POSIX_SHELLS = /\/(sh|bash|dash|ash|ksh|mksh|zsh|busybox)$/;

/**
 * A shell script. `{{ }}` placeholders in `cmd` become references to environment variables
 * ("${RW_V1}" bare, ${RW_V1} inside "…" or a here-document) and the values travel in the
 * environment, so the shell never parses a value; placeholders where that cannot work (inside
 * '…', sh -c scripts, eval…) are refused (activities/host/shell-values.ts).
 */
export default defineModule({
  name: 'shell',
  description: 'Run a shell script (pipes, redirects). Values from `{{ }}` placeholders reach the script as environment variables, never as shell syntax.',
  freeForm: 'cmd',
  shellTextArgs: ['cmd'],
  args: ansibleArgs(
    SHELL_ANSIBLE,
    z.strictObject({
      cmd: z.string().min(1),
      executable: z.string().regex(/^\/[\w./-]+$/).default('/bin/sh'),
      ...CommandOptions,
    }),
  ),
  async run(a, ctx) {
    // "${RW_V1}" is POSIX sh syntax; other shells (csh, fish) quote differently.
    if (Object.keys(a.env).some((k) => VALUE_VAR.test(k)) && !POSIX_SHELLS.test(a.executable))
      throw new ModuleError(`executable ${a.executable}: {{ }} values reach the script as "\${RW_V1}" references, which only POSIX shells (sh, bash, dash, ksh, zsh) read; use one of them`);
    return runScript(ctx, `exec ${shq(a.executable)} -c ${shq(a.cmd)}`, a);
  },
});
