/**
 * The runbook language: one zod schema is the single source of truth.
 * TypeScript types (z.infer), validation (dsl/validate.ts) and the JSON Schema that
 * editors use (`runwright schema`) all derive from the definitions in this file.
 */
import { z } from 'zod';
import { DURATION_RE, DURATION_HINT } from './duration';
import { SITE_NAME_RE } from './site';

export const API_VERSION = 'runwright/v1';
export const KIND = 'Runbook';

/** Go-style durations as Temporal accepts them: "500ms", "30s", "4h", "1h30m", "2d" (the one grammar: dsl/duration.ts). */
export { DURATION_RE };
export const Duration = z
  .string()
  .regex(DURATION_RE, { message: `expected ${DURATION_HINT}` })
  .describe('Duration: a number followed by ms, s, m, h or d; parts may be combined ("1h30m").');

/** A string containing `{{ expression }}` placeholders (CEL expressions). */
export const Template = z.string().describe('Text with {{ expression }} placeholders (CEL).');
/** A value that is either a literal of type T or a template producing one at run time. */
const orTemplate = <T extends z.ZodTypeAny>(t: T) => z.union([t, z.string().regex(/\{\{[\s\S]*\}\}/, 'expected a {{ expression }}')]);

export const STEP_ID_RE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const StepId = z
  .string()
  .regex(STEP_ID_RE, { message: 'step id must start with a letter and contain only letters, digits, "_" and "-" (max 63)' })
  .describe('Unique step id; later steps reference its outputs as steps.<id>.outputs.');

export const RetryPolicy = z
  .strictObject({
    maximumAttempts: z.number().int().min(1, 'maximumAttempts must be at least 1').optional(),
    initialInterval: Duration.optional(),
    backoffCoefficient: z.number().min(1, 'backoffCoefficient must be at least 1').optional(),
    maximumInterval: Duration.optional(),
    nonRetryableErrorTypes: z.array(z.string()).optional(),
  })
  .describe('Temporal RetryPolicy for the step.');
export type RetryPolicy = z.infer<typeof RetryPolicy>;

export const ParamType = z.enum(['string', 'integer', 'number', 'boolean', 'array', 'object']);
export const ParamSpec = z
  .strictObject({
    type: ParamType,
    description: z.string().optional(),
    default: z.unknown().optional(),
    required: z.boolean().optional().describe('Defaults to true when no default is given.'),
    enum: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    pattern: z.string().optional(),
    items: z.strictObject({ type: ParamType }).optional().describe('Element type of an array param.'),
    secret: z
      .boolean()
      .optional()
      .describe('Shown as *** in plans, status and Slack cards; sealed in history by the payload codec. Best a secret reference (secret:NAME from the worker\'s secrets policy) that an action resolves, not the secret itself.'),
  })
  .describe('A typed runbook parameter.');
export type ParamSpec = z.infer<typeof ParamSpec>;

/** Where a step's actions run: a site name, or a {{ expression }} giving one at run time. */
const Site = z
  .string()
  .regex(new RegExp(`${SITE_NAME_RE.source}|\\{\\{[\\s\\S]*\\}\\}`), { message: 'expected a site name (lowercase letters, digits and "-") or a {{ expression }} giving one' })
  .describe("Run the action on a worker serving this site (`runwright worker --site NAME`), e.g. next to the cluster it touches; a {{ expression }} may choose it.");

const ActionCall = {
  action: z.string().min(1).describe('Action name, e.g. core.log or http.request (see `runwright actions`).'),
  with: z.record(z.string(), z.unknown()).optional().describe('Action input; checked against the action schema.'),
};

export const Compensation = z
  .strictObject({
    ...ActionCall,
    retry: RetryPolicy.optional(),
    timeout: Duration.optional().describe('Start-to-close timeout of one attempt (default 10m).'),
    heartbeatTimeout: Duration.optional().describe('Retry elsewhere when the worker stops heartbeating this long (default: as for steps).'),
    site: Site.optional().describe('Site whose workers run the undo (default: the step\'s site).'),
    when: z
      .union([Template, z.boolean()])
      .optional()
      .describe("Undo only when this is true; evaluated with what was in scope when the step succeeded (its own outputs included)."),
  })
  .describe('Action that undoes a completed step; run in reverse order on failure or cancellation.');
export type Compensation = z.infer<typeof Compensation>;

/** Fields every step kind accepts. */
const common = {
  id: StepId,
  name: z.string().optional().describe('Human-readable title.'),
  when: z.union([Template, z.boolean()]).optional().describe('Run the step only when this expression is true.'),
  onFailure: z.enum(['fail', 'continue']).optional().describe('fail (default) stops the runbook; continue records the failure and goes on.'),
};

/** An approver: a user identity, or `group:NAME` (groups come from the approvers file the worker reads). */
export const APPROVER_RE = /^(group:)?[A-Za-z0-9][A-Za-z0-9._@+:-]*$/;
const Approver = z.string().regex(APPROVER_RE, 'expected a user name or group:NAME');

export const EscalationSpec = z
  .strictObject({
    approvers: z.array(Approver).optional().describe('Also allowed to decide once escalated (users and group:NAME); they are notified.'),
    channel: z.string().min(1).optional().describe('Slack channel notified on escalation (default: the request channel).'),
    timeout: Duration.optional().describe('How long to wait again after escalating (default: the first timeout).'),
    onTimeout: z.enum(['abort', 'approve']).optional().describe('Final action when nobody decides after escalating (default abort).'),
  })
  .describe('What `onTimeout: escalate` does: notify more approvers, wait again, then a final action.');

export const ApprovalSpec = z
  .strictObject({
    message: Template,
    timeout: Duration.optional(),
    onTimeout: z.enum(['abort', 'approve', 'escalate']).optional().describe('What happens when nobody decides in time (default abort).'),
    escalate: EscalationSpec.optional(),
    approvers: z.array(Approver).optional().describe('Users and group:NAME allowed to decide; empty means anyone (but the starter, unless allowSelfApproval).'),
    required: z.number().int().min(1).optional().describe('Approvals needed (N of M); default 1.'),
    allowSelfApproval: z.boolean().optional().describe('Whether the person who started the run may approve it (default false).'),
    channel: z.string().min(1).optional().describe("Slack channel for the request (default: the worker's RUNWRIGHT_SLACK_CHANNEL)."),
  })
  .describe('Pause until humans approve or reject (Temporal Update); decisions are bound to the plan of the following steps.');

export type Step = ActionStep | GroupStep | ParallelStep | ForeachStep | ApprovalStep | SleepStep | RunbookStep;
export type ActionStep = z.infer<typeof ActionStep>;
export type ApprovalStep = z.infer<typeof ApprovalStep>;
export type SleepStep = z.infer<typeof SleepStep>;
export type RunbookStep = z.infer<typeof RunbookStep>;
export interface GroupStep extends Common { steps: Step[] }
export interface ParallelStep extends Common { parallel: Step[] }
export interface ForeachStep extends Common {
  foreach: string | unknown[];
  as?: string;
  batch?: number | string;
  concurrency?: number;
  maxFailPercentage?: number;
  steps: Step[];
}
type Common = { id: string; name?: string; when?: string | boolean; onFailure?: 'fail' | 'continue' };

export const ActionStep = z
  .strictObject({
    ...common,
    ...ActionCall,
    retry: RetryPolicy.optional(),
    timeout: Duration.optional().describe('Start-to-close timeout of one attempt.'),
    heartbeatTimeout: Duration.optional().describe('Retry elsewhere when the worker stops heartbeating this long (default spec.defaults.heartbeatTimeout, else 20s); every action heartbeats.'),
    site: Site.optional().describe('Site whose workers run this action (default spec.defaults.site, else any worker of the run\'s task queue).'),
    compensate: z
      .union([Compensation, z.literal('none').describe("No compensation, not even the action's own inverse.")])
      .optional()
      .describe("How to undo this step on failure or cancellation (default: the action's inverse, if it has one)."),
  })
  .describe('Run one action (a Temporal activity).');

export const ApprovalStep = z.strictObject({ ...common, approval: ApprovalSpec });
/** A duration, or a {{ expression }} giving one at run time (the interpreter checks the result). */
export const DURATION_OR_TEMPLATE_RE = new RegExp(`${DURATION_RE.source}|\\{\\{[\\s\\S]*\\}\\}`);
const DurationOrTemplate = z.string().regex(DURATION_OR_TEMPLATE_RE, { message: 'expected a duration such as "500ms", "30s", "5m", "4h" or "1h30m", or a {{ expression }} giving one' });
export const SleepStep = z.strictObject({ ...common, sleep: DurationOrTemplate.describe('Durable timer: a duration, or an expression giving one ("{{ params.wait }}").') });
export const RunbookStep = z
  .strictObject({
    ...common,
    runbook: z.string().min(1).describe('Name of another runbook (metadata.name) run as a child workflow.'),
    with: z.record(z.string(), z.unknown()).optional().describe("The child runbook's params."),
    timeout: Duration.optional().describe('Limit for the child run, enforced by the child itself: an expired child compensates, then fails.'),
    site: Site.optional().describe("Site of the child's steps that name none (over the child's spec.defaults.site)."),
    compensateWithParent: z
      .boolean()
      .optional()
      .describe("Whether the child's completed steps are undone when this run later fails or is cancelled (default true); false for a child whose effects must stay, e.g. a successful failback."),
  })
  .describe('Run another runbook as a child workflow.');

export const StepSchema: z.ZodType<Step> = z.lazy(() =>
  z.union([ActionStep, GroupStep, ParallelStep, ForeachStep, ApprovalStep, SleepStep, RunbookStep]),
) as z.ZodType<Step>;

export const GroupStep: z.ZodType<GroupStep> = z
  .strictObject({ ...common, steps: z.array(StepSchema).min(1) })
  .describe('Run nested steps in order (useful as a parallel branch).');
export const ParallelStep: z.ZodType<ParallelStep> = z
  .strictObject({ ...common, parallel: z.array(StepSchema).min(1).describe('Branches run at the same time.') });
export const ForeachStep: z.ZodType<ForeachStep> = z.strictObject({
  ...common,
  foreach: z.union([Template, z.array(z.unknown())]).describe('A list, or an expression producing one.'),
  as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier').optional().describe('Loop variable name (default item).'),
  batch: orTemplate(z.number().int().min(1, 'batch must be at least 1'))
    .optional()
    .describe('Rolling batches: this many items at a time, one batch after another (default: all at once).'),
  concurrency: z.number().int().min(1).max(1000).optional().describe('Items in flight at once inside a batch (default 100).'),
  maxFailPercentage: z.number().min(0).max(100).optional().describe('Stop when more than this share of items failed (default 0).'),
  steps: z.array(StepSchema).min(1),
});

/** The key that tells each step kind apart; used to pick the right error out of a union. */
export const STEP_KINDS = ['action', 'parallel', 'foreach', 'approval', 'sleep', 'runbook', 'steps'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
export const STEP_KIND_SCHEMAS: Record<StepKind, z.ZodTypeAny> = {
  action: ActionStep,
  parallel: ParallelStep,
  foreach: ForeachStep,
  approval: ApprovalStep,
  sleep: SleepStep,
  runbook: RunbookStep,
  steps: GroupStep,
};


export const RunbookSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION, { message: `apiVersion must be "${API_VERSION}"` }),
    kind: z.literal(KIND, { message: `kind must be "${KIND}"` }),
    metadata: z.strictObject({
      name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'name must be lowercase letters, digits and "-" (DNS label)'),
      description: z.string().optional(),
      labels: z.record(z.string(), z.string()).optional(),
    }),
    spec: z.strictObject({
      params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'param names must be identifiers'), ParamSpec).optional(),
      steps: z.array(StepSchema).min(1, 'a runbook needs at least one step'),
      timeout: Duration.optional().describe('Limit for the whole run.'),
      defaults: z
        .strictObject({
          heartbeatTimeout: Duration.optional().describe('heartbeatTimeout of every step and compensation that names none (default 20s).'),
          site: Site.optional().describe('Site of every step and compensation that names none (default: none, any worker of the run\'s task queue).'),
        })
        .optional()
        .describe('Defaults for the steps of this runbook.'),
    }),
  })
  .describe('A Runwright runbook.');
export type Runbook = z.infer<typeof RunbookSchema>;

/** JSON Schema (draft 2020-12) for editors; derived, never written by hand. */
export function runbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RunbookSchema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  return { $id: 'https://runwright.dev/schema/runbook-v1.json', title: 'Runwright runbook', ...schema };
}
