/**
 * Runwright's attributes on the workflow-side spans of @temporalio/interceptors-opentelemetry
 * (issue 18, item 5). Bundled only when tracing is on (workers/telemetry.ts), after the
 * OpenTelemetry interceptors, so the span active here is theirs:
 *   RunWorkflow:runbook   ← runwright.runbook, runwright.run_id      (the run)
 *   StartActivity:<action> ← runwright.runbook, runwright.step, runwright.action, runwright.site (the step)
 * The activity side (RunActivity:<action>, one span per attempt, runwright.attempt) is set by the
 * worker's activity interceptor. Only attributes: no commands, no awaits.
 */
import { trace } from '@opentelemetry/api';
import { workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';
import type { ActivityInput, Next, WorkflowExecuteInput, WorkflowInboundCallsInterceptor, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import type { RunInput } from './definitions';

/** The site a step acts on, when its input or the runbook's labels name one. */
function siteOf(input: unknown, meta: { labels?: Record<string, string> } | undefined): string | undefined {
  const i = input as Record<string, unknown> | undefined;
  for (const k of ['site', 'cluster', 'target', 'region']) if (typeof i?.[k] === 'string') return i[k] as string;
  return meta?.labels?.site;
}

class RunAttributes implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const run = input.args[0] as Partial<RunInput> & { runbook?: { name?: string } } | undefined;
    const runbook = run?.runbook?.metadata?.name ?? run?.runbook?.name;
    const info = workflowInfo();
    trace.getActiveSpan()?.setAttributes({
      'runwright.run_id': info.workflowId,
      'runwright.root_run_id': run?.rootWorkflowId ?? info.workflowId,
      ...(runbook ? { 'runwright.runbook': runbook } : {}),
    });
    return next(input);
  }
}

class StepAttributes implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    const meta = input.args[1] as { runbook?: string; labels?: Record<string, string> } | undefined;
    const site = siteOf(input.args[0], meta);
    trace.getActiveSpan()?.setAttributes({
      'runwright.step': input.options.activityId ?? String(input.seq),
      'runwright.action': input.activityType,
      ...(meta?.runbook ? { 'runwright.runbook': meta.runbook } : {}),
      ...(site ? { 'runwright.site': site } : {}),
    });
    return next(input);
  }
}

export const interceptors = (): WorkflowInterceptors => ({ inbound: [new RunAttributes()], outbound: [new StepAttributes()] });
