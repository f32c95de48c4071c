/**
 * `runwright console`: the HTTP API under /api/v1 and the web console (console/: static ES
 * modules, preact + htm from node_modules, no build step) on one port. Thin wiring: identity
 * (api/auth.ts), request checks against cross-site use, security headers, static files.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { apiApp, type ApiDeps } from './app';
import { COOKIE } from './auth';
import { openApiDocument } from './openapi';

/** The repository root (sources run from api/, the build from dist/api/). */
const ROOT = [resolve(__dirname, '..'), resolve(__dirname, '..', '..')].find((d) => existsSync(join(d, 'console', 'index.html'))) ?? resolve(__dirname, '..');
export const CONSOLE_DIR = join(ROOT, 'console');

/** The browser libraries, served from node_modules under fixed names (import map in index.html). */
const VENDOR: Record<string, string> = {
  'preact.mjs': 'preact/dist/preact.mjs',
  'hooks.mjs': 'preact/hooks/dist/hooks.mjs',
  'htm.mjs': 'htm/dist/htm.mjs',
};
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', mjs: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', ico: 'image/x-icon' };

export interface ConsoleServerOptions extends ApiDeps {
  port?: number;
  /** The URL users reach the console at (behind a proxy): its host is accepted, https makes the cookie Secure. */
  publicUrl?: string;
  /** Default 127.0.0.1. Local mode (no tokens) refuses anything but loopback. */
  host?: string;
  version?: string;
  log?: (m: string) => void;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

export class ConsoleConfigError extends Error {
  name = 'ConsoleConfigError';
}

const isLoopback = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);

function vendorFile(name: string): string | undefined {
  if (!Object.hasOwn(VENDOR, name)) return undefined;
  const rel = VENDOR[name];
  for (const base of [join(ROOT, 'node_modules'), join(process.cwd(), 'node_modules')]) {
    const p = join(base, rel);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** CSP for the page: scripts from this origin only, plus the inline import map by its hash. */
function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
  return [`default-src 'self'`, `script-src 'self' ${hashes.join(' ')}`.trim(), `style-src 'self'`, `img-src 'self' data:`, `connect-src 'self'`, `frame-ancestors 'none'`, `base-uri 'none'`, `form-action 'self'`].join('; ');
}

const LOGIN_PAGE = (error?: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Runwright console: sign in</title><link rel="stylesheet" href="/style.css"></head>
<body><main class="login"><h1>Runwright console</h1>${error ? `<p role="alert" class="error">${error}</p>` : ''}
<form method="post" action="/login"><label for="token">Console token</label> <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form><p>No token? Ask whoever runs the console: <code>runwright console token YOUR-NAME</code>.</p></main></body></html>`;

export async function startConsoleServer(o: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = o.host ?? '127.0.0.1';
  if (o.auth.mode === 'local' && !isLoopback(host))
    throw new ConsoleConfigError(`--host ${host}: without a tokens file (RUNWRIGHT_CONSOLE_TOKENS) the console acts as you, so it listens on loopback only; make tokens with \`runwright console token USER\``);
  type Env = { Bindings: HttpBindings; Variables: { user?: string; remote: string } };
  const app = new Hono<Env>();
  const publicUrl = o.publicUrl ? new URL(o.publicUrl) : undefined;
  const secure = publicUrl?.protocol === 'https:';

  app.onError((e, c) => {
    o.log?.(`runwright console: ${c.req.method} ${c.req.path}: ${(e as Error)?.stack ?? e}`);
    return c.json({ error: { message: `internal error: ${(e as Error)?.message ?? e}` } }, 500);
  });

  app.use('*', async (c, next) => {
    // DNS rebinding: a hostile page whose name now points at 127.0.0.1 would be "same origin".
    // Only the names this console is reached by are accepted: loopback names in local mode
    // (which has no sign-in), plus the public URL's host when one is given.
    const hostHeader = c.req.header('host') ?? '';
    const hostName = hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (o.auth.mode === 'local' && !isLoopback(hostName) && hostName !== publicUrl?.hostname)
      return c.json({ error: { message: `refused: Host "${hostHeader}" is not this console's address (local mode answers loopback names only)` } }, 403);
    c.set('remote', c.env?.incoming?.socket?.remoteAddress ?? 'unknown');
    c.set('user', o.auth.identify({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') }));
    // Cross-site requests must not act with the browser's cookie: state changes need JSON
    // (a form or an image cannot send it) and, when the browser names an origin, this one.
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin');
      let originHost: string | undefined;
      try {
        originHost = origin ? new URL(origin).host : undefined;
      } catch {
        originHost = '(opaque)';
      }
      if (origin && originHost !== hostHeader && originHost !== publicUrl?.host) return c.json({ error: { message: `cross-origin request from ${origin} refused` } }, 403);
      if (c.req.path !== '/login' && !/^application\/json\b/i.test(c.req.header('content-type') ?? '')) return c.json({ error: { message: 'send the request body as application/json' } }, 415);
    }
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
  });

  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(o.version ?? 'unknown')));
  app.route('/api/v1', apiApp({ deps: o, log: o.log }));
  app.all('/api/*', (c) => c.json({ error: { message: `no such API endpoint: ${c.req.method} ${c.req.path} (see /api/v1/openapi.json)` } }, 404));

  app.get('/login', (c) => c.html(LOGIN_PAGE()));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === 'string' ? form.token : '';
    const user = o.auth.userForToken(token);
    if (!user) return c.html(LOGIN_PAGE('That token is not valid.'), 401);
    c.header('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`);
    return c.redirect('/', 303);
  });
  app.post('/logout', (c) => {
    c.header('set-cookie', `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return c.json({ message: 'signed out' });
  });

  app.get('/vendor/:name', (c) => {
    const f = vendorFile(c.req.param('name'));
    if (!f) return c.text('not found', 404);
    return c.body(readFileSync(f), 200, { 'content-type': TYPES.mjs, 'cache-control': 'public, max-age=3600' });
  });

  const page = (c: Context<Env>) => {
    if (o.auth.mode === 'token' && !c.get('user')) return c.redirect('/login', 303);
    const html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
    return c.html(html, 200, { 'content-security-policy': contentSecurityPolicy(html), 'cache-control': 'no-store' });
  };
  app.get('/', page);
  app.get('/index.html', page);
  // Only files directly in console/ with a plain name: no path can leave the folder.
  app.get('/:file{[A-Za-z0-9][A-Za-z0-9_.-]*\\.(?:js|mjs|css|svg|png|ico)}', (c) => {
    const name = c.req.param('file');
    if (!readdirSync(CONSOLE_DIR).includes(name)) return c.text('not found', 404);
    return c.body(readFileSync(join(CONSOLE_DIR, name)), 200, { 'content-type': TYPES[name.split('.').pop()!] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  });

  const server = serve({ fetch: app.fetch, port: o.port ?? 0, hostname: host });
  await new Promise<void>((ok, fail) => {
    if (server.listening) return ok();
    server.once('listening', ok);
    server.once('error', fail);
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    url,
    close: () =>
      new Promise<void>((ok) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
