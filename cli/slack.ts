/**
 * `runwright slack serve`: the Slack gateway (integrations/slack/gateway.ts) as a process. HTTP endpoint
 * for interactivity and the /runwright slash command, or Socket Mode with --socket (no public
 * endpoint needed). Secrets come from the environment or files (lib/slack.ts).
 */
import type { Command } from 'commander';
import { slackClient, slackConfigFromEnv } from '../lib/slack';
import { decisionTimeoutMs } from '../client/decide';
import { approversFile } from '../lib/approvers';
import { err, registryFrom } from './common';
import { CliError, EXIT, openSession } from './session';

export function registerSlackCommands(program: Command): void {
  const slack = program.command('slack').description('Slack approvals and ChatOps');
  slack
    .command('serve')
    .option('--port <n>', 'HTTP port (default RUNWRIGHT_SLACK_PORT or 3000; 0 picks a free one)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--socket', 'use Socket Mode (SLACK_APP_TOKEN) instead of an HTTP endpoint')
    .option('--runbooks <dir...>', 'folders for `/runwright run <name>` (default RUNWRIGHT_RUNBOOK_PATH, ./runbooks)')
    .option('--actions <module...>', 'extra action modules (to validate runbooks started from Slack)')
    .description('receive Approve/Reject clicks and /runwright commands from Slack until Ctrl-C')
    .action(async (o) => {
      let cfg;
      try {
        cfg = slackConfigFromEnv();
      } catch (e: any) {
        throw new CliError(e.message, EXIT.usage);
      }
      if (!cfg.botToken) throw new CliError('runwright slack serve needs SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE)', EXIT.usage);
      if (o.socket && !cfg.appToken) throw new CliError('--socket needs SLACK_APP_TOKEN (or SLACK_APP_TOKEN_FILE), an app-level token with connections:write', EXIT.usage);
      if (!o.socket && !cfg.signingSecret) throw new CliError('the HTTP endpoint needs SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_FILE) to verify requests', EXIT.usage);
      // Fail fast on a wrong token or API URL, before Slack sends anything.
      let who: string;
      try {
        const a = await slackClient(cfg).auth.test();
        who = `team ${a.team ?? a.team_id} as ${a.user ?? a.user_id}`;
      } catch (e: any) {
        throw new CliError(`Slack auth.test failed: ${e?.data?.error ?? e?.message ?? e}`, EXIT.usage);
      }
      const s = await openSession({ worker: 'never' });
      // Loaded here: Bolt and Socket Mode are only needed by this command.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { SlackGateway } = require('../integrations/slack/gateway') as typeof import('../integrations/slack/gateway');
      const gw = new SlackGateway({
        client: s.client,
        namespace: s.namespace,
        taskQueue: s.taskQueue,
        slack: cfg,
        runbookDirs: o.runbooks,
        registry: registryFrom(o),
        decisionTimeoutMs: decisionTimeoutMs(),
        log: err,
      });
      const file = approversFile();
      let close: () => Promise<void>;
      if (o.socket) {
        await gw.startSocketMode();
        err(`runwright slack: ${who}; connected over Socket Mode; approvers file: ${file ?? 'none'}`);
        close = () => gw.stop();
      } else {
        const port = o.port !== undefined ? Number(o.port) : Number(process.env.RUNWRIGHT_SLACK_PORT ?? 3000);
        const l = await gw.listen(port, o.host);
        err(`runwright slack: ${who}; listening on ${l.url} (interactivity and slash commands: POST any path); approvers file: ${file ?? 'none'}`);
        close = l.close;
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await close();
      await s.close();
    });
}
