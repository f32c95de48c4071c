/** `fault.restore`: undo a fault; succeeds when it is already gone or was never injected. */
import { defineAction } from '../define';
import { FaultActionInput } from './spec';
import { planFault, runFault } from './run';

export default defineAction({
  name: 'fault.restore',
  description: 'Restore what fault.inject broke (same fault spec); idempotent, safe when the fault is gone or was never injected.',
  input: FaultActionInput,
  run: (input, ctx) => runFault('restore', input, ctx),
  plan: (input) => planFault('restore', input),
});
