import { DataSource } from 'typeorm';
import { databaseOptions } from './database.options.js';

/** Runs the pending migrations of the Postgres at `url`; returns their names (none: up to date). */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = await new DataSource(databaseOptions(url, 'script')).initialize();
  try {
    return (await dataSource.runMigrations({ transaction: 'all' })).map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
