import { HttpException, HttpStatus, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { TIMEOUTS } from '../common/timeouts.js';
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
 * holds per task) rather than refusing or waving everything through.
 */
@Injectable()
export class RateLimiterService implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly redis?: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, {
        // Bounded: a command fails fast (to the in-memory fallback) instead of queueing while Redis is away.
        connectTimeout: TIMEOUTS.redis.connectMs,
        commandTimeout: TIMEOUTS.redis.commandMs,
        keepAlive: TIMEOUTS.redis.keepAliveMs,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        lazyConnect: false,
      });
      this.redis.on('error', (error: Error) => this.logger.warn(`Redis for rate limits: ${error.message}`));
    }
  }

  /** Counts one request of `key` under `policy`; throws RateLimitedException when over the limit. */
  async consume(policy: RateLimitPolicy, key: string): Promise<void> {
    const limiter = this.limiter(policy);
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw new RateLimitedException(policy.message, Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)));
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }

  private limiter(policy: RateLimitPolicy): RateLimiterAbstract | undefined {
    const points = policy.points(this.config.rateLimits);
    if (points === 0) return undefined;
    let limiter = this.limiters.get(policy.name);
    if (!limiter) {
      const options = { points, duration: policy.windowSeconds, keyPrefix: `${KEY_PREFIX}:${policy.name}` };
      const memory = new RateLimiterMemory(options);
      limiter = this.redis ? new RateLimiterRedis({ ...options, storeClient: this.redis, insuranceLimiter: memory }) : memory;
      this.limiters.set(policy.name, limiter);
    }
    return limiter;
  }
}
