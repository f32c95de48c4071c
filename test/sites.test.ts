/**
 * Workers per site (issue 18): a step's `site:` sends its action to the workers serving that
 * site, and only there. Three workers on a real dev server: the run queue's, one for site b and
 * one for site c (sites-only). Each registers `test.where` answering with its own name, so where
 * an action ran is read from the outputs and from a journal the action appends to.
 */
import { mkdtempSync, readFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Worker } from '@temporalio/worker';
import { defineAction } from '../activities/define';
import { buildRegistry } from '../activities/registry';
import { createWorkers, runWorkers } from '../workers/worker';
import { validateRunbookText } from '../dsl/validate';
import { connectTestEnv, failureMessage, inputFor, runbookFrom, startRun, uniqueQueue, type TestEnv } from './helpers/temporal';

const where = (name: string) =>
  defineAction({
    name: 'test.where',
    description: 'Say which worker ran this; append "<key>=<worker>" to dir/where.log.',
    input: z.strictObject({ dir: z.string(), key: z.string() }),
    async run({ dir, key }) {
      appendFileSync(join(dir, 'where.log'), `${key}=${name}\n`);
      return { worker: name };
    },
  });
const boom = defineAction({
  name: 'test.boom',
  description: 'Always fails, not retryably.',
  input: z.strictObject({}),
  async run() {
    throw new Error('boom');
  },
});

let env: TestEnv;
let queue: string;
let dir: string;
const workers: Worker[] = [];
let running: Promise<void>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rw-sites-'));
  env = await connectTestEnv();
  queue = uniqueQueue('sites');
  const make = async (name: string, sites: string[], runQueue: boolean) => {
    const ws = await createWorkers({ connection: env.native, taskQueue: queue, registry: buildRegistry([where(name), boom]), sites, runQueue, tuning: { shutdownGraceTime: '1s' } });
    workers.push(...ws);
    running.push(runWorkers(ws));
  };
  await make('main', [], true);
  await make('near-b', ['b'], false);
  await make('near-c', ['c'], false);
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await Promise.allSettled(running);
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const journal = () => readFileSync(join(dir, 'where.log'), 'utf8').trim().split('\n');
const header = (name: string, extra = '') => `apiVersion: runwright/v1
kind: Runbook
metadata: { name: ${name} }
spec:
  params:
    dir: { type: string }
    cluster: { type: string, default: c }
${extra}  steps:
`;

test('each action runs on a worker of its site: none, a literal site, a site from params, a child runbook placed by its parent', async () => {
  const acts = [where('x'), boom];
  const child = runbookFrom(
    `${header('sites-child')}    - id: inner
      action: test.where
      with: { dir: "{{ params.dir }}", key: child }
`,
    acts,
  );
  const rb = runbookFrom(
    `${header('sites-main')}    - id: anywhere
      action: test.where
      with: { dir: "{{ params.dir }}", key: anywhere }
    - id: at-b
      site: b
      action: test.where
      with: { dir: "{{ params.dir }}", key: at-b }
    - id: at-param
      site: "{{ params.cluster }}"
      action: test.where
      with: { dir: "{{ params.dir }}", key: at-param }
    - id: child
      runbook: sites-child
      site: b
      with: { dir: "{{ params.dir }}" }
`,
    acts,
  );
  const h = await startRun(env, queue, inputFor(rb, { dir }, { children: { 'sites-child': child } }));
  const res = await h.result();
  expect(res.state).toBe('succeeded');
  expect(Object.fromEntries(['anywhere', 'at-b', 'at-param'].map((k) => [k, (res.outputs as any)[k].worker]))).toEqual({ anywhere: 'main', 'at-b': 'near-b', 'at-param': 'near-c' });
  expect(journal()).toEqual(['anywhere=main', 'at-b=near-b', 'at-param=near-c', 'child=near-b']);
}, 60_000);

test('spec.defaults.site places every step that names none; a compensation runs at its own site, else its step\'s', async () => {
  rmSync(join(dir, 'where.log'), { force: true });
  const rb = runbookFrom(
    `${header('sites-defaults', '  defaults: { site: b }\n')}    - id: first
      action: test.where
      with: { dir: "{{ params.dir }}", key: first }
      compensate:
        action: test.where
        with: { dir: "{{ params.dir }}", key: undo-first }
    - id: second
      site: c
      action: test.where
      with: { dir: "{{ params.dir }}", key: second }
      compensate:
        action: test.where
        site: b
        with: { dir: "{{ params.dir }}", key: undo-second }
    - id: fails
      site: c
      action: test.boom
`,
    [where('x'), boom],
  );
  const h = await startRun(env, queue, inputFor(rb, { dir }));
  expect(await failureMessage(h.result())).toMatch(/boom/);
  expect(journal()).toEqual(['first=near-b', 'second=near-c', 'undo-second=near-b', 'undo-first=near-b']);
}, 60_000);

test('a {{ }} site that renders to something that is not a site name fails the step with a clear message', async () => {
  const rb = runbookFrom(
    `${header('sites-bad')}    - id: at-param
      site: "{{ params.cluster }}"
      action: test.where
      with: { dir: "{{ params.dir }}", key: bad }
`,
    [where('x'), boom],
  );
  const h = await startRun(env, queue, inputFor(rb, { dir, cluster: 'Cluster B; rm -rf /' }));
  expect(await failureMessage(h.result())).toMatch(/site must be a site name .*got "Cluster B; rm -rf \/"/);
}, 60_000);

test('validate refuses a site that is not a site name, at its line and column', () => {
  const text = `${header('sites-invalid')}    - id: s
      site: Cluster_B
      action: core.log
      with: { message: hi }
`;
  const { runbook, diagnostics } = validateRunbookText('sites.yaml', text, { actions: buildRegistry() });
  expect(runbook).toBeUndefined();
  expect(diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([expect.stringMatching(/^10:13 .*expected a site name/)]);
});
