import { Redis } from 'ioredis';
import { COMMAND_CONNECTION, dropConnection, reconnectingAfterTimeout } from '../common/redis.js';
import { TIMEOUTS } from '../common/timeouts.js';
import type { LiveEvent } from './live-event.js';
import { LiveEventBus, type LiveEventListener } from './live-event.bus.js';

/** The one channel every task subscribes to; each task keeps the events of its own streams' users. */
export const LIVE_CHANNEL = 'cruddur-messaging:live';

export interface RedisLiveEventBusOptions {
  /** Called with what went wrong (a lost connection, a malformed message); never throws. */
  warn?: (message: string) => void;
  /** The subscribing connection's CLIENT SETNAME (how operators and tests tell it apart). */
  subscriberName?: string;
  /** How often the subscribing connection is checked with a PING (ms). */
  livenessMs?: number;
}

/**
 * The bus over Redis pub/sub (ElastiCache for Valkey on AWS): a publishing connection, bounded like
 * every dependency call (connect 2 s, a command 500 ms), and a subscribing one opened on first
 * subscribe. A subscriber that reconnects may have missed events: `onGap` listeners are called.
 * A connection that went silent (a network black hole, a failover that left a half-open socket)
 * says nothing by itself: the subscriber is PINGed every 10 s, and a connection whose command
 * timed out is dropped and opened again, so the loss is noticed and the gap signalled.
 */
export class RedisLiveEventBus extends LiveEventBus {
  private readonly publisher: Redis;
  private subscriber?: Redis;
  private readonly listeners = new Set<LiveEventListener>();
  private readonly gapListeners = new Set<() => void>();
  private subscribed = false;
  private everSubscribed = false;
  private readonly waiting: (() => void)[] = [];
  private readonly warn: (message: string) => void;
  private readonly subscriberName: string;
  private readonly livenessMs: number;
  private liveness?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    options: RedisLiveEventBusOptions = {},
  ) {
    super();
    this.warn = options.warn ?? (() => undefined);
    this.subscriberName = options.subscriberName ?? 'cruddur-messaging-live';
    this.livenessMs = options.livenessMs ?? TIMEOUTS.redis.livenessMs;
    this.publisher = new Redis(url, { ...COMMAND_CONNECTION, lazyConnect: true });
    this.publisher.on('error', (error: Error) => this.warn(`Redis (live events, publish): ${error.message}`));
  }

  async publish(events: LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    await reconnectingAfterTimeout(this.publisher, () => this.publisher.publish(LIVE_CHANNEL, JSON.stringify(events)));
  }

  subscribe(listener: LiveEventListener): () => void {
    this.listeners.add(listener);
    this.subscriber ??= this.openSubscriber();
    return () => this.listeners.delete(listener);
  }

  get live(): boolean {
    return this.subscribed;
  }

  whenLive(): Promise<void> {
    return this.subscribed ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  onGap(listener: () => void): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.liveness);
    this.listeners.clear();
    this.subscriber?.disconnect();
    this.publisher.disconnect();
    await Promise.resolve();
  }

  private openSubscriber(): Redis {
    const subscriber = new Redis(this.url, {
      connectTimeout: TIMEOUTS.redis.connectMs,
      // A subscriber reconnects for as long as the task lives, backing off to 2 s.
      retryStrategy: (times) => Math.min(100 * times, 2_000),
      maxRetriesPerRequest: null,
      keepAlive: TIMEOUTS.redis.keepAliveMs,
      connectionName: this.subscriberName,
    });
    this.liveness = setInterval(() => void this.check(subscriber), this.livenessMs).unref();
    subscriber.on('error', (error: Error) => this.warn(`Redis (live events, subscribe): ${error.message}`));
    subscriber.on('close', () => {
      if (this.subscribed) this.warn('Redis (live events): subscription lost; open streams will be closed when it is back');
      this.subscribed = false;
    });
    subscriber.on('message', (_channel: string, payload: string) => this.dispatch(payload));
    // `ready` comes on every (re)connection; ioredis subscribes again to the channel by itself.
    subscriber.on('ready', () => void this.confirm(subscriber));
    return subscriber;
  }

  /** A PING answered within a command's bound, or the connection is dropped and opened again. */
  private async check(subscriber: Redis): Promise<void> {
    if (!this.subscribed) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('PING not answered')), TIMEOUTS.redis.commandMs);
    });
    try {
      await Promise.race([subscriber.ping(), timeout]);
    } catch (error) {
      if (!this.subscribed) return;
      this.warn(`Redis (live events): the subscription does not answer (${(error as Error).message}); reconnecting`);
      dropConnection(subscriber);
    } finally {
      clearTimeout(timer);
    }
  }

  private async confirm(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(LIVE_CHANNEL);
    } catch (error) {
      this.warn(`Redis (live events): subscribe failed: ${(error as Error).message}`);
      return;
    }
    if (this.subscribed) return;
    this.subscribed = true;
    if (this.everSubscribed) for (const listener of this.gapListeners) listener();
    this.everSubscribed = true;
    this.waiting.splice(0).forEach((resolve) => resolve());
  }

  private dispatch(payload: string): void {
    let events: LiveEvent[];
    try {
      events = JSON.parse(payload) as LiveEvent[];
      if (!Array.isArray(events)) throw new Error('not an array');
    } catch (error) {
      this.warn(`Redis (live events): a message that is not a list of events was ignored (${(error as Error).message})`);
      return;
    }
    for (const event of events) for (const listener of this.listeners) listener(event);
  }
}
