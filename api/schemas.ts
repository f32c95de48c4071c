/**
 * The console API's request and response shapes: one zod schema each, used to check requests
 * and to generate the OpenAPI document (api/openapi.ts). Run status is the interpreter's
 * RunStatus (workflows/definitions.ts), described here loosely: it is the status query's answer.
 */
import { z } from 'zod';
import { RUN_STATES } from '../client/runs';

export const ErrorBody = z
  .object({ error: z.object({ message: z.string(), details: z.array(z.string()).optional() }) })
  .describe('Every error: the same message the CLI prints, and per-item details.');

export const Me = z.object({
  user: z.string(),
  mode: z.enum(['local', 'token']).describe('local: the console acts as the user who started it (loopback only); token: users sign in with a token.'),
  signing: z.enum(['none', 'own-key', 'gateway']).describe('How requests are proven to the worker: none (local mode), the user\'s own key, or the console as a trusted gateway.'),
});

export const RunsQuery = z.object({
  runbook: z.string().optional(),
  state: z.string().optional().describe(`A Runwright state (${RUN_STATES.join(', ')}) or a Temporal execution status (Running, Failed, …).`),
  startedBy: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const RunRow = z.object({
  workflowId: z.string(),
  runbook: z.string(),
  execution: z.string(),
  state: z.string().optional(),
  startedBy: z.string().optional(),
  startTime: z.string(),
  closeTime: z.string().optional(),
});
export const RunList = z.object({ runs: z.array(RunRow) });

export const HostRecap = z.object({
  step: z.string(),
  hosts: z.array(z.object({ host: z.string(), ok: z.number(), changed: z.number(), failed: z.number(), unreachable: z.number(), skipped: z.number() })),
});

export const RunView = z.object({
  workflowId: z.string(),
  execution: z.string(),
  link: z.string().optional().describe('The run in Temporal\'s web UI.'),
  runbook: z.string().optional(),
  startedBy: z.string().optional().describe('From the run\'s memo (known even when no worker answers).'),
  status: z.record(z.string(), z.unknown()).nullable().describe('The run\'s status query (RunStatus): steps, approvals, decisions, compensations; null when no worker answered.'),
  hostRecaps: z.array(HostRecap).optional(),
});

export const HistoryView = z.object({ events: z.array(z.object({ id: z.string(), time: z.string(), type: z.string(), detail: z.string() })) });

const Params = z.record(z.string(), z.unknown()).describe('Param values; strings are converted to the declared type as `--set` does.');

export const StartRequest = z.strictObject({
  runbook: z.string().min(1).describe('metadata.name of a runbook in the catalog'),
  params: Params.default({}),
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'run ids are letters, digits, ".", "_" and "-"')
    .optional(),
});
export const Started = z.object({ workflowId: z.string(), url: z.string() });

export const PlanRequest = z.strictObject({ runbook: z.string().min(1), params: Params.default({}) });
export const PlanView = z.object({
  runbook: z.string(),
  params: z.record(z.string(), z.unknown()),
  text: z.string(),
  steps: z.array(z.object({ path: z.string(), depth: z.number(), kind: z.string(), title: z.string(), detail: z.string().optional(), condition: z.string().optional() })),
});

export const LivePlanView = z.object({
  hash: z.string(),
  summary: z.object({ create: z.number(), change: z.number(), destroy: z.number(), afterApply: z.number() }),
  text: z.string().describe('The plan as `runwright plan` prints it'),
  plan: z.record(z.string(), z.unknown()).describe('The plan file: give it back to POST /plans/apply unchanged'),
});
export const ApplyRequest = z.strictObject({
  plan: z.record(z.string(), z.unknown()).describe('A plan from POST /plans (or `runwright plan --json`), unchanged'),
  params: Params.default({}).describe("Only the plan's masked secret params, given again"),
  id: z.string().min(1).optional(),
});

export const DecisionRequest = z.strictObject({
  step: z.string().optional(),
  reason: z.string().max(2000).optional(),
  planHash: z.string().optional().describe('The plan hash reviewed; refused if the plan changed since.'),
});
export const DecisionView = z.object({ status: z.enum(['accepted', 'refused', 'queued', 'ended', 'not-found']), message: z.string() });

export const CancelRequest = z.strictObject({ reason: z.string().max(2000).optional() });
export const SetParamsRequest = z.strictObject({ params: Params, reason: z.string().max(2000).optional() });
export const Message = z.object({ message: z.string() });

export const CatalogItem = z.object({
  name: z.string(),
  description: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  file: z.string(),
  paramsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the params (secret params: writeOnly, format password).'),
  secretParams: z.array(z.string()),
});
export const Catalog = z.object({ runbooks: z.array(CatalogItem), problems: z.array(z.string()).describe('Runbook files that did not validate (file:line:column: message).') });

export const ScheduleItem = z.object({
  id: z.string(),
  runbook: z.string().optional(),
  cron: z.array(z.string()),
  paused: z.boolean(),
  note: z.string().optional(),
  nextRuns: z.array(z.string()),
  recentRuns: z.array(z.object({ workflowId: z.string(), startedAt: z.string() })),
  inFreeze: z.object({ name: z.string(), endsAt: z.string(), reason: z.string().optional() }).nullable(),
});
export const ScheduleList = z.object({ schedules: z.array(ScheduleItem) });
export const ScheduleAction = z.strictObject({ reason: z.string().max(2000).optional() });

export const FreezeView = z.object({
  file: z.string().optional(),
  windows: z.array(z.object({ name: z.string(), reason: z.string().optional(), start: z.string(), end: z.string(), startsAt: z.string(), endsAt: z.string(), active: z.boolean() })),
});

export const DrillReportView = z.record(z.string(), z.unknown()).describe('The drill report (activities/drill/report-render.ts DrillReport).');
