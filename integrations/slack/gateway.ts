/**
 * The Slack gateway (`runwright slack serve`): receives button clicks, the reject modal and the
 * `/runwright` slash command, over HTTP (signed requests) or Socket Mode, and turns them into
 * Temporal Updates under the approval policy the workflow enforces.
 *
 *  - HTTP: every request's v0 signature is checked with the signing secret (Slack's v0
 *    HMAC-SHA256 of "v0:<ts>:<raw body>", constant-time compare), and a
 *    timestamp more than 5 minutes off is refused; both answer 401.
 *  - Slack wants an answer within 3 s: the gateway answers at once and does the work (the
 *    Update, views.open, ephemeral replies) right after; `idle()` waits for that work (tests).
 *  - A Slack user acts as the identity the approvers file maps to their Slack id (or e-mail,
 *    via users.info); unmapped users are refused, and the refusal is recorded on the run.
 *  - Replayed or retried clicks carry the same action_ts, hence the same requestId (the Update
 *    id): they count once.
 */
import { runSecretProblems } from '../../lib/secrets';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SocketModeClient, LogLevel as SocketLogLevel } from '@slack/socket-mode';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ActionRegistry } from '../../activities/registry';
import { buildRegistry } from '../../activities/registry';
import { resolveParams } from '../../dsl/params';
import { renderStatus } from '../../client/progress';
import { loadRunbookFile } from '../../client/runbooks';
import { INTERPRETER_WORKFLOW, refusalSignal, statusQuery, type RunInput, type RunStatus } from '../../workflows/definitions';
import { chatopsAllowed, identityForSlackUser, loadApprovers, type ApproversConfig } from '../../lib/approvers';
import { describeOutcome, sendDecision, type DecisionOutcome } from '../../client/decide';
import { startHash } from '../../lib/identity/authorize';
import { loadAccessPolicy, policyRefusal } from '../../lib/identity/policy';
import { newClaim, type Proof, type RequestClaim } from '../../lib/identity/request';
import { signClaim } from '../../lib/identity/ssh';
import { runDefaults, runLink, ENV } from '../../lib/config';
import { slackClient, type SlackConfig } from '../../lib/slack';
import { ACTION_APPROVE, ACTION_REJECT, REASON_ACTION, REASON_BLOCK, REJECT_CALLBACK, esc, parseButtonValue, rejectModal, type ButtonValue } from '../../lib/slack-blocks';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';

export const MAX_SKEW_SECONDS = 5 * 60;
const MAX_BODY = 1 << 20;

/** Why a request is not from Slack, or undefined when its signature and timestamp are good. */
export function signatureProblem(signingSecret: string, headers: IncomingMessage['headers'], rawBody: string, nowMs = Date.now()): string | undefined {
  const tsHeader = headers['x-slack-request-timestamp'];
  const sig = headers['x-slack-signature'];
  if (typeof tsHeader !== 'string' || typeof sig !== 'string') return 'missing X-Slack-Signature or X-Slack-Request-Timestamp';
  const ts = Number(tsHeader);
  if (!Number.isInteger(ts)) return 'bad X-Slack-Request-Timestamp';
  // Bolt refuses old timestamps; refuse ones from the future too (replays with a forged clock).
  if (Math.abs(nowMs / 1000 - ts) > MAX_SKEW_SECONDS) return 'stale timestamp (more than 5 minutes off)';
  // Slack's v0 scheme (api.slack.com/authentication/verifying-requests-from-slack): HMAC-SHA256
  // of "v0:<timestamp>:<raw body>", hex, compared in constant time.
  const want = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${tsHeader}:${rawBody}`).digest('hex')}`);
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want) ? undefined : 'signature mismatch';
}

export interface GatewayOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  slack: SlackConfig;
  /** Re-read on every request, so edits to the approvers file apply without a restart. */
  approvers?: () => ApproversConfig;
  /** Folders searched for `/runwright run <name>` (default: RUNWRIGHT_RUNBOOK_PATH, then ./runbooks). */
  runbookDirs?: string[];
  registry?: ActionRegistry;
  decisionTimeoutMs?: number;
  log?: (m: string) => void;
  /**
   * The gateway's own SSH key (default RUNWRIGHT_SIGNING_KEY) and its allowed_signers principal
   * (default RUNWRIGHT_GATEWAY_PRINCIPAL, else "slack-gateway"): with a key, the gateway signs every
   * decision and start it forwards, vouching for the Slack user it verified and mapped; workers
   * trust it when the principal is listed under `gateways` in the access policy.
   */
  signingKey?: string;
  principal?: string;
}

export interface Reply {
  status: number;
  /** JSON body, or '' for an empty 200 (what Slack wants for a plain acknowledgement). */
  body: unknown;
  /** Work done after the acknowledgement. */
  after?: () => Promise<void>;
}

const ack = (after?: () => Promise<void>): Reply => ({ status: 200, body: '', after });

export class SlackGateway {
  private readonly background = new Set<Promise<void>>();
  private socket?: SocketModeClient;

  constructor(private readonly o: GatewayOptions) {}

  /** Vouch for a Slack user (verified by Slack's signing secret, mapped by the approvers file): sign with the gateway's key, if it has one. */
  private async vouch(c: Omit<RequestClaim, 'v' | 'at' | 'nonce' | 'via'> & { slackUser: string }): Promise<Proof | undefined> {
    const key = this.o.signingKey ?? process.env.RUNWRIGHT_SIGNING_KEY;
    if (!key) return undefined;
    return signClaim(newClaim({ ...c, via: 'slack' }), key, this.o.principal ?? process.env.RUNWRIGHT_GATEWAY_PRINCIPAL ?? 'slack-gateway');
  }

  private log(m: string): void {
    (this.o.log ?? ((x: string) => process.stderr.write(`${x}\n`)))(m);
  }

  private get web() {
    return slackClient(this.o.slack);
  }

  /** The runbook a run runs (its memo), for the signed request; undefined when unknown. */
  private async runbookOf(workflowId: string): Promise<string | undefined> {
    if (!(this.o.signingKey ?? process.env.RUNWRIGHT_SIGNING_KEY)) return undefined;
    const h = this.o.client.workflow.getHandle(workflowId);
    try {
      const memo = (await h.describe()).memo?.runbook;
      if (typeof memo === 'string') return memo;
      return (await this.o.client.connection.withDeadline(Date.now() + 5000, () => h.query(statusQuery))).runbook;
    } catch {
      return undefined;
    }
  }

  private approvers(): ApproversConfig {
    return (this.o.approvers ?? (() => loadApprovers()))();
  }

  /** Wait until work started after acknowledgements has finished. */
  async idle(): Promise<void> {
    while (this.background.size) await Promise.allSettled([...this.background]);
  }

  private track(after?: () => Promise<void>): void {
    if (!after) return;
    const p = after()
      .catch((e) => this.log(`runwright slack: ${e?.stack ?? e}`))
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  // ------------------------------------------------------------------ transport: HTTP

  /** Handle one HTTP request (exposed for embedding in another server). */
  async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/')) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let raw = '';
    let tooBig = false;
    req.setEncoding('utf8');
    for await (const chunk of req) {
      raw += chunk;
      if (raw.length > MAX_BODY) {
        tooBig = true;
        break;
      }
    }
    if (tooBig) return void res.writeHead(413).end();
    if (!this.o.slack.signingSecret) return void res.writeHead(500, { 'content-type': 'text/plain' }).end('no signing secret configured\n');
    const problem = signatureProblem(this.o.slack.signingSecret, req.headers, raw);
    if (problem) {
      this.log(`runwright slack: refused request to ${req.url}: ${problem}`);
      return void res.writeHead(401, { 'content-type': 'text/plain' }).end('invalid request signature\n');
    }
    let reply: Reply;
    try {
      reply = await this.dispatchRaw(String(req.headers['content-type'] ?? ''), raw);
    } catch (e: any) {
      this.log(`runwright slack: ${e?.stack ?? e}`);
      reply = { status: 400, body: { error: String(e?.message ?? e) } };
    }
    if (reply.body === '' || reply.body === undefined) res.writeHead(reply.status).end();
    else res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    this.track(reply.after);
  }

  async dispatchRaw(contentType: string, raw: string): Promise<Reply> {
    if (contentType.includes('application/json')) {
      const j = JSON.parse(raw);
      if (j?.type === 'url_verification') return { status: 200, body: { challenge: j.challenge } };
      return ack();
    }
    const form = new URLSearchParams(raw);
    if (form.has('payload')) return this.interaction(JSON.parse(form.get('payload')!));
    if (form.has('command')) return this.command(Object.fromEntries(form));
    return { status: 400, body: { error: 'expected an interaction payload or a slash command' } };
  }

  listen(port = 3000, host = '127.0.0.1'): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      this.handleHttp(req, res).catch((e) => {
        this.log(`runwright slack: ${e?.stack ?? e}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    return new Promise((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address() as AddressInfo;
        resolveListen({
          url: `http://${host}:${a.port}`,
          server,
          close: async () => {
            server.closeAllConnections?.();
            await new Promise<void>((r) => server.close(() => r()));
            await this.idle();
          },
        });
      });
    });
  }

  // ------------------------------------------------------------------ transport: Socket Mode

  async startSocketMode(): Promise<SocketModeClient> {
    if (!this.o.slack.appToken) throw new Error('Socket Mode needs an app-level token: set SLACK_APP_TOKEN or SLACK_APP_TOKEN_FILE');
    const sm = new SocketModeClient({
      appToken: this.o.slack.appToken,
      logLevel: SocketLogLevel.ERROR,
      clientOptions: this.o.slack.apiUrl ? { slackApiUrl: this.o.slack.apiUrl } : undefined,
    });
    const on = (kind: 'interactive' | 'slash_commands') =>
      sm.on(kind, async ({ body, ack: sendAck }: { body: any; ack: (r?: unknown) => Promise<void> }) => {
        let reply: Reply;
        try {
          reply = kind === 'interactive' ? await this.interaction(body) : await this.command(body);
        } catch (e: any) {
          this.log(`runwright slack: ${e?.stack ?? e}`);
          reply = ack();
        }
        await sendAck(reply.body === '' ? undefined : reply.body);
        this.track(reply.after);
      });
    on('interactive');
    on('slash_commands');
    await sm.start();
    this.socket = sm;
    return sm;
  }

  async stop(): Promise<void> {
    await this.socket?.disconnect().catch(() => undefined);
    await this.idle();
  }

  // ------------------------------------------------------------------ identities and replies

  /** The Runwright identity of a Slack user: mapped by id, else by e-mail (users.info), else none. */
  async identity(slackUserId: string): Promise<string | undefined> {
    const cfg = this.approvers();
    const direct = identityForSlackUser(cfg, slackUserId);
    if (direct) return direct;
    if (!Object.values(cfg.users ?? {}).some((u) => u.email)) return undefined;
    try {
      const r = await this.web.users.info({ user: slackUserId });
      return identityForSlackUser(cfg, slackUserId, (r.user as any)?.profile?.email);
    } catch {
      return undefined;
    }
  }

  private async ephemeral(channel: string | undefined, user: string, text: string): Promise<void> {
    if (!channel) return;
    try {
      await this.web.chat.postEphemeral({ channel, user, text });
    } catch (e: any) {
      this.log(`runwright slack: could not tell ${user} "${text}": ${e?.data?.error ?? e?.message ?? e}`);
    }
  }

  // ------------------------------------------------------------------ interactions

  async interaction(payload: any): Promise<Reply> {
    if (payload?.type === 'block_actions') return this.blockActions(payload);
    if (payload?.type === 'view_submission' && payload.view?.callback_id === REJECT_CALLBACK) return this.rejectSubmitted(payload);
    return ack();
  }

  private blockActions(p: any): Reply {
    const action = (p.actions ?? []).find((a: any) => a.action_id === ACTION_APPROVE || a.action_id === ACTION_REJECT);
    const v = action && parseButtonValue(action.value);
    if (!v) return ack();
    const slackUser = String(p.user?.id ?? '');
    const channel: string | undefined = p.channel?.id ?? p.container?.channel_id;
    const messageTs: string | undefined = p.message?.ts ?? p.container?.message_ts;
    if (action.action_id === ACTION_REJECT) {
      // The trigger id expires 3 s after the click: open the modal right away.
      return ack(async () => {
        await this.web.views.open({ trigger_id: p.trigger_id, view: rejectModal(v, channel, messageTs) as never });
      });
    }
    const requestId = `slack:${slackUser}:${action.action_ts ?? p.trigger_id}`;
    return ack(() => this.decide({ slackUser, decision: 'approve', v, channel, messageTs, messageBlocks: p.message?.blocks, requestId }));
  }

  private rejectSubmitted(p: any): Reply {
    const reason = String(p.view?.state?.values?.[REASON_BLOCK]?.[REASON_ACTION]?.value ?? '').trim();
    if (!reason) return { status: 200, body: { response_action: 'errors', errors: { [REASON_BLOCK]: 'A rejection needs a reason: it is recorded for the audit trail.' } } };
    let meta: ButtonValue & { c?: string; t?: string };
    try {
      meta = JSON.parse(p.view.private_metadata);
    } catch {
      return { status: 200, body: { response_action: 'errors', errors: { [REASON_BLOCK]: 'This form is missing its run; click Reject on the request again.' } } };
    }
    const slackUser = String(p.user?.id ?? '');
    const requestId = `slack:${slackUser}:${p.view.id ?? p.trigger_id}`;
    // An empty 200 closes the modal.
    return ack(() => this.decide({ slackUser, decision: 'reject', v: meta, reason, channel: meta.c, messageTs: meta.t, requestId }));
  }

  private async decide(a: {
    slackUser: string;
    decision: 'approve' | 'reject';
    v: ButtonValue;
    reason?: string;
    channel?: string;
    messageTs?: string;
    messageBlocks?: any[];
    requestId: string;
  }): Promise<void> {
    try {
      await this.decideOrRefuse(a);
    } catch (e: any) {
      // Whatever went wrong, the clicker hears about it instead of waiting for nothing.
      await this.ephemeral(a.channel, a.slackUser, `:warning: Runwright could not process your ${a.decision}: ${esc(String(e?.message ?? e).split('\n')[0])}`);
      throw e;
    }
  }

  private async decideOrRefuse(a: Parameters<SlackGateway['decide']>[0]): Promise<void> {
    const identity = await this.identity(a.slackUser);
    if (!identity) {
      const reason = `Slack user ${a.slackUser} is not mapped to a Runwright identity (users.<name>.slack in the approvers file)`;
      await this.o.client.workflow
        .getHandle(a.v.w)
        .signal(refusalSignal, { step: a.v.s, user: `slack:${a.slackUser}`, decision: a.decision, reason, source: 'slack', actor: `slack:${a.slackUser}`, requestId: a.requestId })
        .catch(() => undefined);
      await this.ephemeral(a.channel, a.slackUser, `:no_entry: Refused: your Slack account is not mapped to a Runwright identity; ask an admin to add \`slack: ${a.slackUser}\` to your entry in the approvers file.`);
      return;
    }
    const runbook = await this.runbookOf(a.v.w);
    const proof = runbook ? await this.vouch({ action: a.decision, workflowId: a.v.w, runbook, hash: a.v.h ?? null, step: a.v.s ?? null, user: identity, slackUser: a.slackUser }) : undefined;
    const outcome: DecisionOutcome = await sendDecision(
      this.o.client,
      a.v.w,
      { decision: a.decision, user: identity, step: a.v.s, planHash: a.v.h, reason: a.reason, source: 'slack', requestId: a.requestId, actor: `slack:${a.slackUser}`, proof },
      { timeoutMs: this.o.decisionTimeoutMs },
    );
    const text = describeOutcome(outcome, a.v.w, a.decision, identity);
    const icon = outcome.status === 'accepted' ? ':white_check_mark:' : outcome.status === 'queued' ? ':hourglass_flowing_sand:' : ':no_entry:';
    await this.ephemeral(a.channel, a.slackUser, `${icon} ${esc(text.charAt(0).toUpperCase() + text.slice(1))}`);
    this.log(`runwright slack: ${identity} (${a.slackUser}) ${a.decision} ${a.v.w} ${a.v.s}: ${outcome.status}`);
    // A run that ended without updating its request (terminated, crashed worker): take the buttons away.
    if ((outcome.status === 'ended' || outcome.status === 'not-found') && a.channel && a.messageTs && a.messageBlocks?.some((b) => b.type === 'actions')) {
      const blocks = [
        ...a.messageBlocks.filter((b) => b.type !== 'actions'),
        { type: 'context', elements: [{ type: 'mrkdwn', text: `:grey_question: ${esc(text.replace(/^refused: /, ''))}` }] },
      ];
      await this.web.chat.update({ channel: a.channel, ts: a.messageTs, text: `Run ${a.v.w} has ended`, blocks }).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------ slash command

  /** Commands seen in the last 10 minutes (longer than Slack's 5-minute signature window). */
  private readonly delivered = new Map<string, number>();

  private firstDelivery(key: string, now = Date.now()): boolean {
    for (const [k, exp] of this.delivered) if (exp < now) this.delivered.delete(k);
    if (this.delivered.has(key)) return false;
    this.delivered.set(key, now + 10 * 60_000);
    return true;
  }

  async command(f: Record<string, string>): Promise<Reply> {
    const slackUser = f.user_id;
    const channel = f.channel_id;
    const [sub = 'help', ...rest] = String(f.text ?? '').trim().split(/\s+/).filter(Boolean);
    const usage = 'Usage: `/runwright run <runbook> [name=value …]` · `/runwright status <run id>`';
    const say = (text: string): Reply => ({ status: 200, body: { response_type: 'ephemeral', text } });
    if (sub === 'help') return say(usage);
    const identity = await this.identity(slackUser);
    let allowed = false;
    try {
      allowed = !!identity && chatopsAllowed(this.approvers(), identity);
    } catch (e: any) {
      return say(`:warning: ${esc(e.message)}`);
    }
    if (!allowed)
      return say(`:no_entry: ${identity ? esc(identity) : `<@${slackUser}>`} may not use /runwright: ChatOps is limited to the users under chatops.allow in the approvers file.`);
    if (sub === 'status') {
      const id = rest[0];
      if (!id) return say(usage);
      return { ...say(`Looking up \`${esc(id)}\`…`), after: () => this.statusReply(id, channel, slackUser) };
    }
    if (sub === 'run') {
      const name = rest[0];
      if (!name) return say(usage);
      // A replayed (or redelivered) command carries the same trigger_id: Slack gives every
      // invocation its own, and the request signature covers it, so it is the dedupe key.
      const key = f.trigger_id ? `trigger:${f.trigger_id}` : undefined;
      if (key && !this.firstDelivery(key)) return say(`:information_source: This /runwright run was already received; it started once.`);
      return { ...say(`Starting *${esc(name)}*…`), after: () => this.runFromSlack(name, rest.slice(1), identity!, channel, slackUser, key) };
    }
    return say(`Unknown subcommand "${esc(sub)}". ${usage}`);
  }

  private async statusReply(id: string, channel: string, slackUser: string): Promise<void> {
    const h = this.o.client.workflow.getHandle(id);
    let text: string;
    try {
      const d = await h.describe();
      let st: RunStatus | undefined;
      try {
        st = await this.o.client.connection.withDeadline(Date.now() + 5000, () => h.query(statusQuery));
      } catch {
        st = undefined;
      }
      text = `*${esc(id)}* (${d.status.name.toLowerCase()})\n\`\`\`${st ? renderStatus(st, id).slice(0, 2800) : 'no worker answered the status query'}\`\`\``;
    } catch (e: any) {
      text = e?.name === 'WorkflowNotFoundError' ? `No run with id \`${esc(id)}\`.` : `Could not read \`${esc(id)}\`: ${esc(String(e?.message ?? e))}`;
    }
    await this.ephemeral(channel, slackUser, text);
  }

  private findRunbook(name: string): string | undefined {
    const dirs = this.o.runbookDirs ?? [...(process.env[ENV.runbookPath] ?? '').split(delimiter).filter(Boolean), resolve('runbooks')];
    for (const d of dirs) {
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d).sort()) {
        if (!/\.ya?ml$/i.test(f)) continue;
        try {
          if (parseDocument(readFileSync(join(d, f), 'utf8')).getIn(['metadata', 'name']) === name) return join(d, f);
        } catch {
          /* not a runbook */
        }
      }
    }
    return undefined;
  }

  private async runFromSlack(name: string, pairs: string[], identity: string, channel: string, slackUser: string, key?: string): Promise<void> {
    const file = this.findRunbook(name);
    if (!file) return this.ephemeral(channel, slackUser, `:no_entry: No runbook named \`${esc(name)}\` in ${(this.o.runbookDirs ?? ['RUNWRIGHT_RUNBOOK_PATH', './runbooks']).join(', ')}.`);
    const registry = this.o.registry ?? buildRegistry();
    const { loaded, diagnostics } = loadRunbookFile(file, registry);
    if (!loaded) return this.ephemeral(channel, slackUser, `:no_entry: ${esc(name)} is not valid:\n${diagnostics.slice(0, 5).map((d) => `• ${d.line}:${d.column} ${esc(d.message)}`).join('\n')}`);
    const raw: Record<string, unknown> = {};
    for (const p of pairs) {
      const i = p.indexOf('=');
      if (i <= 0) return this.ephemeral(channel, slackUser, `:no_entry: \`${esc(p)}\`: expected name=value`);
      raw[p.slice(0, i)] = p.slice(i + 1);
    }
    const { values, errors } = resolveParams(loaded.runbook, raw, { coerce: new Set(Object.keys(raw)) });
    if (errors.length) return this.ephemeral(channel, slackUser, `:no_entry: ${errors.map((e) => esc(e.message)).join('; ')}`);
    // Secrets are the worker policy's to grant, never a slash command's params'.
    const secretProblems = runSecretProblems(loaded.runbook, values);
    if (secretProblems.length) return this.ephemeral(channel, slackUser, `:no_entry: refused: ${secretProblems.map((m) => esc(m)).join('; ')}`);
    // The workflow id comes from the command's trigger_id, so even a restarted gateway (which
    // forgot what it saw) cannot start a replayed command twice: the server refuses the id.
    const id = key
      ? `${name}-slack-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`
      : `${name}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${Math.random().toString(36).slice(2, 6)}`;
    if (key) {
      const exists = await this.o.client.workflow.getHandle(id).describe().then(() => true, () => false);
      if (exists) return this.ephemeral(channel, slackUser, `:information_source: Already started as \`${esc(id)}\` (this command was delivered before).`);
    }
    // The announcement is the run's thread: failures and the end of the run are posted under it.
    const posted = await this.web.chat.postMessage({ channel, text: `<@${slackUser}> is starting *${esc(name)}* as \`${id}\`…` });
    const input: RunInput = { runbook: loaded.runbook, params: values, children: loaded.children, startedBy: identity, slack: { channel, threadTs: posted.ts } };
    const defaults = runDefaults();
    if (defaults) input.defaults = defaults;
    try {
      const policy = loadAccessPolicy();
      const refusal = policy ? policyRefusal(policy, this.approvers(), 'start', name, loaded.runbook.metadata.labels, identity) : undefined;
      if (refusal) {
        await this.web.chat.update({ channel, ts: posted.ts!, text: `:no_entry: <@${slackUser}> may not start *${esc(name)}*: ${esc(refusal)}` });
        return;
      }
      input.proof = await this.vouch({ action: 'start', workflowId: id, runbook: name, hash: startHash(input), user: identity, slackUser });
    } catch (e: any) {
      await this.web.chat.update({ channel, ts: posted.ts!, text: `:x: <@${slackUser}> could not start *${esc(name)}*: ${esc(String(e?.message ?? e))}` });
      return;
    }
    try {
      await this.o.client.workflow.start(INTERPRETER_WORKFLOW, {
        taskQueue: this.o.taskQueue,
        workflowId: id,
        args: [input],
        memo: { runbook: name, startedBy: identity, source: 'slack' },
        // Never a second run under this id, even after the first has closed.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (e: any) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) {
        await this.web.chat.update({ channel, ts: posted.ts!, text: `<@${slackUser}>: *${esc(name)}* was already started as \`${esc(id)}\` by this command.` });
        return;
      }
      await this.web.chat.update({ channel, ts: posted.ts!, text: `:x: <@${slackUser}> could not start *${esc(name)}*: ${esc(String(e?.message ?? e))}` });
      return;
    }
    const link = runLink(this.o.namespace, id);
    await this.web.chat.update({ channel, ts: posted.ts!, text: `<@${slackUser}> started *${esc(name)}* as <${link}|${esc(id)}> (${esc(Object.entries(values).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || 'no params')})` });
  }
}
