import { describe, expect, it } from '@jest/globals';
import { compareTimestamps, formatTimestamp, isTimestamp, nextMicrosecond, nowMicros, parseTimestamp } from './timestamp.js';

/** Microseconds since the epoch of an instant given in UTC. */
const utc = (iso: string, micros = 0) => Date.parse(iso) * 1000 + micros;

describe('parseTimestamp', () => {
  it('reads the form this project writes: six fractional digits, +00:00', () => {
    expect(parseTimestamp('2023-03-28T21:02:11.141577+00:00')).toBe(utc('2023-03-28T21:02:11Z', 141577));
  });

  it.each([
    ['2023-03-28T16:02:11.141577-05:00', utc('2023-03-28T21:02:11Z', 141577)],
    ['2023-03-29T06:02:11.141577+09:00', utc('2023-03-28T21:02:11Z', 141577)],
    ['2023-03-29T02:32:11.141577+05:30', utc('2023-03-28T21:02:11Z', 141577)],
    ['2023-03-28T21:02:11.141577Z', utc('2023-03-28T21:02:11Z', 141577)],
    ['2023-03-28T16:02:11-05:00', utc('2023-03-28T21:02:11Z')],
    ['2023-03-28T21:02:11+00:00', utc('2023-03-28T21:02:11Z')],
    ['2023-03-28T21:02:11', utc('2023-03-28T21:02:11Z')],
    ['2023-03-28T21:02:11.141577', utc('2023-03-28T21:02:11Z', 141577)],
    ['2023-03-28T21:02:11-00:00', utc('2023-03-28T21:02:11Z')],
    ['2023-03-28T16:02:11-0500', utc('2023-03-28T21:02:11Z')],
  ])('reads %s (an offset the original tools can write) as its instant', (value, micros) => {
    expect(parseTimestamp(value)).toBe(micros);
  });

  it('reads one to six fractional digits as a fraction of a second', () => {
    expect(
      ['.1', '.12', '.123', '.1234', '.12345', '.123456'].map(
        (f) => parseTimestamp(`2023-03-28T16:02:11${f}-05:00`)! - utc('2023-03-28T21:02:11Z'),
      ),
    ).toEqual([100000, 120000, 123000, 123400, 123450, 123456]);
  });

  it('crosses day, month and year boundaries when it moves an offset to UTC', () => {
    expect(parseTimestamp('2023-12-31T20:00:00.000000-05:00')).toBe(utc('2024-01-01T01:00:00Z'));
    expect(parseTimestamp('2024-03-01T08:59:59.999999+09:00')).toBe(utc('2024-02-29T23:59:59Z', 999999));
    expect(parseTimestamp('2024-02-29T23:00:00+23:59')).toBe(utc('2024-02-28T23:01:00Z'));
  });

  it.each([
    ['an offset of 24 hours or more', '2023-03-28T16:02:11+24:00'],
    ['offset minutes over 59', '2023-03-28T16:02:11+05:60'],
    ['an offset of hours only', '2023-03-28T16:02:11-05'],
    ['an offset with seconds', '2023-03-28T16:02:11+05:30:15'],
    ['an offset without a sign', '2023-03-28T16:02:11 05:00'],
    ['a lower-case z', '2023-03-28T16:02:11z'],
    ['seven fractional digits', '2023-03-28T16:02:11.1234567-05:00'],
    ['a dot without digits', '2023-03-28T16:02:11.-05:00'],
    ['a day that does not exist', '2023-02-29T16:02:11-05:00'],
    ['hour 24', '2023-03-28T24:00:00+00:00'],
    ['minute 60', '2023-03-28T16:60:00+00:00'],
    ['second 60', '2023-03-28T16:02:60+00:00'],
    ['a space for the T', '2023-03-28 16:02:11+00:00'],
    ['no seconds', '2023-03-28T16:02-05:00'],
    ['trailing text', '2023-03-28T16:02:11-05:00x'],
    ['an empty string', ''],
  ])('refuses %s (%s)', (_why, value) => {
    expect(parseTimestamp(value)).toBeUndefined();
    expect(isTimestamp(value)).toBe(false);
  });

  it.each([
    ['past the year 9999 in UTC', '9999-12-31T23:59:59-05:00'],
    ['before the year 0000 in UTC', '0000-01-01T00:00:00+05:00'],
  ])('refuses an instant the stored form cannot write: %s (%s)', (_why, value) => {
    expect(parseTimestamp(value)).toBeUndefined();
  });

  it('reads the first and the last instant the stored form writes', () => {
    for (const value of ['0000-01-01T00:00:00.000000+00:00', '9999-12-31T23:59:59.000000+00:00'])
      expect(formatTimestamp(parseTimestamp(value)!)).toBe(value);
  });

  it('keeps years before 100 as written (no 19xx mapping)', () => {
    expect(new Date(parseTimestamp('0099-01-01T00:00:00+00:00')! / 1000).getUTCFullYear()).toBe(99);
  });
});

describe('compareTimestamps', () => {
  it('compares by instant across offsets, not by string', () => {
    const minus5 = '2023-03-28T16:02:11.141577-05:00'; // 21:02:11 UTC
    const plus9 = '2023-03-29T06:02:11.141578+09:00'; // one microsecond later
    const utcEarlier = '2023-03-28T21:00:00.000000+00:00';

    expect(compareTimestamps(minus5, utcEarlier)).toBe(1);
    expect(compareTimestamps(utcEarlier, minus5)).toBe(-1);
    expect(compareTimestamps(plus9, minus5)).toBe(1);
    expect(compareTimestamps('2023-03-28T16:02:11-05:00', '2023-03-29T06:02:11+09:00')).toBe(0);
    expect(compareTimestamps('2023-03-28T16:02:11-05:00', '2023-03-28T21:02:11')).toBe(0);
  });
});

describe('what this project writes', () => {
  it('is always +00:00 with six fractional digits, also one microsecond after an offset-stamped time', () => {
    expect(formatTimestamp(utc('2023-03-28T21:02:11Z', 5))).toBe('2023-03-28T21:02:11.000005+00:00');
    expect(nextMicrosecond('2023-03-28T16:02:11-05:00')).toBe('2023-03-28T21:02:11.000001+00:00');
  });
});

describe('nowMicros', () => {
  it('follows the wall clock (not a clock fixed when the process started) and always moves forward', () => {
    // 2,000 readings: each at least 1 µs after the one before, so at most 2 ms ahead of the clock.
    const readings = Array.from({ length: 2_000 }, () => [Date.now(), nowMicros(), Date.now()]);

    for (const [before, micros, after] of readings) {
      expect(Math.floor(micros / 1000)).toBeGreaterThanOrEqual(before - 3);
      expect(Math.floor(micros / 1000)).toBeLessThanOrEqual(after + 3);
    }
    const micros = readings.map(([, m]) => m);
    expect(micros.every((m, i) => i === 0 || m > micros[i - 1])).toBe(true);
  });
});
