import { z } from 'zod';
import { shq } from '../ssh';
import { defineModule, failed, kv, ModuleError } from '../module';
import { ansibleArgs, builtin, type AnsibleSpelling } from '../ansible-args';

const IGNORED_ON_SYSTEMD = 'Ansible ignores it for systemd services too, and Runwright manages systemd services only';

/** ansible.builtin.service's and ansible.builtin.systemd_service's options (ansible-doc), and what each is natively. */
export const SERVICE_ANSIBLE: AnsibleSpelling = {
  module: 'service',
  names: [...builtin('service', 'systemd', 'systemd_service'), 'systemd', 'systemd_service'],
  docs: ['ansible.builtin.service', 'ansible.builtin.systemd_service'],
  options: {
    name: { aliases: ['service', 'unit'], type: 'str' },
    state: { type: 'str' },
    enabled: { type: 'bool' },
    masked: { type: 'bool' },
    daemon_reload: { aliases: ['daemon-reload'], type: 'bool' },
    daemon_reexec: { aliases: ['daemon-reexec'], type: 'bool' },
    force: { type: 'bool', to: null, only: [false], unsupported: 'systemctl --force (replacing conflicting symlinks)' },
    no_block: { type: 'bool', to: null, only: [false], unsupported: 'not waiting for the job to finish (--no-block)' },
    scope: { type: 'str', to: null, only: ['system'], unsupported: 'user and global units' },
    use: { type: 'str', to: null, only: ['auto', 'systemd'], unsupported: 'service managers other than systemd' },
    arguments: { aliases: ['args'], ignored: IGNORED_ON_SYSTEMD },
    pattern: { ignored: IGNORED_ON_SYSTEMD },
    runlevel: { ignored: IGNORED_ON_SYSTEMD },
    sleep: { ignored: IGNORED_ON_SYSTEMD },
  },
};

/** systemd services. Hosts without systemd get a clear error, not a guess. */
export default defineModule({
  name: 'service',
  description: 'A systemd service started/stopped/restarted/reloaded, enabled or not, masked or not; daemon_reload/daemon_reexec run first.',
  args: ansibleArgs(
    SERVICE_ANSIBLE,
    z
      .strictObject({
        name: z.string().regex(/^[A-Za-z0-9@:._-]+$/, 'expected a unit name').optional(),
        state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
        enabled: z.boolean().optional(),
        masked: z.boolean().optional().describe('systemctl mask / unmask'),
        daemon_reload: z.boolean().default(false).describe('systemctl daemon-reload before anything else'),
        daemon_reexec: z.boolean().default(false).describe('systemctl daemon-reexec before anything else'),
      })
      .refine((a) => a.state !== undefined || a.enabled !== undefined || a.masked !== undefined || a.daemon_reload || a.daemon_reexec, 'give state and/or enabled')
      .refine((a) => a.name !== undefined || (a.state === undefined && a.enabled === undefined && a.masked === undefined), 'name is required with state, enabled or masked'),
  ),
  async run(a, ctx) {
    const facts = await ctx.facts();
    if (facts.serviceMgr !== 'systemd')
      throw new ModuleError(`${ctx.host} does not run systemd (no /run/systemd/system or no systemctl): the service module manages systemd services only`);
    // Ansible runs these even when nothing else changes, and does not count them as changes.
    for (const verb of [...(a.daemon_reexec ? ['daemon-reexec'] : []), ...(a.daemon_reload ? ['daemon-reload'] : [])]) {
      if (ctx.check) continue;
      const x = await ctx.exec(`systemctl ${verb}`, { timeoutMs: 5 * 60_000 });
      if (x.code !== 0) throw failed(x, `systemctl ${verb}`);
    }
    if (a.name === undefined) return { changed: false };
    const u = shq(a.name);
    const r = await ctx.exec(`echo "load=$(systemctl show -p LoadState --value ${u} 2>/dev/null)"; echo "active=$(systemctl is-active ${u} 2>/dev/null)"; echo "enabled=$(systemctl is-enabled ${u} 2>/dev/null)"`);
    if (r.code !== 0) throw failed(r, 'systemctl');
    const s = kv(r.stdout);
    if (s.load === 'not-found' || !s.load) throw new ModuleError(`${ctx.host}: no systemd unit named ${a.name}`);
    const steps: string[] = [];
    const diff: string[] = [];
    let enabled = s.enabled;
    if (a.masked !== undefined) {
      const masked = s.enabled === 'masked' || s.enabled === 'masked-runtime' || s.load === 'masked';
      if (a.masked !== masked) {
        steps.push(a.masked ? 'mask' : 'unmask');
        diff.push(`${a.name}: ${masked ? 'masked' : s.enabled} -> ${a.masked ? 'masked' : 'unmasked'}`);
        // Unmasked, the unit is enabled or not by its install symlinks; without them it is disabled.
        if (!a.masked) enabled = 'disabled';
      }
    }
    const active = s.active === 'active' || s.active === 'activating' || s.active === 'reloading';
    if (a.state === 'started' && !active) steps.push('start');
    if (a.state === 'stopped' && active) steps.push('stop');
    if (a.state === 'restarted') steps.push('restart');
    if (a.state === 'reloaded') steps.push(active ? 'reload' : 'start');
    if (a.state && steps.some((v) => v !== 'mask' && v !== 'unmask')) diff.push(`${a.name}: ${s.active} -> ${a.state}`);
    if (a.enabled !== undefined) {
      const en = enabled === 'enabled' || enabled === 'enabled-runtime';
      if (a.enabled !== en) {
        if (enabled === 'static' || enabled === 'masked') throw new ModuleError(`${a.name} is ${enabled}: cannot ${a.enabled ? 'enable' : 'disable'} it`);
        steps.push(a.enabled ? 'enable' : 'disable');
        diff.push(`${a.name}: ${enabled} -> ${a.enabled ? 'enabled' : 'disabled'}`);
      }
    }
    if (!ctx.check) {
      for (const verb of steps) {
        const x = await ctx.exec(`systemctl ${verb} ${u}`, { timeoutMs: 5 * 60_000 });
        if (x.code !== 0) throw failed(x, `systemctl ${verb} ${a.name}`);
      }
    }
    return { changed: steps.length > 0, name: a.name, status: s.active, diff: ctx.diff && diff.length ? diff.join('\n') : undefined };
  },
});
