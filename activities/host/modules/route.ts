import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { shq } from '../ssh';
import { defineModule, failed, ModuleError } from '../module';

/**
 * Desired-state static routes (IPv4, one routing table): add missing routes, replace wrong
 * ones, and with `purge` delete undeclared routes of the purgeable protocols. All changes go
 * to the host in one `ip -batch` call, so thousands of routes apply in about a second.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DEV = /^[A-Za-z0-9_.:@-]{1,15}$/;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Normalise a destination as `ip -j route` prints it: `default`, `a.b.c.d` (/32) or `a.b.c.d/n`. */
export function normDest(d: string): string {
  const s = d.trim();
  if (s === 'default' || s === '0.0.0.0/0') return 'default';
  const [ip, lenRaw] = s.split('/');
  if (!IPV4.test(ip)) throw new Error(`invalid destination ${JSON.stringify(d)}: expected IPv4 a.b.c.d[/len] or default`);
  const len = lenRaw === undefined ? 32 : Number(lenRaw);
  if (!/^\d+$/.test(lenRaw ?? '32') || len < 0 || len > 32) throw new Error(`invalid prefix length in ${d}`);
  if (len < 32 && (ipToInt(ip) & (len === 0 ? 0 : ~((1 << (32 - len)) - 1) >>> 0)) >>> 0 !== ipToInt(ip))
    throw new Error(`invalid destination ${d}: host bits set (network address expected)`);
  if (len === 0) return 'default';
  return len === 32 ? ip : `${ip}/${len}`;
}

const Route = z
  .strictObject({
    dest: z.string().transform((d, c) => {
      try {
        return normDest(d);
      } catch (e: any) {
        c.addIssue({ code: 'custom', message: e.message });
        return z.NEVER;
      }
    }),
    via: z.string().regex(IPV4, 'via must be an IPv4 address').optional(),
    dev: z.string().regex(DEV, 'invalid device name').optional(),
    metric: z.number().int().min(0).max(4294967295).optional(),
    type: z.enum(['unicast', 'blackhole', 'unreachable', 'prohibit']).default('unicast'),
  })
  .refine((r) => r.type !== 'unicast' || r.via || r.dev, 'a unicast route needs via or dev');
export type RouteSpec = z.output<typeof Route>;

interface LiveRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  protocol?: string;
  type?: string;
  scope?: string;
}

const keyOf = (dest: string, metric: number | undefined): string => `${dest}|${metric ?? 0}`;

function describe(r: { dest: string; via?: string; dev?: string; metric?: number; type?: string }): string {
  const t = r.type && r.type !== 'unicast' ? `${r.type} ` : '';
  return `${t}${r.dest}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.metric ? ` metric ${r.metric}` : ''}`;
}

export interface RoutePlan {
  add: RouteSpec[];
  change: { from: LiveRoute; to: RouteSpec }[];
  remove: LiveRoute[];
  unchanged: number;
}

/** Compare desired with live routes (pure; exported for unit tests). */
export function planRoutes(live: LiveRoute[], want: RouteSpec[], opts: { purge: boolean; purgeProtocols: string[]; purgeDefault: boolean }): RoutePlan {
  const liveByKey = new Map<string, LiveRoute>();
  for (const r of live) liveByKey.set(keyOf(r.dst, r.metric), r);
  const plan: RoutePlan = { add: [], change: [], remove: [], unchanged: 0 };
  const wanted = new Set<string>();
  for (const w of want) {
    const k = keyOf(w.dest, w.metric);
    if (wanted.has(k)) throw new ModuleError(`route ${describe(w)} is declared twice`);
    wanted.add(k);
    const cur = liveByKey.get(k);
    if (!cur) {
      plan.add.push(w);
      continue;
    }
    const curType = cur.type ?? 'unicast';
    const same = curType === w.type && (w.type !== 'unicast' || ((cur.gateway ?? undefined) === (w.via ?? undefined) && (!w.dev || cur.dev === w.dev)));
    if (same) plan.unchanged++;
    else plan.change.push({ from: cur, to: w });
  }
  if (opts.purge) {
    for (const r of live) {
      if (wanted.has(keyOf(r.dst, r.metric))) continue;
      if (!opts.purgeProtocols.includes(r.protocol ?? 'boot')) continue;
      if (r.dst === 'default' && !opts.purgeDefault) continue;
      plan.remove.push(r);
    }
  }
  return plan;
}

export default defineModule({
  name: 'route',
  description: 'Static IPv4 routes in desired state: add missing, replace wrong, and with purge remove undeclared ones; one `ip -batch` call.',
  args: z.strictObject({
    routes: z.array(Route).max(100_000).optional(),
    src: z.string().optional().describe('Worker-side YAML/JSON file with the routes (a list, or a mapping with `routes:`), relative to the play file'),
    purge: z.boolean().default(false),
    table: z.union([z.literal('main'), z.number().int().min(1).max(4294967295)]).default('main'),
    protocol: z.enum(['static', 'boot']).default('static').describe('Protocol tag for routes this module adds'),
    purge_protocols: z.array(z.string().regex(/^[a-z0-9]+$/)).default(['static', 'boot']).describe('Only routes with these protocols are purged (never kernel/dhcp/ra)'),
    purge_default: z.boolean().default(false).describe('Allow purging an undeclared default route'),
  }),
  async run(a, ctx) {
    if ((a.routes === undefined) === (a.src === undefined)) throw new ModuleError('give exactly one of routes or src');
    let routes: RouteSpec[];
    if (a.src !== undefined) {
      let raw: unknown;
      try {
        raw = parseYaml((await ctx.readLocal(a.src)).toString('utf8'), { maxAliasCount: 100 });
      } catch (e: any) {
        throw new ModuleError(`cannot read routes from ${a.src}: ${e.message}`);
      }
      const list = Array.isArray(raw) ? raw : (raw as { routes?: unknown })?.routes;
      const p = z.array(Route).max(100_000).safeParse(list ?? []);
      if (!p.success) throw new ModuleError(`${a.src}: ${p.error.issues.slice(0, 3).map((i) => `routes[${i.path.join('.')}]: ${i.message}`).join('; ')}`);
      routes = p.data;
    } else routes = a.routes!;
    const table = String(a.table);
    const r = await ctx.exec(`ip -j -4 route show table ${shq(table)}`, { noBecome: true });
    if (r.code !== 0) throw failed(r, 'ip route show');
    let live: LiveRoute[];
    try {
      live = (JSON.parse(r.stdout || '[]') as LiveRoute[]).filter((x) => !x.type || ['unicast', 'blackhole', 'unreachable', 'prohibit'].includes(x.type));
    } catch {
      throw new ModuleError(`cannot parse \`ip -j route\` output (iproute2 too old for JSON?)`);
    }
    const plan = planRoutes(live, routes, { purge: a.purge, purgeProtocols: a.purge_protocols, purgeDefault: a.purge_default });
    const lines: string[] = [];
    const spec = (w: RouteSpec): string =>
      `${w.type !== 'unicast' ? `${w.type} ` : ''}${w.dest}${w.via ? ` via ${w.via}` : ''}${w.dev ? ` dev ${w.dev}` : ''} table ${table} proto ${a.protocol}${w.metric !== undefined ? ` metric ${w.metric}` : ''}`;
    for (const x of plan.remove) lines.push(`route del ${x.type && x.type !== 'unicast' ? `${x.type} ` : ''}${x.dst} table ${table}${x.metric !== undefined ? ` metric ${x.metric}` : ''}`);
    for (const c of plan.change) lines.push(`route replace ${spec(c.to)}`);
    for (const w of plan.add) lines.push(`route replace ${spec(w)}`);
    const changed = lines.length > 0;
    if (changed && !ctx.check) {
      // Every field was validated above (addresses, device names, numbers): the batch file has no free text.
      const res = await ctx.exec('ip -force -batch -', { stdin: `${lines.join('\n')}\n`, timeoutMs: 10 * 60_000 });
      if (res.code !== 0) {
        const errs = res.stderr.trim().split('\n').slice(0, 5).join('; ');
        throw new ModuleError(`ip -batch: some route changes failed: ${errs}`, { stderr: res.stderr.slice(0, 4000) });
      }
    }
    const diff = ctx.diff && changed
      ? [
          ...plan.remove.map((x) => `- ${describe({ dest: x.dst, via: x.gateway, dev: x.dev, metric: x.metric, type: x.type })}`),
          ...plan.change.map((c) => `~ ${describe({ dest: c.from.dst, via: c.from.gateway, dev: c.from.dev, metric: c.from.metric, type: c.from.type })} => ${describe(c.to)}`),
          ...plan.add.map((w) => `+ ${describe(w)}`),
        ].join('\n')
      : undefined;
    return {
      changed,
      added: plan.add.length,
      changedRoutes: plan.change.length,
      removed: plan.remove.length,
      unchanged: plan.unchanged,
      diff,
    };
  },
});
