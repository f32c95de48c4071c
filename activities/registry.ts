/**
 * The action registry: the one list of built-in action modules. The worker registers each as a
 * Temporal activity named after the action; the validator checks `with:` against its schema.
 */
import type { ActionDefinition } from './define';
import { toActivity } from './define';
import { approvalActivities } from './approval';
import coreLog from './core/log';
import coreSleep from './core/sleep';
import coreNoop from './core/noop';
import coreAssert from './core/assert';
import notifySlack from './notify/slack';
import httpRequest from './http/request';
import { CAPI_ACTIONS } from './capi';
import { HOST_ACTIONS } from './host';
import { TRAFFIC_ACTIONS } from './traffic';
import { PROBE_ACTIONS } from './probe';
import { OPENSTACK_ACTIONS } from './openstack';
import { FAULT_ACTIONS } from './fault';
import { QUIET_ACTIONS } from './quiet';
import { DRILL_GUARD } from './drill/guard';
import drillReport from './drill/report';
import ansiblePlaybook from './ansible/playbook';

export const BUILTIN_ACTIONS: readonly ActionDefinition[] = [coreLog, coreSleep, coreNoop, coreAssert, notifySlack, httpRequest, ...HOST_ACTIONS, ...TRAFFIC_ACTIONS, ...PROBE_ACTIONS, ...CAPI_ACTIONS, ...OPENSTACK_ACTIONS, ...FAULT_ACTIONS, ...QUIET_ACTIONS, DRILL_GUARD, drillReport, ansiblePlaybook as ActionDefinition];

export type ActionRegistry = ReadonlyMap<string, ActionDefinition>;

export function buildRegistry(extra: readonly ActionDefinition[] = []): ActionRegistry {
  const map = new Map<string, ActionDefinition>();
  for (const a of [...BUILTIN_ACTIONS, ...extra]) {
    if (map.has(a.name)) throw new Error(`action "${a.name}" is defined twice`);
    map.set(a.name, a);
  }
  return map;
}

/** Activities object for Worker.create: one activity per action, named after it. */
export function activitiesFor(registry: ActionRegistry): Record<string, (input: unknown) => Promise<unknown>> {
  return { ...Object.fromEntries([...registry.values()].map((a) => [a.name, toActivity(a)])), ...approvalActivities(registry) };
}

/** Load user action modules (`runwright worker --actions ./my-actions.js`): default export or `actions` array. */
export function loadActionModules(paths: readonly string[]): ActionDefinition[] {
  const out: ActionDefinition[] = [];
  for (const p of paths) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(require.resolve(p, { paths: [process.cwd()] }));
    const found = mod.actions ?? mod.default ?? mod;
    for (const a of Array.isArray(found) ? found : [found]) {
      if (!a || typeof a.name !== 'string' || typeof a.run !== 'function' || !a.input) throw new Error(`${p}: does not export Runwright actions (defineAction results)`);
      out.push(a);
    }
  }
  return out;
}
