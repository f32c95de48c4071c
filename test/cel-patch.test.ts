/**
 * A run's CEL engine is chosen once, by the `runwright-cel-bufbuild-v1` patch, and kept for the
 * whole run, across continue-as-new: a new run is on @bufbuild/cel (`1.0 == 1` is true; cel-js
 * throws). Runs recorded before the patch replay on cel-js (test/replay.test.ts).
 */
import { CEL_ENGINE_PATCH } from '../dsl/expr';
import { inputFor, runbookFrom, startRun, useTestWorker } from './helpers/temporal';

const t = useTestWorker('cel-patch');

const steps = (n: number) =>
  Array.from({ length: n }, (_, i) => `    - id: s${i}\n      action: core.noop\n      with: { value: "{{ ${i % 2 ? '[1] == [1.0]' : '1.0 == 1'} }}" }\n`).join('');

test('a new run records the patch and evaluates with @bufbuild/cel, also after continue-as-new', async () => {
  const rb = runbookFrom(`apiVersion: runwright/v1\nkind: Runbook\nmetadata: { name: cel-patch }\nspec:\n  steps:\n${steps(6)}`);
  const h = await startRun(t.env, t.queue, inputFor(rb, {}, { continueAsNewAfterEvents: 12 }));
  const res = await h.result();
  for (let i = 0; i < 6; i++) expect(res.outputs[`s${i}`]).toEqual({ value: true, changed: false });

  const first = await t.env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory();
  const markers = (first.events ?? [])
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .flatMap((m) => Object.values(m!.details ?? {}).flatMap((d) => (d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString())));
  expect(markers.some((d) => d.includes(CEL_ENGINE_PATCH))).toBe(true);
  // The run was continued (the last steps ran in a later execution, on the carried engine).
  const last = await h.describe();
  expect(last.runId).not.toBe(h.firstExecutionRunId);
});
