import type { Redis } from 'ioredis';

/**
 * After a command timed out (ioredis' `commandTimeout`), its connection is left as it was: silent,
 * maybe for good (a network black hole, a failover that left a half-open socket), and every later
 * command would time out too. Drop it at once (`disconnect()` would wait for the silent peer to
 * answer its FIN for 2 s) and let ioredis open a new one, as after any lost connection.
 */
export function reconnectAfterTimeout(redis: Redis, error: unknown): void {
  if (error instanceof Error && /timed out/i.test(error.message)) dropConnection(redis);
}

export function dropConnection(redis: Redis): void {
  (redis.stream as { destroy?: () => void } | undefined)?.destroy?.();
}
