/**
 * A real Zabbix 6.0 JSON-RPC API for tests (Debian zabbix-frontend-php + zabbix-server-pgsql's
 * schema, PostgreSQL 15, PHP's built-in server), on loopback in a temp dir: its own PostgreSQL
 * cluster (initdb, trust auth, a free port), the zabbix database loaded from the Debian schema,
 * and a copy of the frontend whose config path points at a config in the temp dir (Debian's
 * frontend reads /etc/zabbix/zabbix.conf.php; the system's is never touched). The Zabbix server
 * daemon is not needed for the API. Stopped (PostgreSQL too) by the ServiceGroup's stop().
 */
import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, Proc, type ServiceGroup } from './services';

export const ZABBIX_PARTS = ['/usr/share/zabbix/api_jsonrpc.php', '/usr/share/zabbix-server-pgsql/schema.sql.gz', '/usr/lib/postgresql/15/bin/initdb', '/usr/bin/php'];

export interface Zabbix {
  /** Frontend URL (api_jsonrpc.php below it). */
  url: string;
  /** Call the API as Admin (session from user.login). */
  admin<T = any>(method: string, params: unknown): Promise<T>;
}

const PG = '/usr/lib/postgresql/15/bin';

async function rpc<T>(url: string, method: string, params: unknown, auth?: string): Promise<T> {
  const r = await fetch(`${url}/api_jsonrpc.php`, { method: 'POST', headers: { 'content-type': 'application/json-rpc' }, body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1, ...(auth ? { auth } : {}) }) });
  const j = (await r.json()) as { result?: T; error?: { message: string; data: string } };
  if (j.error) throw new Error(`zabbix ${method}: ${j.error.message} ${j.error.data}`);
  return j.result as T;
}

export async function startZabbix(group: ServiceGroup): Promise<Zabbix> {
  const dir = group.tempDir('zabbix');
  const root = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, its cluster belongs to the Debian postgres user.
  const asPg = (cmd: string, args: string[]) => (root ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' }));
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const pgData = join(dir, 'pg');
  const pgPort = await freePort();
  asPg(`${PG}/initdb`, ['-D', pgData, '-U', 'postgres', '-A', 'trust']);
  asPg(`${PG}/pg_ctl`, ['-D', pgData, '-o', `-p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(dir, 'pg.log'), '-w', 'start']);
  group.onStop(() => {
    try {
      asPg(`${PG}/pg_ctl`, ['-D', pgData, '-m', 'immediate', 'stop']);
    } catch {
      /* already stopped */
    }
  });
  const psql = ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'];
  execFileSync('psql', [...psql, '-c', 'create database zabbix'], { stdio: 'pipe' });
  for (const f of ['schema', 'images', 'data']) {
    execFileSync('sh', ['-c', `zcat /usr/share/zabbix-server-pgsql/${f}.sql.gz | psql ${psql.join(' ')} zabbix`], { stdio: 'pipe', maxBuffer: 64 << 20 });
  }
  // The frontend, copied, with its config file in the temp dir.
  const web = join(dir, 'web');
  cpSync('/usr/share/zabbix', web, { recursive: true, verbatimSymlinks: true });
  const cfgClass = join(web, 'include/classes/core/CConfigFile.php');
  writeFileSync(cfgClass, readFileSync(cfgClass, 'utf8').replace(/const CONFIG_FILE_PATH = '[^']*'/, `const CONFIG_FILE_PATH = '${join(web, 'conf/zabbix.conf.php')}'`));
  writeFileSync(
    join(web, 'conf/zabbix.conf.php'),
    `<?php\n$DB['TYPE'] = 'POSTGRESQL';\n$DB['SERVER'] = '127.0.0.1';\n$DB['PORT'] = '${pgPort}';\n$DB['DATABASE'] = 'zabbix';\n$DB['USER'] = 'postgres';\n$DB['PASSWORD'] = '';\n$DB['SCHEMA'] = '';\n$DB['ENCRYPTION'] = false;\n$DB['KEY_FILE'] = '';\n$DB['CERT_FILE'] = '';\n$DB['CA_FILE'] = '';\n$DB['VERIFY_HOST'] = false;\n$DB['CIPHER_LIST'] = '';\n$DB['VAULT_URL'] = '';\n$DB['VAULT_DB_PATH'] = '';\n$DB['VAULT_TOKEN'] = '';\n$DB['DOUBLE_IEEE754'] = true;\n$ZBX_SERVER_NAME = '';\n$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;\n`,
  );
  const port = await freePort();
  const proc = group.track(new Proc('zabbix-frontend', '/usr/bin/php', ['-S', `127.0.0.1:${port}`, '-t', web], join(dir, 'php.log'), web));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    const dead = proc.deadReason();
    if (dead) throw new Error(dead);
    const v = await rpc<string>(url, 'apiinfo.version', {}).catch(() => null);
    if (v) break;
    if (Date.now() > end) throw new Error('zabbix frontend did not answer apiinfo.version');
    await new Promise((r) => setTimeout(r, 200));
  }
  const session = await rpc<string>(url, 'user.login', { username: 'Admin', password: 'zabbix' });
  return { url, admin: (method, params) => rpc(url, method, params, session) };
}

export function missingZabbix(): string[] {
  return ZABBIX_PARTS.filter((p) => !existsSync(p));
}
