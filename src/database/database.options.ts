import { AbstractLogger, type DataSourceOptions } from 'typeorm';
import { TIMEOUTS } from '../common/timeouts.js';
import { User } from '../users/user.entity.js';
import { BoundedPgClient } from './bounded-pg-client.js';
import { CreateUsers1700000000000 } from './migrations/1700000000000-create-users.js';
import { CreateIdempotencyKeys1700000000001 } from './migrations/1700000000001-create-idempotency-keys.js';
import { HandlesUniqueIgnoringCase1700000000002 } from './migrations/1700000000002-handles-unique-ignoring-case.js';
import { LockIdempotencyKeys1700000000005 } from './migrations/1700000000005-lock-idempotency-keys.js';
import { IdempotencyEarlierPlans1700000000006 } from './migrations/1700000000006-idempotency-earlier-plans.js';

/**
 * TypeORM's console logger prints a failed migration's error on stdout whatever `logging` says; the
 * error is also thrown to the caller, which reports it once (a script as its one line on stderr).
 * With `logging` unset nothing else is logged, so this logger has nothing to write.
 */
class SilentLogger extends AbstractLogger {
  protected writeLog(): void {}
}

/** The one TypeORM configuration: used by the app (via @nestjs/typeorm), the db:* scripts and tests. */
export function databaseOptions(url: string, use: 'api' | 'script' = 'api'): DataSourceOptions {
  // A script's statements (a migration building an index) may run long; an API request's may not.
  const { queryMs, statementMs } = use === 'api' ? TIMEOUTS.postgres : TIMEOUTS.postgres.script;
  return {
    type: 'postgres',
    url,
    entities: [User],
    migrations: [
      CreateUsers1700000000000,
      CreateIdempotencyKeys1700000000001,
      HandlesUniqueIgnoringCase1700000000002,
      LockIdempotencyKeys1700000000005,
      IdempotencyEarlierPlans1700000000006,
    ],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logger: new SilentLogger(),
    // Every call is bounded (TIMEOUTS.postgres): a Postgres that stops answering costs a request
    // seconds, not minutes, and the pool replaces dead connections by itself once it is back.
    connectTimeoutMS: TIMEOUTS.postgres.acquireMs,
    extra: {
      max: 10,
      Client: BoundedPgClient,
      connectionTimeoutMillis: TIMEOUTS.postgres.acquireMs,
      query_timeout: queryMs,
      statement_timeout: statementMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: TIMEOUTS.postgres.keepAliveDelayMs,
      idleTimeoutMillis: TIMEOUTS.postgres.idleMs,
    },
  };
}
