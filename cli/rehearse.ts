/**
 * `runwright snapshot --cloud NAME` and `runwright rehearse FILE --from-cloud NAME`: try a runbook
 * on a twin of a real cloud before running it there.
 *
 * The rehearsal is sealed off from real systems by construction, not by care:
 *  - the twin is the OpenStack stand-in (sim/openstack) started in this process from a snapshot of
 *    the real cloud's APIs (activities/openstack/snapshot.ts; only GETs reach the real cloud);
 *  - the run goes to a private Temporal dev server started for it (in a temporary folder), whose
 *    only worker is this process's, so no real worker can pick a step up;
 *  - that worker's clouds.yaml names only the twin; OpenStack settings of the environment and
 *    Slack tokens are removed from this process before it starts;
 *  - actions other than OpenStack ones run as their dry run (workers/rehearsal.ts).
 * First the live plan is made on the twin (which equals the real cloud at the snapshot), then
 * the runbook runs there, with faults injected where asked (`--fault`), approvals given by
 * stand-in approvers; the report sets the twin's end state beside what the plan predicted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command, Option } from 'commander';
import { z } from 'zod';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { takeSnapshot, type OpenStackSnapshot } from '../activities/openstack/snapshot';
import { resetSessions } from '../activities/openstack/client';
import { buildRegistry } from '../activities/registry';
import { CloudConfigError } from '../activities/openstack/config';
import { OpenStackError } from '../activities/openstack/errors';
import { countChanges, summaryLine, type StepPrediction } from '../dsl/live-plan';
import { changeCounts, changeLine, compareWithPlan, diffSnapshots, type PlanComparison, type RehearsedStep, type StateChange } from '../lib/twin-state';
import { dataConverter } from '../lib/codec';
import { startDevServer } from '../lib/dev-server';
import { findTemporalCli } from '../lib/temporal-cli';
import { rootMessage, sendDecision } from '../client/decide';
import { displayPath } from '../client/runbooks';
import { startRun } from '../client/runs';
import { createWorkers, runWorkers } from '../workers/worker';
import { rehearsalMode, rehearsalRegistry } from '../workers/rehearsal';
import { checkSnapshot, SnapshotError, worldFromSnapshot } from '../sim/openstack/snapshot';
import { startOpenStackSim } from '../sim/openstack/server';
import type { FaultSpec } from '../sim/openstack/model';
import { PLAN_WORKFLOW, statusQuery, type PlanRunInput, type RunStatus } from '../workflows/definitions';
import { currentUser, out, prepareRun, runInput } from './common';
import { CliError, cliKeyring, EXIT } from './session';
import { KEY_OPTION, signStart, signingKey } from './sign';

const collect = (v: string, prev: string[]) => [...prev, v];

// ---- faults --------------------------------------------------------------------------------

const FaultInput = z.strictObject({
  at: z.string().min(1).optional().describe('inject when this step starts (its id or path); default: before the run'),
  host: z.string().min(1).optional(),
  service: z.enum(['identity', 'compute', 'network', 'image', 'load-balancer']).optional(),
  down: z.enum(['refuse', 'unavailable']).optional(),
  latencyMs: z.coerce.number().int().min(0).max(600_000).optional(),
  errorRate: z.coerce.number().min(0).max(1).optional(),
  status: z.coerce.number().int().min(400).max(599).optional(),
  retryAfter: z.coerce.number().int().min(0).optional(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  path: z.string().min(1).optional(),
  serverError: z.string().min(1).optional(),
  dropResponse: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  times: z.coerce.number().int().min(1).optional(),
});
export type RehearsalFault = z.infer<typeof FaultInput>;
/** A fault as the report shows it: when it was injected, and how many requests it hit. */
export type InjectedFault = RehearsalFault & { injectedAt?: string; fired?: number };

/** `--fault at=drain,host=compute-2` → a fault; a bad one is a usage error naming the field. */
export function parseFault(text: string): RehearsalFault {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new CliError(`--fault ${text}: "${part}": expected KEY=VALUE (keys: ${Object.keys(FaultInput.shape).join(', ')})`, EXIT.usage);
    fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  const r = FaultInput.safeParse(fields);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CliError(`--fault ${text}: ${i.path.join('.') || 'fault'}: ${i.message}`, EXIT.usage);
  }
  const f = r.data;
  // host=NAME: that compute's nova-compute is down (the stand-in reads a host fault with `down`).
  if (f.host && !f.down) f.down = 'unavailable';
  const { at: _at, ...what } = f;
  if (!Object.keys(what).length) throw new CliError(`--fault ${text}: says where (at=) but not what: give host=, down=, latencyMs=, errorRate=+status=, serverError= or dropResponse=`, EXIT.usage);
  for (const k of ['path', 'serverError'] as const) {
    const re = f[k];
    if (re === undefined) continue;
    try {
      new RegExp(re);
    } catch (e: any) {
      throw new CliError(`--fault ${text}: ${k}: not a regular expression (${e.message})`, EXIT.usage);
    }
  }
  if (f.errorRate !== undefined && f.status === undefined) throw new CliError(`--fault ${text}: errorRate needs status (the HTTP status to answer)`, EXIT.usage);
  return f;
}

// ---- the report ----------------------------------------------------------------------------

export interface RehearsalReport {
  format: 'runwright-rehearsal/1';
  runbook: string;
  params: Record<string, unknown>;
  cloud: string;
  region: string;
  snapshot: { takenAt: string; from: string; missing: string[] };
  plan: { summary: ReturnType<typeof countChanges>; steps: Pick<StepPrediction, 'path' | 'action' | 'effect' | 'summary' | 'diff' | 'status'>[] };
  run: { workflowId: string; state: string; error?: string; steps: RehearsedStep[]; approvals: { step: string; by: string[] }[]; faults: InjectedFault[] };
  twin: { changes: StateChange[]; counts: ReturnType<typeof changeCounts> };
  comparison: PlanComparison;
}

export function formatRehearsal(r: RehearsalReport): string {
  const lines: string[] = [];
  lines.push(`Rehearsal of ${r.runbook} on a twin of ${r.cloud}${r.region ? `/${r.region}` : ''} (snapshot ${r.snapshot.takenAt}, from ${r.snapshot.from})`);
  if (r.snapshot.missing.length) lines.push(`  not in the snapshot (these credentials could not read it): ${r.snapshot.missing.join('; ')}`);
  lines.push("", summaryLine(r.plan.summary));
  for (const f of r.run.faults) lines.push(`Fault: ${Object.entries(f).filter(([k]) => !['at', 'injectedAt', 'fired'].includes(k)).map(([k, v]) => `${k}=${v}`).join(',')} ${f.at ? `at step ${f.at}` : 'from the start'}${f.injectedAt ? ` (injected ${f.injectedAt}; hit ${f.fired ?? 0} request(s))` : f.at ? ' (step never reached: not injected)' : ''}`);
  lines.push('', `Run on the twin: ${r.run.state}${r.run.error ? `: ${r.run.error}` : ''}`);
  for (const s of r.run.steps) {
    const how = s.mode === 'dry-run' ? ' [dry run: not changed in a rehearsal]' : s.mode === 'skipped' ? ' [skipped: no dry run]' : s.mode === 'mixed' ? ' [Octavia on the twin; DNS and HAProxy as dry runs]' : '';
    lines.push(`  ${s.state.padEnd(10)} ${s.path}${s.action ? ` (${s.action})` : ''}${how}${s.error ? `: ${s.error}` : ''}`);
  }
  for (const a of r.run.approvals) lines.push(`  approval ${a.step}: approved by stand-in approver(s) ${a.by.join(', ')}`);
  const c = r.twin.counts;
  lines.push('', `Twin end state: ${c.created} created, ${c.changed} changed, ${c.deleted} deleted`);
  for (const ch of r.twin.changes) if (ch.kind !== 'port' && ch.kind !== 'security group rule') lines.push(`  ${changeLine(ch, true)}`);
  lines.push('', 'Against the plan:');
  for (const a of r.comparison.asPlanned) lines.push(`  as planned (${a.step}): ${a.change}`);
  for (const n of r.comparison.notInPlan) lines.push(`  NOT IN THE PLAN: ${n}`);
  for (const n of r.comparison.notDone) lines.push(`  PLANNED, NOT DONE: ${n.step} (would ${n.effect}; ${n.state} on the twin)`);
  if (!r.comparison.notInPlan.length && !r.comparison.notDone.length) lines.push('  the twin changed what the plan said, and nothing else');
  return lines.join('\n');
}

// ---- the rehearsal -------------------------------------------------------------------------

/** Environment that could reach a real system: removed before the twin's worker starts. */
const REAL_ENV = /^(OS_|SLACK_)/;

/** Sites the runbook (and its children) send steps to: the rehearsal worker serves them all. */
function sitesOf(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) sitesOf(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === 'site' && typeof x === 'string' && !x.includes('{{')) out.add(x);
      else sitesOf(x, out);
    }
  return out;
}

function actionsById(v: unknown, out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v)) for (const x of v) actionsById(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.id === 'string' && typeof o.action === 'string' && !out.has(o.id)) out.set(o.id, o.action);
    for (const x of Object.values(o)) actionsById(x, out);
  }
  return out;
}

async function snapshotOf(o: { fromCloud?: string; snapshot?: string; region?: string }): Promise<{ snap: OpenStackSnapshot; from: string }> {
  if (!!o.fromCloud === !!o.snapshot) throw new CliError('runwright rehearse: give the cloud to copy (--from-cloud NAME) or a snapshot file (--snapshot FILE), one of them', EXIT.usage);
  if (o.snapshot) {
    let snap: any;
    try {
      snap = JSON.parse(readFileSync(o.snapshot, 'utf8'));
      checkSnapshot(snap, displayPath(o.snapshot));
    } catch (e: any) {
      throw new CliError(`runwright rehearse: ${e instanceof SnapshotError ? e.message : `${displayPath(o.snapshot)}: ${e.code ?? e.message}`}`, EXIT.usage);
    }
    return { snap, from: `file ${displayPath(o.snapshot)}` };
  }
  return { snap: await snapshotCloud(o.fromCloud!, o.region), from: `cloud ${o.fromCloud}` };
}

async function snapshotCloud(cloud: string, region?: string): Promise<OpenStackSnapshot> {
  try {
    return await takeSnapshot(cloud, { region });
  } catch (e) {
    if (e instanceof CloudConfigError) throw new CliError(`snapshot: ${e.message}`, EXIT.usage);
    if (e instanceof OpenStackError) throw new CliError(`snapshot of ${cloud}: ${e.message}`, EXIT.unreachable);
    throw e;
  }
}

export interface RehearseOptions {
  file: string;
  set: string[];
  params?: string;
  fromCloud?: string;
  snapshot?: string;
  region?: string;
  fault: string[];
  as?: string;
  key?: string;
  actions?: string[];
  log?: (m: string) => void;
}

export async function rehearse(o: RehearseOptions): Promise<RehearsalReport> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const faults = o.fault.map(parseFault);
  const { registry: full, loaded, params } = prepareRun(o.file, { set: o.set, params: o.params, actions: o.actions });
  const builtin = buildRegistry();
  // Faults with `at=STEP` go in right before that step's action runs (foreach items included).
  let beforeStep = (_path: string): void => {};
  const registry = rehearsalRegistry([...full.values()].filter((a) => !builtin.has(a.name)), (path) => beforeStep(path));
  const { runbook } = loaded;
  const { snap, from } = await snapshotOf(o);
  log(`runwright rehearse: snapshot of ${snap.cloud}${snap.region ? `/${snap.region}` : ''} (${snap.api.servers.length} servers, ${snap.api.ports.length} ports, ${snap.api.loadbalancers.length} load balancers, ${snap.api.services.length} services)`);

  // From here on nothing real is reachable from this process: the twin's clouds.yaml only.
  for (const k of Object.keys(process.env)) if (REAL_ENV.test(k)) delete process.env[k];
  const dir = mkdtempSync(join(tmpdir(), 'runwright-rehearse-'));
  process.env.OS_CLIENT_CONFIG_FILE = join(dir, 'clouds.yaml');
  resetSessions();
  const sim = await startOpenStackSim({ port: 0, world: worldFromSnapshot(snap) });
  sim.writeCloudsYaml(join(dir, 'clouds.yaml'));
  const cleanups: (() => Promise<unknown>)[] = [async () => sim.close(), async () => rmSync(dir, { recursive: true, force: true })];
  try {
    const cli = await findTemporalCli({ log }).catch((e) => {
      throw new CliError(e.message, EXIT.unreachable);
    });
    const server = await startDevServer({ cli, ip: '127.0.0.1', headless: true, logFile: join(dir, 'temporal.log') });
    cleanups.unshift(() => server.stop());
    const converter = dataConverter(cliKeyring(false, true));
    const connection = await Connection.connect({ address: server.address });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace, dataConverter: converter });
    const native = await NativeConnection.connect({ address: server.address });
    cleanups.unshift(() => native.close());
    const taskQueue = `rehearsal-${randomBytes(4).toString('hex')}`;
    const workers = await createWorkers({ connection: native, namespace: server.namespace, taskQueue, registry, dataConverter: converter, sites: [...sitesOf({ runbook, children: loaded.children })], tracing: null, tuning: { shutdownGraceTime: '2s' } });
    const running = runWorkers(workers);
    cleanups.unshift(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running.catch(() => undefined);
    });
    const session = { client, taskQueue, searchAttributes: false };
    const before = await takeSnapshot(snap.cloud, { region: snap.region || undefined });
    const user = currentUser(o.as);

    // 1. The live plan, on the twin.
    const planId = `rehearsal-plan-${runbook.metadata.name}-${Date.now().toString(36)}`;
    const children = loaded.children ?? {};
    const { proof } = await signStart({ runbook, params, children, startedBy: user }, planId, signingKey(o.key));
    const planInput: PlanRunInput = { runbook, params, startedBy: user, children, ...(proof ? { proof } : {}) };
    let planSteps: StepPrediction[];
    try {
      planSteps = ((await client.workflow.execute(PLAN_WORKFLOW, { taskQueue, workflowId: planId, args: [planInput] })) as { steps: StepPrediction[] }).steps;
    } catch (e) {
      throw new CliError(`runwright rehearse: the plan failed on the twin: ${rootMessage(e)}`, EXIT.failed);
    }
    log(`runwright rehearse: ${summaryLine(countChanges(planSteps))}`);

    // 2. The run, on the twin.
    const injected: InjectedFault[] = faults.map((f) => ({ ...f }));
    const specs = new Map<InjectedFault, FaultSpec>();
    const inject = (f: InjectedFault) => {
      const { at: _at, injectedAt: _i, ...spec } = f;
      specs.set(f, sim.addFault({ cloud: snap.cloud, ...spec } as Omit<FaultSpec, 'id' | 'fired'>));
      f.injectedAt = new Date().toISOString();
      log(`runwright rehearse: fault injected${f.at ? ` at step ${f.at}` : ''}: ${JSON.stringify(spec)}`);
    };
    for (const f of injected) if (!f.at) inject(f);
    const atStep = (f: InjectedFault, path: string) => path === f.at || path.endsWith(`.${f.at}`) || path.split('.').pop() === f.at;
    beforeStep = (path) => {
      for (const f of injected) if (f.at && !f.injectedAt && atStep(f, path)) inject(f);
    };
    const id = `rehearsal-${runbook.metadata.name}-${Date.now().toString(36)}`;
    const input = await signStart(runInput(loaded, params, user, false), id, signingKey(o.key));
    const h = await startRun(session, input, id, { rehearsal: true });
    const approvals: { step: string; by: string[] }[] = [];
    const approving = new Set<string>();
    let status: RunStatus | undefined;
    const watch = async () => {
      status = await h.query(statusQuery).catch(() => status);
      if (!status) return;
      // Steps with no action (an approval, a sleep, a child runbook) are seen here.
      for (const f of injected) if (f.at && !f.injectedAt && status.steps.some((s) => s.state !== 'pending' && atStep(f, s.path))) inject(f);
      for (const p of status.pendingApprovals) {
        if (approving.has(p.step)) continue;
        approving.add(p.step);
        // Stand-in approvers: the eligible users (not the starter unless allowed), else named ones.
        const pool = (p.eligible ?? []).filter((u) => p.allowSelfApproval || u !== user);
        const by = Array.from({ length: p.required }, (_, i) => pool[i] ?? `rehearsal-approver-${i + 1}`);
        for (const u of by) await sendDecision(client, id, { decision: 'approve', user: u, step: p.step, reason: 'rehearsal on a twin', source: 'rehearsal', planHash: p.planHash, actor: 'runwright rehearse' });
        approvals.push({ step: p.step, by });
      }
    };
    const result = h.result();
    let done = false;
    result.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await watch();
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
    }
    let state = 'succeeded';
    let error: string | undefined;
    try {
      await result;
    } catch (e) {
      state = e instanceof WorkflowFailedError ? 'failed' : 'cancelled';
      error = rootMessage(e);
    }
    status = (await h.query(statusQuery).catch(() => status)) ?? status;
    for (const [f, spec] of specs) f.fired = spec.fired;
    const after = await takeSnapshot(snap.cloud, { region: snap.region || undefined });

    // 3. The report.
    // A compute that is down because a fault said so is the rehearsal's doing, not the runbook's.
    const downByFault = new Set(injected.filter((f) => f.host && f.injectedAt).map((f) => `compute service nova-compute@${f.host}`));
    const all = diffSnapshots(before, after);
    const changes = all.filter((c) => !(downByFault.has(c.key) && Object.keys(c.fields ?? {}).every((k) => k === 'state')));
    // Step ids are unique in a runbook: the action of a foreach item's step is its step's.
    const actionOf = actionsById(runbook);
    const steps: RehearsedStep[] = (status?.steps ?? [])
      .filter((s) => s.kind === 'action')
      .map((s) => {
        const action = actionOf.get(s.id);
        const def = action ? registry.get(action) : undefined;
        const outputs = s.outputs as { summary?: unknown } | undefined;
        return { path: s.path, ...(action ? { action } : {}), state: s.state, ...(def ? { mode: rehearsalMode(def) } : {}), ...(typeof outputs?.summary === 'string' ? { summary: outputs.summary } : {}), ...(s.error ? { error: s.error } : {}) };
      });
    return {
      format: 'runwright-rehearsal/1',
      runbook: runbook.metadata.name,
      params,
      cloud: snap.cloud,
      region: snap.region,
      snapshot: { takenAt: snap.takenAt, from, missing: snap.missing },
      plan: { summary: countChanges(planSteps), steps: planSteps.map(({ path, action, effect, summary, diff, status: st }) => ({ path, action, effect, summary, diff, status: st })) },
      run: { workflowId: id, state, ...(error ? { error } : {}), steps, approvals, faults: injected },
      twin: { changes, counts: changeCounts(changes) },
      comparison: compareWithPlan(planSteps, steps, changes),
    };
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

export function registerRehearseCommands(program: Command, deps: { actionsOpt: () => Option }): void {
  program
    .command('snapshot')
    .requiredOption('--cloud <name>', 'cloud name in clouds.yaml')
    .option('--region <name>', 'region (default: the cloud\'s)')
    .option('--out <file>', 'write the snapshot here (default: stdout)')
    .description('read a cloud\'s servers, ports, networks, security groups, load balancers, flavors, images, services and quotas (GETs only) into a snapshot file for `runwright rehearse --snapshot`')
    .action(async (o) => {
      const snap = await snapshotCloud(o.cloud, o.region);
      const text = `${JSON.stringify(snap, null, 1)}\n`;
      if (!o.out) return void process.stdout.write(text);
      writeFileSync(o.out, text, { mode: 0o600 });
      out(`snapshot of ${snap.cloud}${snap.region ? `/${snap.region}` : ''}: ${snap.api.servers.length} servers, ${snap.api.ports.length} ports, ${snap.api.networks.length} networks, ${snap.api.loadbalancers.length} load balancers, ${snap.api.services.length} compute services → ${displayPath(o.out)}`);
    });

  program
    .command('rehearse')
    .argument('<file>', 'runbook file')
    .option('--from-cloud <name>', 'snapshot this cloud (clouds.yaml) and rehearse on its twin')
    .option('--snapshot <file>', 'rehearse on a twin of a snapshot taken earlier (`runwright snapshot`)')
    .option('--region <name>', 'region to snapshot (default: the cloud\'s)')
    .option('--set <name=value>', 'set a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file with params')
    .option('--fault <spec>', 'inject a fault on the twin: KEY=VALUE,... (at=STEP, host=, service=, down=refuse|unavailable, latencyMs=, errorRate=+status=, serverError=REGEX, dropResponse=true, times=N); repeatable', collect, [])
    .option('--json', 'machine-readable report')
    .option('--out <file>', 'also write the JSON report here')
    .option('--as <user>', 'who rehearses (default: RUNWRIGHT_USER or the OS user)')
    .option(...KEY_OPTION)
    .addOption(deps.actionsOpt())
    .description('plan, then run the runbook on a twin of a real cloud (the OpenStack stand-in loaded from a snapshot), with faults if asked; compare the twin\'s end state with the plan')
    .action(async (file: string, o) => {
      const report = await rehearse({ file, set: o.set, params: o.params, fromCloud: o.fromCloud, snapshot: o.snapshot, region: o.region, fault: o.fault, as: o.as, key: o.key, actions: o.actions });
      if (o.out) writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
      out(o.json ? JSON.stringify(report, null, 2) : formatRehearsal(report));
      // The rehearsal itself worked; what it found is in the report. A run that failed on the
      // twin exits 1, like a failed run.
      process.exitCode = report.run.state === 'succeeded' ? EXIT.ok : EXIT.failed;
    });
}
