import { SiteConfigError, workerSites } from '../../lib/config';
import { siteTaskQueue } from '../../dsl/site';

test('--site values win over RUNWRIGHT_SITES; commas split, blanks and repeats dropped', () => {
  expect(workerSites(['b', 'c,b', ' '], { RUNWRIGHT_SITES: 'x' })).toEqual(['b', 'c']);
  expect(workerSites(undefined, { RUNWRIGHT_SITES: 'cluster-a, cluster-b' })).toEqual(['cluster-a', 'cluster-b']);
  expect(workerSites(undefined, {})).toEqual([]);
});

test('a site that is not a DNS label is refused, naming where it came from', () => {
  expect(() => workerSites(['Cluster_B'], {})).toThrow(SiteConfigError);
  expect(() => workerSites(undefined, { RUNWRIGHT_SITES: 'ok,-bad' })).toThrow(/"-bad": expected a site name .* in RUNWRIGHT_SITES/);
});

test("a site's actions get a queue of their own beside the run's", () => {
  expect(siteTaskQueue('runwright', 'cluster-b')).toBe('runwright@cluster-b');
});
