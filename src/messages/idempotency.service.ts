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
import { TIMEOUTS } from '../common/timeouts.js';
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
/**
 * The longest one write to DynamoDB can take, retries included (TIMEOUTS.dynamodb): an attempt
 * starts no write later than this before its lease ends, so all its writes are over when a retry
 * may take the key over.
 */
export const WRITE_BOUND_MS =
  TIMEOUTS.dynamodb.attempts.aws * (TIMEOUTS.dynamodb.connectMs + TIMEOUTS.dynamodb.requestMs) + TIMEOUTS.dynamodb.retryBackoffMs + 1_000;
/** How many times a retry tries to take over a key whose attempts keep changing under it. */
const TAKEOVER_TRIES = 3;

/** The message a plan writes: its id and time. */
interface PlannedMessage {
  message_uuid: string;
  created_at: string;
}

/** The message a keyed request writes: the same in every attempt that shares the plan. */
export interface WritePlan extends PlannedMessage {
  /** Past this moment (of `performance.now()`, which no clock step moves) the attempt must start no write: its lease is about to end. */
  deadline: number;
  /** The plans of earlier attempts that ended without an answer: each may have written its message. */
  earlier: PlannedMessage[];
}

/** A plan, and whether this attempt holds the key (it claimed it or took it over) or shares another's plan. */
interface Attempt extends WritePlan {
  owner: boolean;
}

/** Namespace of the message uuids planned for keyed requests (uuid v5 of user, key and planned time). */
const PLAN_NAMESPACE = '6a0d8f62-3c5e-4f0b-9d51-2b7c4e8a1f93';

interface KeyRow<T> {
  request_hash: string;
  response: T | null;
  planned_at: string;
  earlier_ats: string[];
  /** What is left of the lease by Postgres' clock; null when there is none. */
  remaining_ms: number | null;
}

/** A timestamptz column as this service writes timestamps. */
const asTimestamp = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')`;
/** The lease's end, by Postgres' clock (one clock for every task, whatever their own say). */
const LEASE_END = `clock_timestamp() + ${ATTEMPT_LEASE_MS} * interval '1 millisecond'`;

/**
 * `Idempotency-Key` for POST. The first request with a key claims it in Postgres together with a
 * write plan (the message's uuid and timestamp) and a lease for as long as an attempt can run.
 * - The answer is stored when an attempt succeeds; a retry returns it.
 * - A retry while the lease runs shares the plan: both write the same message, which the
 *   repository's conditional put stores once. That holds after a failure too: a failed attempt
 *   may have written its message (a timed-out write can still land), so its lease runs out by
 *   itself; no attempt starts a write in the last WRITE_BOUND_MS of the lease.
 * - An attempt refused with a 4xx wrote nothing: when it holds the key and no other attempt
 *   shares its plan, it releases the key, so a corrected request can use it. An attempt sharing
 *   the plan never releases it, and its joining keeps the key from being released under it.
 * - A retry after the lease looks for the earlier attempts' messages (each may have been written
 *   before its failure) and returns one it finds; only when there is none does it write, at its own
 *   time, so a message is never back-dated to an attempt that wrote nothing. The key remembers every
 *   earlier plan, so the attempts sharing the retry's plan, and later retries, look for them too.
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
    const attempt = await this.claim<T>(userUuid, key, requestHash);
    if ('response' in attempt) return attempt.response;
    const { owner, ...plan } = attempt;
    let response: T;
    try {
      response = await work(plan);
    } catch (error) {
      if (owner && error instanceof HttpException && error.getStatus() >= 400 && error.getStatus() < 500)
        await this.release(userUuid, key, plan);
      throw error;
    }
    const [, stored] = await this.dataSource.query<[unknown, number]>(
      `UPDATE public.idempotency_keys SET response = $4, locked_until = NULL WHERE user_uuid = $1 AND key = $2 AND created_at = $3`,
      [userUuid, key, plan.created_at, JSON.stringify(response)],
    );
    // Only when the key was forgotten (24 hours) or replanned meanwhile; the message stands either way.
    if (stored !== 1) this.logger.warn(`Idempotency-Key of a written message no longer held its plan; answer not stored`);
    return response;
  }

  /** The plan this attempt writes, or the stored answer of an earlier one. */
  private async claim<T>(userUuid: string, key: string, requestHash: string): Promise<Attempt | { response: T }> {
    for (let attempt = 0; attempt < TAKEOVER_TRIES; attempt++) {
      // Deadlines count from before each query: the lease began after it was sent, so they only come earlier.
      const claimedAt = performance.now();
      const now = nowMicros();
      const claimed: unknown[] = await this.dataSource.query(
        `INSERT INTO public.idempotency_keys (user_uuid, key, request_hash, response, created_at, locked_until)
         VALUES ($1, $2, $3, 'null', $4, ${LEASE_END}) ON CONFLICT (user_uuid, key) DO NOTHING RETURNING key`,
        [userUuid, key, requestHash, formatTimestamp(now)],
      );
      if (claimed.length)
        return { ...planAt(userUuid, key, now), deadline: deadline(claimedAt, ATTEMPT_LEASE_MS), earlier: [], owner: true };

      const previous = await this.read<T>(userUuid, key);
      if (!previous) continue; // released or forgotten meanwhile: claim it afresh
      if (previous.request_hash !== requestHash) {
        throw new UnprocessableEntityException({
          error: 'Unprocessable Entity',
          message: 'This Idempotency-Key was already used for a different request',
          errors: ['idempotency_key_reused'],
        });
      }
      if (previous.response !== null) return { response: previous.response };
      const planned = parseMicros(previous.planned_at);
      const earlier = previous.earlier_ats.map((at) => planAt(userUuid, key, parseMicros(at)));

      if (previous.remaining_ms !== null && previous.remaining_ms > 0) {
        // Join the running attempt's plan; marked shared, the key is no longer released under us.
        const joinedAt = performance.now();
        const [[joined]] = await this.dataSource.query<[Array<{ remaining_ms: number }>, number]>(
          `UPDATE public.idempotency_keys SET shared = true
           WHERE user_uuid = $1 AND key = $2 AND created_at = $3 AND response = 'null' AND locked_until > clock_timestamp()
           RETURNING (extract(epoch FROM locked_until - clock_timestamp()) * 1000)::float8 AS remaining_ms`,
          [userUuid, key, formatTimestamp(planned)],
        );
        if (!joined) continue; // answered, released or taken over meanwhile: look again
        return { ...planAt(userUuid, key, planned), deadline: deadline(joinedAt, joined.remaining_ms), earlier, owner: false };
      }

      // The earlier attempt ended without an answer: take the key over with a plan of our own.
      const takenAt = performance.now();
      const retryAt = nowMicros();
      // An UPDATE answers [rows, count] (TypeORM's pg driver).
      const [taken] = await this.dataSource.query<[unknown[], number]>(
        `UPDATE public.idempotency_keys
         SET created_at = $4, earlier_ats = earlier_ats || $3::timestamptz, shared = false, locked_until = ${LEASE_END}
         WHERE user_uuid = $1 AND key = $2 AND created_at = $3 AND response = 'null' AND (locked_until IS NULL OR locked_until <= clock_timestamp())
         RETURNING key`,
        [userUuid, key, formatTimestamp(planned), formatTimestamp(retryAt)],
      );
      if (taken.length) {
        return {
          ...planAt(userUuid, key, retryAt),
          deadline: deadline(takenAt, ATTEMPT_LEASE_MS),
          earlier: [...earlier, planAt(userUuid, key, planned)],
          owner: true,
        };
      }
    }
    throw new ConflictException('A request with this Idempotency-Key is being retried concurrently; try again');
  }

  private async read<T>(userUuid: string, key: string): Promise<KeyRow<T> | undefined> {
    const [row] = await this.dataSource.query<KeyRow<T>[]>(
      `SELECT request_hash, response, ${asTimestamp('created_at')} AS planned_at,
              ARRAY(SELECT ${asTimestamp('e')} FROM unnest(earlier_ats) AS e) AS earlier_ats,
              (extract(epoch FROM locked_until - clock_timestamp()) * 1000)::float8 AS remaining_ms
       FROM public.idempotency_keys WHERE user_uuid = $1 AND key = $2`,
      [userUuid, key],
    );
    return row;
  }

  /** A refused attempt (4xx) wrote nothing: unless another attempt shares its plan, the key is free for a corrected request (best effort). */
  private async release(userUuid: string, key: string, plan: WritePlan): Promise<void> {
    await this.dataSource
      .query(
        `DELETE FROM public.idempotency_keys WHERE user_uuid = $1 AND key = $2 AND created_at = $3 AND response = 'null' AND NOT shared`,
        [userUuid, key, plan.created_at],
      )
      .catch((cause: unknown) => {
        this.logger.warn(`Idempotency-Key of a refused attempt not released: ${cause instanceof Error ? cause.message : String(cause)}`);
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

function planAt(userUuid: string, key: string, micros: number): PlannedMessage {
  const created_at = formatTimestamp(micros);
  return { created_at, message_uuid: uuidv5(`${userUuid}:${key}:${created_at}`, PLAN_NAMESPACE) };
}

/** The last moment (`performance.now()`) to start a write, for a lease with `remainingMs` left at `at`. */
function deadline(at: number, remainingMs: number): number {
  return at + remainingMs - WRITE_BOUND_MS;
}

function parseMicros(timestamp: string): number {
  const micros = parseTimestamp(timestamp);
  if (micros === undefined) throw new Error(`unreadable planned time ${timestamp}`);
  return micros;
}
