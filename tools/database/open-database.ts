import type { DataSource } from 'typeorm';
import { ConfigError, type AppConfig } from '../../src/config/config.js';
import { User } from '../../src/users/user.entity.js';
import { UsersService } from '../../src/users/users.service.js';
import { openDataSource } from './data-source.js';

/** The configured Postgres URL for a script; a clear one-line error when none is configured. */
export function requireDatabaseUrl(config: Pick<AppConfig, 'databaseUrl'>): string {
  if (!config.databaseUrl) {
    throw new ConfigError('no Postgres configured: set DATABASE_URL (or CONNECTION_URL), or start the local stack (npm run local)');
  }
  return config.databaseUrl;
}

/** The configured Postgres for a script. */
export function openDatabase(config: Pick<AppConfig, 'databaseUrl'>): Promise<DataSource> {
  return openDataSource(requireDatabaseUrl(config));
}

/** Runs `use` with a UsersService on the configured Postgres, closing the connection afterwards. */
export async function withUsersService<T>(config: Pick<AppConfig, 'databaseUrl'>, use: (users: UsersService) => Promise<T>): Promise<T> {
  const dataSource = await openDatabase(config);
  try {
    return await use(new UsersService(dataSource.getRepository(User)));
  } finally {
    await dataSource.destroy();
  }
}
