/**
 * The actions of a rehearsal worker (`runwright rehearse`): a run on a twin of a real cloud must
 * change nothing real. OpenStack actions run for real, against the twin (the only cloud this
 * worker's clouds.yaml names); actions that only read, wait or log run as they are; every other
 * action (hosts over SSH, Alertmanager, Zabbix, Slack, Kubernetes, fault injection, Ansible) runs
 * its dry run instead: check mode with diff, the same answer a live plan gets, and its outputs
 * say so (`rehearsed: "dry-run"`). An action with no dry run is skipped, never run.
 */
import type { ActionContext, ActionDefinition } from '../activities/define';
import { buildRegistry, type ActionRegistry } from '../activities/registry';

export type RehearsalMode = 'twin' | 'as-is' | 'dry-run' | 'skipped';

/** How a rehearsal runs an action: on the twin, as it is (read-only), as its dry run, or not at all. */
export function rehearsalMode(def: ActionDefinition): RehearsalMode {
  if (def.name.startsWith('openstack.')) return 'twin';
  if (def.readOnly && !def.name.startsWith('fault.')) return 'as-is';
  return def.dryRun ? 'dry-run' : 'skipped';
}

/** Called before a step's action runs (its path), e.g. to inject a fault exactly there. */
export type BeforeStep = (path: string) => void;

/** The step path of an activity: its id (the interpreter uses the step path as activityId). */
function stepPath(ctx: ActionContext): string {
  const wf = ctx.workflow?.workflowId;
  return wf && ctx.idempotencyKey.startsWith(`${wf}:`) ? ctx.idempotencyKey.slice(wf.length + 1) : ctx.idempotencyKey;
}

function rehearsed(def: ActionDefinition, before: BeforeStep): ActionDefinition {
  const mode = rehearsalMode(def);
  if (mode === 'twin' || mode === 'as-is')
    return {
      ...def,
      run: async (input, ctx) => {
        before(stepPath(ctx));
        return def.run(input, ctx);
      },
    };
  if (mode === 'skipped')
    return {
      ...def,
      run: async () => ({ changed: false, rehearsed: 'skipped', summary: `${def.name} has no dry run: not run in a rehearsal` }),
    };
  const dry = def.dryRun!.bind(def);
  return {
    ...def,
    // A compensation of such a step is rehearsed the same way (its inverse is wrapped too).
    run: async (input, ctx) => {
      before(stepPath(ctx));
      const r = await dry(input, ctx);
      return { changed: r.changed, rehearsed: 'dry-run', effect: r.effect, summary: r.summary, ...(r.diff !== undefined ? { diff: r.diff } : {}) };
    },
  };
}

/** The worker's registry for a rehearsal: every action wrapped by its mode. */
export function rehearsalRegistry(extra: readonly ActionDefinition[] = [], before: BeforeStep = () => {}): ActionRegistry {
  return new Map([...buildRegistry(extra).values()].map((d) => [d.name, rehearsed(d, before)]));
}
