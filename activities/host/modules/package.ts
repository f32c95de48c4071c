import { z } from 'zod';
import { shq } from '../ssh';
import { defineModule, failed, kv, ModuleError, type ModuleContext } from '../module';
import { ansibleArgs, builtin, type AnsibleOption, type AnsibleSpelling } from '../ansible-args';

const off = (unsupported: string, aliases?: string[]): AnsibleOption => ({ type: 'bool', to: null, only: [false], unsupported, ...(aliases ? { aliases } : {}) });
const no = (unsupported: string, aliases?: string[]): AnsibleOption => ({ unsupported, ...(aliases ? { aliases } : {}) });

/**
 * The options of ansible.builtin.package and of the package managers it stands for on the
 * hosts Runwright supports (apt, dnf, yum), from ansible-doc, and what each is natively.
 */
export const PACKAGE_ANSIBLE: AnsibleSpelling = {
  module: 'package',
  names: [...builtin('package', 'apt', 'dnf', 'yum'), 'apt', 'dnf', 'yum'],
  docs: ['ansible.builtin.package', 'ansible.builtin.apt', 'ansible.builtin.dnf', 'ansible.builtin.yum'],
  options: {
    name: { aliases: ['package', 'pkg'], type: 'list' },
    state: { type: 'str', rename: { installed: 'present', removed: 'absent' }, only: ['present', 'absent', 'latest'], unsupported: "apt's build-dep and fixed states" },
    update_cache: { aliases: ['update-cache', 'expire-cache'], type: 'bool' },
    cache_valid_time: { type: 'int' },
    purge: { type: 'bool' },
    use: { type: 'str', to: null, only: ['auto'], unsupported: "choosing the package manager; Runwright uses the host's (apt-get, dnf or yum, from facts)" },
    use_backend: { type: 'str', to: null, only: ['auto'], unsupported: "choosing yum's backend" },
    install_recommends: { aliases: ['install-recommends'], type: 'bool', to: null, only: [false], unsupported: 'installing recommended packages; Runwright installs with --no-install-recommends' },
    dpkg_options: { type: 'str', to: null, only: ['force-confdef,force-confold'], unsupported: 'dpkg options other than force-confdef,force-confold (what Runwright uses)' },
    force_apt_get: { ignored: 'Runwright always uses apt-get' },
    install_repoquery: { ignored: "yum's own helper for its queries; Runwright queries with rpm" },
    install_weak_deps: { type: 'bool', to: null, only: [true], unsupported: 'leaving out weak dependencies' },
    sslverify: { type: 'bool', to: null, only: [true], unsupported: 'turning off TLS checks' },
    validate_certs: { type: 'bool', to: null, only: [true], unsupported: 'turning off TLS checks' },
    installroot: { type: 'str', to: null, only: ['/'], unsupported: 'installing under another root' },
    upgrade: { type: 'str', to: null, only: ['no', false], unsupported: 'upgrading every package (apt-get upgrade)' },
    allow_change_held_packages: off('changing held packages'),
    allow_downgrade: off('downgrading packages', ['allow-downgrade', 'allow_downgrades', 'allow-downgrades']),
    allow_unauthenticated: off('installing unauthenticated packages', ['allow-unauthenticated']),
    allowerasing: off('erasing packages to resolve conflicts'),
    autoclean: off('cleaning the package cache'),
    autoremove: off('removing unused dependencies'),
    bugfix: off('bugfix updates only'),
    cacheonly: off('using the cache only'),
    clean: off('cleaning the package cache'),
    disable_gpg_check: off('turning off signature checks'),
    download_only: off('downloading without installing'),
    fail_on_autoremove: off('apt-get --no-remove'),
    force: off('apt-get --force-yes'),
    nobest: off('dnf --nobest'),
    only_upgrade: off('upgrading installed packages only'),
    security: off('security updates only'),
    skip_broken: off('skipping broken packages'),
    update_only: off('upgrading installed packages only'),
    conf_file: no('another package manager configuration file'),
    deb: no('installing a .deb file'),
    default_release: no('apt -t (default release)', ['default-release']),
    disable_excludes: no('disabling excludes'),
    disable_plugin: no('package manager plugins'),
    disablerepo: no('disabling repositories for one task'),
    download_dir: no('downloading without installing'),
    enable_plugin: no('package manager plugins'),
    enablerepo: no('enabling repositories for one task'),
    exclude: no('excluding packages'),
    list: no('listing packages'),
    lock_timeout: no('waiting for the package manager lock'),
    policy_rc_d: no('policy-rc.d during the install'),
    releasever: no('another release version'),
    update_cache_retries: no('retrying the cache update'),
    update_cache_retry_max_delay: no('retrying the cache update'),
  },
};

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
  args: ansibleArgs(
    PACKAGE_ANSIBLE,
    z
      .strictObject({
        name: z.union([PkgName, z.array(PkgName).min(1)]).optional(),
        state: z.enum(['present', 'absent', 'latest']).default('present'),
        update_cache: z.boolean().default(false),
        cache_valid_time: z.number().int().min(0).optional().describe('Seconds: update the cache (apt) only when it is older than this; implies update_cache'),
        purge: z.boolean().default(false).describe('apt: remove configuration files too'),
      })
      .refine((a) => a.name !== undefined || a.update_cache || a.cache_valid_time !== undefined, 'give name (and/or update_cache)'),
  ),
  async run(a, ctx) {
    const facts = await ctx.facts();
    const mgr = facts.pkgMgr;
    if (!mgr) throw new ModuleError(`${ctx.host} has no supported package manager (apt-get, dnf or yum)`);
    let cacheUpdated = false;
    if (a.update_cache || a.cache_valid_time !== undefined) {
      if (mgr === 'apt-get') {
        // As Ansible's apt: the cache's age is the update stamp's (or pkgcache.bin's) mtime; changed when it moved.
        const u = await ctx.exec(`m() { s=/var/lib/apt/periodic/update-success-stamp; [ -e "$s" ] || s=/var/cache/apt/pkgcache.bin; if [ -e "$s" ]; then stat -c %Y "$s"; else echo 0; fi; }
before=$(m); valid=${a.cache_valid_time ?? 0}
if [ "$valid" -gt 0 ] && [ $((before + valid)) -ge "$(date +%s)" ]; then echo fresh=1; exit 0; fi
if [ ${ctx.check ? 1 : 0} = 1 ]; then echo updated=1; exit 0; fi
DEBIAN_FRONTEND=noninteractive apt-get -q update >&2 || exit $?
[ "$(m)" != "$before" ] && echo updated=1; exit 0`);
        if (u.code !== 0) throw failed(u, 'updating the package cache');
        cacheUpdated = kv(u.stdout).updated === '1';
      } else if (!ctx.check) {
        const u = await ctx.exec(`${mgr} -q makecache`);
        if (u.code !== 0) throw failed(u, 'updating the package cache');
        cacheUpdated = true;
      } else cacheUpdated = true;
    }
    // Only the cache (Ansible's `apt: update_cache=yes`): changed when it was updated.
    if (a.name === undefined) return { changed: cacheUpdated, cache_updated: cacheUpdated, diff: ctx.diff && cacheUpdated ? 'package cache updated' : undefined };
    const specs = ([] as string[]).concat(a.name);
    const names = specs.map((s) => s.split('=')[0]);
    const pinned = new Map(specs.filter((s) => s.includes('=')).map((s) => s.split('=') as [string, string]));
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
    return { changed: todo.length > 0, packages: todo, cache_updated: cacheUpdated, diff: ctx.diff && diff.length ? diff.join('\n') : undefined };
  },
});
