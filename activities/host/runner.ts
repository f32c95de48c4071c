/**
 * Runs a play on a batch of hosts inside one activity: one SSH connection per host, tasks in
 * order on each host, hosts in parallel up to `forks`, handlers at the end of each host's play,
 * check and diff modes. Progress is heartbeated so a retry after a worker crash skips hosts
 * that finished and still runs the handlers a crashed attempt had been notified for.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { evaluateExpression, render, renderString } from '../../dsl/expr';
import { evaluateJinja, JinjaError, renderJinja, renderJinjaString } from './jinja';
import { connectionVars, hostVars, type Inventory, type Vars } from './inventory-files';
import { resolveSecret, SECRET_REF_PATTERN } from '../../lib/secrets';
import { commandTemplateToArgv, shellTextToData, ShellValueError, VALUE_VAR } from './shell-values';
import { shlexSplit } from './inventory-files';
import { connectHost, shq, SshError, type Become, type HostConnection, type HostKeyChecking } from './ssh';
import { ModuleError, type Facts, type HostModule, type ModuleContext, type ModuleResult } from './module';
import { HOST_MODULES } from './modules';
import { hasVault, openVaultVars, VaultError } from './vault';
import { parse as parseYaml } from 'yaml';
import type { BlockParts, Play, Task } from './play-schema';
import { localRunner, type LocalRunner } from './local';
import { rolesPath } from './roles';
import { playReadable, WorkerFileError } from './worker-files';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface TaskRecord {
  task: string;
  module: string;
  status: TaskStatus;
  msg?: string;
  diff?: string;
  rc?: number;
  stdout?: string;
  stderr?: string;
  ignored?: boolean;
  /** Failed inside a block whose `rescue:` then succeeded: counted as rescued, not failed. */
  rescued?: boolean;
  items?: number;
  /** A `run_once` task: the host it ran on (its result counts there only). */
  ranOn?: string;
}

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  ignored: number;
  rescued: number;
}

export interface HostResult {
  status: 'ok' | 'changed' | 'failed' | 'unreachable';
  address: string;
  counts: HostCounts;
  msg?: string;
  tasks: TaskRecord[];
  handlers: TaskRecord[];
  /** Finished in an earlier attempt of this activity (worker crash): not run again. */
  resumed?: boolean;
}

export interface SshSettings {
  knownHostsFile?: string;
  hostKeyChecking: HostKeyChecking;
  connectTimeoutMs: number;
}

export interface RunPlayOptions {
  inventory: Inventory;
  hosts: string[];
  play: Play;
  check: boolean;
  diff: boolean;
  forks: number;
  extraVars: Vars;
  ssh: SshSettings;
  signal: AbortSignal;
  /** Called after each task; `progress` is what a retry needs to resume. */
  onProgress?(progress: PlayProgress): void;
  resume?: PlayProgress;
  /** Stable across retries of this batch (the step's idempotency key): names the host-side notify journal. */
  journalKey?: string;
  /** Opens the play's vault-encrypted vars (resolved by host.play from a granted secret). */
  vaultPassword?: string;
  /** Ansible's --tags / --skip-tags. */
  tags?: string[];
  skipTags?: string[];
  /** Tasks with `delegate_to: localhost` may run on this machine (the worker's operator allows it). */
  localTasks?: boolean;
  log?(msg: string): void;
}

/** Heartbeat payload: small on purpose (no task details). */
export interface PlayProgress {
  done: Record<string, { status: HostResult['status']; counts: HostCounts; address: string; msg?: string }>;
  notified: Record<string, string[]>;
}

const MAX_TEXT = 4000;
const MAX_DIFF = 64 * 1024;
const trim = (s: string | undefined, n = MAX_TEXT): string | undefined => (s === undefined ? undefined : s.length > n ? `${s.slice(0, n)}\n… (${s.length - n} more characters)` : s);

export class PlayError extends Error {
  name = 'PlayError';
}

// Few processes (it runs on every host of every play): builtins where sh has them, one `ip`
// per question, routes read once.
const FACTS_SCRIPT = `h=; read -r h < /proc/sys/kernel/hostname 2>/dev/null || h=$(hostname 2>/dev/null || cat /etc/hostname)
echo "hostname=$h"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=\${ID:-unknown}"; echo "os_version=\${VERSION_ID:-}"; echo "os_name=\${PRETTY_NAME:-}"; echo "os_like=\${ID_LIKE:-}"
set -- $(uname -rm); echo "kernel=$1"; echo "arch=$2"
for pm in apt-get dnf yum; do if command -v $pm >/dev/null 2>&1; then echo "pkg_mgr=$pm"; break; fi; done
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo service_mgr=systemd; else echo service_mgr=none; fi
echo "python=$(command -v python3 2>/dev/null)"
echo "user=\${USER:-$(id -un)}"
v6=
while read -r _ dev fam addr rest; do
  case "$fam" in
    inet) echo "addr=$dev $addr" ;;
    inet6) case "$rest" in *"scope global"*) v6="\${v6}addr=$dev $addr
" ;; esac ;;
  esac
done <<RW_EOF
$(ip -o addr show 2>/dev/null)
RW_EOF
printf '%s' "$v6"
n=0; dr=
while IFS= read -r l; do
  [ -n "$l" ] || continue
  n=$((n + 1))
  if [ -z "$dr" ]; then case "$l" in default*) dr=$l ;; esac; fi
  [ "$n" -le 200 ] && echo "route=$l"
done <<RW_EOF
$(ip -4 route show 2>/dev/null)
RW_EOF
echo "default_route=$dr"
echo "route_count=$n"`;

export function parseFacts(out: string): Facts {
  const f: Facts = {
    hostname: '',
    os: { id: 'unknown', version: '', name: '', family: 'unknown' },
    kernel: '',
    arch: '',
    pkgMgr: null,
    serviceMgr: 'none',
    python: null,
    user: '',
    addresses: [],
    defaultRoute: null,
    routeCount: 0,
    routes: [],
  };
  let like = '';
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i < 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === 'hostname') f.hostname = v;
    else if (k === 'os_id') f.os.id = v;
    else if (k === 'os_version') f.os.version = v;
    else if (k === 'os_name') f.os.name = v;
    else if (k === 'os_like') like = v;
    else if (k === 'kernel') f.kernel = v;
    else if (k === 'arch') f.arch = v;
    else if (k === 'pkg_mgr') f.pkgMgr = v;
    else if (k === 'service_mgr') f.serviceMgr = v;
    else if (k === 'python') f.python = v || null;
    else if (k === 'user') f.user = v;
    else if (k === 'addr') {
      const [dev, address] = v.split(' ');
      if (dev && address) f.addresses.push({ dev, address });
    } else if (k === 'default_route') f.defaultRoute = v || null;
    else if (k === 'route_count') f.routeCount = Number(v) || 0;
    else if (k === 'route') f.routes.push(v);
  }
  const ids = `${f.os.id} ${like}`;
  f.os.family = /debian|ubuntu/.test(ids) ? 'Debian' : /rhel|fedora|centos/.test(ids) ? 'RedHat' : /suse/.test(ids) ? 'Suse' : /alpine/.test(ids) ? 'Alpine' : f.os.id;
  return f;
}

/**
 * The expression language of a play: Jinja2 (play files, Ansible's) or CEL (inline plays in a
 * runbook, whose placeholders the runbook author wrote in the runbook's language).
 */
interface Templating {
  /** Strings are templates; one `{{ expr }}` keeps the value's type. */
  render(v: unknown, scope: Vars): unknown;
  /** A bare expression (`when:`, `loop:`, the inside of a placeholder). */
  evaluate(expr: string, scope: Vars): unknown;
  /** Text (a template file): always a string. */
  text(tpl: string, scope: Vars): string;
}

const asText = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

const CEL_TEMPLATING: Templating = {
  render: (v, scope) => render(v, scope),
  evaluate: (e, scope) => evaluateExpression(e, scope),
  text: (t, scope) => asText(renderString(t, scope)),
};

/** Jinja2 errors are the task's failure (a ModuleError), like a module's own. */
const jinja = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    if (e instanceof JinjaError) throw new ModuleError(e.message);
    throw e;
  }
};
const JINJA_TEMPLATING: Templating = {
  render: (v, scope) => jinja(() => renderJinja(v, scope)),
  evaluate: (e, scope) => jinja(() => evaluateJinja(e, scope)),
  text: (t, scope) => jinja(() => renderJinjaString(t, scope)),
};

export const templatingOf = (play: Pick<Play, 'templating'>): Templating => (play.templating === 'jinja2' ? JINJA_TEMPLATING : CEL_TEMPLATING);

/**
 * Render a task's args. Shell text (`shell: cmd`) keeps its script and carries each value in an
 * environment variable (activities/host/shell-values); `command: cmd` is split into words before the values
 * go in. Either way a value is data: it never becomes shell syntax or extra arguments.
 */
function renderArgs(args: unknown, scope: Vars, mod: HostModule, T: Templating): unknown {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return T.render(args, scope);
  const out: Record<string, unknown> = {};
  const values: Record<string, string> = {};
  const evaluate = (expr: string) => T.evaluate(expr, scope);
  for (const [k, v] of Object.entries(args)) {
    if (mod.rawArgs?.includes(k)) out[k] = v;
    else if (mod.shellTextArgs?.includes(k) && typeof v === 'string' && v.includes('{{')) {
      const d = asModuleError(() => shellTextToData(v, evaluate), `${mod.name}: ${k}`);
      out[k] = d.text;
      Object.assign(values, d.env);
    } else if (mod.argvTextArgs?.includes(k) && typeof v === 'string' && v.includes('{{') && !('argv' in args)) {
      out.argv = asModuleError(() => commandTemplateToArgv(v, evaluate, (l) => shlexSplit(l, false)), `${mod.name}: ${k}`);
    } else out[k] = T.render(v, scope);
  }
  if (Object.keys(values).length) {
    const env = (out.env ?? {}) as Record<string, unknown>;
    const clash = Object.keys(env).find((n) => VALUE_VAR.test(n));
    if (clash) throw new ModuleError(`${mod.name}: env ${clash}: names RW_V<n> are reserved for the values of {{ }} placeholders; rename it`);
    out.env = { ...env, ...values };
  }
  return out;
}

function asModuleError<T>(f: () => T, what: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ShellValueError) throw new ModuleError(`${what}: ${e.message}`);
    throw e;
  }
}

/** `when`, `changed_when`, `failed_when`: a bare expression (Ansible style) or `{{ }}`; lists are ANDed. */
function condition(c: string | boolean | (string | boolean)[], scope: Vars, what: string, T: Templating): boolean {
  for (const one of ([] as (string | boolean)[]).concat(c)) {
    if (typeof one === 'boolean') {
      if (!one) return false;
      continue;
    }
    const v = one.includes('{{') ? T.render(one, scope) : T.evaluate(one, scope);
    const b = v === true || v === 'true' || v === 'True' ? true : v === false || v === 'false' || v === 'False' ? false : undefined;
    if (b === undefined) throw new ModuleError(`${what}: expected a boolean, got ${JSON.stringify(v)} from ${JSON.stringify(one)}`);
    if (!b) return false;
  }
  return true;
}

/** Facts under Ansible's names (`ansible_facts`, `ansible_distribution`, …) for Jinja2 plays and roles written for Ansible. */
export function ansibleFacts(f: Facts): Vars {
  const dflt = f.defaultRoute ? /dev (\S+)/.exec(f.defaultRoute)?.[1] : undefined;
  const addr = f.addresses.find((a) => a.dev === dflt) ?? f.addresses.find((a) => a.dev !== 'lo');
  const facts: Vars = {
    hostname: f.hostname.split('.')[0],
    fqdn: f.hostname,
    nodename: f.hostname,
    distribution: f.os.name.split(' ')[0] || f.os.id,
    distribution_version: f.os.version,
    distribution_major_version: f.os.version.split('.')[0],
    os_family: f.os.family,
    kernel: f.kernel,
    architecture: f.arch,
    pkg_mgr: f.pkgMgr,
    service_mgr: f.serviceMgr,
    user_id: f.user,
    python: { executable: f.python },
    default_ipv4: addr ? { address: addr.address.split('/')[0], interface: addr.dev } : {},
    all_ipv4_addresses: f.addresses.map((a) => a.address.split('/')[0]).filter((a) => !a.startsWith('127.')),
  };
  return { ansible_facts: facts, ...Object.fromEntries(Object.entries(facts).map(([k, v]) => [`ansible_${k}`, v])) };
}

/**
 * A task's local file (`src` of copy/template) where Ansible looks: for a role's task the role's
 * templates/ (template) or files/ (copy) folder, then the role; then the play's folder, its
 * templates/ or files/ first.
 */
async function readLocal(p: string, t: Task, base: string | undefined): Promise<Buffer> {
  const sub = t.module === 'template' ? 'templates' : 'files';
  // Where a play may read on the worker (worker-files.ts): its folder and roles; an inline play
  // has no folder of its own, so the worker's working folder (where `--set routes=routes.yaml`
  // points); and the operator's RUNWRIGHT_PLAY_FILE_DIRS.
  const play = base ?? process.cwd();
  const roots = [play, ...(base ? rolesPath().map((d) => resolve(base, d)) : []), ...(t.role_path ? [t.role_path] : [])];
  const candidates = isAbsolute(p) ? [p] : [...(t.role_path ? [join(t.role_path, sub, p), join(t.role_path, p)] : []), join(play, sub, p), resolve(play, p)];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      return await readFile(playReadable(c, `${t.module} src`, roots));
    } catch (e: any) {
      if (e instanceof WorkerFileError) throw new ModuleError(e.message);
      if (e?.code !== 'ENOENT') throw e;
    }
  }
  throw new ModuleError(`${p}: not found (looked in ${candidates.join(', ')})`);
}

function emptyCounts(): HostCounts {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, ignored: 0, rescued: 0 };
}

/**
 * A connection password that is a secret reference. One written in the inventory (a file on the
 * worker, the operator's) counts as the author's; one from play vars or extra vars (which a run's
 * params can set) goes through the secrets policy, bound to the host it is sent to.
 */
function resolveMaybeSecret(v: string | undefined, fromInventory: boolean, host: string): string | undefined {
  if (v === undefined) return undefined;
  return SECRET_REF_PATTERN.test(v) ? resolveSecret(v, { trusted: fromInventory, destination: host }) : v;
}

/**
 * Ansible's tag selection (--tags, --skip-tags): `always` runs unless skipped by name, `never`
 * only when asked for by name; `tagged`/`untagged`/`all` as in Ansible.
 */
export function selectedByTags(taskTags: string[], only: string[] = [], skip: string[] = []): boolean {
  const has = (list: string[], t: string) => list.includes(t);
  const tagged = taskTags.length > 0;
  const hit = (list: string[]) => taskTags.some((t) => has(list, t)) || (has(list, 'tagged') && tagged) || (has(list, 'untagged') && !tagged);
  if (hit(skip) || (has(skip, 'all') && !taskTags.includes('always'))) return false;
  const wanted = only.length ? only : ['all'];
  // `never`: only when one of the task's tags is asked for by name (not by `all` or `tagged`).
  if (taskTags.includes('never')) return taskTags.some((t) => has(wanted, t));
  if (taskTags.includes('always') && !has(skip, 'always')) return true;
  return hit(wanted) || has(wanted, 'all');
}

/** A `run_once` task's result, shared by the hosts of the batch (the first host to reach it runs it). */
interface OnceResult {
  rec: TaskRecord;
  registered?: unknown;
  host: string;
}

/** Run one host's play. Never throws for host problems: they become the host's result. */
async function runHost(name: string, o: RunPlayOptions, secrets: string[], notifiedBefore: string[], report: (notified: string[]) => void, once: Map<Task, Promise<OnceResult | undefined>>): Promise<HostResult> {
  // Ansible's precedence: role defaults < inventory vars < play vars (and role vars) < extra vars.
  let vars: Vars = { ...o.play.defaults, ...hostVars(o.inventory, name), ...o.play.vars, ...o.extraVars };
  // Vault-encrypted vars are opened here, on the worker, with the granted password; every opened
  // value is masked in the play's results like any secret.
  if (hasVault(vars)) {
    try {
      vars = openVaultVars(vars, o.vaultPassword, (t) => parseYaml(t), (v) => secrets.push(v));
    } catch (e) {
      if (e instanceof VaultError) return { status: 'failed', address: '', counts: { ...emptyCounts(), failed: 1 }, msg: `vault: ${e.message}`, tasks: [], handlers: [] };
      throw e;
    }
  }
  const cv = connectionVars(name, vars);
  const address = `${cv.host}:${cv.port}`;
  const counts = emptyCounts();
  const tasks: TaskRecord[] = [];
  const handlers: TaskRecord[] = [];
  const inv = connectionVars(name, hostVars(o.inventory, name));
  const password = resolveMaybeSecret(cv.password, cv.password === inv.password, cv.host);
  const becomePassword = resolveMaybeSecret(cv.becomePassword, cv.becomePassword === inv.becomePassword, cv.host);
  for (const s of [password, becomePassword]) if (s) secrets.push(s);
  if (cv.becomeMethod && cv.becomeMethod !== 'sudo') return { status: 'failed', address, counts: { ...counts, failed: 1 }, msg: `become method ${cv.becomeMethod} is not supported (sudo only)`, tasks, handlers };

  let conn: HostConnection;
  try {
    conn = await connectHost({
      name,
      host: cv.host,
      port: cv.port,
      user: cv.user,
      privateKeyFile: cv.privateKeyFile,
      password,
      knownHostsFile: o.ssh.knownHostsFile,
      hostKeyChecking: o.ssh.hostKeyChecking,
      connectTimeoutMs: o.ssh.connectTimeoutMs,
      signal: o.signal,
    });
  } catch (e: any) {
    if (o.signal.aborted) throw o.signal.reason;
    const msg = e instanceof SshError ? e.message : `${name} (${address}): ${e?.message ?? e}`;
    return { status: 'unreachable', address, counts: { ...counts, unreachable: 1 }, msg, tasks, handlers };
  }

  const registered: Vars = {};
  const notified = new Set<string>(notifiedBefore);
  let facts: Facts | undefined;
  let hostFailed: string | undefined;
  const playBecome = o.play.become ?? cv.become ?? false;
  const playBecomeUser = o.play.become_user ?? cv.becomeUser ?? 'root';

  const T = templatingOf(o.play);
  // Ansible's magic variables that plays and roles commonly use.
  const magic: Vars = {
    ansible_managed: 'Ansible managed',
    inventory_hostname_short: name.split('.')[0],
    ansible_check_mode: o.check,
    ansible_diff_mode: o.diff,
    playbook_dir: o.play.base_dir ?? process.cwd(),
    ansible_play_hosts: o.hosts,
  };
  // Jinja2 plays: vars may be templates over other vars, facts and registered results, rendered
  // when used, as Ansible does (a few passes let one var build on another).
  const templated = o.play.templating === 'jinja2' ? Object.entries(vars).filter(([, v]) => JSON.stringify(v)?.includes('{{')) : [];
  const renderedVars = (base: Vars, head: Vars): Vars => {
    if (!templated.length) return base;
    const out: Vars = { ...base, ...head };
    for (let pass = 0; pass < 4; pass++) {
      for (const [k, raw] of templated) {
        if (base[k] !== vars[k]) continue; // set by set_fact: no longer the template
        try {
          out[k] = T.render(raw, out);
        } catch {
          /* depends on something not there yet: left as written; a task using it reports the error */
        }
      }
    }
    return Object.fromEntries(Object.keys(base).map((k) => [k, out[k]]));
  };
  // In a block's rescue: the task that failed and its result, as Ansible gives them.
  let failedVars: Vars = {};
  // set_fact: above play and role vars, below extra vars (Ansible's precedence).
  const setFacts: Vars = {};
  const scope = (extra: Vars = {}): Vars => {
    const head: Vars = { ...registered, ...failedVars, facts: facts ?? null, ...(o.play.templating === 'jinja2' ? { ...magic, ...(facts ? ansibleFacts(facts) : {}) } : {}), inventory_hostname: name };
    const v = renderedVars(Object.keys(setFacts).length ? { ...vars, ...setFacts, ...o.extraVars } : vars, head);
    return { ...v, vars: v, ...head, ...extra };
  };

  const gatherFacts = async (): Promise<Facts> => {
    if (facts) return facts;
    const r = await conn.exec(FACTS_SCRIPT, { signal: o.signal });
    if (r.code !== 0) throw new ModuleError(`gathering facts failed: ${r.stderr.trim().slice(0, 300)}`);
    facts = parseFacts(r.stdout);
    return facts;
  };

  const runTask = async (t: Task, isHandler: boolean): Promise<TaskRecord> => {
    const title = t.name ?? `${t.module}`;
    const rec: TaskRecord = { task: title, module: t.module, status: 'ok' };
    const mod = HOST_MODULES.get(t.module)!;
    const check = t.check_mode ?? o.check;
    const diff = t.diff ?? o.diff;
    const become: Become | null = (t.become ?? playBecome) ? { user: t.become_user ?? playBecomeUser, password: becomePassword } : null;
    const taskScope = scope(t.vars ?? {});
    if (t.when !== undefined && !condition(t.when, taskScope, 'when', T)) {
      rec.status = 'skipped';
      rec.msg = 'condition is false';
      return rec;
    }
    const lc = t.loop_control ?? {};
    const loopVar = lc.loop_var ?? t.loop_var ?? 'item';
    let items: unknown[] = [undefined];
    if (t.loop !== undefined) {
      const l = typeof t.loop === 'string' ? (t.loop.includes('{{') ? T.render(t.loop, taskScope) : T.evaluate(t.loop, taskScope)) : T.render(t.loop, taskScope);
      if (!Array.isArray(l)) throw new ModuleError(`loop: expected a list, got ${JSON.stringify(l)?.slice(0, 100)}`);
      items = l;
      rec.items = l.length;
    }
    const local = t.delegate_to ? delegateLocal(o, become, t) : undefined;
    const results: ModuleResult[] = [];
    let anyChanged = false;
    let failure: string | undefined;
    const diffs: string[] = [];
    for (const [index, item] of items.entries()) {
      if (index > 0 && lc.pause) await sleepUnlessAborted(lc.pause * 1000, o.signal);
      const itemScope = t.loop !== undefined ? { ...taskScope, [loopVar]: item, ...loopControlVars(lc, items, index) } : taskScope;
      const rendered = renderArgs(t.args, itemScope, mod, T);
      const parsed = mod.args.safeParse(rendered);
      if (!parsed.success) throw new ModuleError(`${t.module}: invalid arguments: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}`);
      const ctx: ModuleContext = {
        host: name,
        check,
        diff,
        signal: o.signal,
        exec: local
          ? (script, eo = {}) => local.exec(script, { stdin: eo.stdin, env: eo.env, timeoutMs: eo.timeoutMs, signal: o.signal })
          : (script, eo = {}) => conn.exec(script, { stdin: eo.stdin, env: eo.env, timeoutMs: eo.timeoutMs, become: eo.noBecome ? null : become, signal: o.signal }),
        facts: local ? local.facts : gatherFacts,
        readLocal: (p) => readLocal(p, t, o.play.base_dir),
        render: (tpl) => T.text(tpl, itemScope),
        evaluate: (expr) => T.evaluate(expr, itemScope),
        renderJinja: (tpl) => JINJA_TEMPLATING.text(tpl, itemScope),
      };
      let res!: ModuleResult;
      // `until`: run again (after `delay` seconds) until the condition holds, at most `retries` times.
      const attempts = t.until === undefined ? 1 : Math.max(1, t.retries ?? 3);
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (attempt > 1) await sleepUnlessAborted((t.delay ?? 5) * 1000, o.signal);
        try {
          res = await mod.run(parsed.data, ctx);
        } catch (e) {
          if (o.signal.aborted) throw o.signal.reason;
          if (e instanceof SshError) throw e;
          if (!(e instanceof ModuleError)) throw new ModuleError(`${t.module}: ${(e as Error)?.message ?? e}`);
          res = { changed: false, ...e.extra, failed: true, msg: e.message };
        }
        // changed_when / failed_when / until see the module's result as `result` and by its register name.
        const rs = { ...itemScope, result: res, ...(t.register ? { [t.register]: res } : {}) };
        if (t.changed_when !== undefined) res.changed = condition(t.changed_when, rs, 'changed_when', T);
        if (t.failed_when !== undefined) {
          const f = condition(t.failed_when, rs, 'failed_when', T);
          res.failed = f;
          if (f && !res.msg) res.msg = `failed_when is true`;
          if (!f) delete res.msg;
        }
        if (t.until === undefined) break;
        res.attempts = attempt;
        if (condition(t.until, { ...rs, [t.register ?? 'result']: { ...res, failed: !!res.failed } }, 'until', T)) break;
        if (attempt === attempts) {
          res.failed = true;
          res.msg = `${res.msg ? `${res.msg}; ` : ''}the until condition was still false after ${attempts} attempt(s)`;
        }
      }
      if (t.module === 'set_fact' && !res.failed && res.ansible_facts) Object.assign(setFacts, res.ansible_facts);
      results.push(res);
      if (res.changed) anyChanged = true;
      if (res.diff) diffs.push(res.diff);
      if (res.failed && failure === undefined) failure = res.msg ?? 'failed';
      if (res.failed && !t.ignore_errors) break;
    }
    const last = results[results.length - 1] ?? { changed: false };
    const allSkipped = results.length > 0 && results.every((r) => r.skipped);
    rec.status = failure !== undefined ? 'failed' : allSkipped ? 'skipped' : anyChanged ? 'changed' : 'ok';
    if (failure !== undefined) rec.msg = failure;
    else if (last.msg) rec.msg = String(last.msg);
    if (t.no_log) {
      rec.msg = rec.msg && failure !== undefined ? 'the output has been hidden (no_log)' : undefined;
    } else {
      if (diffs.length) rec.diff = trim(diffs.join('\n'), MAX_DIFF);
      if (typeof last.stdout === 'string' && last.stdout) rec.stdout = trim(last.stdout);
      if (typeof last.stderr === 'string' && last.stderr) rec.stderr = trim(last.stderr);
      if (typeof last.rc === 'number') rec.rc = last.rc;
    }
    if (failure !== undefined && t.ignore_errors) rec.ignored = true;
    if (t.register) {
      const reg = t.loop !== undefined ? { changed: anyChanged, failed: failure !== undefined, results } : { ...last, failed: !!last.failed, skipped: !!last.skipped };
      registered[t.register] = JSON.parse(JSON.stringify(reg));
    }
    if (rec.status === 'changed' && t.notify && !isHandler) for (const n of t.notify) notified.add(n);
    if (rec.status === 'changed' && t.notify && isHandler) for (const n of t.notify) notified.add(n);
    return rec;
  };

  const runOne = async (t: Task): Promise<TaskRecord> => {
    try {
      return await runTask(t, false);
    } catch (e: any) {
      if (o.signal.aborted) throw o.signal.reason;
      if (e instanceof SshError) throw e;
      return { task: t.name ?? t.module, module: t.module, status: 'failed', msg: e?.message ?? String(e) };
    }
  };

  /**
   * `run_once`: the first host of the batch to reach the task runs it; the others wait and take
   * its result (registered var included), as Ansible applies it to every host. If that host
   * drops off the network mid-task, the next host to come runs it.
   */
  const runOnce = async (t: Task): Promise<TaskRecord> => {
    for (;;) {
      const shared = once.get(t);
      if (!shared) {
        let settle!: (r: OnceResult | undefined) => void;
        once.set(t, new Promise((r) => (settle = r)));
        try {
          const rec = await runOne(t);
          settle({ rec, registered: t.register ? registered[t.register] : undefined, host: name });
          return { ...rec, ranOn: name };
        } catch (e) {
          once.delete(t);
          settle(undefined);
          throw e;
        }
      }
      const r = await shared;
      if (!r) continue;
      if (t.register && r.registered !== undefined) registered[t.register] = r.registered;
      return { ...r.rec, ranOn: r.host, diff: undefined };
    }
  };

  const playTags = o.play.tags ?? [];
  /** Run tasks in order; returns the failure that ends this host's play (not ignored, not rescued). */
  const runList = async (list: Task[]): Promise<TaskRecord | undefined> => {
    for (const t of list) {
      if (t.parts) {
        const f = await runBlock(t.parts);
        if (f) return f;
        continue;
      }
      if (!selectedByTags([...playTags, ...(t.tags ?? [])], o.tags, o.skipTags)) continue;
      const r = t.run_once ? await runOnce(t) : await runOne(t);
      await journalNotified();
      tasks.push(r);
      // A run_once task counts on the host that ran it (and as a failure everywhere, as in Ansible).
      if (!r.ranOn || r.ranOn === name || r.status === 'failed') count(r);
      report([...notified]);
      if (r.status === 'failed' && !r.ignored) return r;
    }
    return undefined;
  };

  /** A block: `rescue` runs when a task of `block` fails (and, if it succeeds, the failure counts as rescued); `always` runs in any case. */
  const runBlock = async (b: BlockParts): Promise<TaskRecord | undefined> => {
    let failure = await runList(b.block);
    if (failure && b.rescue.length) {
      const before = failedVars;
      failedVars = {
        ansible_failed_task: { name: failure.task, action: failure.module },
        ansible_failed_result: { failed: true, msg: failure.msg, ...(failure.rc !== undefined ? { rc: failure.rc } : {}), ...(failure.stdout ? { stdout: failure.stdout } : {}), ...(failure.stderr ? { stderr: failure.stderr } : {}) },
      };
      const again = await runList(b.rescue);
      failedVars = before;
      if (!again) {
        failure.rescued = true;
        counts.failed--;
        counts.rescued++;
      }
      failure = again;
    }
    const always = b.always.length ? await runList(b.always) : undefined;
    return always ?? failure;
  };

  const count = (r: TaskRecord): void => {
    if (r.status === 'skipped') counts.skipped++;
    else if (r.status === 'failed') {
      if (r.ignored) counts.ignored++;
      else counts.failed++;
    } else {
      counts.ok++;
      if (r.status === 'changed') counts.changed++;
    }
  };

  // Notified handlers are also journaled on the host itself, before the task counts as done: a
  // worker killed between a change and its next heartbeat (the SDK sends at most one per 80% of
  // the heartbeat timeout) must not lose the handler, since the retried task reports no change.
  // Not in check mode, which changes nothing on the host.
  const journal = o.journalKey && !o.check ? `/var/tmp/.runwright-notify-${createHash('sha256').update(`${o.journalKey}\0${name}`).digest('hex').slice(0, 24)}` : undefined;
  const journaled = new Set<string>();
  const journalNotified = async (): Promise<void> => {
    const fresh = [...notified].filter((n) => !journaled.has(n));
    if (!journal || !fresh.length) return;
    const r = await conn.exec(`umask 077 && printf '%s\\n' ${fresh.map(shq).join(' ')} >> ${shq(journal)}`);
    if (r.code !== 0) throw new PlayError(`cannot record notified handlers in ${journal}: ${(r.stderr || r.stdout).trim()}`);
    for (const n of fresh) journaled.add(n);
  };

  try {
    // Read even without heartbeat details: a worker killed before its first heartbeat reached
    // the server leaves a retry with no `resume`, but the host's journal has the notification.
    // Handlers already run by a crashed attempt are journaled too (`+\t<handler>`), so a retry
    // does not run them twice; old journals of finished plays are cleaned up here.
    const handlersRan = new Set<string>();
    if (journal) {
      // Read with builtins; the sweep of week-old journals (a find) runs once the host has
      // more than 16 of them (counted with a glob), not on every connection.
      const readJournal = `if [ -f ${shq(journal)} ]; then while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < ${shq(journal)}; fi
n=0; for f in /var/tmp/.runwright-notify-*; do n=$((n + 1)); done
if [ "$n" -gt 16 ]; then find /var/tmp -maxdepth 1 -name '.runwright-notify-*' -mtime +7 -delete 2>/dev/null; fi; true`;
      let text: string;
      if (o.play.gather_facts && !facts) {
        // One command for both (one per host fewer): the journal, a random separator, the facts.
        const sep = `RWFACTS${randomBytes(12).toString('hex')}\n`;
        const r = await conn.exec(`${readJournal}\nprintf '\\n%s' ${shq(sep)}\n${FACTS_SCRIPT}`, { signal: o.signal });
        const at = r.stdout.lastIndexOf(`\n${sep}`);
        if (r.code !== 0 || at < 0) throw new ModuleError(`gathering facts failed: ${r.stderr.trim().slice(0, 300)}`);
        text = r.stdout.slice(0, at);
        facts = parseFacts(r.stdout.slice(at + sep.length + 1));
      } else text = (await conn.exec(readJournal)).stdout;
      for (const n of text.split('\n')) {
        if (n.startsWith(HANDLER_RAN)) handlersRan.add(n.slice(HANDLER_RAN.length));
        else if (n) journaled.add(n), notified.add(n);
      }
    }
    if (o.play.gather_facts) await gatherFacts();
    const fatal = await runList(o.play.tasks);
    if (fatal) hostFailed = `task "${fatal.task}" (${fatal.module}) failed: ${fatal.msg}`;
    // Handlers: once, in the order they are defined, if a task notified them (by name or `listen`).
    if (!hostFailed) {
      for (const [i, h] of o.play.handlers.entries()) {
        const names = [h.name, ...(h.listen ?? [])].filter(Boolean) as string[];
        if (!names.some((n) => notified.has(n))) continue;
        const key = h.name ?? `#${i}`;
        if (handlersRan.has(key)) {
          handlers.push({ task: key, module: h.module, status: 'ok', msg: 'ran before the retry (journaled on the host)' });
          continue;
        }
        let r: TaskRecord;
        try {
          r = await runTask(h, true);
        } catch (e: any) {
          if (o.signal.aborted) throw o.signal.reason;
          if (e instanceof SshError) throw e;
          r = { task: h.name ?? h.module, module: h.module, status: 'failed', msg: e?.message ?? String(e) };
        }
        if (journal && r.status !== 'failed' && r.status !== 'skipped') {
          const j = await conn.exec(`umask 077 && printf '%s\\n' ${shq(HANDLER_RAN + key)} >> ${shq(journal)}`);
          if (j.code !== 0) throw new PlayError(`cannot record handler run in ${journal}: ${(j.stderr || j.stdout).trim()}`);
        }
        handlers.push(r);
        count(r);
        if (r.status === 'failed' && !r.ignored) {
          hostFailed = `handler "${r.task}" (${r.module}) failed: ${r.msg}`;
          break;
        }
      }
    }
    // The journal stays until it is a week old: a retry after this point (the heartbeat that says
    // this host is done may not have reached the server) must still see which handlers ran.
  } catch (e: any) {
    if (o.signal.aborted) throw o.signal.reason;
    // The connection dropped mid-play (host died, network): the host is unreachable.
    const msg = e instanceof SshError ? e.message : `${name} (${address}): ${e?.message ?? e}`;
    counts.unreachable = 1;
    return { status: 'unreachable', address, counts, msg, tasks, handlers };
  } finally {
    conn.close();
  }
  for (const u of unknownNotifications(o.play, notified)) tasks.push({ task: `notify ${u}`, module: 'handler', status: 'ok', msg: `no handler named "${u}"` });
  return { status: hostFailed ? 'failed' : counts.changed ? 'changed' : 'ok', address, counts, msg: hostFailed, tasks, handlers };
}

/** Journal line prefix for a handler that ran (a notification name never starts with a tab). */
const HANDLER_RAN = '+\t';

function unknownNotifications(play: Play, notified: Set<string>): string[] {
  const known = new Set(play.handlers.flatMap((h) => [h.name, ...(h.listen ?? [])].filter(Boolean) as string[]));
  return [...notified].filter((n) => !known.has(n));
}

/** Run the play on every host of the batch, `forks` at a time. */
export async function runPlay(o: RunPlayOptions): Promise<{ results: Record<string, HostResult>; secrets: string[] }> {
  const results: Record<string, HostResult> = {};
  const secrets: string[] = [];
  // Every in-flight command listens for cancellation on the same signal.
  setMaxListeners(Math.max(10, o.forks * 3 + 10), o.signal);
  const progress: PlayProgress = { done: { ...(o.resume?.done ?? {}) }, notified: { ...(o.resume?.notified ?? {}) } };
  const todo: string[] = [];
  for (const h of o.hosts) {
    const d = progress.done[h];
    if (d) results[h] = { ...d, tasks: [], handlers: [], resumed: true };
    else todo.push(h);
  }
  const once = new Map<Task, Promise<OnceResult | undefined>>();
  let next = 0;
  const lanes = Array.from({ length: Math.min(o.forks, todo.length) }, async () => {
    while (next < todo.length) {
      const h = todo[next++];
      if (o.signal.aborted) throw o.signal.reason;
      const r = await runHost(
        h,
        o,
        secrets,
        progress.notified[h] ?? [],
        (n) => {
          if (n.length) progress.notified[h] = n;
          o.onProgress?.(progress);
        },
        once,
      );
      results[h] = r;
      progress.done[h] = { status: r.status, counts: r.counts, address: r.address, msg: r.msg };
      delete progress.notified[h];
      o.onProgress?.(progress);
    }
  });
  await Promise.all(lanes);
  // Keep the batch order.
  return { results: Object.fromEntries(o.hosts.map((h) => [h, results[h]])), secrets };
}

/** Ansible's loop_control: `index_var` and, with `extended`, `ansible_loop`. */
function loopControlVars(lc: NonNullable<Task['loop_control']>, items: unknown[], i: number): Vars {
  const out: Vars = {};
  if (lc.index_var) out[lc.index_var] = i;
  if (lc.extended) {
    out.ansible_loop = {
      index: i + 1,
      index0: i,
      revindex: items.length - i,
      revindex0: items.length - i - 1,
      first: i === 0,
      last: i === items.length - 1,
      length: items.length,
      ...(i > 0 ? { previtem: items[i - 1] } : {}),
      ...(i < items.length - 1 ? { nextitem: items[i + 1] } : {}),
      ...(lc.extended_allitems === false ? {} : { allitems: items }),
    };
  }
  return out;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal.aborted) return rej(signal.reason);
    const t = setTimeout(() => (signal.removeEventListener('abort', stop), res()), ms);
    const stop = () => (clearTimeout(t), rej(signal.reason));
    signal.addEventListener('abort', stop, { once: true });
  });
}

/**
 * `delegate_to: localhost`: the task runs on the worker (Ansible's controller), only where the
 * worker's operator allows it (RUNWRIGHT_LOCAL_TASKS=1), as the worker's user, with a bare
 * environment (the worker's own variables can hold credentials). `become` is refused there.
 */
function delegateLocal(o: RunPlayOptions, become: Become | null, t: Task): LocalRunner {
  if (!o.localTasks)
    throw new ModuleError(`delegate_to: ${t.delegate_to}: this worker does not run tasks locally; its operator can allow it with RUNWRIGHT_LOCAL_TASKS=1 (they run as the worker's user, with a bare environment)`);
  if (become) throw new ModuleError(`delegate_to: ${t.delegate_to}: become is not supported for a task delegated to the worker; set \`become: false\` on the task`);
  return localRunner(parseFacts, FACTS_SCRIPT);
}
