/** The one duration grammar (dsl/duration.ts): pure, no Temporal. */
import { z } from 'zod';
import { DURATION_RE, durationMs, goDurationMs, isDuration, msField, msOf, parseDurationMs, toMs } from '../../dsl/duration';
import { Duration as RunbookDuration } from '../../dsl/schema';
import { Duration as OpenStackDuration, ms as openstackMs } from '../../activities/openstack/common';
import { DurationText, durationMs as capiDurationMs } from '../../activities/capi/kube';
import { DURATION_PATTERN, msOf as workflowMsOf } from '../../dsl/duration';

describe('duration grammar', () => {
  const good: Array<[string, number]> = [
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['4h', 14_400_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1_500],
  ];
  const bad = ['', '30', 's', '1x', '-1s', '1h 30m', ' 30s', '30s ', '1.s', '{{ params.x }}'];

  test.each(good)('%s is %d ms', (text, ms) => {
    expect(isDuration(text)).toBe(true);
    expect(durationMs(text)).toBe(ms);
    expect(parseDurationMs(text)).toBe(ms);
    expect(toMs(text)).toBe(ms);
    expect(msOf(text)).toBe(ms);
  });

  test.each(bad)('%j is refused', (text) => {
    expect(isDuration(text)).toBe(false);
    expect(() => durationMs(text)).toThrow(/not a duration/);
  });

  test('numbers pass through toMs; parseDurationMs rounds', () => {
    expect(toMs(1234)).toBe(1234);
    expect(durationMs('0.5ms')).toBe(0.5);
    expect(parseDurationMs('1.6ms')).toBe(2);
  });

  test('1h30m is accepted by every field that takes a duration', () => {
    expect(RunbookDuration.parse('1h30m')).toBe('1h30m');
    expect(openstackMs(OpenStackDuration.parse('1h30m'))).toBe(5_400_000);
    expect(capiDurationMs(DurationText.parse('1h30m'))).toBe(5_400_000);
    expect(msField(0, 86_400_000).parse('1h30m')).toBe(5_400_000);
    expect(workflowMsOf('1h30m')).toBe(5_400_000);
    expect(DURATION_PATTERN).toBe(DURATION_RE);
  });

  test('every field refuses what the grammar refuses', () => {
    for (const schema of [RunbookDuration, OpenStackDuration, DurationText, msField(0, 1e9)] as z.ZodType[]) {
      for (const text of bad) expect(schema.safeParse(text).success).toBe(false);
    }
  });

  test('msField keeps its bounds', () => {
    expect(msField(10, 1000).safeParse('5ms').success).toBe(false);
    expect(msField(10, 1000).safeParse('2s').success).toBe(false);
    expect(msField(10, 1000).parse(500)).toBe(500);
  });

  test("Temporal's @every grammar stays Temporal's (wider, for the schedule checker only)", () => {
    expect(goDurationMs('1h30m')).toBe(5_400_000);
    expect(goDurationMs('.5s')).toBe(500);
    expect(goDurationMs('-1s')).toBe(-1000);
    expect(goDurationMs('0')).toBe(0);
    expect(goDurationMs('1x')).toBeUndefined();
  });
});
