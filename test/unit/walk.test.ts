/** The one step-tree walker (dsl/walk.ts): shape, order, paths, and the steps that follow a gate. */
import { parse } from 'yaml';
import { childLists, eachStep, followingSteps, someStep } from '../../dsl/walk';

const steps = parse(`
- id: a
  action: core.log
- id: group
  steps:
    - id: b
      action: core.log
    - id: par
      parallel:
        - id: left
          steps:
            - id: gate
              approval: { message: ok }
            - id: c
              action: core.log
        - id: right
          action: core.log
- id: loop
  foreach: [1, 2]
  steps:
    - id: d
      action: core.log
- id: e
  sleep: 1s
- not a step
`);

test('eachStep visits every step once, parents first, in document order, with paths and depth', () => {
  const seen = [...eachStep<{ id: string }>(steps, ['spec', 'steps'])].map((v) => [v.step.id, v.path.join('.'), v.depth, v.parents.map((p) => p.id).join('>')]);
  expect(seen).toEqual([
    ['a', 'spec.steps.0', 0, ''],
    ['group', 'spec.steps.1', 0, ''],
    ['b', 'spec.steps.1.steps.0', 1, 'group'],
    ['par', 'spec.steps.1.steps.1', 1, 'group'],
    ['left', 'spec.steps.1.steps.1.parallel.0', 2, 'group>par'],
    ['gate', 'spec.steps.1.steps.1.parallel.0.steps.0', 3, 'group>par>left'],
    ['c', 'spec.steps.1.steps.1.parallel.0.steps.1', 3, 'group>par>left'],
    ['right', 'spec.steps.1.steps.1.parallel.1', 2, 'group>par'],
    ['loop', 'spec.steps.2', 0, ''],
    ['d', 'spec.steps.2.steps.0', 1, 'loop'],
    ['e', 'spec.steps.3', 0, ''],
  ]);
});

test('childLists names the slot of nested steps and ignores what is not a list', () => {
  expect(childLists(steps[1]).map((c) => [c.slot, c.steps.length])).toEqual([['steps', 2]]);
  expect(childLists(steps[1].steps[1]).map((c) => [c.slot, c.steps.length])).toEqual([['parallel', 2]]);
  expect(childLists({ id: 'x', steps: 'oops' })).toEqual([]);
  expect(childLists('not a step')).toEqual([]);
});

test('someStep finds a nested approval, and says no when there is none', () => {
  expect(someStep(steps, (s: any) => 'approval' in s)).toBe(true);
  expect(someStep(steps, (s: any) => 'runbook' in s)).toBe(false);
});

test('followingSteps: the rest of the gate\'s branch, then the enclosing lists; never a sibling branch', () => {
  const real = steps.slice(0, -1);
  const ids = (id: string) => followingSteps<{ id: string }>(real, id)?.map((s) => s.id);
  expect(ids('gate')).toEqual(['c', 'loop', 'e']);
  expect(ids('right')).toEqual(['loop', 'e']);
  expect(ids('b')).toEqual(['par', 'loop', 'e']);
  expect(ids('e')).toEqual([]);
  expect(ids('nope')).toBeUndefined();
});
