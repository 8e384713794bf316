import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import type { AppConfig } from '../config/config.js';
import { RATE_LIMIT_POLICIES } from './rate-limit.policies.js';
import { RateLimitedException, RateLimiterService } from './rate-limiter.service.js';

const REDIS = 'redis://127.0.0.1:6379';

function service(redisUrl: string): RateLimiterService {
  const config = { redisUrl, rateLimits: { messagesPerMinute: 1000, newConversationsPerHour: 1000, publicPerMinute: 1000 } };
  return new RateLimiterService(config as AppConfig);
}

describe('RateLimiterService with Redis', () => {
  it('counts in Redis again soon after a command timed out on a connection gone silent (a network black hole)', async () => {
    const { proxy, url } = await TcpProxy.forUrl(REDIS, 6379);
    const limiter = service(url);
    const reader = new Redis(REDIS);
    const user = `user:${randomUUID()}`;
    const counted = async () => Number((await reader.get(`cruddur-messaging:rate:messages:${user}`)) ?? 0);
    // The service's own connection: until it is ready, requests are counted in memory.
    const connection = (limiter as unknown as { redis: Redis }).redis;
    /** Whether the connection is ready (`again`: a new one is) within `ms`: a bound, so a test that fails ends. */
    const readyWithin = (ms: number, again = false) =>
      new Promise<boolean>((resolve) => {
        if (!again && connection.status === 'ready') return resolve(true);
        const timer = setTimeout(() => resolve(false), ms);
        connection.once('ready', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    try {
      expect(await readyWithin(5_000)).toBe(true);
      await limiter.consume(RATE_LIMIT_POLICIES.messages, user);
      expect(await counted()).toBe(1);

      proxy.blackhole();
      proxy.heal();
      // Times out (the 500 ms bound), and is counted in the task's memory instead: never refused for it.
      await expect(limiter.consume(RATE_LIMIT_POLICIES.messages, user)).resolves.toBeUndefined();
      expect(await counted()).toBe(1);

      // The silent connection must be replaced: kept, every request would wait 500 ms for it until
      // TCP gives up, minutes later (the old one still says it is ready).
      expect(await readyWithin(5_000, true)).toBe(true);
      await limiter.consume(RATE_LIMIT_POLICIES.messages, user);
      expect(await counted()).toBe(2);
    } finally {
      limiter.onApplicationShutdown();
      reader.disconnect();
      await proxy.stop();
    }
  });

  it('refuses over the limit with Retry-After, counting in Redis', async () => {
    const config = { redisUrl: REDIS, rateLimits: { messagesPerMinute: 2, newConversationsPerHour: 1, publicPerMinute: 1 } };
    const limiter = new RateLimiterService(config as AppConfig);
    const user = `user:${randomUUID()}`;
    try {
      await limiter.consume(RATE_LIMIT_POLICIES.messages, user);
      await limiter.consume(RATE_LIMIT_POLICIES.messages, user);
      const refusal = await limiter.consume(RATE_LIMIT_POLICIES.messages, user).catch((error: unknown) => error);

      expect(refusal).toBeInstanceOf(RateLimitedException);
      expect((refusal as RateLimitedException).getStatus()).toBe(429);
      expect((refusal as RateLimitedException).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      limiter.onApplicationShutdown();
    }
  });
});
