import { z } from 'zod';
import { shq } from '../ssh';
import { defineModule, failed, kv, ModuleError } from '../module';

/** systemd services. Hosts without systemd get a clear error, not a guess. */
export default defineModule({
  name: 'service',
  description: 'A systemd service started/stopped/restarted/reloaded and enabled or not.',
  args: z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9@:._-]+$/, 'expected a unit name'),
      state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
      enabled: z.boolean().optional(),
    })
    .refine((a) => a.state !== undefined || a.enabled !== undefined, 'give state and/or enabled'),
  async run(a, ctx) {
    const facts = await ctx.facts();
    if (facts.serviceMgr !== 'systemd')
      throw new ModuleError(`${ctx.host} does not run systemd (no /run/systemd/system or no systemctl): the service module manages systemd services only`);
    const u = shq(a.name);
    const r = await ctx.exec(`echo "load=$(systemctl show -p LoadState --value ${u} 2>/dev/null)"; echo "active=$(systemctl is-active ${u} 2>/dev/null)"; echo "enabled=$(systemctl is-enabled ${u} 2>/dev/null)"`);
    if (r.code !== 0) throw failed(r, 'systemctl');
    const s = kv(r.stdout);
    if (s.load === 'not-found' || !s.load) throw new ModuleError(`${ctx.host}: no systemd unit named ${a.name}`);
    const steps: string[] = [];
    const diff: string[] = [];
    const active = s.active === 'active' || s.active === 'activating' || s.active === 'reloading';
    if (a.state === 'started' && !active) steps.push('start');
    if (a.state === 'stopped' && active) steps.push('stop');
    if (a.state === 'restarted') steps.push('restart');
    if (a.state === 'reloaded') steps.push(active ? 'reload' : 'start');
    if (steps.length) diff.push(`${a.name}: ${s.active} -> ${a.state}`);
    if (a.enabled !== undefined) {
      const en = s.enabled === 'enabled' || s.enabled === 'enabled-runtime';
      if (a.enabled !== en) {
        if (s.enabled === 'static' || s.enabled === 'masked') throw new ModuleError(`${a.name} is ${s.enabled}: cannot ${a.enabled ? 'enable' : 'disable'} it`);
        steps.push(a.enabled ? 'enable' : 'disable');
        diff.push(`${a.name}: ${s.enabled} -> ${a.enabled ? 'enabled' : 'disabled'}`);
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
