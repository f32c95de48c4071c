/**
 * Sites: where a step's actions run. A site is served by workers near it (`runwright worker
 * --site NAME`); a step names it with `site:` (or spec.defaults.site). Workflows stay on the
 * run's task queue; a site's actions go to a task queue of their own, derived here, in one place.
 */

/** A site's name: a DNS label, as in `site: cluster-b`. */
export const SITE_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The task queue of a site's actions: the run's own queue, `@`, the site. */
export function siteTaskQueue(runQueue: string, site: string): string {
  return `${runQueue}@${site}`;
}
