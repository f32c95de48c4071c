/**
 * Secrets (issue 12 items 2, 3, 7), on real parts: the shared Temporal dev server, a worker in
 * this process, loopback HTTP servers that echo what they are sent (body, JSON, headers, errors),
 * redirect elsewhere, or never stop sending, and the real CLI.
 */
import { workerLog } from './helpers/capture-log';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineAction } from '../activities/define';
import { destinationMatches, resolveSecret, SecretError, secretRefProblem } from '../lib/secrets';
import { failureMessage, inputFor, runbookFrom, serverAddress, shippedInput, startRun, useTestWorker } from './helpers/temporal';
import { runCli } from './helpers/cli';
import { parseExpression } from '../dsl/expr';
import { validateRunbookText } from '../dsl/validate';
import { buildRegistry } from '../activities/registry';

const KEY = `echo-key-${randomBytes(12).toString('hex')}`;
const OTHER = `other-worker-secret-${randomBytes(12).toString('hex')}`;
const BOT = `xoxb-echo-${randomBytes(12).toString('hex')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** An action that does everything wrong with a secret: logs it, heartbeats it, returns it, throws it. */
const leak = defineAction({
  name: 'test.leak',
  description: 'leaks its secret everywhere (test)',
  input: z.strictObject({ ref: z.string(), fail: z.boolean().default(false) }),
  async run(i, ctx) {
    const v = resolveSecret(i.ref);
    ctx.log(`resolved value ${v}`);
    ctx.heartbeat({ progress: `using ${v}` });
    if (i.fail) throw new Error(`leaked ${v} (${b64(v)})`);
    return { v, b64: b64(v), url: encodeURIComponent(v), [v]: 'as a key' };
  },
});

interface Hit {
  url: string;
  headers: IncomingMessage['headers'];
}
function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; hits: Hit[]; srv: Server }> {
  const hits: Hit[] = [];
  const srv = createServer((req, res) => {
    hits.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits, srv })));
}

let dir: string;
let echo: Awaited<ReturnType<typeof server>>;
let other: Awaited<ReturnType<typeof server>>;
const slackTexts: string[] = [];
const ENV_KEYS = ['RUNWRIGHT_SECRETS_POLICY', 'RUNWRIGHT_SECRET_DIRS', 'RW_TEST_ECHO_KEY', 'RW_TEST_OTHER', 'SLACK_BOT_TOKEN', 'RUNWRIGHT_SLACK_API_URL', 'RUNWRIGHT_MAX_RESPONSE_BYTES'];
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
let policyFile: string;

const t = useTestWorker('secrets', [leak]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-secrets-'));
  other = await server((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  echo = await server((req, res) => {
    const u = req.url ?? '';
    const said = String(req.headers['x-api-key'] ?? req.headers.authorization ?? '');
    // Everything below sends back what it was sent, in every place a response has.
    if (u.startsWith('/redirect') || u.startsWith('/r/')) return void res.writeHead(302, { location: `${other.url}/steal` }).end();
    if (u.includes('huge')) {
      // Never ends: only a reader with a cap gets out.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => res.removeAllListeners('drain'));
      return pump();
    }
    if (u.startsWith('/fail')) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad key ${said}`);
    if (u.startsWith('/api/v1/servers/')) {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rrsets: [{ name: 'app.example.test.', type: 'A', ttl: 60, records: [{ content: `key=${said}`, disabled: false }] }] }));
    }
    if (u.startsWith('/api/chat.postMessage')) {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        slackTexts.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel: `C1 ${said}`, ts: '1.000', message: { text: said } }));
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-echo': said }).end(JSON.stringify({ youSent: said, b64: b64(said.replace(/^Bearer /, '')) }));
  });
  mkdirSync(join(dir, 'secrets'));
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'secrets', 'key'), `${KEY}\n`);
  writeFileSync(join(dir, 'outside', 'key'), `${OTHER}\n`);
  symlinkSync(join(dir, 'outside', 'key'), join(dir, 'secrets', 'link'));
  policyFile = join(dir, 'runwright.secrets.yaml');
  writeFileSync(
    policyFile,
    `secrets:
  echo-key:
    ref: env:RW_TEST_ECHO_KEY
    runbooks: [echo, failover]
    destinations: ["${echo.url}"]
  anywhere-key:
    ref: env:RW_TEST_ECHO_KEY
    runbooks: [echo]
`,
  );
  Object.assign(process.env, {
    RUNWRIGHT_SECRETS_POLICY: policyFile,
    RW_TEST_ECHO_KEY: KEY,
    RW_TEST_OTHER: OTHER,
    SLACK_BOT_TOKEN: BOT,
    RUNWRIGHT_SLACK_API_URL: `${echo.url}/api/`,
  });
});

afterAll(async () => {
  echo?.srv.closeAllConnections();
  other?.srv.closeAllConnections();
  await new Promise((r) => echo?.srv.close(r));
  await new Promise((r) => other?.srv.close(r));
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

const rb = (name: string, params: string, steps: string) =>
  runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: ${name} }\nspec:\n  params:\n${params.replace(/^/gm, '    ')}\n  steps:\n${steps.replace(/^/gm, '    ')}\n`, [leak]);

const historyText = async (h: { fetchHistory(): Promise<unknown> }) =>
  JSON.stringify(await h.fetchHistory(), (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));

const FORMS = (s: string) => [s, b64(s), b64(s).replace(/=+$/, ''), encodeURIComponent(s)];

test('every action that echoes a secret back: masked in history, status --json, the worker log and Slack posts', async () => {
  const steps = `- id: req
  action: http.request
  with: { url: "${echo.url}/echo", secretHeaders: { X-Api-Key: "secret:echo-key" } }
- id: reqfail
  action: http.request
  onFailure: continue
  retry: { maximumAttempts: 1 }
  with: { url: "${echo.url}/fail", secretHeaders: { Authorization: "secret:echo-key" } }
- id: probe
  action: probe.http
  with: { url: "${echo.url}/echo", secretHeaders: { X-Api-Key: "secret:echo-key" }, until: up, successThreshold: 1, bodyContains: "nothing-like-this", maxDuration: 600ms, interval: 200ms, expect: any }
- id: dns
  action: dns.records.get
  with: { api: "${echo.url}", apiKey: "secret:echo-key", zone: example.test, name: app }
- id: prom
  action: probe.prometheus
  onFailure: continue
  retry: { maximumAttempts: 1 }
  with: { url: "${echo.url}", query: up, secretHeaders: { X-Api-Key: "secret:echo-key" } }
- id: shift
  action: traffic.shift
  onFailure: continue
  retry: { maximumAttempts: 1 }
  with: { cluster: b, weight: 0, dryRun: true, backends: [{ kind: dns, api: "${echo.url}", apiKey: "secret:echo-key", zone: example.test, name: app, addresses: { a: [10.0.0.1], b: [10.0.0.2] } }] }
- id: slack
  action: notify.slack
  with: { channel: C1, text: "run {{ run.id }} done", required: true }
- id: leak
  action: test.leak
  heartbeatTimeout: 10s
  with: { ref: "secret:anywhere-key" }
- id: leakfail
  action: test.leak
  onFailure: continue
  retry: { maximumAttempts: 1 }
  with: { ref: "secret:anywhere-key", fail: true }`;
  const h = await startRun(t.env, t.queue, inputFor(rb('echo', 'x: { type: string, default: "" }', steps)));
  const res = await h.result();
  // The far ends did get the secret (so there was something to leak) …
  expect(echo.hits.some((x) => x.headers['x-api-key'] === KEY)).toBe(true);
  expect(echo.hits.some((x) => x.headers.authorization === `Bearer ${BOT}`)).toBe(true);
  // … and echoed it into outputs, which now carry the mask instead.
  const o = res.outputs as any;
  expect(o.req.headers['x-echo']).toBe('***');
  expect(o.req.json).toEqual({ youSent: '***', b64: '***' });
  expect(o.dns.records).toEqual(['key=***']);
  expect(o.slack.channel).toBe('C1 Bearer ***');
  // probe.prometheus and traffic.shift reached the far end with the key too (their echo, in an
  // output or in an error, is covered by the scans below).
  expect(echo.hits.some((x) => x.url.startsWith('/api/v1/query') && x.headers['x-api-key'] === KEY)).toBe(true);
  expect(echo.hits.filter((x) => x.url.startsWith('/api/v1/servers/') && x.headers['x-api-key'] === KEY).length).toBeGreaterThanOrEqual(2);
  expect(o.leak).toEqual({ v: '***', b64: '***', url: '***', '***': 'as a key' });

  const hist = await historyText(h);
  expect(hist).toContain('bad key ***'); // the error message, masked
  expect(hist).toContain('leaked *** (***)');
  const cli = await runCli(['status', h.workflowId, '--json'], { env: { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: t.queue, RUNWRIGHT_SECRETS_POLICY: '' } });
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain('***');
  const log = workerLog.join('\n');
  expect(log).toContain('resolved value ***');
  for (const [where, text] of [['history', hist], ['status --json', cli.stdout + cli.stderr], ['worker log', log], ['Slack posts', slackTexts.join('\n')]] as const) {
    for (const f of [...FORMS(KEY), ...FORMS(BOT)]) expect({ where, leaked: text.includes(f) }).toEqual({ where, leaked: false });
  }
});

test('params cannot choose a secret: the CLI refuses (exit 2) before anything starts', async () => {
  const params = join(dir, 'params.yaml');
  const write = (apiKey: string) =>
    writeFileSync(params, JSON.stringify({ cluster: 'cluster-a', force: true, health: { 'cluster-a': `${echo.url}/echo`, 'cluster-b': `${echo.url}/echo`, 'cluster-c': `${echo.url}/echo` }, backends: [{ kind: 'dns', api: other.url, apiKey, zone: 'example.test', name: 'app', addresses: { 'cluster-a': ['127.0.0.1'] } }] }));
  // Nothing listens on :1: a refusal must come before any connection (exit 2, not 3).
  const run = (env: Record<string, string>) => runCli(['run', join(__dirname, '..', 'runbooks', 'failover.yaml'), '--params', params], { env: { TEMPORAL_ADDRESS: '127.0.0.1:1', ...env } });
  write('env:RW_TEST_OTHER');
  const noPolicy = await run({ RUNWRIGHT_SECRETS_POLICY: '' });
  expect(noPolicy.code).toBe(2);
  expect(noPolicy.stderr).toMatch(/secret env:RW_TEST_OTHER: comes from the run's params/);
  const withPolicy = await run({ RUNWRIGHT_SECRETS_POLICY: policyFile });
  expect(withPolicy.code).toBe(2);
  expect(withPolicy.stderr).toMatch(/secret env:RW_TEST_OTHER: the secrets policy .* grants no secret with this ref/);
  write('secret:anywhere-key'); // defined, but granted to runbook "echo" only
  const notGranted = await run({ RUNWRIGHT_SECRETS_POLICY: policyFile });
  expect(notGranted.code).toBe(2);
  expect(notGranted.stderr).toMatch(/secret secret:anywhere-key: the secrets policy does not grant it to runbook "failover"/);
  for (const r of [noPolicy, withPolicy, notGranted]) expect(r.stderr + r.stdout).not.toContain(OTHER);
});

test('the shipped failover runbook cannot send a granted key to a URL of the starter\'s choosing (refused in the activity, nothing sent)', async () => {
  const before = other.hits.length;
  const h = await startRun(
    t.env,
    t.queue,
    shippedInput('failover', {
      cluster: 'cluster-a',
      force: true,
      health: { 'cluster-a': `${echo.url}/echo`, 'cluster-b': `${echo.url}/echo`, 'cluster-c': `${echo.url}/echo` },
      backends: [{ kind: 'dns', api: other.url, apiKey: 'secret:echo-key', zone: 'example.test', name: 'app', addresses: { 'cluster-a': ['127.0.0.1'] } }],
    }),
  );
  expect(await failureMessage(h.result())).toMatch(/secret secret:echo-key: the secrets policy does not allow sending it to http:\/\/127\.0\.0\.1:\d+/);
  expect(other.hits.length).toBe(before);
});

test('with no policy file: a reference written in the runbook resolves, the same reference from params is refused in the activity', async () => {
  delete process.env.RUNWRIGHT_SECRETS_POLICY;
  try {
    const r = rb('nopolicy', 'key: { type: string, default: "env:RW_TEST_ECHO_KEY" }', `- id: author
  action: http.request
  with: { url: "${echo.url}/echo", secretHeaders: { X-Api-Key: "env:RW_TEST_ECHO_KEY" } }
- id: starter
  action: http.request
  with: { url: "${echo.url}/echo", secretHeaders: { X-Api-Key: "{{ params.key }}" } }`);
    const h = await startRun(t.env, t.queue, inputFor(r, { key: 'env:RW_TEST_OTHER' }));
    expect(await failureMessage(h.result())).toMatch(/secret env:RW_TEST_OTHER: comes from the run's params \(or an expression\)/);
    const st = await h.query<any>('status');
    expect(st.steps.find((s: any) => s.id === 'author').state).toBe('succeeded');
    expect(echo.hits.some((x) => x.headers['x-api-key'] === OTHER)).toBe(false);
  } finally {
    process.env.RUNWRIGHT_SECRETS_POLICY = policyFile;
  }
});

test('file: references stay inside the secret folders (realpath: no ../, no symlink escape)', () => {
  const saved = process.env.RUNWRIGHT_SECRETS_POLICY;
  delete process.env.RUNWRIGHT_SECRETS_POLICY;
  const as = (ref: string) => resolveSecret(ref, { scope: { runbook: 'x', authorRefs: [ref] } });
  try {
    delete process.env.RUNWRIGHT_SECRET_DIRS;
    expect(() => as(`file:${dir}/secrets/key`)).toThrow(/none is configured/);
    process.env.RUNWRIGHT_SECRET_DIRS = join(dir, 'secrets');
    expect(as(`file:${dir}/secrets/key`)).toBe(KEY);
    expect(() => as(`file:${dir}/secrets/../outside/key`)).toThrow(SecretError);
    expect(() => as(`file:${dir}/secrets/link`)).toThrow(/outside the secret folders/);
    expect(() => as('file:/etc/passwd')).toThrow(/outside the secret folders/);
  } finally {
    process.env.RUNWRIGHT_SECRETS_POLICY = saved;
    delete process.env.RUNWRIGHT_SECRET_DIRS;
  }
});

test('secret headers never follow a redirect to another origin (http.request, PowerDNS client); plain requests still do', async () => {
  const before = other.hits.length;
  const r = rb('echo', 'x: { type: string, default: "" }', `- id: plain
  action: http.request
  with: { url: "${echo.url}/redirect" }
- id: secret
  action: http.request
  onFailure: continue
  with: { url: "${echo.url}/redirect", secretHeaders: { X-Api-Key: "secret:echo-key" } }
- id: dns
  action: dns.records.get
  with: { api: "${echo.url}/r", apiKey: "secret:echo-key", zone: example.test, name: app }`);
  const h = await startRun(t.env, t.queue, inputFor(r));
  expect(await failureMessage(h.result())).toMatch(/PowerDNS GET .*: refused to follow a redirect to another origin/);
  const st = await h.query<any>('status');
  expect(st.steps.find((s: any) => s.id === 'secret').error).toMatch(/refused to follow a redirect to another origin \(http:\/\/127\.0\.0\.1:\d+\) with secret headers/);
  // Only the plain request reached the other origin, and without the key.
  expect(other.hits.slice(before).map((x) => x.headers['x-api-key'])).toEqual([undefined]);
});

test('a response that never ends fails the step with a clear error at the cap (http.request, probe.http, PowerDNS)', async () => {
  process.env.RUNWRIGHT_MAX_RESPONSE_BYTES = String(256 * 1024);
  try {
    const r = rb('echo', 'x: { type: string, default: "" }', `- id: req
  action: http.request
  onFailure: continue
  with: { url: "${echo.url}/huge" }
- id: probe
  action: probe.http
  with: { url: "${echo.url}/huge", bodyContains: "y", until: deadline, maxDuration: 300ms, interval: 100ms, expect: any }
- id: dns
  action: dns.records.get
  with: { api: "${echo.url}/huge", apiKey: "secret:echo-key", zone: example.test, name: app }`);
    const t0 = Date.now();
    const h = await startRun(t.env, t.queue, inputFor(r));
    expect(await failureMessage(h.result())).toMatch(/PowerDNS GET .*: response body larger than 262144 bytes/);
    const st = await h.query<any>('status');
    expect(st.steps.find((s: any) => s.id === 'req').error).toMatch(/GET .*\/huge: response body larger than 262144 bytes/);
    expect(JSON.stringify(st.steps.find((s: any) => s.id === 'probe').outputs.timeline)).toMatch(/response body larger than 262144 bytes/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  } finally {
    delete process.env.RUNWRIGHT_MAX_RESPONSE_BYTES;
  }
});

test('an expensive expression is refused: by the validator when nested too deep, and at run time (a clear step failure, not a stuck workflow task)', async () => {
  // Static: four comprehensions inside each other.
  expect(() => parseExpression('l.map(a, l.map(b, l.map(c, l.map(d, a))))')).toThrow(/nested 4 deep; at most 3/);
  const { diagnostics } = validateRunbookText(
    'x.yaml',
    `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: x }\nspec:\n  params:\n    l: { type: array, default: [] }\n  steps:\n    - id: a\n      action: core.log\n      with: { message: "{{ params.l.map(a, params.l.map(b, params.l.map(c, params.l.map(d, a)))) }}" }\n`,
    { actions: buildRegistry() },
  );
  expect(diagnostics.map((d) => d.message).join('\n')).toMatch(/expression too expensive/);
  // Run time: allowed nesting, but over data that makes it ~10^9 steps.
  const r = rb('cel', 'l: { type: array, items: { type: integer } }', `- id: sum
  action: core.log
  with: { message: "n={{ size(params.l.map(a, params.l.map(b, params.l.filter(c, a + b == c)))) }}" }`);
  const small = await startRun(t.env, t.queue, inputFor(r, { l: [1, 2, 3] }));
  await small.result(); // the same expression over little data runs
  const t0 = Date.now();
  const big = await startRun(t.env, t.queue, inputFor(r, { l: Array.from({ length: 1000 }, (_, i) => i) }));
  expect(await failureMessage(big.result())).toMatch(/expression too expensive: comprehensions nested 3 deep over more than \d+ elements/);
  expect(Date.now() - t0).toBeLessThan(15_000);
});

test('grants: by runbook name or label, destinations by origin (+ path prefix) or host; a bound secret needs a destination', () => {
  const policy = {
    file: 'p.yaml',
    secrets: {
      k: { ref: 'env:RW_TEST_ECHO_KEY', runbooks: ['label:team=net'], destinations: ['https://api.example.com/v1', 'db.internal'] },
    },
  };
  const p = (scope: any, destination?: string) => secretRefProblem('secret:k', scope, { policy, destination });
  const net = { runbook: 'any', labels: { team: 'net' } };
  expect(p(net, 'https://api.example.com/v1/zones')).toBeUndefined();
  expect(p(net, 'https://api.example.com/v1')).toBeUndefined();
  expect(p(net, 'db.internal:5432')).toBeUndefined();
  expect(p(net, 'https://api.example.com/v10')).toMatch(/does not allow sending it to/); // prefix is by path segment
  expect(p(net, 'http://api.example.com/v1')).toMatch(/does not allow sending it to/); // another origin (scheme)
  expect(p(net, 'https://api.example.com.evil.test/v1')).toMatch(/does not allow sending it to/);
  expect(p(net)).toMatch(/an unnamed destination/);
  expect(p({ runbook: 'any', labels: { team: 'web' } }, 'db.internal')).toMatch(/does not grant it to runbook "any"/);
  expect(destinationMatches('db.internal', 'https://db.internal:8443/x')).toBe(true);
  expect(destinationMatches('https://a.test', 'a.test')).toBe(false);
});

test('matches() with a pattern that can backtrack without end (or one from data) is refused before it runs', () => {
  expect(() => parseExpression(`'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('^(a+)+$')`)).toThrow(/can backtrack without end/);
  expect(() => parseExpression(`'x'.matches('^(a|aa)*$')`)).toThrow(/can backtrack without end/);
  expect(() => parseExpression(`params.s.matches(params.re)`)).toThrow(/needs a literal pattern/);
  expect(() => parseExpression(`params.s.matches('^[a-z0-9-]+$')`)).not.toThrow();
});
