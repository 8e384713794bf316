/**
 * Message timestamps as stored in `sk`. This project writes exactly the original Cruddur form,
 * `2023-03-28T21:02:11.141577+00:00` (six fractional digits, `+00:00`), so that what it writes sorts
 * by time as a string.
 *
 * It reads every form the original tools wrote. Run on a laptop they stamp the machine's local
 * offset (`datetime.now(timezone.utc).astimezone().isoformat()`): `2023-03-28T16:02:11.141577-05:00`,
 * `…+09:00`, `…+05:30`, and without microseconds when they were zero (`2023-03-28T16:02:11-05:00`);
 * older tools wrote no offset at all (`2023-04-05T18:27:02.123456`), which is read as UTC. The
 * grammar: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1-6 digits, then nothing (UTC), `Z`, or a
 * sign and `HH:MM` (also `HHMM`) with hours 00-23 and minutes 00-59. Refused: an offset of hours
 * only (`-05`), with seconds (`+05:30:15`), of 24 hours or more (`+24:00`), a lower-case `z`, more
 * than six fractional digits, hour 24, second 60, and dates that do not exist. `-00:00` is read as
 * UTC (RFC 3339's "offset unknown"). A value is read as its instant; stored strings with different
 * offsets do not sort by time, so compare them with `compareTimestamps`.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/;

/** Microseconds since the epoch. */
export type Micros = number;

export function formatTimestamp(micros: Micros): string {
  const ms = Math.floor(micros / 1000);
  const fraction = String(micros - ms * 1000).padStart(3, '0');
  const iso = new Date(ms).toISOString(); // 2023-03-28T21:02:11.141Z
  return `${iso.slice(0, 23)}${fraction}+00:00`;
}

/**
 * The instants the stored form can write: years 0000 to 9999, UTC (to the last whole second: that
 * far from 1970 a double counts microseconds in steps of 32, and the last ones would round up into
 * the year 10000).
 */
const FIRST_MICROS = Date.parse('0000-01-01T00:00:00.000Z') * 1000;
const LAST_MICROS = Date.parse('9999-12-31T23:59:59.000Z') * 1000;

export function parseTimestamp(value: string): Micros | undefined {
  const m = TIMESTAMP.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', , sign, offsetHours, offsetMinutes] = m;
  if (+h > 23 || +mi > 59 || +s > 59) return undefined;
  if (sign && (+offsetHours > 23 || +offsetMinutes > 59)) return undefined;
  // setUTCFullYear, unlike Date.UTC, keeps the years 0-99 as written.
  const date = new Date(0);
  date.setUTCFullYear(+y, +mo - 1, +d);
  if (date.getUTCFullYear() !== +y || date.getUTCMonth() !== +mo - 1 || date.getUTCDate() !== +d) return undefined; // 2023-02-30
  date.setUTCHours(+h, +mi, +s, 0);
  const offsetMs = sign ? (sign === '-' ? -1 : 1) * (+offsetHours * 60 + +offsetMinutes) * 60_000 : 0;
  const micros = (date.getTime() - offsetMs) * 1000 + Number(frac.padEnd(6, '0'));
  // An instant the stored form cannot write (9999-12-31T23:59:59-05:00 is in the year 10000) is not one.
  return micros >= FIRST_MICROS && micros <= LAST_MICROS ? micros : undefined;
}

export function isTimestamp(value: string): boolean {
  return parseTimestamp(value) !== undefined;
}

/** The wall clock's reading when the monotonic clock read 0, in µs; moved when the two drift apart. */
let anchor = Date.now() * 1000 + 500 - performance.now() * 1000;
let lastMicros = 0;

/**
 * Now, in microseconds: the monotonic clock, anchored to the wall clock and re-anchored when the
 * two drift more than 2 ms apart (a suspend, a clock step; the wall clock reads whole
 * milliseconds), so it follows the system clock; always more than the previous reading of this
 * process.
 */
export function nowMicros(): Micros {
  const monotonic = performance.now() * 1000;
  const wall = Date.now() * 1000;
  if (Math.abs(anchor + monotonic - wall) > 2000) anchor = wall + 500 - monotonic;
  // Strictly increasing: after a clock step back, readings go on 1 µs apart, not all the same.
  lastMicros = Math.max(Math.floor(anchor + monotonic), lastMicros + 1);
  return lastMicros;
}

export function nowTimestamp(): string {
  return formatTimestamp(nowMicros());
}

/** The canonical timestamp one microsecond after `value` (used to resolve `sk` collisions). */
export function nextMicrosecond(value: string): string {
  const micros = parseTimestamp(value);
  if (micros === undefined) throw new RangeError(`not a timestamp: ${value}`);
  return formatTimestamp(micros + 1);
}

/** Compares two stored timestamps by time, whatever form each was written in. */
export function compareTimestamps(a: string, b: string): number {
  const x = parseTimestamp(a) ?? Number.NEGATIVE_INFINITY;
  const y = parseTimestamp(b) ?? Number.NEGATIVE_INFINITY;
  return x === y ? 0 : x < y ? -1 : 1;
}
