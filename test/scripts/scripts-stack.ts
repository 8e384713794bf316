import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DataSource } from 'typeorm';
import { openDataSource } from '../../tools/database/data-source.js';
import { MessagesRepository } from '../../src/dynamodb/messages.repository.js';
import { seedDemoUsers } from '../../tools/seed/demo-users.seed.js';
import { User } from '../../src/users/user.entity.js';
import { UsersService } from '../../src/users/users.service.js';
import { createMessageTable, dropTable, dynamoClient, startDynalite } from '../support/dynamodb.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { runScript, type ScriptResult } from '../support/run-script.js';
import { scratchDirectory } from './script-expectations.js';

/**
 * What the ddb:* script tests run against: dynalite, a Postgres database with the demo users, a
 * scratch working directory, and a fresh message table per test.
 */
export interface ScriptsStack {
  endpoint: string;
  client: DynamoDBClient;
  db: TestDatabase;
  users: UsersService;
  /** The demo users (andrewbrown, bayko). */
  demoUsers: User[];
  cwd: string;
  newTable(): Promise<{ table: string; repo: MessagesRepository }>;
  /** Runs a script against `table` with this stack's DynamoDB and Postgres (plus `env`). */
  run(script: string, args: string[], table: string, env?: Record<string, string>): Promise<ScriptResult>;
  stop(): Promise<void>;
}

export async function startScriptsStack(): Promise<ScriptsStack> {
  const dynalite = await startDynalite();
  const client = dynamoClient(dynalite.endpoint);
  const db = await createTestDatabase();
  const dataSource: DataSource = await openDataSource(db.url);
  const users = new UsersService(dataSource.getRepository(User));
  const demoUsers = await seedDemoUsers(users);
  const cwd = scratchDirectory();
  const tables: string[] = [];
  return {
    endpoint: dynalite.endpoint,
    client,
    db,
    users,
    demoUsers,
    cwd: cwd.path,
    async newTable() {
      const table = await createMessageTable(client);
      tables.push(table);
      return { table, repo: MessagesRepository.create(client, table) };
    },
    run: (script, args, table, env = {}) =>
      runScript(script, args, { DYNAMODB_ENDPOINT: dynalite.endpoint, DDB_MESSAGE_TABLE: table, DATABASE_URL: db.url, ...env }, cwd.path),
    async stop() {
      for (const table of tables) await dropTable(client, table);
      client.destroy();
      await dynalite.stop();
      await dataSource.destroy();
      await db.drop();
      cwd.remove();
    },
  };
}
