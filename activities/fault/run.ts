/** The body shared by fault.inject and fault.restore: dispatch on `kind`, shape the outputs. */
import type { ActionContext } from '../define';
import { FAULT_KINDS, type FaultActionInput, type FaultResult } from './spec';

export async function runFault(op: 'inject' | 'restore', input: FaultActionInput, ctx: ActionContext): Promise<FaultResult> {
  const kind = FAULT_KINDS[input.fault.kind];
  // Heartbeat through every wait (HTTP calls, provisioning, SSH): a short heartbeatTimeout on
  // the step holds, and a cancel reaches the activity. The SDK throttles what it sends.
  const beat = () => ctx.heartbeat({ progress: `fault.${op} ${input.fault.kind}` });
  beat();
  const timer = setInterval(beat, 500);
  let r: Awaited<ReturnType<(typeof kind)['inject']>>;
  try {
    r = await kind[op](input.fault, { ...ctx, dryRun: input.dryRun });
  } finally {
    clearInterval(timer);
  }
  const at = r.at ?? new Date().toISOString();
  ctx.log(`fault.${op} ${input.fault.kind}: ${kind.describe(input.fault)}: ${r.changed ? (input.dryRun ? 'would change' : 'changed') : 'nothing to do'}`);
  return {
    kind: input.fault.kind,
    target: kind.describe(input.fault),
    changed: r.changed,
    dryRun: input.dryRun,
    at,
    ...(op === 'inject' ? { injectedAt: at } : { restoredAt: at }),
    details: r.details,
  };
}

export function planFault(op: 'inject' | 'restore', input: FaultActionInput): string {
  const kind = FAULT_KINDS[input.fault.kind];
  return `${input.dryRun ? 'dry run: ' : ''}${op === 'inject' ? 'inject' : 'restore'} fault ${input.fault.kind}: ${kind.describe(input.fault)}`;
}
