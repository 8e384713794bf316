import { HttpException, HttpStatus, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { COMMAND_CONNECTION, reconnectAfterTimeout } from '../common/redis.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import type { RateLimitPolicy } from './rate-limit.policies.js';

const KEY_PREFIX = 'cruddur-messaging:rate';

/** A refusal for going over a limit: 429 with `Retry-After`, code `rate_limited`. */
export class RateLimitedException extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super({ error: 'Too Many Requests', message, errors: ['rate_limited'] }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * Counts requests per policy and key (a user, a client address) in fixed windows, with
 * rate-limiter-flexible. With `REDIS_URL` the counters live in Redis, so a limit holds across every
 * API task; should Redis fail or be slow, each task falls back to counting in memory (the limit then
 * holds per task) rather than refusing or waving everything through. A connection whose command
 * timed out is dropped at once, so the next request opens a new one instead of waiting on it too.
 */
@Injectable()
export class RateLimiterService implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly limiters = new Map<string, { memory: RateLimiterMemory; redis?: RateLimiterRedis }>();
  private readonly redis?: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    if (config.redisUrl) {
      // A command fails fast (to the in-memory fallback) instead of queueing while Redis is away.
      this.redis = new Redis(config.redisUrl, { ...COMMAND_CONNECTION, enableOfflineQueue: false, lazyConnect: false });
      this.redis.on('error', (error: Error) => this.logger.warn(`Redis for rate limits: ${error.message}`));
    }
  }

  /** Counts one request of `key` under `policy`; throws RateLimitedException when over the limit. */
  async consume(policy: RateLimitPolicy, key: string): Promise<void> {
    const limiter = this.limiter(policy);
    if (!limiter) return;
    try {
      await this.count(limiter, key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw new RateLimitedException(policy.message, Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }

  /** Counts in Redis when there is one and it answers, else in this task's memory. */
  private async count(limiter: { memory: RateLimiterMemory; redis?: RateLimiterRedis }, key: string): Promise<void> {
    if (!limiter.redis) {
      await limiter.memory.consume(key);
      return;
    }
    try {
      await limiter.redis.consume(key);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error;
      reconnectAfterTimeout(this.redis!, error);
      await limiter.memory.consume(key);
    }
  }

  private limiter(policy: RateLimitPolicy) {
    const points = policy.points(this.config.rateLimits);
    if (points === 0) return undefined;
    let limiter = this.limiters.get(policy.name);
    if (!limiter) {
      const options = { points, duration: policy.windowSeconds, keyPrefix: `${KEY_PREFIX}:${policy.name}` };
      const memory = new RateLimiterMemory(options);
      limiter = { memory, redis: this.redis ? new RateLimiterRedis({ ...options, storeClient: this.redis }) : undefined };
      this.limiters.set(policy.name, limiter);
    }
    return limiter;
  }
}
