import { describe, expect, it } from '@jest/globals';
import { describeEvent, readEventStream } from './event-stream.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

describe('readEventStream', () => {
  it('parses events split across chunks, skips comments and data-less events, and reports every id', async () => {
    const ids: string[] = [];
    const events = [];
    for await (const event of readEventStream(
      chunks(': live\nid: a1\nretry: 3000\n\nevent: mess', 'age\nid: a2\ndata: {"handle":"bayko",', '"message":"hi"}\n\n:\n\n'),
      (id) => ids.push(id),
    )) {
      events.push(event);
    }

    expect(events).toEqual([{ type: 'message', id: 'a2', data: '{"handle":"bayko","message":"hi"}' }]);
    expect(ids).toEqual(['a1', 'a2']);
  });
});

describe('describeEvent', () => {
  it('prints one line per event', () => {
    const at = new Date('2026-12-01T12:00:05Z');

    expect(describeEvent({ type: 'message', data: '{"handle":"bayko","message":"hi","message_group_uuid":"g1"}' }, at)).toBe(
      '12:00:05  message        @bayko: hi  (g1)',
    );
    expect(describeEvent({ type: 'read', data: '{"message_group_uuid":"g1","other_last_read_at":"t"}' }, at)).toBe(
      '12:00:05  read           seen up to t  (g1)',
    );
    expect(describeEvent({ type: 'resync', data: '{"reason":"slow_consumer"}' }, at)).toBe('12:00:05  resync  {"reason":"slow_consumer"}');
  });
});
