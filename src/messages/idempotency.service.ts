import { ConflictException, Inject, Injectable, Logger, UnprocessableEntityException, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { v5 as uuidv5 } from 'uuid';
import { nowTimestamp } from '../dynamodb/timestamp.js';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a key is remembered. */
const RETENTION = '24 hours';
/** How often expired keys are deleted (by a timer, off the request path). */
const CLEANUP_EVERY_MS = 60_000;

/** The identity a keyed request gives the message it writes, the same in every retry of the request. */
export interface WritePlan {
  message_uuid: string;
  created_at: string;
}

/** Namespace of the message uuids planned for keyed requests (uuid v5 of user, key and planned time). */
const PLAN_NAMESPACE = '6a0d8f62-3c5e-4f0b-9d51-2b7c4e8a1f93';

/**
 * `Idempotency-Key` for POST. The first request with a key claims it in Postgres (committed at
 * once) together with a write plan: the message's uuid and timestamp. The work then writes exactly
 * that message, and the response is stored last. A retry finds the stored response, or, when the
 * earlier attempt ended before storing it (Postgres or DynamoDB failed mid-way, even after the
 * message was written), the same plan: it writes the same message again, which the repository's
 * conditional put recognises as already written (same `sk`, same `message_uuid`), so nothing is
 * stored twice. Requests racing with one key write the same planned message, with the same result.
 * Keys are remembered for 24 hours; a timer deletes older ones every minute.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(IdempotencyService.name);
  private cleanupTimer?: NodeJS.Timeout;
  private cleanup?: Promise<unknown>;

  constructor(@Inject(getDataSourceToken()) private readonly dataSource: DataSource) {}

  static isValidKey(key: string): boolean {
    return KEY.test(key);
  }

  async once<T>(userUuid: string, key: string, request: unknown, work: (plan: WritePlan) => Promise<T>): Promise<T> {
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    let plannedAt = nowTimestamp();
    const claimed: unknown[] = await this.dataSource.query(
      `INSERT INTO public.idempotency_keys (user_uuid, key, request_hash, response, created_at) VALUES ($1, $2, $3, 'null', $4)
       ON CONFLICT (user_uuid, key) DO NOTHING RETURNING key`,
      [userUuid, key, requestHash, plannedAt],
    );
    if (claimed.length === 0) {
      const [previous] = (await this.dataSource.query(
        `SELECT request_hash, response, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS planned_at
         FROM public.idempotency_keys WHERE user_uuid = $1 AND key = $2`,
        [userUuid, key],
      )) as { request_hash: string; response: T | null; planned_at: string }[];
      if (!previous) throw new ConflictException('The Idempotency-Key expired while in use; try again');
      if (previous.request_hash !== requestHash) {
        throw new UnprocessableEntityException({
          error: 'Unprocessable Entity',
          message: 'This Idempotency-Key was already used for a different request',
          errors: ['idempotency_key_reused'],
        });
      }
      if (previous.response !== null) return previous.response;
      plannedAt = previous.planned_at;
    }
    const response = await work({ created_at: plannedAt, message_uuid: uuidv5(`${userUuid}:${key}:${plannedAt}`, PLAN_NAMESPACE) });
    await this.dataSource.query(`UPDATE public.idempotency_keys SET response = $3 WHERE user_uuid = $1 AND key = $2`, [userUuid, key, JSON.stringify(response)]);
    return response;
  }

  /** Forgets the keys claimed more than 24 hours ago; returns how many. */
  async removeExpired(): Promise<number> {
    const [, deleted] = (await this.dataSource.query(`DELETE FROM public.idempotency_keys WHERE created_at < now() - interval '${RETENTION}'`)) as [unknown, number];
    return deleted;
  }

  onApplicationBootstrap(): void {
    this.cleanupTimer = setInterval(() => {
      if (this.cleanup) return; // the previous one is still running: never two at once
      // Postgres being away only delays the cleanup; the next tick tries again.
      this.cleanup = this.removeExpired()
        .catch((error: unknown) => this.logger.warn(`expired Idempotency-Keys not removed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => (this.cleanup = undefined));
    }, CLEANUP_EVERY_MS).unref();
  }

  /** Before the connection pool closes (TypeORM closes it on shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.cleanupTimer);
    await this.cleanup;
  }
}
