/**
 * The label that ties a fault's inject to its restore, and marks what inject changed (a label
 * on the stand-in's fault, a tag on the load balancer, a marker file on the host).
 *
 * An explicit `label` wins. Otherwise it is derived from the fault's content and, inside a
 * workflow, from the top run's workflow id: the inject step and its restore (a later step or a
 * compensation, possibly run by the parent of the child runbook that injected) find each other, while two drills running at
 * once with the same fault get labels of their own, so one drill's restore never undoes the
 * other's fault. Outside a workflow (an action run directly) the label is the content's alone.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The workflow id in an idempotency key (`${workflowId}:${activityId}`, activities/define.ts),
 * or undefined outside a workflow. The interpreter's activity ids are step paths (no ':') or
 * `compensate:<path>`, so the workflow id is what precedes them, even when it has ':' itself.
 */
export function workflowOf(idempotencyKey: string | undefined): string | undefined {
  const m = idempotencyKey ? /^(.+?):(?:compensate:)?[^:]*$/.exec(idempotencyKey) : null;
  return m && m[1] !== 'standalone' ? m[1] : undefined;
}

/** Content-only label: `rw-fault-<16 hex>` (what every drill with this fault shares). */
export function contentLabel(content: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(content).sort().filter((k) => content[k] !== undefined).map((k) => [k, content[k]]));
  return `rw-fault-${sha(canonical).slice(0, 16)}`;
}

/**
 * Whose fault it is: an action context (its rootWorkflowId, the top run's id, so a fault a child
 * runbook injected is found by the restore its parent runs as a compensation), or an idempotency
 * key (its workflow; contexts of runs started before rootWorkflowId was passed fall back to it).
 */
export type FaultOwner = string | { idempotencyKey?: string; rootWorkflowId?: string } | undefined;

const ownerOf = (o: FaultOwner): string | undefined =>
  typeof o === 'object' ? (o.rootWorkflowId ?? workflowOf(o.idempotencyKey)) : workflowOf(o);

/** `label` if given, else `rw-fault-<content hash>` plus `-<top workflow hash>` inside a workflow. */
export function faultLabel(content: Record<string, unknown>, owner: FaultOwner, label?: string): string {
  if (label) return label;
  const wf = ownerOf(owner);
  return wf ? `${contentLabel(content)}-${sha(wf).slice(0, 12)}` : contentLabel(content);
}

/** Labels other drills derived from the same content (same content hash, another workflow). */
export const sameContent = (content: Record<string, unknown>, label: string, other: string | undefined): boolean =>
  !!other && other !== label && (other === contentLabel(content) || other.startsWith(`${contentLabel(content)}-`));

/** The `label` field every fault kind has. */
export const Label = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
  .optional()
  .describe('Key tying inject to restore and marking what inject changed (default: derived from the fault\'s content and the workflow id)');
