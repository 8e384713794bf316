import { describe, expect, it } from '@jest/globals';
import { parseTimestamp } from '../dynamodb/timestamp.js';
import { eventIdOf, positionOfEventId } from './live-event.js';

describe('event ids', () => {
  it('name a microsecond position, and order as the positions do', () => {
    const a = parseTimestamp('2026-12-01T12:00:00.000001+00:00')!;
    const b = parseTimestamp('2026-12-01T12:00:00.000002+00:00')!;

    expect(positionOfEventId(eventIdOf(a))).toBe(a);
    expect(positionOfEventId(eventIdOf(b))! - positionOfEventId(eventIdOf(a))!).toBe(1);
  });

  it.each(['', 'ABC', 'hoo8-vqyk', '1', 'zzzzzzzzzzzz', '0'.repeat(13), ' hoo8vqyk5h'])('refuses %p, which this API never made', (id) => {
    expect(positionOfEventId(id)).toBeUndefined();
  });
});
