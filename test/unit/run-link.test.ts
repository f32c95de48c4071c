/** Links to a run (CLI output, Slack cards): the console when one is configured, else Temporal's UI. */
import { runLink } from '../../lib/config';

test('RUNWRIGHT_CONSOLE_URL: the console run page, id escaped, trailing slash tolerated', () => {
  expect(runLink('default', 'deploy-1/x', { RUNWRIGHT_CONSOLE_URL: 'https://rw.example/' })).toBe('https://rw.example/#/runs/deploy-1%2Fx');
});

test("no console: Temporal's UI (RUNWRIGHT_UI_URL, else the local default)", () => {
  expect(runLink('prod', 'r1', { RUNWRIGHT_UI_URL: 'https://temporal.example' })).toBe('https://temporal.example/namespaces/prod/workflows/r1');
  expect(runLink('default', 'r1', {})).toBe('http://localhost:8233/namespaces/default/workflows/r1');
});
