/**
 * The console's HTTP API (JSON, /api/v1): runs, approvals, schedules, drill reports, the runbook
 * catalog. Every route is one entry of ROUTES with its zod schemas, which both check requests
 * and generate the OpenAPI document. Handlers call the same client/ functions as the CLI, so a
 * start, a decision or a cancel is checked and recorded exactly as from the command line, with
 * `source: console` and the caller's address as the actor.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, ScheduleNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ActionRegistry } from '../activities/registry';
import { collectPlayOutputs } from '../activities/host/recap';
import { formatDiagnostic } from '../dsl/diagnostics';
import { maskParams, paramsJsonSchema, secretParamNames } from '../dsl/params';
import { formatPlan, planRunbook } from '../dsl/plan';
import { formatLivePlan, type StepPrediction } from '../dsl/live-plan';
import { appliedPlan, checkPlanFile, makePlanFile, PlanFileError, type PlanFile } from '../lib/plan-file';
import { eachStep } from '../dsl/walk';
import { codecsOf, decodeSealedIn, SealedPayloadError } from '../lib/codec';
import { loadApprovers } from '../lib/approvers';
import { activeFreeze, loadFreezeCalendar, FreezeCalendarError } from '../lib/freeze';
import { paramsHash, startHash, verbOf } from '../lib/identity/authorize';
import { loadAccessPolicy, policyRefusal } from '../lib/identity/policy';
import type { RequestAction } from '../lib/identity/request';
import { cancelUpdate, PLAN_WORKFLOW, type PlanRunInput, type RunStatus } from '../workflows/definitions';
import { describeOutcome, decisionTimeoutMs, rootMessage, sendDecision, sendSetParams } from '../client/decide';
import { reportFromFolder, reportFromRun, ReportFileError } from '../client/drill-report';
import { checkRunParams, expandPaths, loadCatalog, planApplyParams, type CatalogEntry } from '../client/runbooks';
import { statSync } from 'node:fs';
import { existingRun, fetchStatus, listRuns, newRunId, RunExistsError, runFacts, runInputFor, RunQueryError, startRun } from '../client/runs';
import { viewOf } from '../client/schedules';
import type { ConsoleAuth } from './auth';
import * as S from './schemas';

export interface ApiDeps {
  client: Client;
  namespace: string;
  taskQueue: string;
  searchAttributes: boolean;
  registry: ActionRegistry;
  /** Folders and files the catalog is read from. */
  runbookPaths: string[];
  auth: ConsoleAuth;
  reportsDir: string;
  /** Link to a run in Temporal's web UI, when there is one. */
  uiLink?: (workflowId: string) => string | undefined;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: string[],
  ) {
    super(message);
  }
}

interface Route {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  /** Content type of a non-JSON answer. */
  produces?: string;
  status?: number;
  handler: (r: Req) => Promise<unknown>;
}

interface Req {
  deps: ApiDeps;
  user: string;
  /** Where the request came from, for the audit trail. */
  actor: string;
  param(name: string): string;
  query: any;
  body: any;
}

/** The access policy's early answer (the worker checks again): 403 with the CLI's message. */
function checkPolicy(action: RequestAction, runbook: string, labels: Record<string, string> | undefined, user: string): void {
  let refusal: string | undefined;
  try {
    const policy = loadAccessPolicy();
    refusal = policy ? policyRefusal(policy, loadApprovers(), verbOf(action), runbook, labels, user) : undefined;
  } catch (e) {
    throw new ApiError(403, `refused: ${(e as Error).message}`);
  }
  if (refusal) throw new ApiError(403, `refused: ${refusal}`);
}

// The catalog is validated once and again only when a file in it changes (added, edited, removed).
let catalogCache: { key: string; value: ReturnType<typeof loadCatalog> } | undefined;
function catalogKey(paths: string[]): string {
  const { files } = expandPaths(paths);
  return JSON.stringify(
    files.map((f) => {
      try {
        return [f, statSync(f).mtimeMs];
      } catch {
        return [f, 0];
      }
    }),
  );
}
function catalog(d: ApiDeps): ReturnType<typeof loadCatalog> {
  const key = catalogKey(d.runbookPaths);
  if (catalogCache?.key !== key) catalogCache = { key, value: loadCatalog(d.runbookPaths, d.registry) };
  return catalogCache.value;
}

function entry(d: ApiDeps, name: string): CatalogEntry {
  const e = catalog(d).entries.find((x) => x.name === name);
  if (!e) throw new ApiError(404, `no runbook named "${name}" in the catalog (${d.runbookPaths.join(', ')})`);
  return e;
}

function catalogItem(e: CatalogEntry): z.infer<typeof S.CatalogItem> {
  const spec = e.loaded.runbook.spec.params;
  return { name: e.name, description: e.description, labels: e.labels, file: e.file, paramsSchema: paramsJsonSchema(spec), secretParams: secretParamNames(spec) };
}

/** Params as `--set` gives them: strings are converted to the declared type; typed JSON values stay. */
function checkedParams(e: CatalogEntry, given: Record<string, unknown>): Record<string, unknown> {
  const coerce = new Set(Object.entries(given).filter(([, v]) => typeof v === 'string').map(([k]) => k));
  const { values, errors } = checkRunParams(e.loaded.runbook, given, coerce);
  if (errors.length) throw new ApiError(400, `${e.file}: ${errors.length} problem${errors.length === 1 ? '' : 's'} with the params`, errors.map((x) => x.message));
  return values;
}

async function runOr404(d: ApiDeps, id: string) {
  const h = await existingRun(d.client, id);
  if (!h) throw new ApiError(404, `no run with id "${id}" in namespace ${d.namespace}`);
  return h;
}

// Host recaps read the whole history: done once a run has ended, then kept.
const recapCache = new Map<string, z.infer<typeof S.HostRecap>[]>();
async function hostRecaps(d: ApiDeps, id: string, status: RunStatus | undefined): Promise<z.infer<typeof S.HostRecap>[] | undefined> {
  if (recapCache.has(id)) return recapCache.get(id);
  // Only runbooks that configure hosts: reading the histories of every child of a big loop is not free.
  const e = status ? catalog(d).entries.find((x) => x.name === status.runbook) : undefined;
  const rbs = e ? [e.loaded.runbook, ...Object.values(e.loaded.children)] : [];
  if (!rbs.some((rb) => [...eachStep(rb.spec.steps)].some(({ step }) => 'action' in step && step.action === 'host.play'))) return undefined;
  const handle = (wid: string) => Object.assign(d.client.workflow.getHandle(wid), { client: d.client });
  const plays = await collectPlayOutputs(handle(id), handle);
  const out = plays.map((p, i) => ({
    step: (p as { step?: string }).step ?? `play ${i + 1}`,
    hosts: Object.entries(p.recap).map(([host, r]) => ({ host, ok: r.ok, changed: r.changed, failed: r.failed, unreachable: r.unreachable, skipped: r.skipped })),
  }));
  if (recapCache.size > 500) recapCache.clear();
  recapCache.set(id, out);
  return out;
}

const EVENT_TYPES = temporal.api.enums.v1.EventType;

async function decide(r: Req, decision: 'approve' | 'reject'): Promise<z.infer<typeof S.DecisionView>> {
  const id = r.param('id');
  const body = r.body as z.infer<typeof S.DecisionRequest>;
  if (decision === 'reject' && !body.reason?.trim()) throw new ApiError(400, 'reject needs a reason');
  const facts = await runFacts(r.deps.client, id);
  if (!facts) throw new ApiError(404, `no run with id "${id}" in namespace ${r.deps.namespace}`);
  checkPolicy(decision, facts.runbook, facts.labels, r.user);
  const pend = facts.status?.pendingApprovals ?? [];
  const gate = body.step ? pend.find((p) => p.step === body.step || p.step.endsWith(`.${body.step}`)) : pend.length === 1 ? pend[0] : undefined;
  const planHash = body.planHash ?? gate?.planHash;
  let proof;
  if (r.deps.auth.signing !== 'none') {
    if (!planHash) throw new ApiError(409, `refused: cannot read the plan of ${id} to sign (${pend.length > 1 ? 'several approvals are pending; name one with step' : 'no worker answered, or no approval is pending'})`);
    proof = await r.deps.auth.proof({ action: decision, workflowId: id, runbook: facts.runbook, hash: planHash, step: body.step ?? null, user: r.user });
  }
  const o = await sendDecision(r.deps.client, id, { decision, user: r.user, step: body.step, reason: body.reason, source: 'console', planHash, actor: r.actor, proof });
  const message = describeOutcome(o, id, decision, r.user);
  if (o.status === 'not-found') throw new ApiError(404, message);
  if (o.status === 'refused' || o.status === 'ended') throw new ApiError(409, message);
  return { status: o.status, message };
}

async function scheduleOr404(d: ApiDeps, id: string) {
  const handle = d.client.schedule.getHandle(id);
  try {
    return { handle, desc: await handle.describe() };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new ApiError(404, `no schedule with id "${id}"`);
    throw e;
  }
}

async function drillReport(d: ApiDeps, id: string) {
  const h = await reportFromRun(d.client, id);
  let found = h.found;
  if (!found) {
    try {
      found = reportFromFolder(d.reportsDir, id);
    } catch (e) {
      if (e instanceof ReportFileError) throw new ApiError(500, e.message);
      throw e;
    }
  }
  if (!found) throw new ApiError(404, `${h.known ? `run "${id}" has no drill report (no completed drill.report step)` : `no run with id "${id}"`}, and no report in ${d.reportsDir}`);
  return found.report;
}

export const ROUTES: Route[] = [
  {
    method: 'get',
    path: '/me',
    tag: 'identity',
    summary: 'Who the console takes you for, and how it proves it to the worker',
    response: S.Me,
    handler: async (r) => ({ user: r.user, mode: r.deps.auth.mode, signing: r.deps.auth.signing }),
  },
  {
    method: 'get',
    path: '/runs',
    tag: 'runs',
    summary: 'List runs, newest first',
    query: S.RunsQuery,
    response: S.RunList,
    handler: async (r) => {
      try {
        return { runs: await listRuns(r.deps.client, r.query, r.deps.searchAttributes) };
      } catch (e) {
        if (e instanceof RunQueryError) throw new ApiError(400, e.message);
        throw e;
      }
    },
  },
  {
    method: 'post',
    path: '/runs',
    tag: 'runs',
    summary: 'Start a run (params checked as `runwright run` checks them)',
    body: S.StartRequest,
    response: S.Started,
    status: 201,
    handler: async (r) => {
      const b = r.body as z.infer<typeof S.StartRequest>;
      const e = entry(r.deps, b.runbook);
      const md = e.loaded.runbook.metadata;
      checkPolicy('start', md.name, md.labels, r.user);
      const params = checkedParams(e, b.params);
      const id = b.id ?? newRunId(md.name);
      let input = runInputFor(e.loaded, params, r.user, r.deps.searchAttributes);
      const proof = await r.deps.auth.proof({ action: 'start', workflowId: id, runbook: md.name, hash: startHash(input), user: r.user });
      if (proof) input = { ...input, proof };
      try {
        await startRun(r.deps, input, id, { file: e.file, via: 'console', actor: r.actor }, b.id !== undefined);
      } catch (err) {
        if (err instanceof RunExistsError) throw new ApiError(409, err.message);
        throw err;
      }
      return { workflowId: id, url: `#/runs/${encodeURIComponent(id)}` };
    },
  },
  {
    method: 'post',
    path: '/plan',
    tag: 'runs',
    summary: 'What a run would do with these params, without side effects (`runwright run --plan`)',
    body: S.PlanRequest,
    response: S.PlanView,
    handler: async (r) => {
      const b = r.body as z.infer<typeof S.PlanRequest>;
      const e = entry(r.deps, b.runbook);
      const params = checkedParams(e, b.params);
      const rb = e.loaded.runbook;
      const steps = planRunbook(rb, params, r.deps.registry);
      return { runbook: rb.metadata.name, params: maskParams(params, secretParamNames(rb.spec.params)), text: formatPlan(rb, steps), steps };
    },
  },
  {
    method: 'post',
    path: '/plans',
    tag: 'runs',
    summary: 'Live plan (`runwright plan`): every step\'s dry run against the real systems, on the worker; the plan with its hash',
    body: S.PlanRequest,
    response: S.LivePlanView,
    handler: async (r) => {
      const b = r.body as z.infer<typeof S.PlanRequest>;
      const e = entry(r.deps, b.runbook);
      const rb = e.loaded.runbook;
      // Planning reads with the run's credentials: it needs the right to start the runbook.
      checkPolicy('start', rb.metadata.name, rb.metadata.labels, r.user);
      const params = checkedParams(e, b.params);
      const children = e.loaded.children ?? {};
      const id = `plan-${newRunId(rb.metadata.name)}`;
      const proof = await r.deps.auth.proof({ action: 'start', workflowId: id, runbook: rb.metadata.name, hash: startHash({ runbook: rb, params, children }), user: r.user });
      const input: PlanRunInput = { runbook: rb, params, startedBy: r.user, children, ...(proof ? { proof } : {}) };
      let steps: StepPrediction[];
      try {
        const h = await r.deps.client.workflow.start(PLAN_WORKFLOW, { taskQueue: r.deps.taskQueue, workflowId: id, args: [input], memo: { runbook: rb.metadata.name, plan: true, via: 'console' } });
        steps = ((await h.result()) as { steps: StepPrediction[] }).steps;
      } catch (err) {
        throw new ApiError(422, `the plan failed: ${rootMessage(err)}`);
      }
      const plan = makePlanFile(rb, children, params, steps);
      return { hash: plan.hash, summary: plan.summary, text: formatLivePlan(rb.metadata.name, plan.steps), plan: plan as unknown as Record<string, unknown> };
    },
  },
  {
    method: 'post',
    path: '/plans/apply',
    tag: 'runs',
    summary: 'Run the runbook bound to a plan (`runwright apply`): each planned step is re-checked first; drift stops it for an approval of the live plan',
    body: S.ApplyRequest,
    response: S.Started,
    status: 201,
    handler: async (r) => {
      const b = r.body as z.infer<typeof S.ApplyRequest>;
      let plan: PlanFile;
      try {
        plan = checkPlanFile(b.plan as unknown as PlanFile);
      } catch (err) {
        if (err instanceof PlanFileError) throw new ApiError(400, err.message);
        throw err;
      }
      const rb = plan.runbook.definition;
      checkPolicy('start', rb.metadata.name, rb.metadata.labels, r.user);
      const { values, problem } = planApplyParams(plan, b.params, new Set(), { given: 'params', how: 'in params' });
      if (problem !== undefined) throw new ApiError(400, problem);
      const id = b.id ?? newRunId(rb.metadata.name);
      let input = { ...runInputFor({ runbook: rb, children: plan.runbook.children ?? {} } as Parameters<typeof runInputFor>[0], values, r.user, r.deps.searchAttributes), plan: appliedPlan(plan) };
      const proof = await r.deps.auth.proof({ action: 'start', workflowId: id, runbook: rb.metadata.name, hash: startHash(input), user: r.user });
      if (proof) input = { ...input, proof };
      try {
        await startRun(r.deps, input, id, { via: 'console', actor: r.actor, planHash: plan.hash }, b.id !== undefined);
      } catch (err) {
        if (err instanceof RunExistsError) throw new ApiError(409, err.message);
        throw err;
      }
      return { workflowId: id, url: `#/runs/${encodeURIComponent(id)}` };
    },
  },
  {
    method: 'get',
    path: '/runs/{id}',
    tag: 'runs',
    summary: "A run's status: steps, attempts, progress, approvals, compensations, host recaps",
    response: S.RunView,
    handler: async (r) => {
      const id = r.param('id');
      const h = await runOr404(r.deps, id);
      const [desc, status] = await Promise.all([h.describe(), fetchStatus(r.deps.client, h)]);
      const memo = desc.memo ?? {};
      const view: z.infer<typeof S.RunView> = {
        workflowId: id,
        execution: desc.status.name,
        runbook: typeof memo.runbook === 'string' ? memo.runbook : undefined,
        startedBy: typeof memo.startedBy === 'string' ? memo.startedBy : undefined,
        status: (status as unknown as Record<string, unknown>) ?? null,
      };
      const link = r.deps.uiLink?.(id);
      if (link) view.link = link;
      if (desc.status.name !== 'RUNNING') {
        const recaps = await hostRecaps(r.deps, id, status).catch(() => undefined);
        if (recaps?.length) view.hostRecaps = recaps;
      }
      return view;
    },
  },
  {
    method: 'get',
    path: '/runs/{id}/history',
    tag: 'runs',
    summary: "A run's event history (the audit trail), sealed payloads opened",
    response: S.HistoryView,
    handler: async (r) => {
      const h = await runOr404(r.deps, r.param('id'));
      const hist = await decodeSealedIn(await h.fetchHistory(), codecsOf(r.deps.client));
      return {
        events: (hist.events ?? []).map((e) => {
          const t = e.eventTime?.seconds ? new Date(Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6)).toISOString() : '';
          const type = String(EVENT_TYPES[e.eventType ?? 0] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
          const a = e.activityTaskScheduledEventAttributes;
          const sig = e.workflowExecutionSignaledEventAttributes;
          const upd = e.workflowExecutionUpdateAcceptedEventAttributes;
          const detail = a ? `${a.activityType?.name} id=${a.activityId}` : e.timerStartedEventAttributes ? `timer ${e.timerStartedEventAttributes.timerId}` : sig ? `signal ${sig.signalName}` : upd ? `update ${upd.acceptedRequest?.input?.name ?? ''}` : '';
          return { id: String(e.eventId), time: t, type, detail };
        }),
      };
    },
  },
  {
    method: 'post',
    path: '/runs/{id}/approve',
    tag: 'approvals',
    summary: 'Approve a pending approval (queued if no worker is up)',
    body: S.DecisionRequest,
    response: S.DecisionView,
    handler: (r) => decide(r, 'approve'),
  },
  {
    method: 'post',
    path: '/runs/{id}/reject',
    tag: 'approvals',
    summary: 'Reject a pending approval (a reason is required)',
    body: S.DecisionRequest,
    response: S.DecisionView,
    handler: (r) => decide(r, 'reject'),
  },
  {
    method: 'post',
    path: '/runs/{id}/params',
    tag: 'approvals',
    summary: 'Change params while an approval is pending; the plan is re-rendered and earlier approvals stop counting',
    body: S.SetParamsRequest,
    response: S.Message,
    handler: async (r) => {
      const id = r.param('id');
      const b = r.body as z.infer<typeof S.SetParamsRequest>;
      const facts = await runFacts(r.deps.client, id);
      if (!facts) throw new ApiError(404, `no run with id "${id}" in namespace ${r.deps.namespace}`);
      checkPolicy('set-params', facts.runbook, facts.labels, r.user);
      const proof = await r.deps.auth.proof({ action: 'set-params', workflowId: id, runbook: facts.runbook, hash: paramsHash(b.params), user: r.user });
      try {
        const res = await sendSetParams(r.deps.client, id, { user: r.user, params: b.params, source: 'console', actor: r.actor, reason: b.reason, coerce: true, proof });
        return { message: `changed ${res.changed.join(', ')} of ${id}; the plan was re-rendered and approvals of the previous plan no longer count` };
      } catch (e) {
        if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) throw new ApiError(503, 'no worker answered; params were not changed');
        throw new ApiError(409, `refused: ${rootMessage(e)}`);
      }
    },
  },
  {
    method: 'post',
    path: '/runs/{id}/cancel',
    tag: 'runs',
    summary: 'Cancel a run (authorized by the run itself); completed steps are compensated',
    body: S.CancelRequest,
    response: S.Message,
    handler: async (r) => {
      const id = r.param('id');
      const b = r.body as z.infer<typeof S.CancelRequest>;
      const h = await runOr404(r.deps, id);
      const d = await h.describe();
      if (d.status.name !== 'RUNNING') throw new ApiError(409, `refused: run ${id} has already ended (${d.status.name.toLowerCase()})`);
      const facts = await runFacts(r.deps.client, id);
      if (!facts) throw new ApiError(409, `refused: cannot tell which runbook ${id} runs`);
      checkPolicy('cancel', facts.runbook, facts.labels, r.user);
      const proof = await r.deps.auth.proof({ action: 'cancel', workflowId: id, runbook: facts.runbook, hash: null, user: r.user });
      try {
        await r.deps.client.connection.withDeadline(Date.now() + decisionTimeoutMs(), () =>
          h.executeUpdate(cancelUpdate, { args: [{ user: r.user, reason: b.reason, source: 'console', actor: r.actor, proof }] }),
        );
      } catch (e) {
        const msg = rootMessage(e);
        if (e instanceof WorkflowUpdateFailedError) throw new ApiError(409, `refused: ${msg}`);
        if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError || /DEADLINE_EXCEEDED/.test(msg))
          throw new ApiError(503, `no worker answered in time; ${id} was not cancelled (a cancel is authorized by the run itself, so a worker must be up)`);
        throw new ApiError(409, `refused: ${msg}`);
      }
      return { message: `cancellation requested for ${id} as ${r.user}; compensations of completed steps will run` };
    },
  },
  {
    method: 'get',
    path: '/runbooks',
    tag: 'catalog',
    summary: 'The runbook catalog, each with the JSON Schema of its params',
    response: S.Catalog,
    handler: async (r) => {
      const c = catalog(r.deps);
      return { runbooks: c.entries.map(catalogItem), problems: c.diagnostics.map(formatDiagnostic) };
    },
  },
  {
    method: 'get',
    path: '/runbooks/{name}',
    tag: 'catalog',
    summary: 'One runbook of the catalog',
    response: S.CatalogItem,
    handler: async (r) => catalogItem(entry(r.deps, r.param('name'))),
  },
  {
    method: 'get',
    path: '/schedules',
    tag: 'schedules',
    summary: 'Schedules with their next runs, recent runs and change freezes',
    response: S.ScheduleList,
    handler: async (r) => {
      const now = new Date();
      const schedules: z.infer<typeof S.ScheduleItem>[] = [];
      for await (const sc of r.deps.client.schedule.list()) {
        let desc;
        try {
          desc = await r.deps.client.schedule.getHandle(sc.scheduleId).describe();
        } catch (e) {
          if (e instanceof ScheduleNotFoundError) continue; // deleted while listing
          throw e;
        }
        const v = viewOf(sc.scheduleId, desc, now);
        schedules.push({
          id: v.scheduleId,
          runbook: v.runbook || undefined,
          cron: v.cron ? v.cron.split(';').map((x) => x.trim()) : [],
          paused: v.paused,
          note: v.note,
          nextRuns: v.nextRuns,
          recentRuns: desc.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, startedAt: a.takenAt.toISOString() })),
          inFreeze: v.inFreeze ? { name: v.inFreeze.name, endsAt: v.inFreeze.endsAt, reason: v.inFreeze.reason } : null,
        });
      }
      return { schedules: schedules.sort((a, b) => a.id.localeCompare(b.id)) };
    },
  },
  ...(['pause', 'unpause', 'trigger'] as const).map(
    (verb): Route => ({
      method: 'post',
      path: `/schedules/{id}/${verb}`,
      tag: 'schedules',
      summary: verb === 'pause' ? 'Pause a schedule (needs a reason; the cancel right on its runbook)' : verb === 'unpause' ? 'Resume a paused schedule (the start right on its runbook)' : 'Start a run of the schedule now (the start right on its runbook)',
      body: S.ScheduleAction,
      response: S.Message,
      handler: async (r) => {
        const id = r.param('id');
        const reason = (r.body as z.infer<typeof S.ScheduleAction>).reason?.trim();
        const { handle, desc } = await scheduleOr404(r.deps, id);
        // The runbook the schedule starts, with its labels (the policy's `labels:` rules apply).
        const started = (desc.action as { args?: unknown[] }).args?.[0] as { runbook?: { metadata?: { name?: string; labels?: Record<string, string> } } } | undefined;
        const runbook = started?.runbook?.metadata?.name ?? (desc.memo?.runbook as string) ?? id;
        checkPolicy(verb === 'pause' ? 'cancel' : 'start', runbook, started?.runbook?.metadata?.labels, r.user);
        // The schedule's note is its audit trail: who did what, from where.
        const by = `by ${r.user} via console from ${r.actor.split('@').pop()} at ${new Date().toISOString()}`;
        if (verb === 'pause') {
          if (!reason) throw new ApiError(400, 'pause needs a reason (the note shown with the schedule)');
          await handle.pause(`${reason} (${by})`);
          return { message: `paused ${id}` };
        }
        if (verb === 'unpause') {
          if (!desc.state.paused) throw new ApiError(409, `schedule "${id}" is not paused`);
          await handle.unpause(`${reason ?? 'unpaused'} (${by})`);
          return { message: `unpaused ${id}` };
        }
        // trigger() without a policy means ALLOW_ALL: pass the schedule's own.
        await handle.trigger(desc.policies.overlap);
        await handle.update((prev) => ({ ...prev, state: { ...prev.state, note: `triggered ${by}${prev.state.note ? `; before: ${prev.state.note}` : ''}`.slice(0, 1000) } })).catch(() => undefined);
        return { message: `triggered ${id} (overlap ${desc.policies.overlap}, the schedule's policy)` };
      },
    }),
  ),
  {
    method: 'get',
    path: '/freeze',
    tag: 'schedules',
    summary: 'The change-freeze calendar and which windows are active',
    response: S.FreezeView,
    handler: async () => {
      let cal;
      try {
        cal = loadFreezeCalendar();
      } catch (e) {
        if (e instanceof FreezeCalendarError) throw new ApiError(500, 'the change-freeze calendar does not validate', e.diagnostics.map(formatDiagnostic));
        throw e;
      }
      const now = new Date();
      return { file: cal.file, windows: cal.windows.map((w) => ({ name: w.name, reason: w.reason, start: w.start, end: w.end, startsAt: w.startsAt, endsAt: w.endsAt, active: activeFreeze({ windows: [w] }, now) !== null })) };
    },
  },
  {
    method: 'get',
    path: '/drills/{id}/report',
    tag: 'drills',
    summary: "A drill run's report (from its history, else the reports folder)",
    response: S.DrillReportView,
    handler: async (r) => drillReport(r.deps, r.param('id')),
  },
  {
    method: 'get',
    path: '/drills/{id}/chart.svg',
    tag: 'drills',
    summary: "A drill run's timeline chart",
    response: z.string(),
    produces: 'image/svg+xml',
    handler: async (r) => {
      const report = await drillReport(r.deps, r.param('id'));
      // Loaded when used, as the CLI does.
      const { renderSvg } = require('../activities/drill/report-render') as typeof import('../activities/drill/report-render');
      return new Response(renderSvg(report), { headers: { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'no-store' } });
    },
  },
];

/** Which errors are a user's mistake or the world's state (4xx) rather than the console's fault. */
function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof WorkflowNotFoundError) return new ApiError(404, rootMessage(e));
  if (e instanceof SealedPayloadError) return new ApiError(500, `codec: ${e.message}`);
  for (let c: any = e, i = 0; c && i < 8; c = c.cause, i++)
    if (c?.code === 14 || c?.code === 4 || /UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED|Deadline exceeded/.test(String(c?.message))) return new ApiError(503, `cannot reach Temporal: ${String(c.message).split('\n')[0]}`);
  return new ApiError(500, `internal error: ${rootMessage(e)}`);
}

const zodDetails = (e: z.ZodError) => e.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`);

/** Hono paths use :name; the table (and OpenAPI) use {name}. */
const honoPath = (p: string) => p.replace(/\{(\w+)\}/g, ':$1');

export interface ApiOptions {
  deps: ApiDeps;
  log?: (m: string) => void;
}

/** The API as a Hono app mounted under /api/v1 by the server. */
export function apiApp(o: ApiOptions): Hono {
  const app = new Hono();
  for (const route of ROUTES) {
    app[route.method](honoPath(route.path), async (c: Context) => {
      try {
        const user = c.get('user' as never) as string | undefined;
        if (!user) throw new ApiError(401, 'sign in first: this console needs a token (runwright console token USER makes one)');
        let body: unknown;
        if (route.body) {
          let raw: unknown;
          try {
            raw = await c.req.json();
          } catch {
            throw new ApiError(400, 'the request body must be JSON');
          }
          const parsed = route.body.safeParse(raw);
          if (!parsed.success) throw new ApiError(400, 'the request body does not match the API', zodDetails(parsed.error));
          body = parsed.data;
        }
        let query: unknown = {};
        if (route.query) {
          const parsed = route.query.safeParse(c.req.query());
          if (!parsed.success) throw new ApiError(400, 'bad query parameters', zodDetails(parsed.error));
          query = parsed.data;
        }
        const actor = `console:${user}@${(c.get('remote' as never) as string | undefined) ?? 'unknown'}`;
        const result = await route.handler({ deps: o.deps, user, actor, param: (n) => c.req.param(n) ?? '', query, body });
        if (result instanceof Response) return result;
        return c.json(result as object, (route.status ?? 200) as 200);
      } catch (e) {
        const ae = toApiError(e);
        if (ae.status >= 500) o.log?.(`runwright console: ${route.method.toUpperCase()} ${c.req.path}: ${ae.message}`);
        return c.json({ error: { message: ae.message, ...(ae.details ? { details: ae.details } : {}) } }, ae.status as 400);
      }
    });
  }
  return app;
}
