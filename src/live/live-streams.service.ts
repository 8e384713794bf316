import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type MessageEvent,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { MessagesRepository } from '../dynamodb/messages.repository.js';
import { nowMicros } from '../dynamodb/timestamp.js';
import type { LiveEvent } from './live-event.js';
import { LiveEventBus } from './live-event.bus.js';
import { replaySince } from './live-replay.js';
import { LiveStream } from './live-stream.js';
import type { StreamCaller } from './stream-tickets.js';

/** `retry:` advice to clients (ms): how soon an EventSource comes back after a drop. */
export const RETRY_MS = 3_000;
/** On shutdown clients are told to come back sooner: another task is there. */
export const SHUTDOWN_RETRY_MS = 500;

/** Past the per-user or per-task bound: 429 `too_many_streams`. */
export class TooManyStreamsException extends HttpException {
  constructor(message: string) {
    super({ error: 'Too Many Requests', message, errors: ['too_many_streams'] }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * The open event streams of this task: it opens them (limits, replay), hands each the bus's events
 * of its user, writes heartbeats, and closes them on shutdown with a retry hint (README, "Live delivery").
 */
@Injectable()
export class LiveStreamsService implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(LiveStreamsService.name);
  private readonly byUser = new Map<string, Set<LiveStream>>();
  private count = 0;
  private closing = false;
  private heartbeats?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private stopGapWatch?: () => void;

  constructor(
    private readonly bus: LiveEventBus,
    private readonly repository: MessagesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.bus.subscribe((event) => this.dispatch(event));
    // Events may have been lost while the bus was away: clients come back and are replayed from DynamoDB.
    this.stopGapWatch = this.bus.onGap(() => this.closeAll(RETRY_MS, 'bus reconnected'));
    const periodMs = this.config.live.heartbeatSeconds * 1000;
    this.heartbeats = setInterval(() => this.beat(periodMs), Math.min(periodMs, 1000));
    this.heartbeats.unref();
  }

  /** Before the HTTP server closes: every stream ends with a retry hint, so the server is not held open. */
  beforeApplicationShutdown(): void {
    this.closing = true;
    this.closeAll(SHUTDOWN_RETRY_MS, 'shutting down', true);
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeats);
    this.unsubscribe?.();
    this.stopGapWatch?.();
  }

  /** Open streams on this task (all, or one user's). */
  openStreams(user_uuid?: string): number {
    return user_uuid === undefined ? this.count : (this.byUser.get(user_uuid)?.size ?? 0);
  }

  /**
   * Opens a stream for the caller: from `position` (a Last-Event-ID) the missed events are replayed
   * first; live events arriving meanwhile are held and de-duplicated against the replay.
   */
  async open(
    caller: StreamCaller,
    position: number | undefined,
    response: ServerResponse,
    signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    const { maxStreamsPerUser, maxStreams, bufferEvents } = this.config.live;
    if (this.closing) throw new ServiceUnavailableException('Shutting down; reconnect');
    if (!this.bus.live) throw new ServiceUnavailableException('Live events are unavailable; try again shortly');
    if (this.count >= maxStreams) throw new TooManyStreamsException(`This server holds ${maxStreams} streams; try again shortly`);
    if (this.openStreams(caller.user_uuid) >= maxStreamsPerUser) {
      throw new TooManyStreamsException(`At most ${maxStreamsPerUser} open streams per user; close one first`);
    }
    const stream = new LiveStream({
      user_uuid: caller.user_uuid,
      expiresAt: caller.expiresAt,
      position: position ?? nowMicros(),
      bufferEvents,
      retryMs: RETRY_MS,
      response,
      onClose: (s) => this.forget(s),
    });
    this.register(stream);
    signal.addEventListener('abort', () => stream.close(), { once: true });
    if (position !== undefined) {
      try {
        const replay = await replaySince(this.repository, caller.user_uuid, position);
        stream.goLive(replay.resync ? [] : replay.events, replay.resync ? { position: nowMicros() } : undefined);
      } catch (error) {
        stream.close();
        throw error;
      }
    } else {
      stream.goLive([], undefined);
    }
    return new Observable<MessageEvent>((subscriber) => {
      stream.attach(subscriber);
      return () => stream.close();
    });
  }

  private dispatch(event: LiveEvent): void {
    for (const user of event.audience) {
      const streams = this.byUser.get(user);
      if (streams) for (const stream of streams) stream.deliver(event);
    }
  }

  private register(stream: LiveStream): void {
    const streams = this.byUser.get(stream.user_uuid) ?? new Set<LiveStream>();
    streams.add(stream);
    this.byUser.set(stream.user_uuid, streams);
    this.count++;
  }

  private forget(stream: LiveStream): void {
    const streams = this.byUser.get(stream.user_uuid);
    if (!streams?.delete(stream)) return;
    this.count--;
    if (streams.size === 0) this.byUser.delete(stream.user_uuid);
  }

  private beat(periodMs: number): void {
    const now = Date.now();
    for (const streams of this.byUser.values())
      for (const stream of streams) if (now - stream.lastWriteAt >= periodMs) stream.heartbeat(now);
  }

  private closeAll(retry: number, why: string, closeConnections = false): void {
    if (this.count > 0) this.logger.log(`closing ${this.count} event stream(s): ${why}`);
    for (const streams of [...this.byUser.values()])
      for (const stream of [...streams]) stream.end({ retry, comment: why }, closeConnections);
  }
}
