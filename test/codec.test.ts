/**
 * Sealed history (lib/codec.ts, cli/codec-server.ts): payloads are AES-256-GCM ciphertext in
 * the server; the keys' holders read them (runwright, `temporal --codec-endpoint`); runs recorded
 * before the codec keep working.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { failureConverter } from '../lib/failure-converter';
import {
  CodecConfigError,
  dataConverter,
  decodeSealedIn,
  ENCRYPTED_ENCODING,
  FAILURE_CONVERTER_PATH,
  failureText,
  keyId,
  KEY_ID_METADATA,
  loadKeyring,
  SealCodec,
  SealedPayloadError,
  type Keyring,
} from '../lib/codec';
import { createWorker, workflowBundle } from '../workers/worker';
import { sendDecision } from '../client/decide';
import { fetchRunTree } from '../activities/drill/report-history';
import { buildRegistry } from '../activities/registry';
import { statusQuery, type RunStatus } from '../workflows/definitions';
import { connectTestEnv, inputFor, runbookFrom, serverAddress, uniqueQueue, type TestEnv } from './helpers/temporal';
import { runCli } from './helpers/cli';
import { freePort, startDevServer } from '../lib/dev-server';

const run = promisify(execFile);
const BIN = join(__dirname, '..', 'bin', 'runwright');
const cliPath = () => process.env.RUNWRIGHT_TEST_TEMPORAL_CLI!;

const ringOf = (...keys: Buffer[]): Keyring => {
  const ks = keys.map((key, i) => ({ id: keyId(key), name: `k${i}`, key }));
  return { active: ks[0], keys: ks, source: 'test' };
};
const json = (v: unknown): Payload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) });
const meta = (p: Payload, k: string) => Buffer.from(p.metadata?.[k] ?? []).toString();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-codec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the codec', () => {
  test('seals with the active key (id in metadata, no plaintext), opens it again; plaintext passes through', async () => {
    const codec = new SealCodec(ringOf(randomBytes(32)));
    const [sealed] = await codec.encode([json({ secret: 'hunter2-plaintext' })]);
    expect(meta(sealed, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(sealed, KEY_ID_METADATA)).toBe(codec.ring.active!.id);
    expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('hunter2');
    expect(Object.keys(sealed.metadata!)).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed]);
    expect(meta(opened, 'encoding')).toBe('json/plain');
    expect(JSON.parse(Buffer.from(opened.data!).toString())).toEqual({ secret: 'hunter2-plaintext' });
    // Two seals of the same value differ (random IV).
    const [again] = await codec.encode([json({ secret: 'hunter2-plaintext' })]);
    expect(Buffer.compare(Buffer.from(again.data!), Buffer.from(sealed.data!))).not.toBe(0);
    const plain = json({ recorded: 'before the codec' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  test('rotation: new payloads use the new key, old ones still open; a missing key or a tampered payload is a clear error', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const [byOld] = await new SealCodec(ringOf(oldKey)).encode([json('sealed long ago')]);
    const rotated = new SealCodec(ringOf(newKey, oldKey));
    const [byNew] = await rotated.encode([json('sealed today')]);
    expect(meta(byNew, KEY_ID_METADATA)).toBe(keyId(newKey));
    expect((await rotated.decode([byOld, byNew])).map((p) => JSON.parse(Buffer.from(p.data!).toString()))).toEqual(['sealed long ago', 'sealed today']);
    const newOnly = new SealCodec(ringOf(newKey));
    await expect(newOnly.decode([byOld])).rejects.toThrow(SealedPayloadError);
    await expect(newOnly.decode([byOld])).rejects.toThrow(new RegExp(`sealed with codec key ${keyId(oldKey)}, which this process does not have.*RUNWRIGHT_CODEC_KEYS`));
    const tampered = { ...byNew, data: Buffer.from(byNew.data!) };
    tampered.data[20] ^= 1;
    await expect(rotated.decode([tampered])).rejects.toThrow(/failed authentication: it was corrupted or altered/);
    // Relabelling a payload to another known key fails too (the id is authenticated).
    const relabelled = { metadata: { ...byOld.metadata, [KEY_ID_METADATA]: Buffer.from(keyId(newKey)) }, data: byOld.data };
    await expect(rotated.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  test('failure text moved into sealed attributes is read back by failureText (runwright status of a retrying step)', async () => {
    const codec = new SealCodec(ringOf(randomBytes(32)));
    const f = failureConverter.errorToFailure(new Error('disk /dev/sdz1 is full'), defaultPayloadConverter);
    expect(f.message).toBe('Encoded failure');
    const [sealed] = await codec.encode([f.encodedAttributes!]);
    expect(await failureText({ message: f.message, encodedAttributes: sealed }, [codec])).toBe('disk /dev/sdz1 is full');
    expect(await failureText({ message: f.message, encodedAttributes: sealed }, [])).toBe('Encoded failure');
    expect(await failureText({ message: 'plain' }, [codec])).toBe('plain');
  });

  test('keyring file: keys by reference (env:, file: relative to the keyring, base64 or hex), active key; config mistakes are clear', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    writeFileSync(join(dir, 'b.key'), `${b.toString('hex')}\n`);
    const ringFile = join(dir, 'keyring.yaml');
    writeFileSync(ringFile, 'active: current\nkeys:\n  current: env:RW_KEY_A\n  previous: file:b.key\n');
    const ring = loadKeyring({ env: { RUNWRIGHT_CODEC_KEYS: ringFile, RW_KEY_A: a.toString('base64') } });
    expect(ring.active).toMatchObject({ name: 'current', id: keyId(a) });
    expect(ring.keys.map((k) => k.id)).toEqual([keyId(a), keyId(b)]);
    expect(loadKeyring({ env: { RUNWRIGHT_CODEC_KEY: 'env:K', K: a.toString('hex') } }).active?.id).toBe(keyId(a));

    const fails = (env: NodeJS.ProcessEnv, re: RegExp) => {
      expect(() => loadKeyring({ env })).toThrow(CodecConfigError);
      expect(() => loadKeyring({ env })).toThrow(re);
    };
    fails({ RUNWRIGHT_CODEC_KEYS: ringFile }, /key "current" \(env:RW_KEY_A\): secret env:RW_KEY_A: environment variable RW_KEY_A is not set/);
    fails({ RUNWRIGHT_CODEC_KEY: 'env:K', K: randomBytes(16).toString('base64') }, /32 random bytes .*this one decodes to 16 bytes/);
    fails({ RUNWRIGHT_CODEC_KEY: 'env:K', K: 'not a key!' }, /this one is neither/);
    fails({ RUNWRIGHT_CODEC_KEY: 'hunter2' }, /not a secret reference/);
    fails({ RUNWRIGHT_CODEC_KEYS: join(dir, 'missing.yaml') }, /cannot read the keyring \(ENOENT\)/);
    writeFileSync(join(dir, 'bad.yaml'), 'active: nope\nkeys:\n  current: env:RW_KEY_A\n');
    fails({ RUNWRIGHT_CODEC_KEYS: join(dir, 'bad.yaml'), RW_KEY_A: a.toString('base64') }, /active key "nope" is not under keys \(current\)/);
    writeFileSync(join(dir, 'bad2.yaml'), 'keys:\n  current: "raw-key-value"\n');
    fails({ RUNWRIGHT_CODEC_KEYS: join(dir, 'bad2.yaml') }, /active: .*keys\.current: expected a secret reference/s);
    fails({ RUNWRIGHT_CODEC_KEYS: ringFile, RUNWRIGHT_CODEC_KEY: 'env:K' }, /not both/);
    fails({ RUNWRIGHT_CODEC: 'maybe' }, /expected "off"/);
  });

  test('local default: a key is made once under the data folder (0600) and reused; configured keys keep it for reading', () => {
    const home = join(dir, 'local');
    expect(loadKeyring({ env: {}, local: { dir: home, create: false } }).active).toBeUndefined();
    const first = loadKeyring({ env: {}, local: { dir: home, create: true } });
    expect(first.active?.id).toMatch(/^[0-9a-f]{16}$/);
    expect(statSync(join(home, 'codec.key')).mode & 0o777).toBe(0o600);
    const again = loadKeyring({ env: {}, local: { dir: home, create: true } });
    expect(again.active?.id).toBe(first.active?.id);
    const other = randomBytes(32);
    const configured = loadKeyring({ env: { RUNWRIGHT_CODEC_KEY: 'env:K', K: other.toString('base64') }, local: { dir: home, create: true } });
    expect(configured.active?.id).toBe(keyId(other));
    expect(configured.keys.map((k) => k.id)).toEqual([keyId(other), first.active!.id]);
    expect(loadKeyring({ env: { RUNWRIGHT_CODEC: 'off' }, local: { dir: home, create: true } }).active).toBeUndefined();
    // The same key given by reference is the same key (ids are fingerprints, not names).
    expect(loadKeyring({ env: { RUNWRIGHT_CODEC_KEY: `file:${join(home, 'codec.key')}` } }).active?.id).toBe(first.active?.id);
  });
});

/** Every string in an exported history, payload data base64-decoded (as anyone with DB/UI access could). */
function readable(historyJson: string): string {
  const out: string[] = [historyJson];
  const walk = (v: any): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.data === 'string') out.push(Buffer.from(v.data, 'base64').toString('utf8'));
      Object.values(v).forEach(walk);
    }
  };
  walk(JSON.parse(historyJson));
  return out.join('\n');
}

/** A sealed payload's encoding, as the CLI prints metadata (base64) or plain. */
const SEALED = new RegExp(`${ENCRYPTED_ENCODING}|${Buffer.from(ENCRYPTED_ENCODING).toString('base64')}`);

const show = async (workflowId: string, extra: string[] = []) =>
  (await run(cliPath(), ['workflow', 'show', '--address', serverAddress(), '-w', workflowId, '--output', 'json', ...extra], { maxBuffer: 64 << 20 })).stdout;

/** `runwright codec serve` as a child process; resolves with its URL once it listens. */
function serveCodec(args: string[], env: Record<string, string>): Promise<{ url: string; proc: ChildProcess; stderr: () => string }> {
  const proc = spawn(process.execPath, [BIN, 'codec', 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`codec serve did not start: ${stderr}`)), 30_000);
    proc.stderr!.on('data', (d) => {
      stderr += d;
      const m = /serving (http:\/\/\S+) /.exec(stderr);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1], proc, stderr: () => stderr });
      }
    });
    proc.on('exit', (code) => reject(new Error(`codec serve exited ${code}: ${stderr}`)));
  });
}

describe('against the dev server', () => {
  let env: TestEnv;
  let sealedClient: Client;
  /** Writes plaintext and cannot open sealed payloads, whatever keys the environment has. */
  let plainClient: Client;
  let connection: Connection;
  const key = randomBytes(32);
  const ring = ringOf(key);
  const workers: { w: Worker; running: Promise<void> }[] = [];
  const startWorker = async (queue: string, r: Keyring) => {
    const w = await createWorker({ connection: env.native, taskQueue: queue, registry: buildRegistry(), dataConverter: dataConverter(r), tuning: { shutdownGraceTime: '1s' } });
    const entry = { w, running: w.run() };
    workers.push(entry);
    return entry;
  };
  beforeAll(async () => {
    env = await connectTestEnv();
    connection = await Connection.connect({ address: serverAddress() });
    sealedClient = new Client({ connection, namespace: 'default', dataConverter: dataConverter(ring) });
    plainClient = new Client({ connection, namespace: 'default', dataConverter: dataConverter({ keys: [], source: 'none' }) });
  });
  afterAll(async () => {
    for (const { w, running } of workers) {
      if (w.getState() === 'RUNNING') w.shutdown();
      await running.catch(() => undefined);
    }
    await connection?.close();
    await env?.close();
  });

  const tag = randomBytes(4).toString('hex');
  const PARAM = `PARAM-xyzzy-${tag}`;
  const OUTPUT = `OUTPUT-plugh-${tag}`;
  const REASON = `REASON-frotz-${tag}`;
  const gated = runbookFrom(`apiVersion: runwright/v1
kind: Runbook
metadata: { name: sealed }
spec:
  params:
    ticket: { type: string }
  steps:
    - id: gate
      approval: { message: "ship {{ params.ticket }}?" }
    - id: out
      action: core.log
      with: { message: "${OUTPUT} for {{ params.ticket }}" }
`);
  const waitForGate = async (client: Client, id: string) => {
    const end = Date.now() + 30_000;
    for (;;) {
      const st = (await client.workflow.getHandle(id).query(statusQuery).catch(() => undefined)) as RunStatus | undefined;
      if (st?.pendingApprovals[0]?.planHash) return st;
      if (Date.now() > end) throw new Error('no approval gate');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  test('history exported without the codec holds no param, output or decision; with `temporal --codec-endpoint` (runwright codec serve) it does', async () => {
    const queue = uniqueQueue('codec-sealed');
    await startWorker(queue, ring);
    const id = `sealed-${tag}`;
    await sealedClient.workflow.start('runbook', { taskQueue: queue, workflowId: id, args: [inputFor(gated, { ticket: PARAM }, { startedBy: 'carol' })] });
    await waitForGate(sealedClient, id);
    expect(await sendDecision(sealedClient, id, { decision: 'approve', user: 'dave', reason: REASON, source: 'cli' })).toMatchObject({ status: 'accepted' });
    const result: any = await sealedClient.workflow.getHandle(id).result();
    expect(result.outputs.out.message).toBe(`${OUTPUT} for ${PARAM}`);

    const raw = readable(await show(id));
    expect(raw).toMatch(/WORKFLOW_EXECUTION_COMPLETED|WorkflowExecutionCompleted/); // it is the whole history
    for (const s of [PARAM, OUTPUT, REASON, 'dave']) expect(raw).not.toContain(s);
    expect(raw).toMatch(SEALED);

    const token = randomBytes(18).toString('hex');
    const codecEnv = { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_CODEC_KEY: 'env:RW_TEST_CODEC_KEY', RW_TEST_CODEC_KEY: key.toString('base64'), RW_TEST_CODEC_TOKEN: token };
    const server = await serveCodec(['--auth-token', 'env:RW_TEST_CODEC_TOKEN'], codecEnv);
    try {
      const opened = readable(await show(id, ['--codec-endpoint', server.url, '--codec-auth', `Bearer ${token}`]));
      for (const s of [PARAM, OUTPUT, REASON, 'dave']) expect(opened).toContain(s);
      // Without the token the server refuses, and the CLI shows nothing decoded.
      const refused = await show(id, ['--codec-endpoint', server.url]).then(readable, (e) => String(e.stderr ?? e));
      expect(refused).not.toContain(PARAM);
      expect(server.stderr()).toMatch(/refused decode .*missing or wrong token/);
    } finally {
      server.proc.kill('SIGTERM');
    }

    // Runwright's own readers open sealed history with their client's codec (drill reports,
    // `runwright history`); a client without the key cannot.
    const lastResult = (t: Awaited<ReturnType<typeof fetchRunTree>>) => t[0].events.filter((e) => e.type === 'ActivityTaskCompleted').at(-1)?.result;
    expect(lastResult(await fetchRunTree(sealedClient, id))).toMatchObject({ outputs: { message: `${OUTPUT} for ${PARAM}` } });
    expect(lastResult(await fetchRunTree(plainClient, id))).toBeUndefined();
    const cliEnv = { TEMPORAL_ADDRESS: serverAddress(), RUNWRIGHT_TASK_QUEUE: queue, RUNWRIGHT_HOME: join(dir, 'cli-home') };
    const hist = await runCli(['history', id, '--json'], { env: { ...cliEnv, RUNWRIGHT_CODEC_KEY: 'env:RW_TEST_CODEC_KEY', RW_TEST_CODEC_KEY: key.toString('base64') } });
    expect(hist.code).toBe(0);
    expect(readable(hist.stdout)).toContain(REASON);
    const st = await runCli(['status', id], { env: { ...cliEnv, RUNWRIGHT_CODEC_KEY: 'env:RW_TEST_CODEC_KEY', RW_TEST_CODEC_KEY: key.toString('base64') } });
    expect(st.code).toBe(0);
    expect(st.stdout).toContain(`approved gate by dave via cli`);
    const noKey = await runCli(['status', id], { env: cliEnv });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(new RegExp(`codec: payload sealed with codec key ${keyId(key)}, which this process does not have`));
    expect(noKey.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    const badKey = await runCli(['status', id], { env: { ...cliEnv, RUNWRIGHT_CODEC_KEY: 'env:NOPE_NOT_SET' } });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/codec: RUNWRIGHT_CODEC_KEY=env:NOPE_NOT_SET: secret env:NOPE_NOT_SET: environment variable NOPE_NOT_SET is not set/);
  }, 120_000);

  test('a rejection reason in a failure message is sealed too', async () => {
    const queue = uniqueQueue('codec-reject');
    await startWorker(queue, ring);
    const id = `sealed-reject-${tag}`;
    const h = await sealedClient.workflow.start('runbook', { taskQueue: queue, workflowId: id, args: [inputFor(gated, { ticket: PARAM }, { startedBy: 'carol' })] });
    await waitForGate(sealedClient, id);
    await sendDecision(sealedClient, id, { decision: 'reject', user: 'erin', reason: `${REASON}-no`, source: 'cli' });
    const e: any = await h.result().catch((x) => x);
    let c = e;
    while (c?.cause) c = c.cause;
    expect(String(c?.message)).toContain(`${REASON}-no`);
    expect(readable(await show(id))).not.toContain(`${REASON}-no`);
  }, 60_000);

  test('a run started before the codec finishes under a worker with the codec, and its mixed history replays', async () => {
    const queue = uniqueQueue('codec-migrate');
    const plainWorker = await startWorker(queue, { keys: [], source: 'off' });
    const id = `migrate-${tag}`;
    await plainClient.workflow.start('runbook', { taskQueue: queue, workflowId: id, args: [inputFor(gated, { ticket: PARAM }, { startedBy: 'carol' })] });
    await waitForGate(plainClient, id);
    plainWorker.w.shutdown();
    await plainWorker.running;
    // Upgraded worker (and CLI): the codec is on from now on.
    await startWorker(queue, ring);
    expect(await sendDecision(sealedClient, id, { decision: 'approve', user: 'dave', reason: REASON, source: 'cli' })).toMatchObject({ status: 'accepted' });
    const result: any = await sealedClient.workflow.getHandle(id).result();
    expect(result.outputs.out.message).toBe(`${OUTPUT} for ${PARAM}`);
    const history = await sealedClient.workflow.getHandle(id).fetchHistory();
    const raw = readable(JSON.stringify(history));
    expect(raw).toContain(PARAM); // the start, recorded before the codec, stays plaintext
    expect(raw).toMatch(SEALED); // what came after is sealed
    expect(raw).not.toContain(REASON);
    const replay = { workflowBundle: await workflowBundle(FAILURE_CONVERTER_PATH), dataConverter: dataConverter(ring) };
    await Worker.runReplayHistory(replay, history, id); // throws on nondeterminism or an unreadable payload
    // The proof can fail: the same history replayed without the key cannot be read.
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: dataConverter({ keys: [], source: 'none' }) }, history, id)).rejects.toThrow();
    const decoded = await decodeSealedIn(temporal.api.history.v1.History.create(history), dataConverter(ring).payloadCodecs!);
    expect(readable(JSON.stringify(decoded))).toContain(REASON);
  }, 90_000);
});

describe('runwright codec serve', () => {
  const key = randomBytes(32);
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:1', RUNWRIGHT_CODEC_KEY: 'env:RW_K', RW_K: key.toString('base64'), RW_TOKEN: 'a-token-that-is-long-enough' };
  let server: Awaited<ReturnType<typeof serveCodec>>;
  beforeAll(async () => {
    server = await serveCodec(['--auth-token', 'env:RW_TOKEN', '--cors-origin', 'http://ui.example:8233'], env);
  });
  afterAll(() => server?.proc.kill('SIGTERM'));

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  test('protocol: /encode then /decode round-trips (under any path prefix); token required; CORS for the UI origin only', async () => {
    const payloads = [{ metadata: { encoding: b64('json/plain') }, data: b64('"hello"') }];
    const auth = { Authorization: 'Bearer a-token-that-is-long-enough' };
    const enc = await post('/encode', { payloads }, auth);
    expect(enc.status).toBe(200);
    const sealed = ((await enc.json()) as any).payloads;
    expect(Buffer.from(sealed[0].metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(sealed[0].metadata[KEY_ID_METADATA], 'base64').toString()).toBe(keyId(key));
    const dec = await post('/ns/default/decode', { payloads: [...sealed, ...payloads] }, { Authorization: 'a-token-that-is-long-enough' });
    expect(dec.status).toBe(200);
    expect(((await dec.json()) as any).payloads).toEqual([...payloads, ...payloads]);

    expect((await post('/decode', { payloads: sealed })).status).toBe(401);
    expect((await post('/decode', { payloads: sealed }, { Authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await post('/decode', { nope: 1 }, auth)).status).toBe(400);

    const pre = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://ui.example:8233', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://ui.example:8233');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    const other = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('refuses to start without a token (unless --no-auth on loopback), with a short token, or without keys: exit 2', async () => {
    const noToken = await runCli(['codec', 'serve', '--port', '0'], { env: { ...env, RUNWRIGHT_CODEC_AUTH_TOKEN: '' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/codec serve needs a token: --auth-token env:NAME\|file:PATH/);
    const open = await runCli(['codec', 'serve', '--port', '0', '--no-auth', '--host', '0.0.0.0'], { env });
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--no-auth is only allowed on a loopback address \(not 0\.0\.0\.0\)/);
    const short = await runCli(['codec', 'serve', '--port', '0', '--auth-token', 'env:SHORT'], { env: { ...env, SHORT: 'abc' } });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/use at least 16/);
    const noKeys = await runCli(['codec', 'serve', '--port', '0', '--auth-token', 'env:RW_TOKEN'], { env: { ...env, RUNWRIGHT_CODEC_KEY: '' } });
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toMatch(/no codec keys/);
    const badKey = await runCli(['codec', 'keys'], { env: { ...env, RW_K: 'c2hvcnQ=' } });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/^codec: RUNWRIGHT_CODEC_KEY=env:RW_K: a codec key must be 32 random bytes/);
    const keygen = await runCli(['codec', 'keygen'], { env });
    expect(Buffer.from(keygen.stdout.trim(), 'base64')).toHaveLength(32);
  }, 60_000);
});

test('embedded default: the CLI seals history with a key it keeps under the data folder; runs stay readable to it', async () => {
  const port = String(await freePort());
  const home = join(dir, 'embedded');
  const bare = { TEMPORAL_ADDRESS: '', RUNWRIGHT_EMBEDDED_PORT: port, RUNWRIGHT_HOME: home, TEMPORAL_CLI: cliPath(), HOME: join(dir, 'h') };
  const rb = join(dir, 'emb.yaml');
  const SECRET = `EMBEDDED-${randomBytes(4).toString('hex')}`;
  writeFileSync(rb, `apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: emb }\nspec:\n  params:\n    v: { type: string }\n  steps:\n    - id: one\n      action: core.log\n      with: { message: "{{ params.v }}" }\n`);
  const r = await runCli(['run', rb, '--id', 'emb-sealed', '--set', `v=${SECRET}`], { env: bare, timeoutMs: 90_000 });
  expect(r.code).toBe(0);
  expect(readFileSync(join(home, 'codec.key'), 'utf8').trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  // A later CLI (new embedded server on the same SQLite file) reads it back with the same key.
  const h = await runCli(['history', 'emb-sealed', '--json'], { env: bare, timeoutMs: 90_000 });
  expect(h.code).toBe(0);
  expect(readable(h.stdout)).toContain(SECRET);
  // What the database holds: ciphertext.
  const server = await startDevServer({ cli: cliPath(), port: Number(port), ip: '127.0.0.1', headless: true, dbFile: join(home, 'temporal.db') });
  try {
    const raw = (await run(cliPath(), ['workflow', 'show', '--address', server.address, '-w', 'emb-sealed', '--output', 'json'], { maxBuffer: 64 << 20 })).stdout;
    expect(readable(raw)).not.toContain(SECRET);
    expect(raw).toMatch(SEALED);
  } finally {
    await server.stop();
  }
}, 240_000);

test('runwright dev: the embedded web UI decodes sealed payloads through a loopback codec server', async () => {
  const port = await freePort();
  const uiPort = port + 1000;
  const home = join(dir, 'dev');
  const proc = spawn(process.execPath, [BIN, 'dev'], {
    cwd: dir,
    env: { ...process.env, TEMPORAL_ADDRESS: '', RUNWRIGHT_EMBEDDED_PORT: String(port), RUNWRIGHT_HOME: home, TEMPORAL_CLI: cliPath(), RUNWRIGHT_OPENSTACK_SIM_PORT: String(await freePort()) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`runwright dev did not start: ${stderr}`)), 90_000);
      proc.stderr!.on('data', (d) => {
        stderr += d;
        if (/Ctrl-C to stop/.test(stderr)) {
          clearTimeout(t);
          resolve();
        }
      });
      proc.on('exit', (code) => reject(new Error(`runwright dev exited ${code}: ${stderr}`)));
    });
    expect(stderr).toMatch(/history sealed with AES-256-GCM, key [0-9a-f]{16} \(local key /);
    // The UI is told where the codec server is…
    const settings = await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).text();
    expect(settings).toContain(`127.0.0.1:${uiPort + 1}`);
    // …which answers the UI's origin and opens what the local key sealed.
    const local = loadKeyring({ env: {}, local: { dir: home, create: false } });
    const [sealed] = await new SealCodec(local).encode([json('from the dev worker')]);
    const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');
    const r = await fetch(`http://127.0.0.1:${uiPort + 1}/decode`, {
      method: 'POST',
      headers: { Origin: `http://localhost:${uiPort}`, 'Content-Type': 'application/json', 'X-Namespace': 'default' },
      body: JSON.stringify({ payloads: [{ metadata: Object.fromEntries(Object.entries(sealed.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(sealed.data) }] }),
    });
    expect(r.headers.get('access-control-allow-origin')).toBe(`http://localhost:${uiPort}`);
    const body = (await r.json()) as any;
    expect(Buffer.from(body.payloads[0].data, 'base64').toString()).toBe('"from the dev worker"');
  } finally {
    proc.kill('SIGINT');
    await new Promise((r) => proc.once('exit', r));
  }
}, 150_000);
