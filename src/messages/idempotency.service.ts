import { Inject, Injectable, UnprocessableEntityException } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a key is remembered. */
const RETENTION = '24 hours';
const CLEANUP_EVERY_MS = 60_000;

/**
 * `Idempotency-Key` for POST: the first request with a key does the work and stores its response
 * in the same Postgres transaction that claimed the key. A concurrent request with the same key
 * blocks on the claim's unique index until that transaction ends, then returns the stored response
 * (or, if the first one failed and rolled back, does the work itself): no polling, no duplicate.
 */
@Injectable()
export class IdempotencyService {
  private lastCleanup = 0;

  constructor(@Inject(getDataSourceToken()) private readonly dataSource: DataSource) {}

  static isValidKey(key: string): boolean {
    return KEY.test(key);
  }

  async once<T>(userUuid: string, key: string, request: unknown, work: () => Promise<T>): Promise<T> {
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    await this.cleanupNowAndThen();
    return this.dataSource.transaction(async (tx) => {
      const claimed: unknown[] = await tx.query(
        `INSERT INTO public.idempotency_keys (user_uuid, key, request_hash, response) VALUES ($1, $2, $3, 'null')
         ON CONFLICT (user_uuid, key) DO NOTHING RETURNING key`,
        [userUuid, key, requestHash],
      );
      if (claimed.length === 0) {
        const [previous] = (await tx.query(
          `SELECT request_hash, response FROM public.idempotency_keys WHERE user_uuid = $1 AND key = $2`,
          [userUuid, key],
        )) as { request_hash: string; response: T }[];
        if (previous.request_hash !== requestHash) {
          throw new UnprocessableEntityException({
            error: 'Unprocessable Entity',
            message: 'This Idempotency-Key was already used for a different request',
            errors: ['idempotency_key_reused'],
          });
        }
        return previous.response;
      }
      const response = await work();
      await tx.query(`UPDATE public.idempotency_keys SET response = $3 WHERE user_uuid = $1 AND key = $2`, [
        userUuid,
        key,
        JSON.stringify(response),
      ]);
      return response;
    });
  }

  private async cleanupNowAndThen(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = now;
    await this.dataSource.query(`DELETE FROM public.idempotency_keys WHERE created_at < now() - interval '${RETENTION}'`);
  }
}
