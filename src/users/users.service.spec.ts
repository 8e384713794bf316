import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource, type Logger } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres.js';
import { databaseOptions } from '../database/database.options.js';
import { seedDemoUsers } from '../../tools/seed/demo-users.seed.js';
import { User } from './user.entity.js';
import { UsersService } from './users.service.js';

let db: TestDatabase;
let dataSource: DataSource;
let users: UsersService;
/** Every SELECT on users the service sent, with its parameters. */
const selects: { sql: string; parameters: unknown[] }[] = [];

const recorder: Logger = {
  logQuery: (sql, parameters) => {
    if (/^SELECT .* FROM "public"\."users"/s.test(sql)) selects.push({ sql, parameters: Array.isArray(parameters) ? parameters : [] });
  },
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = await new DataSource({ ...databaseOptions(db.url), logging: ['query'], logger: recorder }).initialize();
  users = new UsersService(dataSource.getRepository(User));
  await seedDemoUsers(users);
});

afterAll(async () => {
  await dataSource?.destroy();
  await db?.drop();
});

async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('handles, compared ignoring case', () => {
  it('finds bayko as BAYKO', async () => {
    await expect(users.findShortByHandle('BAYKO')).resolves.toMatchObject({ handle: 'bayko', display_name: 'Andrew Bayko' });
  });

  it('finds several users whatever the case of the handles asked for', async () => {
    const found = await users.findByHandles(['Bayko', 'ANDREWBROWN', 'nobody']);

    expect(found.map((u) => u.handle).sort()).toEqual(['andrewbrown', 'bayko']);
  });

  it('does not insert "Bayko" beside "bayko": ensureUsers leaves the existing user as it is', async () => {
    const [kept] = await users.ensureUsers([{ handle: 'Bayko', display_name: 'Impostor', email: 'mallory@evil.example' }]);

    expect(kept).toMatchObject({ handle: 'bayko', display_name: 'Andrew Bayko', email: 'bayko@example.com' });
    await expect(sql("SELECT handle FROM public.users WHERE lower(handle) = 'bayko'")).resolves.toEqual([{ handle: 'bayko' }]);
  });

  it('is enforced by the database: a second handle that differs only in case is refused', async () => {
    await expect(
      sql("INSERT INTO public.users (handle, display_name, email) VALUES ('BAYKO', 'Impostor', 'x@evil.example')"),
    ).rejects.toMatchObject({
      code: '23505',
      constraint: 'users_handle_lower_key',
    });
  });

  it('looks handles up through the unique index on lower(handle)', async () => {
    selects.length = 0;
    await users.findShortByHandle('BAYKO');
    await users.findByHandles(['Bayko', 'andrewbrown']);

    expect(selects).toHaveLength(2);
    for (const { sql: text, parameters } of selects) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        // Two rows would be read faster without the index: ask the planner for its indexed plan.
        await client.query('SET enable_seqscan = off');
        const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, parameters)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
        expect(plan).toContain('users_handle_lower_key');
      } finally {
        await client.end();
      }
    }
  });
});

describe('setCognitoUserId', () => {
  it('sets the sub only while the link is still what was read', async () => {
    const [carol] = await users.ensureUsers([{ handle: 'carol', display_name: 'Carol', email: 'carol@example.com' }]);

    await expect(users.setCognitoUserId(carol.uuid, 'sub-1', 'sub-0')).resolves.toBe(false);
    await expect(users.setCognitoUserId(carol.uuid, 'sub-1', null)).resolves.toBe(true);
    await expect(users.setCognitoUserId(carol.uuid, 'sub-2', null)).resolves.toBe(false);
    await expect(users.setCognitoUserId(carol.uuid, 'sub-2', 'sub-1')).resolves.toBe(true);
    await expect(sql('SELECT cognito_user_id FROM public.users WHERE uuid = $1', [carol.uuid])).resolves.toEqual([
      { cognito_user_id: 'sub-2' },
    ]);
  });
});
