/**
 * A local stand-in for Slack's Web API (and Socket Mode), on loopback, for tests and dev.
 * Point @slack/web-api at it with `slackApiUrl` (RUNWRIGHT_SLACK_API_URL=<sim.apiUrl>).
 *
 * Implements auth.test, chat.postMessage, chat.update, chat.postEphemeral, views.open,
 * users.info, conversations.history, apps.connections.open and the external file upload
 * (files.getUploadURLExternal, POST to the returned upload URL as raw bytes or multipart,
 * files.completeUploadExternal: what the client's files.uploadV2 calls) with Slack's response shapes:
 * HTTP 200 with `{ok: false, error}` for errors, 429 with Retry-After when rate limited
 * (injectable with `fail()`). Every call is recorded in `calls`. Socket Mode: a WebSocket
 * endpoint that says hello and delivers envelopes (`socketSend`), resolving with the client's ack.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SimCall {
  method: string;
  args: Record<string, any>;
  status: number;
  response: Record<string, any>;
  at: number;
}

export interface SimMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: any[];
  thread_ts?: string;
  metadata?: any;
  user?: string;
  /** Files shared with the message (files.completeUploadExternal). */
  files?: string[];
}

export interface SimFile {
  id: string;
  filename: string;
  length: number;
  alt_txt?: string;
  title?: string;
  /** The uploaded bytes, once POSTed to the upload URL. */
  data?: Buffer;
  completed: boolean;
  channels: string[];
}

export type Failure = { times?: number } & ({ status: 429; retryAfter: number } | { status: 500 } | { error: string });

export interface SlackSimOptions {
  botToken?: string;
  appToken?: string;
  /** Known users for users.info: id -> {name, email}. */
  users?: Record<string, { name: string; email?: string }>;
  /** When given, other channels answer channel_not_found. */
  channels?: string[];
}

export interface SlackSim {
  /** Base URL for @slack/web-api's slackApiUrl (ends with /api/). */
  apiUrl: string;
  calls: SimCall[];
  messages: SimMessage[];
  files: SimFile[];
  fail(method: string, f: Failure): void;
  callsTo(method: string): SimCall[];
  message(channel: string, ts: string): SimMessage | undefined;
  /** Deliver a Socket Mode envelope; resolves with the client's acknowledgement. */
  socketSend(type: 'interactive' | 'slash_commands' | 'events_api', payload: unknown, timeoutMs?: number): Promise<any>;
  socketConnected(): boolean;
  close(): Promise<void>;
}

function parseBody(req: IncomingMessage, raw: string): Record<string, any> {
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) return raw ? JSON.parse(raw) : {};
  const out: Record<string, any> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    // The Web API client sends nested values (blocks, metadata, view) as JSON strings.
    if (/^[[{]/.test(v)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        /* plain text */
      }
    }
    out[k] = v;
  }
  return out;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

const mimeType = (name: string) => ({ png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', txt: 'text/plain', md: 'text/markdown', json: 'application/json' })[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';

export async function startSlackSim(opts: SlackSimOptions = {}): Promise<SlackSim> {
  const botToken = opts.botToken ?? 'xoxb-sim-token';
  const appToken = opts.appToken ?? 'xapp-sim-token';
  const calls: SimCall[] = [];
  const messages: SimMessage[] = [];
  const files: SimFile[] = [];
  const failures = new Map<string, Failure[]>();
  let tsSeq = 0;
  let viewSeq = 0;
  let envSeq = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsSeq).padStart(6, '0')}`;
  const sockets = new Set<WebSocket>();
  const pendingAcks = new Map<string, (ack: any) => void>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/upload/')) void upload(req, res, body);
      else handle(req, res, body.toString('utf8'));
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/socket')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      // Slack pings every few seconds; the client treats silence as a dead connection.
      const ping = setInterval(() => ws.readyState === 1 && ws.ping(), 5000);
      ws.on('close', () => {
        clearInterval(ping);
        sockets.delete(ws);
      });
      ws.on('message', (data) => {
        try {
          const m = JSON.parse(String(data));
          if (m.envelope_id && pendingAcks.has(m.envelope_id)) {
            pendingAcks.get(m.envelope_id)!(m);
            pendingAcks.delete(m.envelope_id);
          }
        } catch {
          /* ignore */
        }
      });
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'sim', approximate_connection_time: 18060 }, connection_info: { app_id: 'ASIM' } }));
    });
  });

  const send = (res: ServerResponse, status: number, body: Record<string, any>, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  function respond(method: string, args: Record<string, any>, auth: string | undefined): Record<string, any> {
    const token = auth?.replace(/^Bearer\s+/i, '') ?? args.token;
    const want = method === 'apps.connections.open' ? appToken : botToken;
    if (!token) return { ok: false, error: 'not_authed' };
    if (token !== want) return { ok: false, error: 'invalid_auth' };
    const channelOk = (c: unknown) => typeof c === 'string' && c.length > 0 && (!opts.channels || opts.channels.includes(c));
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://sim.slack.test/', team: 'Sim', user: 'runwright', team_id: 'TSIM', user_id: 'UBOT', bot_id: 'BSIM' };
      case 'chat.postMessage': {
        if (!channelOk(args.channel)) return { ok: false, error: 'channel_not_found' };
        if (!args.text && !args.blocks) return { ok: false, error: 'no_text' };
        if (args.thread_ts && !messages.some((m) => m.channel === args.channel && m.ts === args.thread_ts)) return { ok: false, error: 'thread_not_found' };
        const m: SimMessage = { channel: args.channel, ts: nextTs(), text: args.text, blocks: args.blocks, thread_ts: args.thread_ts, metadata: args.metadata, user: 'UBOT' };
        messages.push(m);
        return { ok: true, channel: m.channel, ts: m.ts, message: { type: 'message', ...m } };
      }
      case 'chat.update': {
        const m = messages.find((x) => x.channel === args.channel && x.ts === args.ts);
        if (!m) return { ok: false, error: 'message_not_found' };
        if (args.text !== undefined) m.text = args.text;
        if (args.blocks !== undefined) m.blocks = args.blocks;
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: { ...m } };
      }
      case 'chat.postEphemeral':
        if (!channelOk(args.channel)) return { ok: false, error: 'channel_not_found' };
        if (!args.user) return { ok: false, error: 'user_not_in_channel' };
        return { ok: true, message_ts: nextTs() };
      case 'views.open':
        if (!args.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        if (!args.view) return { ok: false, error: 'invalid_arguments' };
        return { ok: true, view: { id: `VSIM${++viewSeq}`, ...args.view } };
      case 'users.info': {
        const u = opts.users?.[args.user];
        if (!u) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: args.user, name: u.name, profile: { email: u.email } } };
      }
      case 'conversations.history':
        if (!channelOk(args.channel)) return { ok: false, error: 'channel_not_found' };
        return { ok: true, messages: messages.filter((m) => m.channel === args.channel && !m.thread_ts).reverse().slice(0, Number(args.limit ?? 100)), has_more: false };
      case 'files.getUploadURLExternal': {
        const length = Number(args.length);
        if (!args.filename) return { ok: false, error: 'invalid_arguments' };
        if (!Number.isInteger(length) || length <= 0) return { ok: false, error: 'missing_argument' };
        const f: SimFile = { id: `F${String(files.length + 1).padStart(8, '0')}SIM`, filename: String(args.filename), length, alt_txt: args.alt_txt ?? args.alt_text, completed: false, channels: [] };
        files.push(f);
        const { port } = server.address() as AddressInfo;
        return { ok: true, upload_url: `http://127.0.0.1:${port}/upload/v1/${f.id}`, file_id: f.id };
      }
      case 'files.completeUploadExternal': {
        const list = typeof args.files === 'string' ? safeJson(args.files) : args.files;
        if (!Array.isArray(list) || !list.length || list.some((x) => typeof x?.id !== 'string')) return { ok: false, error: 'invalid_arguments' };
        const found = list.map((x: { id: string; title?: string }) => ({ f: files.find((f) => f.id === x.id && f.data), title: x.title }));
        if (found.some((x) => !x.f)) return { ok: false, error: 'file_not_found' };
        const channel = args.channel_id ?? (typeof args.channels === 'string' ? args.channels.split(',')[0] : undefined);
        if (channel !== undefined && !channelOk(channel)) return { ok: false, error: 'channel_not_found' };
        if (channel && args.thread_ts && !messages.some((m) => m.channel === channel && m.ts === args.thread_ts)) return { ok: false, error: 'thread_not_found' };
        const now = Math.floor(Date.now() / 1000);
        for (const { f, title } of found) {
          f!.completed = true;
          if (title !== undefined) f!.title = title;
          if (channel && !f!.channels.includes(channel)) f!.channels.push(channel);
        }
        if (channel) {
          // Sharing a file posts a message with it (in the thread when thread_ts is given).
          messages.push({ channel, ts: nextTs(), text: args.initial_comment ?? '', thread_ts: args.thread_ts, user: 'UBOT', files: found.map((x) => x.f!.id) });
        }
        return {
          ok: true,
          files: found.map(({ f }) => ({
            id: f!.id,
            created: now,
            timestamp: now,
            name: f!.filename,
            title: f!.title ?? f!.filename,
            mimetype: mimeType(f!.filename),
            filetype: f!.filename.split('.').pop()?.toLowerCase() ?? '',
            user: 'UBOT',
            size: f!.data!.length,
            channels: f!.channels,
          })),
        };
      }
      case 'apps.connections.open': {
        const { port } = server.address() as AddressInfo;
        return { ok: true, url: `ws://127.0.0.1:${port}/socket?ticket=${++envSeq}` };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** The upload URL: raw bytes or multipart form data (the first file part); 200 "OK - <bytes>". */
  async function upload(req: IncomingMessage, res: ServerResponse, body: Buffer) {
    const f = files.find((x) => req.url === `/upload/v1/${x.id}`);
    if (req.method !== 'POST' || !f || f.completed) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    let data = body;
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('multipart/form-data')) {
      try {
        const form = await new Response(new Uint8Array(body), { headers: { 'content-type': type } }).formData();
        const part = [...form.values()].find((v): v is File => typeof v !== 'string');
        if (!part) throw new Error('no file part');
        data = Buffer.from(await part.arrayBuffer());
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end('bad multipart body');
      }
    }
    f.data = data;
    calls.push({ method: 'upload', args: { file_id: f.id, bytes: data.length }, status: 200, response: {}, at: Date.now() });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${data.length}`);
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
    const m = req.url?.match(/^\/api\/([\w.]+)/);
    if (req.method !== 'POST' || !m) return send(res, 404, { ok: false, error: 'unknown_method' });
    const method = m[1];
    let args: Record<string, any>;
    try {
      args = parseBody(req, raw);
    } catch {
      return send(res, 200, { ok: false, error: 'invalid_json' });
    }
    const record = (status: number, response: Record<string, any>) => calls.push({ method, args, status, response, at: Date.now() });
    const queue = failures.get(method);
    const f = queue?.[0];
    if (f) {
      f.times = (f.times ?? 1) - 1;
      if (f.times <= 0) queue!.shift();
      if ('status' in f && f.status === 429) {
        const body = { ok: false, error: 'ratelimited' };
        record(429, body);
        return send(res, 429, body, { 'retry-after': String(f.retryAfter) });
      }
      if ('status' in f) {
        record(f.status, {});
        res.writeHead(f.status, { 'content-type': 'text/plain' });
        return res.end('internal error');
      }
      const body = { ok: false, error: f.error };
      record(200, body);
      return send(res, 200, body);
    }
    const body = respond(method, args, req.headers.authorization);
    record(200, body);
    send(res, 200, body);
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    calls,
    messages,
    files,
    fail: (method, f) => failures.set(method, [...(failures.get(method) ?? []), { times: 1, ...f }]),
    callsTo: (method) => calls.filter((c) => c.method === method),
    message: (channel, ts) => messages.find((x) => x.channel === channel && x.ts === ts),
    socketConnected: () => [...sockets].some((s) => s.readyState === 1),
    socketSend(type, payload, timeoutMs = 5000) {
      const ws = [...sockets].find((s) => s.readyState === 1);
      if (!ws) return Promise.reject(new Error('no Socket Mode client is connected'));
      const envelope_id = `env-${++envSeq}`;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          pendingAcks.delete(envelope_id);
          reject(new Error(`no ack for ${envelope_id} within ${timeoutMs}ms`));
        }, timeoutMs);
        pendingAcks.set(envelope_id, (ack) => {
          clearTimeout(t);
          resolve(ack);
        });
        ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
      });
    },
    close: async () => {
      for (const s of sockets) s.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
