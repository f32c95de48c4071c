/**
 * Internal activities of approval gates, registered on every worker next to the actions (they
 * are not actions: runbooks cannot call them, `runwright actions` does not list them).
 */
import type { ActionRegistry } from '../registry';
import { slackNotify } from '../slack/notify';
import { APPROVAL_PREPARE_ACTIVITY, IDENTITY_AUTHORIZE_ACTIVITY, RUN_CANCEL_ACTIVITY, SLACK_NOTIFY_ACTIVITY } from '../../workflows/definitions';
import { identityAuthorize, runCancel } from '../identity';
import { prepareApproval } from './prepare';

export function approvalActivities(registry: ActionRegistry): Record<string, (input: any) => Promise<unknown>> {
  return {
    [APPROVAL_PREPARE_ACTIVITY]: prepareApproval(registry),
    [SLACK_NOTIFY_ACTIVITY]: slackNotify,
    [IDENTITY_AUTHORIZE_ACTIVITY]: identityAuthorize,
    [RUN_CANCEL_ACTIVITY]: runCancel,
  };
}
