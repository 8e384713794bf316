import type { Redis, RedisOptions } from 'ioredis';
import { TIMEOUTS } from './timeouts.js';

/**
 * After a command timed out (ioredis' `commandTimeout`), its connection is left as it was: silent,
 * maybe for good (a network black hole, a failover that left a half-open socket), and every later
 * command would time out too. Drop it at once (`disconnect()` would wait for the silent peer to
 * answer its FIN for 2 s) and let ioredis open a new one, as after any lost connection.
 */
export function reconnectAfterTimeout(redis: Redis, error: unknown): void {
  if (error instanceof Error && /timed out/i.test(error.message)) dropConnection(redis);
}

/** Runs a command of `redis`; should it time out, its connection is dropped (above) before the error goes on. */
export async function reconnectingAfterTimeout<T>(redis: Redis, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    reconnectAfterTimeout(redis, error);
    throw error;
  }
}

export function dropConnection(redis: Redis): void {
  (redis.stream as { destroy?: () => void } | undefined)?.destroy?.();
}

/**
 * The options of every Redis connection that sends commands (not the live-events subscription):
 * bounded (TIMEOUTS.redis), TCP keep-alive, one retry, and a command that failed (timed out) is
 * never sent again on the next connection: its caller was told it failed, and a late PUBLISH would
 * arrive out of order, a late INCR count a request twice.
 */
export const COMMAND_CONNECTION: RedisOptions = {
  connectTimeout: TIMEOUTS.redis.connectMs,
  commandTimeout: TIMEOUTS.redis.commandMs,
  keepAlive: TIMEOUTS.redis.keepAliveMs,
  maxRetriesPerRequest: 1,
  autoResendUnfulfilledCommands: false,
};
