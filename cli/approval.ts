/**
 * `runwright approve|reject|set-params`: decisions from the command line under the same policy
 * as Slack (client/decide.ts). Identity: --as, else RUNWRIGHT_USER, else the OS user; the
 * OS user and host are recorded as the actor next to it, for the audit trail. With --key /
 * RUNWRIGHT_SIGNING_KEY the request is signed (cli/sign.ts) and the worker verifies it against
 * its allowed_signers file: the identity must be the key's principal there.
 */
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { describeOutcome, sendDecision, sendSetParams } from '../client/decide';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { currentUser, out, withSession } from './common';
import { CliError, EXIT } from './session';
import { KEY_OPTION, checkPolicyEarly, paramsHash, proofFor, runFacts, signingKey } from './sign';

export function cliActor(): string {
  let os = process.env.USER ?? 'unknown';
  try {
    os = userInfo().username;
  } catch {
    /* keep $USER */
  }
  return `cli:${os}@${hostname()}`;
}

function rootMessage(e: unknown): string {
  let c: any = e;
  while (c?.cause) c = c.cause;
  return String(c?.message ?? e);
}

export function registerApprovalCommands(program: Command): void {
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .argument('<id>', 'workflow id')
      .option('--step <step>', 'the approval step (needed when several are pending)')
      .option('--as <user>', 'your identity (default: RUNWRIGHT_USER or the OS user)')
      .option('--reason <text>', decision === 'reject' ? 'why (required)' : 'why (optional)')
      .option('--plan-hash <hash>', 'the plan hash you reviewed (`runwright status`); refused if the plan has changed since')
      .option(...KEY_OPTION)
      .description(`${decision} a pending approval (queued if no worker is up)`)
      .action(async (id: string, o) => {
        if (decision === 'reject' && !o.reason?.trim()) throw new CliError('reject needs --reason', EXIT.usage);
        const user = currentUser(o.as);
        const key = signingKey(o.key);
        // No in-process worker against a real server: a short-lived CLI must not run the next steps.
        await withSession({ worker: 'if-embedded' }, async (s) => {
          let planHash: string | undefined = o.planHash;
          let proof;
          const facts = await runFacts(s.client, id);
          if (facts) checkPolicyEarly(decision, facts.runbook, facts.labels, user);
          if (key && facts) {
            // The signature binds the plan: the one reviewed (--plan-hash), else the one pending now.
            const pend = facts.status?.pendingApprovals ?? [];
            const gate = o.step ? pend.find((p) => p.step === o.step || p.step.endsWith(`.${o.step}`)) : pend.length === 1 ? pend[0] : undefined;
            planHash ??= gate?.planHash;
            if (!planHash) throw new CliError(`refused: cannot read the plan of ${id} to sign (${pend.length > 1 ? 'several approvals are pending; name one with --step' : 'no worker answered, or no approval is pending'}); pass --plan-hash from \`runwright status\``, EXIT.usage);
            proof = await proofFor({ action: decision, workflowId: id, runbook: facts.runbook, hash: planHash, step: o.step ?? null, user }, key);
          }
          const r = await sendDecision(s.client, id, { decision, user, step: o.step, reason: o.reason, source: 'cli', planHash, actor: cliActor(), proof });
          const text = describeOutcome(r, id, decision, user);
          if (r.status === 'accepted' || r.status === 'queued') return out(text);
          throw new CliError(text, EXIT.usage);
        });
      });
  }

  program
    .command('set-params')
    .argument('<id>', 'workflow id')
    .argument('<name=value...>', 'params to change (coerced like --set)')
    .option('--as <user>', 'your identity (default: RUNWRIGHT_USER or the OS user)')
    .option('--reason <text>', 'why (recorded)')
    .option(...KEY_OPTION)
    .description('change params while a run waits for approval; the plan is re-rendered and earlier approvals stop counting')
    .action(async (id: string, pairs: string[], o) => {
      const params: Record<string, unknown> = {};
      for (const p of pairs) {
        const i = p.indexOf('=');
        if (i <= 0) throw new CliError(`${p}: expected NAME=VALUE`, EXIT.usage);
        params[p.slice(0, i)] = p.slice(i + 1);
      }
      const user = currentUser(o.as);
      await withSession({}, async (s) => {
        const facts = await runFacts(s.client, id);
        if (facts) checkPolicyEarly('set-params', facts.runbook, facts.labels, user);
        const key = signingKey(o.key);
        if (key && !facts) throw new CliError(`refused: cannot tell which runbook ${id} runs (no such run?)`, EXIT.usage);
        const proof = key && facts ? await proofFor({ action: 'set-params', workflowId: id, runbook: facts.runbook, hash: paramsHash(params), user }, key) : undefined;
        try {
          const r = await sendSetParams(s.client, id, { user, params, source: 'cli', actor: cliActor(), reason: o.reason, coerce: true, proof });
          out(`changed ${r.changed.join(', ')} of ${id}; the plan was re-rendered and approvals of the previous plan no longer count`);
        } catch (e) {
          if (e instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${rootMessage(e)}`, EXIT.usage);
          if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) throw new CliError(`no worker answered; params were not changed`, EXIT.unreachable);
          throw new CliError(`refused: ${rootMessage(e)}`, EXIT.usage);
        }
      });
    });
}
