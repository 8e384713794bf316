import type { DataSource } from 'typeorm';
import { ConfigError, type AppConfig } from '../config/config.js';
import { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { openDataSource } from './data-source.js';

/** The configured Postgres for a script; a clear one-line error when none is configured. */
export function openDatabase(config: Pick<AppConfig, 'databaseUrl'>): Promise<DataSource> {
  if (!config.databaseUrl) {
    throw new ConfigError('no Postgres configured: set DATABASE_URL (or CONNECTION_URL), or start the local stack (npm run local)');
  }
  return openDataSource(config.databaseUrl);
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
