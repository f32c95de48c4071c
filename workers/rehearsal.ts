/**
 * The actions of a rehearsal worker (`runwright rehearse`): a run on a twin of a real cloud must
 * change nothing real. OpenStack actions run for real, against the twin (the only cloud this
 * worker's clouds.yaml names), and so do traffic.shift's Octavia backends; actions that only
 * read, wait or log run as they are; every other
 * action (hosts over SSH, Alertmanager, Zabbix, Slack, Kubernetes, fault injection, Ansible) runs
 * its dry run instead: check mode with diff, the same answer a live plan gets, and its outputs
 * say so (`rehearsed: "dry-run"`). An action with no dry run is skipped, never run.
 */
import type { ActionContext, ActionDefinition } from '../activities/define';
import { buildRegistry, type ActionRegistry } from '../activities/registry';

/** twin: on the twin; mixed: traffic.shift, Octavia on the twin and DNS/HAProxy as dry runs. */
export type RehearsalMode = 'twin' | 'mixed' | 'as-is' | 'dry-run' | 'skipped';

/** How a rehearsal runs an action: on the twin, as it is (read-only), as its dry run, or not at all. */
export function rehearsalMode(def: ActionDefinition): RehearsalMode {
  if (def.name === 'traffic.shift') return 'mixed';
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

/**
 * traffic.shift steers DNS, HAProxy and Octavia at once: its Octavia backends are OpenStack (the
 * twin), so they shift for real there; the others run with the action's own dryRun switch.
 */
function rehearsedShift(def: ActionDefinition, before: BeforeStep): ActionDefinition {
  type Out = { changed: boolean; backends?: Record<string, unknown>[] } & Record<string, unknown>;
  return {
    ...def,
    run: async (input, ctx) => {
      before(stepPath(ctx));
      const i = input as { backends: { kind: string }[]; dryRun?: boolean };
      const twin = i.backends.filter((b) => b.kind === 'octavia');
      const rest = i.backends.filter((b) => b.kind !== 'octavia');
      const a = twin.length ? ((await def.run({ ...i, backends: twin }, ctx)) as Out) : undefined;
      const b = rest.length ? ((await def.run({ ...i, backends: rest, dryRun: true }, ctx)) as Out) : undefined;
      const backends = [...(a?.backends ?? []), ...(b?.backends ?? []).map((x) => ({ ...x, rehearsed: 'dry-run' }))];
      return { ...(a ?? b), changed: !!(a?.changed || b?.changed), backends, rehearsed: rest.length ? (twin.length ? 'octavia on the twin; dns and haproxy as dry runs' : 'dry-run') : 'twin' };
    },
  };
}

function rehearsed(def: ActionDefinition, before: BeforeStep): ActionDefinition {
  if (def.name === 'traffic.shift') return rehearsedShift(def, before);
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
