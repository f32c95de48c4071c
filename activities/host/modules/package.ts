import { z } from 'zod';
import { shq } from '../ssh';
import { defineModule, failed, ModuleError, type ModuleContext } from '../module';

const PkgName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+.:~_-]*(=[A-Za-z0-9+.:~_-]+)?$/, 'expected a package name (optionally name=version)');

interface PkgState {
  installed: string | null;
  candidate: string | null;
}

/** apt: `apt-cache policy` gives installed and candidate versions of every package in one call. */
export function parseAptPolicy(out: string): Map<string, PkgState> {
  const m = new Map<string, PkgState>();
  let cur: string | undefined;
  for (const line of out.split('\n')) {
    const h = /^(\S+):$/.exec(line);
    if (h) {
      cur = h[1].replace(/:(amd64|arm64|all|i386)$/, '');
      m.set(cur, { installed: null, candidate: null });
      continue;
    }
    const v = /^\s+(Installed|Candidate):\s*(\S+)/.exec(line);
    if (v && cur) {
      const val = v[2] === '(none)' ? null : v[2];
      if (v[1] === 'Installed') m.get(cur)!.installed = val;
      else m.get(cur)!.candidate = val;
    }
  }
  return m;
}

async function query(ctx: ModuleContext, mgr: string, names: string[]): Promise<Map<string, PkgState>> {
  if (mgr === 'apt-get') {
    const r = await ctx.exec(`LC_ALL=C apt-cache policy -- ${names.map(shq).join(' ')}`, { noBecome: true });
    if (r.code !== 0) throw failed(r, 'apt-cache policy');
    return parseAptPolicy(r.stdout);
  }
  // dnf / yum: installed from rpm, candidate from the repositories.
  const m = new Map<string, PkgState>();
  const inst = await ctx.exec(`for p in ${names.map(shq).join(' ')}; do printf '%s\\t%s\\n' "$p" "$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$p" 2>/dev/null || echo none)"; done`, { noBecome: true });
  const avail = await ctx.exec(`${mgr} -q list available ${names.map(shq).join(' ')} 2>/dev/null; true`);
  for (const line of inst.stdout.split('\n')) {
    const [n, v] = line.split('\t');
    if (n) m.set(n, { installed: v && !v.includes('not installed') && v !== 'none' ? v : null, candidate: null });
  }
  for (const line of avail.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 2) {
      const n = f[0].replace(/\.[^.]+$/, '');
      if (m.has(n)) m.get(n)!.candidate = f[1].replace(/^\d+:/, '');
    }
  }
  for (const [, s] of m) if (!s.candidate) s.candidate = s.installed;
  return m;
}

export default defineModule({
  name: 'package',
  description: 'Packages present, absent or latest, with the host\'s package manager (apt-get, dnf or yum, from facts).',
  args: z.strictObject({
    name: z.union([PkgName, z.array(PkgName).min(1)]),
    state: z.enum(['present', 'absent', 'latest']).default('present'),
    update_cache: z.boolean().default(false),
    purge: z.boolean().default(false).describe('apt: remove configuration files too'),
  }),
  async run(a, ctx) {
    const facts = await ctx.facts();
    const mgr = facts.pkgMgr;
    if (!mgr) throw new ModuleError(`${ctx.host} has no supported package manager (apt-get, dnf or yum)`);
    const specs = ([] as string[]).concat(a.name);
    const names = specs.map((s) => s.split('=')[0]);
    const pinned = new Map(specs.filter((s) => s.includes('=')).map((s) => s.split('=') as [string, string]));
    if (a.update_cache && !ctx.check) {
      const u = await ctx.exec(mgr === 'apt-get' ? 'DEBIAN_FRONTEND=noninteractive apt-get -q update' : `${mgr} -q makecache`);
      if (u.code !== 0) throw failed(u, 'updating the package cache');
    }
    const st = await query(ctx, mgr, names);
    const todo: string[] = [];
    const diff: string[] = [];
    for (const n of names) {
      const s = st.get(n);
      if (a.state === 'absent') {
        if (s?.installed) {
          todo.push(n);
          diff.push(`- ${n} ${s.installed}`);
        }
        continue;
      }
      if (!s || (!s.candidate && !s.installed)) throw new ModuleError(`no package named ${n} in ${ctx.host}'s package sources`);
      const want = pinned.get(n);
      if (want) {
        if (s.installed !== want) {
          todo.push(`${n}=${want}`);
          diff.push(s.installed ? `~ ${n} ${s.installed} -> ${want}` : `+ ${n} ${want}`);
        }
      } else if (!s.installed) {
        todo.push(n);
        diff.push(`+ ${n} ${s.candidate}`);
      } else if (a.state === 'latest' && s.candidate && s.candidate !== s.installed) {
        todo.push(n);
        diff.push(`~ ${n} ${s.installed} -> ${s.candidate}`);
      }
    }
    if (todo.length && !ctx.check) {
      const words = todo.map(shq).join(' ');
      let cmd: string;
      if (mgr === 'apt-get') {
        cmd = a.state === 'absent'
          ? `DEBIAN_FRONTEND=noninteractive apt-get -q -y ${a.purge ? 'purge' : 'remove'} -- ${words}`
          : `DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -- ${words}`;
      } else {
        const verb = a.state === 'absent' ? 'remove' : a.state === 'latest' ? 'upgrade' : 'install';
        cmd = `${mgr} -q -y ${verb} ${words}`;
      }
      const r = await ctx.exec(cmd, { timeoutMs: 30 * 60_000 });
      if (r.code !== 0) throw failed(r, `${mgr} ${a.state}`);
    }
    return { changed: todo.length > 0, packages: todo, diff: ctx.diff && diff.length ? diff.join('\n') : undefined };
  },
});
