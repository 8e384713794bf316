import {
  ConflictException,
  HttpException,
  Injectable,
  Logger,
  UnprocessableEntityException,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { v5 as uuidv5 } from 'uuid';
import { formatTimestamp, nowMicros, parseTimestamp } from '../dynamodb/timestamp.js';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a key is remembered. */
const RETENTION = '24 hours';
/** How often expired keys are deleted (by a timer, off the request path). */
const CLEANUP_EVERY_MS = 60_000;
/**
 * How long an attempt holds its key: longer than any attempt can run (every dependency call is
 * bounded, see TIMEOUTS), so a lease that has run out belongs to an attempt that has ended.
 */
export const ATTEMPT_LEASE_MS = 60_000;
/** How many times a retry tries to take over a key whose attempts keep changing under it. */
const TAKEOVER_TRIES = 3;

/** The message a keyed request writes: the same in every attempt that shares the plan. */
export interface WritePlan {
  message_uuid: string;
  created_at: string;
  /** Past this moment (ms since the epoch) the attempt must not write: its lease has run out. */
  deadline: number;
  /** The plan of an earlier attempt that ended without an answer: it may have written its message. */
  earlier?: { message_uuid: string; created_at: string };
}

/** Namespace of the message uuids planned for keyed requests (uuid v5 of user, key and planned time). */
const PLAN_NAMESPACE = '6a0d8f62-3c5e-4f0b-9d51-2b7c4e8a1f93';

interface KeyRow<T> {
  request_hash: string;
  response: T | null;
  planned_at: string;
  in_flight: boolean;
}

/**
 * `Idempotency-Key` for POST. The first request with a key claims it in Postgres together with a
 * write plan (the message's uuid and timestamp) and a lease for as long as an attempt can run.
 * - The answer is stored when the attempt succeeds; a retry returns it.
 * - A retry while the lease runs shares the plan: both write the same message, which the
 *   repository's conditional put stores once.
 * - An attempt refused with a 4xx wrote nothing: it releases the key, so a corrected request can
 *   use it. Any other failure may have written the message; the key stays bound to its request.
 * - A retry after an attempt ended without an answer first looks for that attempt's message (it
 *   may have been written before the failure) and returns it; only when there is none does it plan
 *   anew, at its own time. So a message is never back-dated to an attempt that wrote nothing.
 * Keys are remembered for 24 hours after their latest plan; a timer deletes older ones every minute.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(IdempotencyService.name);
  private cleanupTimer?: NodeJS.Timeout;
  private cleanup?: Promise<unknown>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  static isValidKey(key: string): boolean {
    return KEY.test(key);
  }

  async once<T>(userUuid: string, key: string, request: unknown, work: (plan: WritePlan) => Promise<T>): Promise<T> {
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const plan = await this.claim<T>(userUuid, key, requestHash);
    if ('response' in plan) return plan.response;
    let response: T;
    try {
      response = await work(plan);
    } catch (error) {
      await this.attemptFailed(userUuid, key, plan, error);
      throw error;
    }
    await this.dataSource.query(`UPDATE public.idempotency_keys SET response = $3, locked_until = NULL WHERE user_uuid = $1 AND key = $2`, [
      userUuid,
      key,
      JSON.stringify(response),
    ]);
    return response;
  }

  /** The plan this attempt writes, or the stored answer of an earlier one. */
  private async claim<T>(userUuid: string, key: string, requestHash: string): Promise<WritePlan | { response: T }> {
    const now = nowMicros();
    const claimed: unknown[] = await this.dataSource.query(
      `INSERT INTO public.idempotency_keys (user_uuid, key, request_hash, response, created_at, locked_until)
       VALUES ($1, $2, $3, 'null', $4, $5) ON CONFLICT (user_uuid, key) DO NOTHING RETURNING key`,
      [userUuid, key, requestHash, formatTimestamp(now), leaseEnd(now)],
    );
    if (claimed.length) return planAt(userUuid, key, now);

    for (let attempt = 0; attempt < TAKEOVER_TRIES; attempt++) {
      const previous = await this.read<T>(userUuid, key);
      if (!previous) throw new ConflictException('The Idempotency-Key expired while in use; try again');
      if (previous.request_hash !== requestHash) {
        throw new UnprocessableEntityException({
          error: 'Unprocessable Entity',
          message: 'This Idempotency-Key was already used for a different request',
          errors: ['idempotency_key_reused'],
        });
      }
      if (previous.response !== null) return { response: previous.response };
      const planned = parseMicros(previous.planned_at);
      if (previous.in_flight) return planAt(userUuid, key, planned);

      // The earlier attempt ended without an answer: take the key over with a plan of our own.
      const retryAt = nowMicros();
      const taken: unknown[] = await this.dataSource.query(
        `UPDATE public.idempotency_keys SET created_at = $4, locked_until = $5
         WHERE user_uuid = $1 AND key = $2 AND created_at = $3 AND response = 'null' AND (locked_until IS NULL OR locked_until <= $4)
         RETURNING key`,
        [userUuid, key, formatTimestamp(planned), formatTimestamp(retryAt), leaseEnd(retryAt)],
      );
      if (taken.length) {
        const earlier = planAt(userUuid, key, planned);
        return { ...planAt(userUuid, key, retryAt), earlier: { message_uuid: earlier.message_uuid, created_at: earlier.created_at } };
      }
    }
    throw new ConflictException('A request with this Idempotency-Key is being retried concurrently; try again');
  }

  private async read<T>(userUuid: string, key: string): Promise<KeyRow<T> | undefined> {
    const [row] = await this.dataSource.query<KeyRow<T>[]>(
      `SELECT request_hash, response, locked_until > $3 AS in_flight,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS planned_at
       FROM public.idempotency_keys WHERE user_uuid = $1 AND key = $2`,
      [userUuid, key, formatTimestamp(nowMicros())],
    );
    return row && { ...row, in_flight: row.in_flight === true };
  }

  /**
   * A refusal (4xx) wrote nothing: the key is released for a corrected request. Any other failure
   * may have written the message: the key stays bound, and its lease ends now (best effort; when
   * Postgres is the failure, the lease runs out by itself).
   */
  private async attemptFailed(userUuid: string, key: string, plan: WritePlan, error: unknown): Promise<void> {
    const refused = error instanceof HttpException && error.getStatus() >= 400 && error.getStatus() < 500;
    const statement = refused
      ? `DELETE FROM public.idempotency_keys WHERE user_uuid = $1 AND key = $2 AND created_at = $3 AND response = 'null'`
      : `UPDATE public.idempotency_keys SET locked_until = NULL WHERE user_uuid = $1 AND key = $2 AND created_at = $3 AND response = 'null'`;
    await this.dataSource.query(statement, [userUuid, key, plan.created_at]).catch((cause: unknown) => {
      this.logger.warn(`Idempotency-Key of a failed attempt not updated: ${cause instanceof Error ? cause.message : String(cause)}`);
    });
  }

  /** Forgets the keys planned more than 24 hours ago; returns how many. */
  async removeExpired(): Promise<number> {
    const [, deleted] = await this.dataSource.query<[unknown, number]>(
      `DELETE FROM public.idempotency_keys WHERE created_at < now() - interval '${RETENTION}'`,
    );
    return deleted;
  }

  onApplicationBootstrap(): void {
    this.cleanupTimer = setInterval(() => {
      if (this.cleanup) return; // the previous one is still running: never two at once
      // Postgres being away only delays the cleanup; the next tick tries again.
      this.cleanup = this.removeExpired()
        .catch((error: unknown) =>
          this.logger.warn(`expired Idempotency-Keys not removed: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => (this.cleanup = undefined));
    }, CLEANUP_EVERY_MS).unref();
  }

  /** Before the connection pool closes (TypeORM closes it on shutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.cleanupTimer);
    await this.cleanup;
  }
}

function planAt(userUuid: string, key: string, micros: number): WritePlan {
  const created_at = formatTimestamp(micros);
  return {
    created_at,
    message_uuid: uuidv5(`${userUuid}:${key}:${created_at}`, PLAN_NAMESPACE),
    deadline: Math.floor(micros / 1000) + ATTEMPT_LEASE_MS,
  };
}

function leaseEnd(micros: number): string {
  return formatTimestamp(micros + ATTEMPT_LEASE_MS * 1000);
}

function parseMicros(timestamp: string): number {
  const micros = parseTimestamp(timestamp);
  if (micros === undefined) throw new Error(`unreadable planned time ${timestamp}`);
  return micros;
}
