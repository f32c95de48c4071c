/** `fault.inject`: break something on purpose for a DR drill; idempotent (a retry finds the fault it made). */
import { defineAction } from '../define';
import { FaultActionInput } from './spec';
import { planFault, runFault } from './run';

export default defineAction({
  name: 'fault.inject',
  description: 'Inject a fault for a DR drill (openstack-sim, ssh-service, octavia-lb, network-cut); idempotent; pair with compensate: fault.restore and the same fault.',
  input: FaultActionInput,
  run: (input, ctx) => runFault('inject', input, ctx),
  plan: (input) => planFault('inject', input),
});
