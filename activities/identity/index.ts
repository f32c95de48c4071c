/**
 * Internal activities of proven identity (registered next to the approval activities):
 *  - authorize: verify who asks and whether the access policy lets them (lib/identity/authorize);
 *  - cancel: after the workflow has authorized a `runwright cancel`, request Temporal's own
 *    cancellation of the run through the worker's client (the workflow then compensates).
 */
import { Context } from '@temporalio/activity';
import { authorizeRequest, type AuthorizeInput, type AuthorizeResult } from '../../lib/identity/authorize';

export async function identityAuthorize(input: AuthorizeInput): Promise<AuthorizeResult> {
  return authorizeRequest(input);
}

export async function runCancel(input: { workflowId: string; runId?: string }): Promise<{ requested: true }> {
  await Context.current().client.workflow.getHandle(input.workflowId, input.runId).cancel();
  return { requested: true };
}
