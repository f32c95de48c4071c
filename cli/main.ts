/**
 * `runwright`: validate, plan, run and watch runbooks; approve, cancel, inspect.
 * Exit codes: 0 success, 1 runbook failed, 2 bad input or usage, 3 cannot reach Temporal.
 */
import { Command, CommanderError, Option } from 'commander';
import { WorkflowFailedError, WorkflowNotFoundError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { buildRegistry, loadActionModules } from '../activities/registry';
import { formatPlan, planRunbook } from '../dsl/plan';
import { maskParams, secretParamNames } from '../dsl/params';
import { runbookJsonSchema } from '../dsl/schema';
import { SiteConfigError, workerSites, runLink } from '../lib/config';
import { type RunInput, type RunResult, type RunStatus } from '../workflows/definitions';
import { ProgressPrinter, renderStatus } from '../client/progress';
import { fetchStatus as fetchRunStatus, listRuns, newRunId, RunExistsError, RunQueryError, startRun, type RunRow } from '../client/runs';
import { registerScheduleCommands } from './schedule';
import { registerApprovalCommands } from './approval';
import { registerCancelCommand } from './cancel';
import { KEY_OPTION, signStart, signingKey } from './sign';
import { registerSlackCommands } from './slack';
import { registerSimCommands } from './sim';
import { registerDrillCommands } from './drill';
import { currentUser, err, failDiagnostics, out, prepareRun, registryFrom, runInput, withSession } from './common';
import { displayPath, expandPaths, loadRunbookFile } from '../client/runbooks';
import { CliError, EXIT, openSession, type Session } from './session';
import { runWorkerProcess } from '../workers/run';
import { printHostRecaps } from '../activities/host/recap';
import { CodecConfigError, codecsOf, decodeSealedIn, describeKeyring, SealedPayloadError } from '../lib/codec';
import { registerCodecCommands } from './codec';
import { registerConsoleCommand } from './console';
import { registerPlanCommands } from './plan';
import { registerRehearseCommands } from './rehearse';

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
/**
 * True for errors that mean "the server did not answer" (down, restarting, cut off), as opposed
 * to an answer such as "the run failed" or "no such run".
 */
export function isUnreachable(e: unknown): boolean {
  for (let c: any = e, i = 0; c && i < 8; c = c.cause, i++) {
    if (isGrpcServiceError(c) && [GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED].includes(c.code)) return true;
    if (/\b(UNAVAILABLE|ECONNREFUSED|ECONNRESET|DEADLINE_EXCEEDED)\b|Connection dropped|No connection established/.test(String(c?.message))) return true;
  }
  return false;
}

/** Whether the server answers a trivial call within 3 s. */
async function serverAnswers(s: Session): Promise<boolean> {
  try {
    await s.connection.withDeadline(Date.now() + 3000, () => s.connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}

/** The status query with heartbeat progress (client/runs.ts); a sealed answer is a usage error. */
async function fetchStatus(s: Session, h: WorkflowHandle, onError?: (e: unknown) => void): Promise<RunStatus | undefined> {
  try {
    return await fetchRunStatus(s.client, h, onError);
  } catch (e) {
    // The answer came, but sealed with a key this process lacks: say so, not "no worker".
    if (e instanceof SealedPayloadError) throw new CliError(`codec: ${e.message}`, EXIT.usage);
    throw e;
  }
}

async function handleFor(s: Session, id: string): Promise<WorkflowHandle> {
  const h = s.client.workflow.getHandle(id);
  try {
    await h.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new CliError(`no run with id "${id}" in namespace ${s.namespace}`, EXIT.usage);
    throw e;
  }
  return h;
}

function failureMessage(e: unknown): string {
  let c: any = e;
  while (c?.cause) c = c.cause;
  return String(c?.message ?? e);
}

async function watch(s: Session, h: WorkflowHandle, json: boolean): Promise<number> {
  const warnAt = Date.now() + 5000;
  let warned = false;
  const printer = json ? undefined : new ProgressPrinter(process.stdout, h.workflowId);
  let done = false;
  let result: RunResult | undefined;
  let failure: unknown;
  const finished = h.result().then(
    (r) => {
      result = r as RunResult;
      done = true;
    },
    (e) => {
      failure = e;
      done = true;
    },
  );
  // A status query can fail because no worker answers (it then times out) or because the server
  // is gone; a trivial call to the server tells them apart.
  let unreachableSince: number | undefined;
  while (!done) {
    let queryFailed = false;
    const st = await fetchStatus(s, h, () => (queryFailed = true));
    if (st || !queryFailed || (await serverAnswers(s))) unreachableSince = undefined;
    else unreachableSince ??= Date.now();
    if (st && printer) printer.update(st);
    // The server stopped answering: the run lives on the server, not in this process, so this
    // is not a failure. Say so, with the id to look it up later, and exit 3 (cannot reach).
    if (unreachableSince !== undefined && Date.now() - unreachableSince > UNREACHABLE_GIVE_UP_MS) return lostContact(s, h, json);
    if (!st && unreachableSince === undefined && !warned && Date.now() > warnAt) {
      warned = true;
      err(`runwright: no worker has picked up ${h.workflowId} yet; start one for task queue "${s.taskQueue}" with \`runwright worker\` (or \`runwright dev\`). If one is running, check its log: it may lack the codec key this run was sealed with (README "Sealed history"). Waiting; Ctrl-C leaves the run queued.`);
    }
    await Promise.race([finished, new Promise((r) => setTimeout(r, 300))]);
  }
  // result() gave up because the server is gone (its own retries ran out): not the run's outcome.
  if (failure && !(failure instanceof WorkflowFailedError) && (isUnreachable(failure) || !(await serverAnswers(s)))) return lostContact(s, h, json);
  const final = await fetchStatus(s, h);
  if (final && printer) printer.update(final);
  // Runs that configured hosts (host.play) end with an Ansible-like recap.
  if (!json) await printHostRecaps(h, (id) => s.client.workflow.getHandle(id), out);
  if (json) out(JSON.stringify({ workflowId: h.workflowId, state: final?.state ?? (failure ? 'failed' : 'succeeded'), status: final, result, error: failure ? failureMessage(failure) : undefined }, null, 2));
  if (failure) {
    if (!json) err(`run ${h.workflowId} ${final?.state === 'cancelled' ? 'was cancelled' : 'failed'}: ${failureMessage(failure)}`);
    return EXIT.failed;
  }
  if (!json) out(`run ${h.workflowId} succeeded`);
  return EXIT.ok;
}

/** How long `run` keeps watching while the server does not answer before it gives up (exit 3). */
const UNREACHABLE_GIVE_UP_MS = Number(process.env.RUNWRIGHT_UNREACHABLE_GIVE_UP_MS ?? 15_000);

function lostContact(s: Session, h: WorkflowHandle, json: boolean): number {
  const msg =
    `runwright: lost contact with Temporal while watching ${h.workflowId}; the run was not reported as failed and goes on ` +
    `on the server. Check it once the server is back: runwright status ${h.workflowId}`;
  err(msg);
  if (json) out(JSON.stringify({ workflowId: h.workflowId, state: 'unknown', error: 'cannot reach Temporal' }, null, 2));
  return EXIT.unreachable;
}

function packageVersion(): string {
  // Sources run from cli/, the build from dist/cli/.
  for (const p of ['../package.json', '../../package.json']) {
    try {
      return require(p).version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('runwright')
    .description('Infrastructure runbooks in YAML, run as durable Temporal workflows')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const actionsOpt = () => new Option('--actions <module...>', 'extra action modules to load (JS/TS files exporting defineAction results)');
  const collect = (v: string, prev: string[]) => [...prev, v];

  program
    .command('validate')
    .argument('<paths...>', 'runbook files or folders')
    .addOption(actionsOpt())
    .description('check runbooks; report every error with file:line:column')
    .action(async (paths: string[], o) => {
      const registry = registryFrom(o);
      const { files, diagnostics } = expandPaths(paths);
      const all = [...diagnostics];
      for (const f of files) {
        const r = loadRunbookFile(f, registry);
        all.push(...r.diagnostics);
        if (r.loaded) out(`ok  ${displayPath(f)} (${r.loaded.runbook.metadata.name})`);
      }
      if (files.length === 0 && diagnostics.length === 0) all.push({ file: paths.join(' '), line: 1, column: 1, message: 'no .yaml or .yml files found' });
      if (all.length) failDiagnostics(all);
    });

  program
    .command('run')
    .argument('<file>', 'runbook file')
    .option('--set <name=value>', 'set a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file with params')
    .option('--id <workflowId>', 'workflow id (default: <runbook>-<time>)')
    .option('--detach', 'start and return; watch later with `runwright status`')
    .option('--plan', 'print what would run, with params applied, and exit (no side effects)')
    .option('--json', 'machine-readable output')
    .option('--as <user>', 'who starts the run (default: RUNWRIGHT_USER or the OS user)')
    .option(...KEY_OPTION)
    .addOption(actionsOpt())
    .description('run a runbook and watch its progress')
    .action(async (file: string, o) => {
      const { registry, loaded, params: values } = prepareRun(file, o);
      const { runbook } = loaded;
      if (o.plan) {
        const plan = planRunbook(runbook, values, registry);
        out(o.json ? JSON.stringify({ runbook: runbook.metadata.name, params: maskParams(values, secretParamNames(runbook.spec.params)), steps: plan }, null, 2) : formatPlan(runbook, plan));
        return;
      }
      const code = await withSession({ worker: o.detach ? 'never' : 'if-embedded', extraActions: [...registry.values()].filter((a) => !buildRegistry().has(a.name)) }, async (s) => {
        if (o.detach && s.embedded) throw new CliError('--detach needs a Temporal server that keeps running: start one with `runwright dev` (or set TEMPORAL_ADDRESS)', EXIT.usage);
        const id = o.id ?? newRunId(runbook.metadata.name);
        const input: RunInput = await signStart(runInput(loaded, values, currentUser(o.as), s.searchAttributes), id, signingKey(o.key));
        let h: WorkflowHandle;
        try {
          h = await startRun(s, input, id, { file: displayPath(file) }, o.id !== undefined);
        } catch (e) {
          if (e instanceof RunExistsError) throw new CliError(e.message, EXIT.usage);
          throw e;
        }
        const link = runLink(s.namespace, h.workflowId);
        if (!o.json) {
          out(`started ${runbook.metadata.name} as ${h.workflowId}`);
          out(s.embedded ? `(embedded server; for the web UI run \`runwright dev\`)` : link);
        }
        if (o.detach) {
          if (o.json) out(JSON.stringify({ workflowId: h.workflowId, link }));
          return EXIT.ok;
        }
        return watch(s, h, !!o.json);
      });
      process.exitCode = code;
    });

  program
    .command('status')
    .argument('<id>', 'workflow id')
    .option('--json', 'machine-readable output')
    .description('show per-step state, attempts, timings, approvals')
    .action(async (id: string, o) => {
      await withSession({ worker: 'if-no-poller' }, async (s) => {
        const h = await handleFor(s, id);
        const st = await fetchStatus(s, h);
        const d = await h.describe();
        if (o.json) return out(JSON.stringify({ workflowId: id, execution: d.status.name, status: st }, null, 2));
        out(`${id}  (${d.status.name.toLowerCase()})`);
        if (st) out(renderStatus(st, id));
        else out('(no worker answered the status query)');
      });
    });

  program
    .command('list')
    .option('--runbook <name>', 'only runs of this runbook')
    .option('--state <state>', 'Running, Completed, Failed, Canceled, Terminated, TimedOut; or a Runwright state: waiting-approval, compensating, ...')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .description('list runbook runs')
    .action(async (o) => {
      await withSession({}, async (s) => {
        let rows: RunRow[];
        try {
          rows = await listRuns(s.client, { runbook: o.runbook, state: o.state, limit: Number(o.limit) }, s.searchAttributes);
        } catch (e) {
          if (e instanceof RunQueryError) throw new CliError(`--state: ${e.message}`, EXIT.usage);
          throw e;
        }
        if (o.json) return out(JSON.stringify(rows.map((r) => ({ workflowId: r.workflowId, runbook: r.runbook, status: r.execution, state: r.state, startedBy: r.startedBy, startTime: r.startTime, closeTime: r.closeTime })), null, 2));
        if (!rows.length) return out('no runs');
        for (const r of rows) out(`${r.workflowId.padEnd(48)} ${r.runbook.padEnd(24)} ${r.execution.padEnd(11)} ${r.startTime}`);
      });
    });

  registerPlanCommands(program, { actionsOpt, watch }); // cli/plan.ts: live plan, and apply bound to it

  registerRehearseCommands(program, { actionsOpt }); // cli/rehearse.ts: snapshot a cloud, rehearse on its twin

  registerApprovalCommands(program);

  registerCancelCommand(program); // cli/cancel.ts: a signed request the run authorizes

  program
    .command('history')
    .argument('<id>', 'workflow id')
    .option('--json', 'the full event history as JSON (replayable)')
    .description("show a run's event history (the audit trail)")
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        const h = await handleFor(s, id);
        // The audit trail as the keys' holder reads it: sealed payloads opened (lib/codec.ts).
        let sealed: SealedPayloadError | undefined;
        let n = 0;
        const hist = await decodeSealedIn(await h.fetchHistory(), codecsOf(s.client), (e) => ((sealed ??= e), n++));
        if (sealed) err(`runwright: ${n} payload(s) stay sealed: ${sealed.message}`);
        if (o.json) return out(JSON.stringify(hist, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2));
        for (const e of hist.events ?? []) {
          const t = e.eventTime?.seconds ? new Date(Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6)).toISOString() : '';
          const type = String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
          const a = e.activityTaskScheduledEventAttributes;
          const extra = a ? ` ${a.activityType?.name} id=${a.activityId}` : e.timerStartedEventAttributes ? ` timer ${e.timerStartedEventAttributes.timerId}` : '';
          out(`${String(e.eventId).padStart(5)} ${t} ${type}${extra}`);
        }
      });
    });

  registerScheduleCommands(program);
  registerSlackCommands(program);
  registerDrillCommands(program);
  registerCodecCommands(program);
  registerConsoleCommand(program, packageVersion());

  program
    .command('schema')
    .description('print the runbook JSON Schema (for editors)')
    .action(() => out(JSON.stringify(runbookJsonSchema(), null, 2)));

  program
    .command('actions')
    .option('--json', 'machine-readable output')
    .addOption(actionsOpt())
    .description('list actions and their inputs')
    .action((o) => {
      const registry = registryFrom(o);
      const list = [...registry.values()].map((a) => ({ name: a.name, description: a.description, input: z.toJSONSchema(a.input, { io: 'input', unrepresentable: 'any' }) as any }));
      if (o.json) return out(JSON.stringify(list, null, 2));
      for (const a of list) {
        out(`${a.name}\n  ${a.description}`);
        const req = new Set<string>(a.input.required ?? []);
        for (const [k, v] of Object.entries<any>(a.input.properties ?? {})) {
          const type = v.type ?? (v.anyOf ? v.anyOf.map((x: any) => x.type ?? 'value').join('|') : v.enum ? 'enum' : 'any');
          out(`    ${k}${req.has(k) ? '' : '?'}: ${v.enum ? v.enum.map((x: unknown) => JSON.stringify(x)).join('|') : type}${v.default !== undefined ? ` = ${JSON.stringify(v.default)}` : ''}${v.description ? `  — ${v.description}` : ''}`);
        }
      }
    });

  program
    .command('worker')
    .addOption(actionsOpt())
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port, all interfaces (or RUNWRIGHT_METRICS_ADDR=host:port; default: off)')
    .option('--site <name...>', 'also run the actions of steps with this `site:` (repeatable, or RUNWRIGHT_SITES=a,b)')
    .option('--sites-only', 'run only the actions of the --site sites: no workflows, no site-less steps')
    .description('run a worker for the configured Temporal server (Ctrl-C stops it gracefully)')
    .action(async (o) => {
      let sites: string[];
      try {
        sites = workerSites(o.site);
      } catch (e) {
        if (e instanceof SiteConfigError) throw new CliError(e.message, EXIT.usage);
        throw e;
      }
      if (o.sitesOnly && !sites.length) throw new CliError('--sites-only needs at least one --site (or RUNWRIGHT_SITES)', EXIT.usage);
      await runWorkerProcess({ actionModules: o.actions ?? [], log: err, metricsPort: o.metricsPort, sites, sitesOnly: !!o.sitesOnly });
    });

  program
    .command('dev')
    .addOption(actionsOpt())
    .description('run an embedded Temporal dev server with web UI, plus a worker, until Ctrl-C')
    .action(async (o) => {
      const s = await openSession({ worker: 'if-no-poller', ui: true, extraActions: loadActionModules(o.actions ?? []) });
      err(`runwright dev: Temporal ${s.embedded ? 'embedded' : 'existing'} server, UI ${s.uiUrl}, task queue "${s.taskQueue}"; ${describeKeyring(s.keyring)}. Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await s.close();
    });

  registerSimCommands(program); // `sim openstack`; also hooks `dev` to start the stand-in (after `dev` is defined)
  return program;
}

/**
 * Resolve once everything written to `stream` so far has been handed to the OS. A write's
 * callback runs after the writes queued before it, so an empty write marks the end.
 */
export function flushed(stream: NodeJS.WritableStream & { destroyed?: boolean; writableLength?: number }): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * Exit with `code` only after stdout and stderr drained: process.exit() drops whatever a pipe
 * has not taken yet (`runwright actions --json | wc -c` used to stop at 128 KiB). Lingering
 * handles (gRPC channels) are why it exits explicitly at all instead of letting the loop end.
 */
export async function exitWhenFlushed(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

export async function main(argv = process.argv): Promise<number> {
  // `runwright list | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  // The in-process worker logs only warnings; progress is the CLI's job.
  // Only long-running commands let the SDK turn SIGINT/SIGTERM into a graceful worker shutdown.
  const longRunning = ['worker', 'dev'].includes(argv[2]) || (argv[2] === 'console' && argv[3] !== 'token');
  // A rehearsal expects failed steps (injected faults); its report says what failed.
  Runtime.install({ logger: new DefaultLogger(argv[2] === 'rehearse' ? 'ERROR' : 'WARN'), ...(longRunning ? {} : { shutdownSignals: [] }) });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e: any) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT.usage;
    if (e instanceof CliError) {
      err(e.message);
      return e.exitCode;
    }
    if (e instanceof CodecConfigError || e instanceof SealedPayloadError) {
      err(`codec: ${e.message}`);
      return EXIT.usage;
    }
    if (e instanceof WorkflowFailedError) {
      err(failureMessage(e));
      return EXIT.failed;
    }
    if (/UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED/.test(String(e?.message))) {
      err(`cannot reach Temporal: ${String(e.message).split('\n')[0]}`);
      return EXIT.unreachable;
    }
    // Not a user mistake: keep the stack for the bug report.
    err(`runwright: internal error: ${e?.stack ?? e}`);
    return 70;
  }
}

if (require.main === module) {
  void main().then(exitWhenFlushed);
}
