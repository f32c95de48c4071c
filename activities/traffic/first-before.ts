/** Honest diffs across retries of a changing action. */
import type { ActionContext } from '../define';

/**
 * The state a previous attempt of this step saw before it changed anything, so that a retry after
 * a change that did land still reports that change (best effort: from the last heartbeat).
 */
export function firstBefore<T>(ctx: Pick<ActionContext, 'heartbeat' | 'heartbeatDetails'>, before: T): T {
  const prev = ctx.heartbeatDetails<{ before?: T }>();
  if (prev && 'before' in prev) return prev.before as T;
  ctx.heartbeat({ before });
  return before;
}
