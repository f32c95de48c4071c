/** Fault injection for DR drills: fault.inject and fault.restore over pluggable fault kinds. */
import type { ActionDefinition } from '../define';
import faultInject from './inject';
import faultRestore from './restore';

export { FaultSpec, FaultActionInput, FAULT_KINDS, OpenStackSimFault, SshServiceFault, OctaviaLbFault, NetworkCutFault, type FaultResult, type FaultSpecInput } from './spec';
export { simFaultLabel } from './openstack-sim';

export const FAULT_ACTIONS: readonly ActionDefinition[] = [faultInject as ActionDefinition, faultRestore as ActionDefinition];
