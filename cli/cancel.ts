/**
 * `runwright cancel`: a signed request (the `cancelRun` Update) that the run authorizes (proof +
 * access policy, in an activity) before it asks Temporal to cancel itself; completed steps are
 * then compensated. Raw `temporal workflow cancel` bypasses this: Temporal's own authorization
 * (namespace permissions, API keys, mTLS) governs that path.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { Command } from 'commander';
import { decisionTimeoutMs } from '../client/decide';
import { cancelUpdate } from '../workflows/definitions';
import { cliActor } from './approval';
import { currentUser, out, withSession } from './common';
import { CliError, EXIT } from './session';
import { KEY_OPTION, checkPolicyEarly, proofFor, runFacts, signingKey } from './sign';

function rootMessage(e: unknown): string {
  let c: any = e;
  while (c?.cause) c = c.cause;
  return String(c?.message ?? e);
}

export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .argument('<id>', 'workflow id')
    .option('--as <user>', 'your identity (default: RUNWRIGHT_USER or the OS user)')
    .option('--reason <text>', 'why (recorded)')
    .option(...KEY_OPTION)
    .description('cancel a run (a signed request the run authorizes); completed steps are compensated')
    .action(async (id: string, o) => {
      const user = currentUser(o.as);
      await withSession({}, async (s) => {
        const h = s.client.workflow.getHandle(id);
        try {
          const d = await h.describe();
          if (d.status.name !== 'RUNNING') throw new CliError(`refused: run ${id} has already ended (${d.status.name.toLowerCase()})`, EXIT.usage);
        } catch (e) {
          if (e instanceof WorkflowNotFoundError) throw new CliError(`no run with id "${id}" in namespace ${s.namespace}`, EXIT.usage);
          throw e;
        }
        const facts = await runFacts(s.client, id);
        if (!facts) throw new CliError(`refused: cannot tell which runbook ${id} runs`, EXIT.usage);
        checkPolicyEarly('cancel', facts.runbook, facts.labels, user);
        const proof = await proofFor({ action: 'cancel', workflowId: id, runbook: facts.runbook, hash: null, user }, signingKey(o.key));
        try {
          await s.client.connection.withDeadline(Date.now() + decisionTimeoutMs(), () =>
            h.executeUpdate(cancelUpdate, { args: [{ user, reason: o.reason, source: 'cli', actor: cliActor(), proof }] }),
          );
        } catch (e) {
          const msg = rootMessage(e);
          if (e instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${msg}`, EXIT.usage);
          if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError || /DEADLINE_EXCEEDED/.test(msg))
            throw new CliError(`no worker answered in time; ${id} was not cancelled (a cancel is authorized by the run itself, so a worker must be up)`, EXIT.unreachable);
          throw new CliError(`refused: ${msg}`, EXIT.usage);
        }
        out(`cancellation requested for ${id} as ${user}; compensations of completed steps will run`);
      });
    });
}
