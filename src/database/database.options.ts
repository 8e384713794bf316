import type { DataSourceOptions } from 'typeorm';
import { User } from '../users/user.entity.js';
import { CreateUsers1700000000000 } from './migrations/1700000000000-create-users.js';
import { CreateIdempotencyKeys1700000000001 } from './migrations/1700000000001-create-idempotency-keys.js';

/** The one TypeORM configuration: used by the app (via @nestjs/typeorm), the db:* scripts and tests. */
export function databaseOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [User],
    migrations: [CreateUsers1700000000000, CreateIdempotencyKeys1700000000001],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    // Fail fast when Postgres is unreachable; the pool reconnects once it is back.
    connectTimeoutMS: 3000,
    extra: { max: 10, connectionTimeoutMillis: 3000 },
  };
}
