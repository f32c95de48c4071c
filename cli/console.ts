/**
 * `runwright console`: the web console and its HTTP API (api/) on this machine's Temporal, with
 * an in-process worker when none polls the task queue (as `runwright dev` does).
 * `runwright console token USER`: a new sign-in token and the line for the tokens file.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultReportsDir } from '../activities/drill/report-files';
import { ENV } from '../lib/config';
import { ConsoleAuth, ConsoleAuthError, GATEWAY_PRINCIPAL_ENV, newToken, TOKENS_ENV } from '../api/auth';
import { ConsoleConfigError, startConsoleServer } from '../api/server';
import { currentUser, err, out, registryFrom } from './common';
import { CliError, EXIT, openSession } from './session';
import { KEY_OPTION, signingKey } from './sign';

export function registerConsoleCommand(program: Command, version: string): void {
  const cmd = program
    .command('console')
    .option('--port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on (other than loopback only with a tokens file)', '127.0.0.1')
    .option('--runbooks <path...>', `runbook folders or files for the catalog (default: ./runbooks and ${ENV.runbookPath})`)
    .option('--tokens <file>', `users and token hashes (default ${TOKENS_ENV}); without one the console acts as you, on loopback only`)
    .option('--public-url <url>', 'the URL users reach the console at (behind a proxy); https makes the sign-in cookie Secure')
    .option('--as <user>', 'local mode: who the console acts as (default RUNWRIGHT_USER or the OS user)')
    .option('--reports-dir <dir>', 'where drill reports are written (default RUNWRIGHT_REPORTS_DIR or ./.runwright/reports)')
    .option(...KEY_OPTION)
    .description('serve the web console and its HTTP API (/api/v1, OpenAPI at /api/v1/openapi.json) until Ctrl-C')
    .action(async (o) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(String(o.port)) || port > 65535) throw new CliError(`--port ${o.port}: expected a port number (0-65535)`, EXIT.usage);
      if (o.publicUrl && !/^https?:\/\/[^/]+/.test(o.publicUrl)) throw new CliError(`--public-url ${o.publicUrl}: expected http(s)://host[:port]`, EXIT.usage);
      const tokensFile = o.tokens ?? process.env[TOKENS_ENV];
      let auth: ConsoleAuth;
      try {
        auth = new ConsoleAuth({ tokensFile: tokensFile ? resolve(tokensFile) : undefined, localUser: currentUser(o.as), signingKey: signingKey(o.key), gatewayPrincipal: process.env[GATEWAY_PRINCIPAL_ENV] });
      } catch (e) {
        if (e instanceof ConsoleAuthError) throw new CliError(e.message, EXIT.usage);
        throw e;
      }
      const paths: string[] = o.runbooks ?? ['runbooks', ...(process.env[ENV.runbookPath] ?? '').split(':').filter(Boolean)];
      const registry = registryFrom(o);
      // A worker in this process only with the embedded server (nothing else could run one); against a
      // configured server the console is a client, like the CLI.
      const s = await openSession({ worker: 'if-embedded', ui: true });
      let server;
      try {
        server = await startConsoleServer({
          client: s.client,
          namespace: s.namespace,
          taskQueue: s.taskQueue,
          searchAttributes: s.searchAttributes,
          registry,
          runbookPaths: paths.map((p) => resolve(p)),
          auth,
          reportsDir: o.reportsDir ? resolve(o.reportsDir) : defaultReportsDir(),
          uiLink: (id) => `${s.uiUrl}/namespaces/${encodeURIComponent(s.namespace)}/workflows/${encodeURIComponent(id)}`,
          port,
          host: o.host,
          publicUrl: o.publicUrl,
          version,
          log: err,
        });
      } catch (e) {
        await s.close();
        if (e instanceof ConsoleConfigError) throw new CliError(e.message, EXIT.usage);
        if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') throw new CliError(`--port ${port}: already in use (choose another, or 0 for any free port)`, EXIT.usage);
        throw e;
      }
      // Links in Slack cards (from this process's worker) and the CLI's output point here.
      process.env[ENV.consoleUrl] ??= server.url;
      // The URL on stdout (scripts and tests read it); the rest on stderr.
      out(`console ${server.url}`);
      if (auth.mode === 'token' && !o.publicUrl?.startsWith('https:') && !/^(127\.|localhost$|::1$)/.test(o.host))
        err('runwright console: warning: tokens travel in clear over plain HTTP; put the console behind TLS and pass --public-url https://…');
      err(`runwright console: ${auth.mode === 'local' ? `acting as ${currentUser(o.as)} (local mode)` : `token sign-in (${tokensFile})`}; Temporal ${s.embedded ? 'embedded' : 'server'}, UI ${s.uiUrl}, task queue "${s.taskQueue}". Ctrl-C to stop.`);
      await new Promise<void>((ok) => {
        process.once('SIGINT', ok);
        process.once('SIGTERM', ok);
      });
      await server.close();
      await s.close();
    });

  cmd
    .command('token')
    .argument('<user>', 'the identity the token signs in as')
    .description('make a sign-in token: prints the token (give it to the user) and the line for the tokens file')
    .action((user: string) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._@+:-]*$/.test(user)) throw new CliError(`${user}: expected a user name (letters, digits, . _ @ + : -)`, EXIT.usage);
      const { token, entry } = newToken(user);
      out(`token for ${user}: ${token}`);
      out(`add to the tokens file (${TOKENS_ENV}):\nusers:\n  - user: ${entry.user}\n    tokenSha256: ${entry.tokenSha256}`);
    });
}
