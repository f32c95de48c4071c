/**
 * FaultSpec: what a DR drill breaks, as a zod union discriminated on `kind`. One file per kind
 * implements it ({schema, describe, inject, restore}); adding a kind is a file plus one entry
 * in FAULT_KINDS.
 */
import { z } from 'zod';
import type { FaultKind } from './kind';
import openstackSim, { OpenStackSimFault } from './openstack-sim';
import sshService, { SshServiceFault } from './ssh-service';
import octaviaLb, { OctaviaLbFault } from './octavia-lb';
import networkCut, { NetworkCutFault } from './network-cut';

export { OpenStackSimFault, SshServiceFault, OctaviaLbFault, NetworkCutFault };

export const FaultSpec = z.discriminatedUnion('kind', [OpenStackSimFault, SshServiceFault, OctaviaLbFault, NetworkCutFault]).describe('The fault: kind openstack-sim | ssh-service | octavia-lb | network-cut, and its fields');
export type FaultSpec = z.output<typeof FaultSpec>;
export type FaultSpecInput = z.input<typeof FaultSpec>;

export const FAULT_KINDS: Record<FaultSpec['kind'], FaultKind> = {
  'openstack-sim': openstackSim as FaultKind,
  'ssh-service': sshService as FaultKind,
  'octavia-lb': octaviaLb as FaultKind,
  'network-cut': networkCut as FaultKind,
};

/** The input of fault.inject and fault.restore (the same, so a compensation can repeat the step's `with`). */
export const FaultActionInput = z.strictObject({
  fault: FaultSpec,
  dryRun: z.boolean().default(false).describe('Report what would change, change nothing'),
});
export type FaultActionInput = z.output<typeof FaultActionInput>;

export interface FaultResult {
  kind: FaultSpec['kind'];
  /** Human description of what the fault hits. */
  target: string;
  changed: boolean;
  dryRun: boolean;
  /** ISO time of the injection (inject) or restoration (restore). */
  at: string;
  injectedAt?: string;
  restoredAt?: string;
  details: Record<string, unknown>;
}
