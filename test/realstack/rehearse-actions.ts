/**
 * Actions for the upgrade rehearsal against the real stack (test/realstack/rehearse.test.ts),
 * loaded by the CLI with `--actions`: the inventory lookup and the SSH package upgrade of
 * runbooks/openstack-upgrade.yaml's compute phase, as test/realstack/upgrade.test.ts stands them in.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { defineAction } from '../../activities/define';

const ROOT = join(__dirname, '..', '..');
const STATE_DIR = process.env.RUNWRIGHT_REALSTACK_DIR || '/var/tmp/runwright-realstack';

export const actions = [
  defineAction({
    name: 'realstack.computes',
    description: 'The compute hosts of the real stack (stands for the inventory lookup).',
    input: z.strictObject({}),
    readOnly: true,
    run: async () => ({ hosts: ['compute-1', 'compute-2'] }),
  }),
  defineAction({
    name: 'realstack.restart-compute',
    description: "Restart a host's nova-compute process (stands for the package upgrade and restart over SSH).",
    input: z.strictObject({ host: z.string() }),
    dryRun: async ({ host }) => ({ changed: true, effect: 'change', summary: `would restart nova-compute on ${host}` }),
    run: async ({ host }) => {
      const name = `nova-compute-${host.replace(/^compute-/, '')}`;
      await promisify(execFile)(join(ROOT, 'scripts', 'realstack'), ['restart', name], { env: { ...process.env, RUNWRIGHT_REALSTACK_DIR: STATE_DIR }, timeout: 240_000 });
      return { host, changed: true };
    },
  }),
];
