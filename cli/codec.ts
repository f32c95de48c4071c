/**
 * `runwright codec …`: `serve` (the codec server, lib/codec-server.ts, for `temporal
 * --codec-endpoint` and the UI), `keygen` (a new key), `keys` (which keys this process has).
 * The server refuses to run without a token unless --no-auth is given on a loopback address.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { describeKeyring, SealCodec } from '../lib/codec';
import { DEFAULT_CODEC_PORT, isLoopback, startCodecServer, type CodecServer } from '../lib/codec-server';
import { loadConnectionConfig } from '../lib/connect';
import { resolveOperatorSecret, SecretError } from '../lib/secrets';
import { uiBaseUrl } from '../lib/config';
import { err, out } from './common';
import { CliError, cliKeyring, EXIT } from './session';

export const CODEC_AUTH_ENV = 'RUNWRIGHT_CODEC_AUTH_TOKEN';

function tokenFrom(ref: string, what: string): string {
  let t: string;
  try {
    t = resolveOperatorSecret(ref).trim();
  } catch (e) {
    throw new CliError(`${what}: ${e instanceof SecretError ? e.message : String(e)}`, EXIT.usage);
  }
  if (t.length < 16) throw new CliError(`${what}: the token is ${t.length} characters; use at least 16 (e.g. \`openssl rand -hex 24\`)`, EXIT.usage);
  return t;
}

export function registerCodecCommands(program: Command): void {
  const codec = program.command('codec').description('sealed history: the payload codec (AES-256-GCM) and its codec server');

  codec
    .command('serve')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', String(DEFAULT_CODEC_PORT))
    .option('--cors-origin <origin...>', 'browser origins allowed to call (the Temporal UI)', [uiBaseUrl()])
    .option('--auth-token <ref>', `the token clients must send, by reference: env:NAME or file:PATH (default: ${CODEC_AUTH_ENV}, itself a reference)`)
    .option('--no-auth', 'accept requests without a token (loopback addresses only)')
    .description("serve Temporal's codec protocol so `temporal --codec-endpoint` and the UI show decoded payloads")
    .action(async (o) => {
      const ref = o.authToken ?? process.env[CODEC_AUTH_ENV];
      if (o.auth === false && ref) throw new CliError('give either --auth-token or --no-auth, not both', EXIT.usage);
      if (o.auth === false && !isLoopback(o.host)) throw new CliError(`--no-auth is only allowed on a loopback address (not ${o.host}): anyone who can reach it could decrypt history`, EXIT.usage);
      if (o.auth !== false && !ref)
        throw new CliError(`codec serve needs a token: --auth-token env:NAME|file:PATH (or ${CODEC_AUTH_ENV}); on a loopback address --no-auth turns the check off`, EXIT.usage);
      const token = ref ? tokenFrom(ref, `--auth-token ${ref}`) : undefined;
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${o.port}: expected 0-65535`, EXIT.usage);
      const keyring = cliKeyring(loadConnectionConfig().explicit, false);
      if (!keyring.keys.length) throw new CliError(`codec serve: no codec keys (${keyring.source}); set RUNWRIGHT_CODEC_KEYS or RUNWRIGHT_CODEC_KEY, or run it where \`runwright dev\` keeps its data (.runwright/codec.key)`, EXIT.usage);
      let server: CodecServer;
      try {
        server = await startCodecServer({ codec: new SealCodec(keyring), host: o.host, port, corsOrigins: o.corsOrigin, token, log: err });
      } catch (e: any) {
        throw new CliError(`codec serve: cannot listen on ${o.host}:${port} (${e.code ?? e.message})`, EXIT.usage);
      }
      err(`runwright codec: serving ${server.url} (POST /encode, /decode); ${token ? 'token required' : 'NO token check (loopback)'}; CORS for ${o.corsOrigin.join(', ') || 'no origin'}; ${describeKeyring(keyring)}. Ctrl-C to stop.`);
      await new Promise<void>((r) => {
        process.once('SIGINT', r);
        process.once('SIGTERM', r);
      });
      await server.close();
    });

  codec
    .command('keygen')
    .description('print a new random codec key (base64); store it where env:/file: references can reach it')
    .action(() => out(randomBytes(32).toString('base64')));

  codec
    .command('keys')
    .description('show which codec keys this process would use (ids only, never the keys)')
    .action(() => {
      const ring = cliKeyring(loadConnectionConfig().explicit, false);
      out(describeKeyring(ring));
      for (const k of ring.keys) out(`  ${k.id}  ${k.name}${k === ring.active ? '  (active: seals new payloads)' : ''}`);
    });
}
