import { describe, expect, it } from '@jest/globals';
import type { MessageEvent } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { Subscriber } from 'rxjs';
import { formatTimestamp } from '../dynamodb/timestamp.js';
import type { LiveEvent } from './live-event.js';
import { LiveStream } from './live-stream.js';

const start = Date.parse('2026-12-01T12:00:00Z') * 1000;

function message(i: number): LiveEvent {
  const created_at = formatTimestamp(start + i);
  return {
    type: 'message',
    audience: ['u'],
    key: `message:m${i}`,
    position: created_at,
    data: { message_group_uuid: 'g', uuid: `m${i}`, display_name: 'A', handle: 'a', message: `${i}`, created_at },
  };
}

function stream() {
  const response = Object.assign(new EventEmitter(), { writableNeedDrain: false }) as unknown as ServerResponse;
  const live = new LiveStream({
    user_uuid: 'u',
    expiresAt: Date.now() + 3_600_000,
    position: start,
    bufferEvents: 10_000,
    retryMs: 3000,
    response,
    onClose: () => undefined,
  });
  const sent: MessageEvent[] = [];
  live.attach({ next: (event: MessageEvent) => sent.push(event), complete: () => undefined } as unknown as Subscriber<MessageEvent>);
  const uuids = () => sent.filter((e) => e.type === 'message').map((e) => (e.data as { uuid: string }).uuid);
  return { live, uuids };
}

describe('LiveStream', () => {
  it('sends a live event held during the replay once, however many events the replay sent before it', () => {
    const { live, uuids } = stream();
    const replayed = Array.from({ length: 300 }, (_, i) => message(i));
    // Projected just before the replay read the table: both in the replay and held from the live feed.
    live.deliver(message(0));
    live.deliver(message(300));

    live.goLive(replayed, undefined);

    expect(uuids()).toEqual([...Array.from({ length: 300 }, (_, i) => `m${i}`), 'm300']);
    live.close();
  });
});
