/**
 * Internal activities of approval gates, registered on every worker next to the actions (they
 * are not actions: runbooks cannot call them, `runwright actions` does not list them).
 */
import { slackNotify } from '../slack/notify';
import { approvalNotify } from './notify';
import { APPROVAL_NOTIFY_ACTIVITY, APPROVAL_PREPARE_ACTIVITY, IDENTITY_AUTHORIZE_ACTIVITY, PLAN_DRY_RUN_ACTIVITY, RUN_CANCEL_ACTIVITY, SLACK_NOTIFY_ACTIVITY, type ApprovalEvent, type SlackNotifyInput } from '../../workflows/definitions';
import { identityAuthorize, runCancel } from '../identity';
import { prepareApproval, type Actions } from './prepare';
import { planDryRun } from '../plan/dry-run';

export function approvalActivities(registry: Actions): Record<string, (input: any) => Promise<unknown>> {
  return {
    [APPROVAL_PREPARE_ACTIVITY]: prepareApproval(registry),
    [PLAN_DRY_RUN_ACTIVITY]: planDryRun(registry),
    [APPROVAL_NOTIFY_ACTIVITY]: approvalNotify,
    /**
     * @deprecated tasks scheduled by workers from before `runwright-approval-machine-v2` (old
     * input); an event (only ever built for replays, never run) is handled like the new activity.
     */
    [SLACK_NOTIFY_ACTIVITY]: (i: SlackNotifyInput | ApprovalEvent) => (i.kind.includes('.') ? approvalNotify(i as ApprovalEvent) : slackNotify(i as SlackNotifyInput)),
    [IDENTITY_AUTHORIZE_ACTIVITY]: identityAuthorize,
    [RUN_CANCEL_ACTIVITY]: runCancel,
  };
}
