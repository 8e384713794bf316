import { DataSource } from 'typeorm';
import { databaseOptions } from '../../src/database/database.options.js';

/** An initialized TypeORM DataSource for scripts and the local stack (the app uses @nestjs/typeorm). */
export async function openDataSource(url: string): Promise<DataSource> {
  return new DataSource(databaseOptions(url, 'script')).initialize();
}
