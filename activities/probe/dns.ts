/**
 * probe.dns: ask a given DNS server what it actually serves (not what an API says it stored),
 * with node:dns's Resolver pointed at that server only. A fresh resolver per query, so nothing
 * is answered from a cache. With `wait`, re-asks until the expectation holds (TTLs, secondaries).
 */
import { Resolver } from 'node:dns/promises';
import { z } from 'zod';
import { PROBE_ASSERT_DEFAULT } from './assert';
import { ApplicationFailure } from '@temporalio/common';
import { cancellableSleep, defineAction } from '../define';
import { msField } from '../../dsl/duration';

const TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS', 'SRV', 'PTR', 'CAA'] as const;
type RType = (typeof TYPES)[number];

const Server = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(:\d{1,5})?$|^[0-9a-fA-F:]+$/, 'expected an IP address with an optional port: "127.0.0.1:5353", "[::1]:53", "10.0.0.2"');

const input = z.strictObject({
  server: z.union([Server, z.array(Server).min(1)]).describe('DNS server(s) to ask, IP[:port] (port 53 by default); several are tried in order.'),
  name: z.string().min(1),
  type: z.enum(TYPES).default('A'),
  expect: z
    .strictObject({
      includes: z.array(z.string()).optional().describe('Every one of these must be among the answers.'),
      excludes: z.array(z.string()).optional().describe('None of these may be among the answers.'),
      equals: z.array(z.string()).optional().describe('The answers must be exactly these (any order).'),
      empty: z.boolean().optional().describe('true: the name must have no answers (NXDOMAIN or no data); false: at least one.'),
    })
    .optional()
    .describe('What the answers must satisfy; default: at least one answer.'),
  assert: z.boolean().default(PROBE_ASSERT_DEFAULT).describe('Fail the step when the expectation does not hold (after `wait`).'),
  wait: msField(0, 86_400_000).default(0).describe('Re-query until the expectation holds, for up to this long (default 0: ask once).'),
  interval: msField(10, 3_600_000).default(500).describe('Between queries while waiting (default 500ms).'),
  timeout: msField(1, 60_000).default(2_000).describe('Per query attempt (default 2s).'),
  tries: z.number().int().min(1).max(10).default(2).describe('Attempts per query (UDP loss).'),
});

export interface DnsProbeResult {
  name: string;
  type: RType;
  server: string[];
  /** NOERROR, NXDOMAIN, NODATA (the name exists, no record of this type), REFUSED, SERVFAIL, TIMEOUT, ... */
  rcode: string;
  answers: string[];
  ttl: number | null;
  pass: boolean;
  reasons: string[];
  attempts: number;
  at: string;
}

const RCODES: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN',
  ENODATA: 'NODATA',
  EREFUSED: 'REFUSED',
  ESERVFAIL: 'SERVFAIL',
  ETIMEOUT: 'TIMEOUT',
  ECONNREFUSED: 'CONNREFUSED',
  EFORMERR: 'FORMERR',
  ENOTIMP: 'NOTIMP',
  EBADRESP: 'BADRESP',
};

async function ask(servers: string[], name: string, type: RType, timeout: number, tries: number): Promise<{ rcode: string; answers: string[]; ttl: number | null }> {
  const r = new Resolver({ timeout, tries });
  r.setServers(servers);
  try {
    let answers: string[];
    let ttl: number | null = null;
    switch (type) {
      case 'A':
      case 'AAAA': {
        const recs = type === 'A' ? await r.resolve4(name, { ttl: true }) : await r.resolve6(name, { ttl: true });
        answers = recs.map((x) => x.address);
        ttl = recs.length ? Math.min(...recs.map((x) => x.ttl)) : null;
        break;
      }
      case 'CNAME':
        answers = await r.resolveCname(name);
        break;
      case 'NS':
        answers = await r.resolveNs(name);
        break;
      case 'PTR':
        answers = await r.resolvePtr(name);
        break;
      case 'TXT':
        answers = (await r.resolveTxt(name)).map((chunks) => chunks.join(''));
        break;
      case 'MX':
        answers = (await r.resolveMx(name)).map((m) => `${m.priority} ${m.exchange}`);
        break;
      case 'SRV':
        answers = (await r.resolveSrv(name)).map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`);
        break;
      case 'CAA':
        answers = (await r.resolveCaa(name)).map((c) => `${c.critical} ${Object.keys(c).find((k) => k !== 'critical')} ${Object.entries(c).find(([k]) => k !== 'critical')?.[1]}`);
        break;
    }
    return { rcode: 'NOERROR', answers: answers.sort(), ttl };
  } catch (e: any) {
    const rcode = RCODES[e?.code] ?? String(e?.code ?? e?.message ?? 'ERROR');
    return { rcode, answers: [], ttl: null };
  } finally {
    r.cancel();
  }
}

/** Names compare without case and trailing dot. */
const norm = (s: string) => s.trim().toLowerCase().replace(/\.$/, '');

export function judge(expect: z.output<typeof input>['expect'], rcode: string, answers: string[]): string[] {
  const reasons: string[] = [];
  const answered = rcode === 'NOERROR' || rcode === 'NXDOMAIN' || rcode === 'NODATA';
  if (!answered) return [`no answer from the server: ${rcode}`];
  const have = new Set(answers.map(norm));
  const e = expect ?? { empty: false };
  if (e.empty === true && answers.length) reasons.push(`expected no answers, got [${answers.join(', ')}]`);
  if (e.empty === false && !answers.length) reasons.push(`expected answers, got ${rcode === 'NOERROR' ? 'none' : rcode}`);
  const missing = (e.includes ?? []).filter((x) => !have.has(norm(x)));
  if (missing.length) reasons.push(`missing [${missing.join(', ')}]`);
  const unwanted = (e.excludes ?? []).filter((x) => have.has(norm(x)));
  if (unwanted.length) reasons.push(`still answering [${unwanted.join(', ')}]`);
  if (e.equals) {
    const want = new Set(e.equals.map(norm));
    if (want.size !== have.size || [...want].some((x) => !have.has(x))) reasons.push(`expected exactly [${[...e.equals].sort().join(', ')}], got [${answers.join(', ')}]`);
  }
  return reasons;
}

export default defineAction({
  name: 'probe.dns',
  readOnly: true,
  description: 'Resolve a name against a given DNS server (what it really serves) and check the answers: includes / excludes / equals / empty; optionally waits until it holds.',
  input,
  async run(i, ctx): Promise<DnsProbeResult> {
    const servers = ([] as string[]).concat(i.server);
    const deadline = Date.now() + i.wait;
    let attempts = 0;
    for (;;) {
      attempts++;
      const t0 = Date.now();
      const a = await ask(servers, i.name, i.type, i.timeout, i.tries);
      const reasons = judge(i.expect, a.rcode, a.answers);
      const result: DnsProbeResult = { name: i.name, type: i.type, server: servers, ...a, pass: reasons.length === 0, reasons, attempts, at: new Date(t0).toISOString() };
      ctx.heartbeat({ attempts, rcode: a.rcode, answers: a.answers });
      if (result.pass || Date.now() + i.interval > deadline) {
        if (!result.pass && i.assert) {
          throw ApplicationFailure.create({
            message: `probe.dns ${i.type} ${i.name} @${servers.join(',')}: ${reasons.join('; ')}${attempts > 1 ? ` (after ${attempts} queries)` : ''}`,
            type: 'ProbeFailed',
            nonRetryable: true,
            details: [result],
          });
        }
        return result;
      }
      await cancellableSleep(Math.max(0, t0 + i.interval - Date.now()), ctx.signal, () => ctx.heartbeat({ attempts }));
    }
  },
  plan: (i) => `resolve ${i.type} ${i.name} at ${([] as string[]).concat(i.server).join(', ')}${i.expect ? ` expecting ${JSON.stringify(i.expect)}` : ''}${i.wait ? `, waiting up to ${i.wait}ms` : ''}`,
});
