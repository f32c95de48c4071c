/**
 * The console on a worker that requires signed requests (RUNWRIGHT_ALLOWED_SIGNERS): users sign
 * in with tokens, the console signs each request as a trusted gateway (`via: console`), and the
 * worker verifies the signature with ssh-keygen, checks that the gateway is trusted, then the
 * access policy. A console key the worker does not trust, or no key, is refused by the worker.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '../activities/registry';
import { ConsoleAuth, newToken } from '../api/auth';
import { startConsoleServer, type ConsoleServer } from '../api/server';
import { statusQuery } from '../workflows/definitions';
import { useTestWorker } from './helpers/temporal';
import { waitFor } from './helpers/wait';

const ENV_KEYS = ['RUNWRIGHT_ALLOWED_SIGNERS', 'RUNWRIGHT_ACCESS_POLICY'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
let dir: string;
const key = (who: string) => join(dir, who);
const tokens: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-console-signed-'));
  for (const who of ['console', 'rogue']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', key(who)]);
  // Only the console's key, as principal console-gateway.
  writeFileSync(join(dir, 'allowed_signers'), `console-gateway namespaces="runwright" ${readFileSync(`${key('console')}.pub`, 'utf8').trim()}\n`);
  writeFileSync(join(dir, 'access.yaml'), 'default:\n  start: [alice, bob]\n  approve: [bob]\n  cancel: [alice]\ngateways: [console-gateway]\n');
  const lines = ['users:'];
  for (const u of ['alice', 'bob', 'eve']) {
    const t = newToken(u);
    tokens[u] = t.token;
    lines.push(`  - user: ${u}`, `    tokenSha256: ${t.entry.tokenSha256}`);
  }
  writeFileSync(join(dir, 'tokens.yaml'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'gated.yaml'),
    'apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: gated }\nspec:\n  steps:\n    - id: gate\n      approval: { message: "go?" }\n    - id: done\n      action: core.noop\n',
  );
  // The in-process worker's authorize activity reads these.
  process.env.RUNWRIGHT_ALLOWED_SIGNERS = join(dir, 'allowed_signers');
  process.env.RUNWRIGHT_ACCESS_POLICY = join(dir, 'access.yaml');
});

const t = useTestWorker('console-signed');

afterAll(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

async function withConsole<T>(signingKey: string | undefined, fn: (s: ConsoleServer) => Promise<T>): Promise<T> {
  const s = await startConsoleServer({
    client: t.env.client,
    namespace: 'default',
    taskQueue: t.queue,
    searchAttributes: false,
    registry: buildRegistry(),
    runbookPaths: [dir],
    auth: new ConsoleAuth({ tokensFile: join(dir, 'tokens.yaml'), localUser: 'nobody', signingKey, gatewayPrincipal: 'console-gateway' }),
    reportsDir: join(dir, 'reports'),
    port: 0,
  });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const post = async (s: ConsoleServer, path: string, user: string, body: unknown) => {
  const r = await fetch(`${s.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
};

test('signed as the gateway for the signed-in user: the worker verifies it and records who and how', async () => {
  await withConsole(key('console'), async (s) => {
    const me = await fetch(`${s.url}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.alice}` } });
    expect(await me.json()).toEqual({ user: 'alice', mode: 'token', signing: 'gateway' });
    const started = await post(s, '/api/v1/runs', 'alice', { runbook: 'gated', params: {} });
    expect(started.status).toBe(201);
    const h = t.env.client.workflow.getHandle(started.body.workflowId);
    const pending = await waitFor(async () => (await h.query(statusQuery)).pendingApprovals[0], 'the gate', 30_000, { ignoreErrors: true });
    const st = await h.query(statusQuery);
    expect(st.identity).toMatchObject({ user: 'alice', method: 'console', via: 'console-gateway' });
    expect(st.identity?.key).toMatch(/^SHA256:/);
    // The policy: alice may not approve; bob may, signed the same way.
    const byAlice = await post(s, `/api/v1/runs/${h.workflowId}/approve`, 'alice', { planHash: pending.planHash });
    expect(byAlice.status).toBe(403);
    const byBob = await post(s, `/api/v1/runs/${h.workflowId}/approve`, 'bob', { planHash: pending.planHash });
    expect(byBob.status).toBe(200);
    await h.result();
    const d = (await h.query(statusQuery)).decisions[0];
    expect(d).toMatchObject({ user: 'bob', source: 'console' });
    expect(d.auth).toMatchObject({ user: 'bob', method: 'console', via: 'console-gateway' });
  });
}, 60_000);

test('a console key the worker does not trust, or no key at all, is refused by the worker', async () => {
  for (const signingKey of [key('rogue'), undefined]) {
    await withConsole(signingKey, async (s) => {
      const started = await post(s, '/api/v1/runs', 'alice', { runbook: 'gated', params: {} });
      expect(started.status).toBe(201);
      const h = t.env.client.workflow.getHandle(started.body.workflowId);
      const e = await h.result().catch((x) => x);
      expect(String(e?.cause?.message ?? e?.message)).toMatch(signingKey ? /does not verify|not .*allowed|signature/i : /unsigned claim to be alice/);
    });
  }
}, 90_000);
