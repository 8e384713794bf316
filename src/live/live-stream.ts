import type { MessageEvent } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Subscriber } from 'rxjs';
import { eventIdOf, positionOf, type LiveEvent } from './live-event.js';

/** How many delivered event keys a stream remembers, to drop a redelivered batch's events. */
const RECENT_KEYS = 128;
/** After `resync` or a closing hint, a client that does not read them is cut off this much later. */
const UNREAD_GOODBYE_MS = 5_000;

export interface LiveStreamOptions {
  user_uuid: string;
  /** When the caller's access token expires (ms since the epoch): the stream ends then. */
  expiresAt: number;
  /** Where the stream starts (µs): the Last-Event-ID's position, or now. */
  position: number;
  /** Events waiting for a client that does not read before it gets `resync` and is closed. */
  bufferEvents: number;
  /** `retry:` advice (ms) in the first event. */
  retryMs: number;
  response: ServerResponse;
  onClose: (stream: LiveStream) => void;
}

/**
 * One client's event stream (GET /api/events). Events wait in a bounded queue while the client's
 * socket is backed up; past the bound the stream sends `resync` and ends. Until `goLive()` (the
 * replay from DynamoDB is done), live events are held, then delivered unless the replay had them.
 * Ids are the high-water mark of delivered positions, so they never go backwards.
 */
export class LiveStream {
  readonly user_uuid: string;
  readonly expiresAt: number;
  private position: number;
  private subscriber?: Subscriber<MessageEvent>;
  private readonly pending: MessageEvent[] = [];
  private held: LiveEvent[] | undefined = [];
  private readonly recent: string[] = [];
  private readonly seen = new Set<string>();
  private expiry?: NodeJS.Timeout;
  private closed = false;
  private released = false;
  /** The last event of a stream that ended before Nest subscribed. */
  private farewell?: MessageEvent;
  /** When something was last written (ms): heartbeats fill the silences. */
  lastWriteAt = Date.now();

  constructor(private readonly options: LiveStreamOptions) {
    this.user_uuid = options.user_uuid;
    this.expiresAt = options.expiresAt;
    this.position = options.position;
    options.response.on('drain', () => this.pump());
    const left = options.expiresAt - Date.now();
    this.expiry = setTimeout(() => this.end({ comment: 'token expired' }), Math.max(0, Math.min(left, 2 ** 31 - 1)));
    this.expiry.unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Connects the Nest SSE producer; the first event sets the client's id and retry advice. */
  attach(subscriber: Subscriber<MessageEvent>): void {
    this.subscriber = subscriber;
    if (this.closed) {
      if (this.farewell) subscriber.next(this.farewell);
      subscriber.complete();
      return;
    }
    // Ahead of what the replay queued: the starting id, in case the client leaves before any event.
    this.pending.unshift({ id: eventIdOf(this.options.position), retry: this.options.retryMs, comment: 'live' });
    this.pump();
  }

  /** Replayed events (already in order), then the live events held meanwhile that the replay did not have. */
  goLive(replayed: LiveEvent[], resync: { position: number } | undefined): void {
    if (this.closed) return;
    if (resync) {
      this.position = Math.max(this.position, resync.position);
      this.queue({ type: 'resync', id: eventIdOf(this.position), data: { reason: 'too_much_missed' } });
    } else {
      for (const event of replayed) this.send(event);
    }
    const held = this.held ?? [];
    this.held = undefined;
    // Against every replayed key, not only the recent ones: a replay may send far more than RECENT_KEYS.
    const replayedKeys = new Set(replayed.map((event) => event.key));
    for (const event of held) if (!replayedKeys.has(event.key)) this.deliver(event);
  }

  /** A live event for this stream's user. */
  deliver(event: LiveEvent): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(event);
      if (this.held.length > this.options.bufferEvents * 4) this.overflow();
      return;
    }
    this.send(event);
  }

  heartbeat(now: number): void {
    if (this.closed || this.pending.length > 0 || this.options.response.writableNeedDrain) return;
    this.queue({ comment: '' });
    this.lastWriteAt = now;
  }

  /**
   * Ends the stream after a last event without data (a comment, a retry hint). `closeConnection`
   * (on shutdown) closes the connection too, so that a closing server is not held by it.
   */
  end(last: MessageEvent, closeConnection = false): void {
    if (this.closed) return;
    this.finish({ id: eventIdOf(this.position), ...last }, closeConnection);
  }

  /** Teardown: the client left or the stream ended. Idempotent. */
  close(): void {
    if (this.released) return;
    this.released = true;
    this.closed = true;
    clearTimeout(this.expiry);
    this.expiry = undefined;
    this.pending.length = 0;
    this.held = undefined;
    this.options.onClose(this);
  }

  private send(event: LiveEvent): void {
    if (this.seen.has(event.key)) return;
    this.remember(event.key);
    const at = event.position === undefined ? undefined : positionOf(event.position);
    if (at !== undefined && at > this.position) this.position = at;
    this.queue({ type: event.type, id: eventIdOf(this.position), data: event.data });
  }

  private remember(key: string): void {
    this.seen.add(key);
    this.recent.push(key);
    if (this.recent.length > RECENT_KEYS) this.seen.delete(this.recent.shift()!);
  }

  private queue(event: MessageEvent): void {
    if (this.closed) return;
    this.pending.push(event);
    // Before Nest subscribes, the queue holds the replay (bounded by its own cap).
    if (this.subscriber && this.pending.length > this.options.bufferEvents) return this.overflow();
    this.pump();
  }

  /** Hands events to Nest while the client's socket takes them. */
  private pump(): void {
    if (!this.subscriber) return;
    while (this.pending.length > 0 && !this.options.response.writableNeedDrain) {
      this.subscriber.next(this.pending.shift()!);
      this.lastWriteAt = Date.now();
    }
  }

  /** The client does not keep up: what waits is dropped, and `resync` tells it to reload. */
  private overflow(): void {
    this.pending.length = 0;
    this.finish({ type: 'resync', id: eventIdOf(this.position), data: { reason: 'slow_consumer' } });
  }

  private finish(last: MessageEvent, closeConnection = false): void {
    const subscriber = this.subscriber;
    this.closed = true;
    this.pending.length = 0;
    this.held = undefined;
    if (subscriber) {
      subscriber.next(last);
      subscriber.complete();
    } else {
      this.farewell = last;
    }
    // A client that does not read its last event is cut off, not kept waiting for.
    const { response } = this.options;
    const cutOff = setTimeout(() => response.destroy(), UNREAD_GOODBYE_MS).unref();
    response.once('close', () => clearTimeout(cutOff));
    if (closeConnection) {
      const socket = response.socket;
      response.once('finish', () => socket?.end());
    }
    this.close();
  }
}
