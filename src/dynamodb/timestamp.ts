/**
 * Message timestamps as stored in `sk`: exactly the original Cruddur form,
 * `2023-03-28T21:02:11.141577+00:00` (six fractional digits, `+00:00`), so that string order is
 * time order. Older tools also wrote `2023-04-05T18:27:02.123456` (no offset) and forms without
 * microseconds; those are read as UTC.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|\+00:?00)?$/;

/** Microseconds since the epoch. */
export type Micros = number;

export function formatTimestamp(micros: Micros): string {
  const ms = Math.floor(micros / 1000);
  const fraction = String(micros - ms * 1000).padStart(3, '0');
  const iso = new Date(ms).toISOString(); // 2023-03-28T21:02:11.141Z
  return `${iso.slice(0, 23)}${fraction}+00:00`;
}

export function parseTimestamp(value: string): Micros | undefined {
  const m = TIMESTAMP.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  if (Number.isNaN(ms)) return undefined;
  const check = new Date(ms);
  if (check.getUTCDate() !== +d || check.getUTCMonth() !== +mo - 1) return undefined; // 2023-02-30
  return ms * 1000 + Number(frac.padEnd(6, '0'));
}

export function isTimestamp(value: string): boolean {
  return parseTimestamp(value) !== undefined;
}

/** Now, with microsecond resolution (the wall clock plus the monotonic clock's fraction). */
export function nowMicros(): Micros {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
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
