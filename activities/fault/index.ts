/** Fault injection for DR drills: fault.inject and fault.restore over pluggable fault kinds. */
import { withDryRunSwitch, type ActionDefinition } from '../define';
import faultInject from './inject';
import faultRestore from './restore';

export { FaultSpec, FaultActionInput, FAULT_KINDS, OpenStackSimFault, SshServiceFault, OctaviaLbFault, NetworkCutFault, type FaultResult, type FaultSpecInput } from './spec';
export { simFaultLabel } from './openstack-sim';

export const FAULT_ACTIONS: readonly ActionDefinition[] = [withDryRunSwitch(faultInject as ActionDefinition, 'dryRun'), withDryRunSwitch(faultRestore as ActionDefinition, 'dryRun')];
