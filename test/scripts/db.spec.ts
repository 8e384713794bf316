import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../src/database/database.options.js';
import { CreateUsers1700000000000 } from '../../src/database/migrations/1700000000000-create-users.js';
import { CreateIdempotencyKeys1700000000001 } from '../../src/database/migrations/1700000000001-create-idempotency-keys.js';
import { DEMO_USERS } from '../../tools/seed/demo-users.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';
import { expectOneLineFailure, scratchDirectory, UNREACHABLE_POSTGRES } from './script-expectations.js';

let cwd: ReturnType<typeof scratchDirectory>;
const databases: TestDatabase[] = [];

beforeAll(() => {
  cwd = scratchDirectory();
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  cwd.remove();
});

async function newDatabase(options: { migrate: boolean }): Promise<TestDatabase> {
  const db = await createTestDatabase(options);
  databases.push(db);
  return db;
}

function run(script: string, args: string[], env: Record<string, string>) {
  return runScript(script, args, env, cwd.path);
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('db:migrate', () => {
  it('runs the pending migrations and names them', async () => {
    const db = await newDatabase({ migrate: false });

    const result = await run('db-migrate', [], { DATABASE_URL: db.url });

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^ran migration CreateUsers1700000000000\n(ran migration \w+\n)*$/);
    await expect(query(db.url, 'SELECT uuid, handle FROM public.users')).resolves.toEqual([]);
  });

  it('says when no migration is pending', async () => {
    const db = await newDatabase({ migrate: true });

    const result = await run('db-migrate', [], { DATABASE_URL: db.url });

    expect(result).toEqual({ code: 0, stdout: 'no pending migrations\n', stderr: '' });
  });

  it('rejects an unknown option with one usage line and migrates nothing', async () => {
    const db = await newDatabase({ migrate: false });

    const result = await run('db-migrate', ['--revert'], { DATABASE_URL: db.url });

    expectOneLineFailure(result, 'db:migrate', /unknown option --revert \(usage: npm run db:migrate -- \[prod\]\)/);
    await expect(query(db.url, "SELECT to_regclass('public.users') AS t")).resolves.toEqual([{ t: null }]);
  });

  it('refuses to make handles unique ignoring case while some differ only in case, naming them', async () => {
    const db = await newDatabase({ migrate: false });
    // The schema before handles were compared ignoring case, which let "Bayko" in beside "bayko".
    const old = await new DataSource({
      ...databaseOptions(db.url),
      migrations: [CreateUsers1700000000000, CreateIdempotencyKeys1700000000001],
    }).initialize();
    await old.runMigrations();
    await old.destroy();
    await query(
      db.url,
      `INSERT INTO public.users (handle, display_name, email) VALUES
         ('bayko', 'Andrew Bayko', 'bayko@example.com'), ('Bayko', 'Impostor', 'mallory@evil.example'), ('BAYKO', 'Impostor', 'trudy@evil.example'),
         ('carol', 'Carol', 'carol@example.com'), ('Carol', 'Carol C', 'carol.c@example.com'), ('andrewbrown', 'Andrew Brown', 'andrew@example.com')`,
    );

    const result = await run('db-migrate', [], { DATABASE_URL: db.url });

    expectOneLineFailure(
      result,
      'db:migrate',
      /handles must be unique ignoring case, but these differ only in case: "BAYKO", "Bayko", "bayko"; "Carol", "carol" \(/,
    );
    await expect(query(db.url, "SELECT to_regclass('public.users_handle_lower_key') AS i")).resolves.toEqual([{ i: null }]);
    // Once they are told apart, the migration runs.
    await query(db.url, "DELETE FROM public.users WHERE handle IN ('Bayko', 'BAYKO', 'Carol')");
    const again = await run('db-migrate', [], { DATABASE_URL: db.url });
    expect(again).toMatchObject({ code: 0, stderr: '' });
  });

  it('fails with one line when no database is configured', async () => {
    const result = await run('db-migrate', [], {});

    expectOneLineFailure(result, 'db:migrate', /no Postgres configured: set DATABASE_URL/);
  });

  it('fails with one line when Postgres is unreachable', async () => {
    const result = await run('db-migrate', [], { DATABASE_URL: UNREACHABLE_POSTGRES });

    expectOneLineFailure(result, 'db:migrate', /cannot reach the service \(127\.0\.0\.1:1 connection refused\)/);
  });
});

describe('db:seed', () => {
  it('inserts the demo users and prints them as JSON', async () => {
    const db = await newDatabase({ migrate: true });

    const result = await run('db-seed', [], { DATABASE_URL: db.url });

    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { uuid: string; handle: string; display_name: string; email: string }[];
    expect(printed.map(({ handle, display_name, email }) => ({ handle, display_name, email }))).toEqual(DEMO_USERS);
    const stored = await query<{ uuid: string; handle: string }>(db.url, 'SELECT uuid, handle FROM public.users ORDER BY handle');
    expect(stored).toEqual(printed.map(({ uuid, handle }) => ({ uuid, handle })).sort((a, b) => a.handle.localeCompare(b.handle)));
  });

  it('is idempotent: a second run prints the same users and adds none', async () => {
    const db = await newDatabase({ migrate: true });
    const first = await run('db-seed', [], { DATABASE_URL: db.url });

    const second = await run('db-seed', [], { DATABASE_URL: db.url });

    expect(second).toEqual({ ...first, code: 0 });
    await expect(query(db.url, 'SELECT count(*)::int AS n FROM public.users')).resolves.toEqual([{ n: DEMO_USERS.length }]);
  });

  it('rejects an extra argument with one usage line and inserts nothing', async () => {
    const db = await newDatabase({ migrate: true });

    const result = await run('db-seed', ['andrewbrown'], { DATABASE_URL: db.url });

    expectOneLineFailure(result, 'db:seed', /unexpected argument "andrewbrown" \(usage: npm run db:seed -- \[prod\]\)/);
    await expect(query(db.url, 'SELECT count(*)::int AS n FROM public.users')).resolves.toEqual([{ n: 0 }]);
  });

  it('points to db:migrate when the schema is missing', async () => {
    const db = await newDatabase({ migrate: false });

    const result = await run('db-seed', [], { DATABASE_URL: db.url });

    expectOneLineFailure(
      result,
      'db:seed',
      /relation "public\.users" does not exist \(has the database been migrated\? npm run db:migrate\)/,
    );
  });

  it('fails with one line when Postgres is unreachable', async () => {
    const result = await run('db-seed', [], { DATABASE_URL: UNREACHABLE_POSTGRES });

    expectOneLineFailure(result, 'db:seed', /cannot reach the service/);
  });
});
