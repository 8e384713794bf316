import { AbstractLogger, type DataSourceOptions } from 'typeorm';
import { User } from '../users/user.entity.js';
import { CreateUsers1700000000000 } from './migrations/1700000000000-create-users.js';
import { CreateIdempotencyKeys1700000000001 } from './migrations/1700000000001-create-idempotency-keys.js';
import { HandlesUniqueIgnoringCase1700000000002 } from './migrations/1700000000002-handles-unique-ignoring-case.js';

/**
 * TypeORM's console logger prints a failed migration's error on stdout whatever `logging` says; the
 * error is also thrown to the caller, which reports it once (a script as its one line on stderr).
 * With `logging` unset nothing else is logged, so this logger has nothing to write.
 */
class SilentLogger extends AbstractLogger {
  protected writeLog(): void {}
}

/** The one TypeORM configuration: used by the app (via @nestjs/typeorm), the db:* scripts and tests. */
export function databaseOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [User],
    migrations: [CreateUsers1700000000000, CreateIdempotencyKeys1700000000001, HandlesUniqueIgnoringCase1700000000002],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logger: new SilentLogger(),
    // Fail fast when Postgres is unreachable; the pool reconnects once it is back.
    connectTimeoutMS: 3000,
    extra: { max: 10, connectionTimeoutMillis: 3000 },
  };
}
