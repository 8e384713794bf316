import { AdminCreateUserCommand, AdminDeleteUserCommand, UpdateUserAttributesCommand } from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { LocalStackInfo } from '../../tools/cli/cli.js';
import { ensureCognitoUser, signInWithPassword } from '../../tools/cognito/cognito.client.js';
import { prepareLocalCognito } from '../../tools/cognito/cognito-demo-users.js';
import { freePort } from '../../tools/local-stack/ports.js';
import { openDataSource } from '../../tools/database/data-source.js';
import { seedDemoUsers } from '../../tools/seed/demo-users.seed.js';
import { DEMO_PASSWORD } from '../../tools/seed/demo-users.js';
import { User } from '../../src/users/user.entity.js';
import { UsersService } from '../../src/users/users.service.js';
import { startDemoCognito, type DemoCognito } from '../support/cognito.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';
import { decodeJwtPayload } from '../support/tokens.js';
import { expectOneLineFailure, scratchDirectory, UNREACHABLE_POSTGRES } from './script-expectations.js';

let cognito: DemoCognito;
let cwd: ReturnType<typeof scratchDirectory>;
let closedPort: number;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  cognito = await startDemoCognito();
  cwd = scratchDirectory();
  closedPort = await freePort();
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await cognito?.stop();
  cwd?.remove();
});

async function newDatabase(options: { migrate: boolean; seed?: boolean }): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrate: options.migrate });
  databases.push(db);
  if (options.seed) {
    const dataSource = await openDataSource(db.url);
    await seedDemoUsers(new UsersService(dataSource.getRepository(User)));
    await dataSource.destroy();
  }
  return db;
}

async function cognitoIds(url: string): Promise<Record<string, string | null>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ handle: string; cognito_user_id: string | null }>(
      'SELECT handle, cognito_user_id FROM public.users',
    );
    return Object.fromEntries(rows.map((r) => [r.handle, r.cognito_user_id]));
  } finally {
    await client.end();
  }
}

async function sql(url: string, text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function hasUsersTable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ users: string | null }>("SELECT to_regclass('public.users') AS users");
    return rows[0].users !== null;
  } finally {
    await client.end();
  }
}

function cognitoEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { COGNITO_ENDPOINT: cognito.endpoint, AWS_COGNITO_USER_POOL_ID: cognito.userPoolId, ...extra };
}

function run(script: string, args: string[], env: Record<string, string>, dir = cwd.path) {
  return runScript(script, args, env, dir);
}

describe('cognito:list-users', () => {
  it('prints every user as JSON, then the {handle: sub} map', async () => {
    const result = await run('cognito-list-users', [], cognitoEnv());

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [list, map] = result.stdout.split(/\n(?=\{)/);
    expect(JSON.parse(list)).toEqual(
      expect.arrayContaining([
        {
          username: cognito.subs.andrewbrown,
          sub: cognito.subs.andrewbrown,
          handle: 'andrewbrown',
          email: 'andrew@example.com',
          emailVerified: true,
          status: 'CONFIRMED',
        },
        {
          username: cognito.subs.bayko,
          sub: cognito.subs.bayko,
          handle: 'bayko',
          email: 'bayko@example.com',
          emailVerified: true,
          status: 'CONFIRMED',
        },
      ]),
    );
    expect(JSON.parse(map)).toEqual(cognito.subs);
  });

  it('fails with one line when no user pool is configured', async () => {
    const result = await run('cognito-list-users', [], { COGNITO_ENDPOINT: cognito.endpoint });

    expectOneLineFailure(result, 'cognito:list-users', /no Cognito user pool configured: set AWS_COGNITO_USER_POOL_ID/);
  });

  it('fails with one line when Cognito is unreachable', async () => {
    const result = await run('cognito-list-users', [], cognitoEnv({ COGNITO_ENDPOINT: `http://127.0.0.1:${closedPort}` }));

    expectOneLineFailure(result, 'cognito:list-users', /cannot reach the service/);
  });

  it('fails with one line for an unknown pool', async () => {
    const result = await run('cognito-list-users', [], cognitoEnv({ AWS_COGNITO_USER_POOL_ID: 'local_missing1' }));

    expectOneLineFailure(result, 'cognito:list-users', /local_missing1/);
  });

  it('rejects unexpected arguments with the usage', async () => {
    const result = await run('cognito-list-users', ['everyone'], cognitoEnv());

    expectOneLineFailure(result, 'cognito:list-users', /unexpected argument "everyone" \(usage: npm run cognito:list-users -- \[prod\]\)/);
  });
});

describe('db:update-cognito-user-ids', () => {
  it("sets each user's cognito_user_id by verified email and prints what it updated", async () => {
    const db = await newDatabase({ migrate: true, seed: true });

    const result = await run('db-update-cognito-user-ids', [], cognitoEnv({ DATABASE_URL: db.url }));

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: expect.stringContaining(`updated andrewbrown: cognito_user_id = ${cognito.subs.andrewbrown}\n`),
    });
    expect(result.stdout).toContain(`updated bayko: cognito_user_id = ${cognito.subs.bayko}\n`);
    await expect(cognitoIds(db.url)).resolves.toEqual(cognito.subs);
  });

  it('changes nothing and says so when the ids are already set', async () => {
    const db = await newDatabase({ migrate: true, seed: true });
    await run('db-update-cognito-user-ids', [], cognitoEnv({ DATABASE_URL: db.url }));

    const result = await run('db-update-cognito-user-ids', [], cognitoEnv({ DATABASE_URL: db.url }));

    expect(result).toEqual({ code: 0, stderr: '', stdout: 'already set: andrewbrown, bayko\n' });
    await expect(cognitoIds(db.url)).resolves.toEqual(cognito.subs);
  });

  it('names the Cognito users that are not in Postgres', async () => {
    const db = await newDatabase({ migrate: true });

    const result = await run('db-update-cognito-user-ids', [], cognitoEnv({ DATABASE_URL: db.url }));

    expect(result).toEqual({ code: 0, stderr: '', stdout: 'not in Postgres (skipped): andrew@example.com, bayko@example.com\n' });
  });

  it('fails with one line when no Postgres is configured', async () => {
    const result = await run('db-update-cognito-user-ids', [], cognitoEnv());

    expectOneLineFailure(result, 'db:update-cognito-user-ids', /no Postgres configured: set DATABASE_URL/);
  });

  it('fails with one line when Postgres is unreachable', async () => {
    const result = await run('db-update-cognito-user-ids', [], cognitoEnv({ DATABASE_URL: UNREACHABLE_POSTGRES }));

    expectOneLineFailure(result, 'db:update-cognito-user-ids', /cannot reach the service/);
  });

  it('fails with one line when no user pool is configured', async () => {
    const db = await newDatabase({ migrate: true, seed: true });

    const result = await run('db-update-cognito-user-ids', [], { COGNITO_ENDPOINT: cognito.endpoint, DATABASE_URL: db.url });

    expectOneLineFailure(result, 'db:update-cognito-user-ids', /no Cognito user pool configured/);
    await expect(cognitoIds(db.url)).resolves.toEqual({ andrewbrown: null, bayko: null });
  });
});

/**
 * A user pool of its own (in the same emulator) with the demo users, for tests that add, change or
 * delete accounts.
 */
interface DemoPool {
  userPoolId: string;
  clientId: string;
  subs: Record<string, string>;
}

async function demoPool(): Promise<DemoPool> {
  const pool = await prepareLocalCognito(cognito.client, `pool-${randomUUID().slice(0, 8)}`);
  return { userPoolId: pool.userPoolId, clientId: pool.clientId, subs: Object.fromEntries(pool.users.map((u) => [u.handle, u.sub])) };
}

/** A confirmed account (password DEMO_PASSWORD) with these attributes; returns its sub. */
async function addAccount(pool: DemoPool, email: string, attributes: Record<string, string>): Promise<string> {
  const { user } = await ensureCognitoUser(cognito.client, pool.userPoolId, {
    username: email,
    password: DEMO_PASSWORD,
    attributes: { email, ...attributes },
  });
  return user.sub;
}

/** What any user can do with their own access token: choose a preferred_username, any one. */
async function setPreferredUsername(pool: DemoPool, email: string, handle: string): Promise<void> {
  const { accessToken } = await signInWithPassword(cognito.client, pool.clientId, email, DEMO_PASSWORD);
  await cognito.client.send(
    new UpdateUserAttributesCommand({ AccessToken: accessToken, UserAttributes: [{ Name: 'preferred_username', Value: handle }] }),
  );
}

function updateIds(pool: DemoPool, db: TestDatabase) {
  return run('db-update-cognito-user-ids', [], cognitoEnv({ AWS_COGNITO_USER_POOL_ID: pool.userPoolId, DATABASE_URL: db.url }));
}

describe('db:update-cognito-user-ids links a user to the Cognito account with the same verified email, never by preferred_username', () => {
  it("does not give bayko's user to an attacker who set preferred_username=bayko before the first run", async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    const attacker = await addAccount(pool, 'mallory@evil.example', { email_verified: 'true', preferred_username: 'mallory' });
    await setPreferredUsername(pool, 'mallory@evil.example', 'bayko');

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        `updated andrewbrown: cognito_user_id = ${pool.subs.andrewbrown}\n` +
        `updated bayko: cognito_user_id = ${pool.subs.bayko}\n` +
        'not in Postgres (skipped): mallory@evil.example\n',
    });
    await expect(cognitoIds(db.url)).resolves.toEqual(pool.subs);
    expect(Object.values(await cognitoIds(db.url))).not.toContain(attacker);
  });

  it("does not re-map bayko's linked user to an attacker who set preferred_username=bayko later (verified email or not)", async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    await updateIds(pool, db);
    const verified = await addAccount(pool, 'mallory@evil.example', { email_verified: 'true' });
    const unverified = await addAccount(pool, 'trudy@evil.example', { email_verified: 'false' });
    await setPreferredUsername(pool, 'mallory@evil.example', 'bayko');
    await setPreferredUsername(pool, 'trudy@evil.example', 'bayko');

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        'already set: andrewbrown, bayko\nnot in Postgres (skipped): mallory@evil.example\nemail not verified (skipped): trudy@evil.example\n',
    });
    const ids = await cognitoIds(db.url);
    expect(ids).toEqual(pool.subs);
    expect(Object.values(ids)).not.toContain(verified);
    expect(Object.values(ids)).not.toContain(unverified);
  });

  it('refuses, and changes nothing for, a user whose verified email two Cognito accounts have (compared ignoring case)', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    const twin = await addAccount(pool, 'Bayko@Example.COM', { email_verified: 'true', preferred_username: 'bayko' });

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 1,
      stdout: `updated andrewbrown: cognito_user_id = ${pool.subs.andrewbrown}\n`,
      stderr: `refused bayko: 2 Cognito accounts have the verified email bayko@example.com (${pool.subs.bayko}, ${twin})\n`,
    });
    await expect(cognitoIds(db.url)).resolves.toEqual({ andrewbrown: pool.subs.andrewbrown, bayko: null });
  });

  it('refuses, and changes nothing for, two Postgres users with the same email', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    await sql(db.url, "INSERT INTO public.users (handle, display_name, email) VALUES ('bayko2', 'Impostor', 'BAYKO@example.com')");

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 1,
      stdout: `updated andrewbrown: cognito_user_id = ${pool.subs.andrewbrown}\n`,
      stderr: 'refused bayko, bayko2: these Postgres users share the email bayko@example.com\n',
    });
    await expect(cognitoIds(db.url)).resolves.toEqual({ andrewbrown: pool.subs.andrewbrown, bayko: null, bayko2: null });
  });

  it('links a user whose Cognito preferred_username differs from the handle by email, and says so', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    await setPreferredUsername(pool, 'bayko@example.com', 'andrewbrown');

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        `updated andrewbrown: cognito_user_id = ${pool.subs.andrewbrown}\n` +
        `updated bayko: cognito_user_id = ${pool.subs.bayko}\n` +
        'preferred_username differs from the handle (linked by verified email): bayko ("andrewbrown")\n',
    });
    await expect(cognitoIds(db.url)).resolves.toEqual(pool.subs);
  });

  it('relinks a user whose account was deleted and created again, and says so', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    await updateIds(pool, db);
    await cognito.client.send(new AdminDeleteUserCommand({ UserPoolId: pool.userPoolId, Username: 'bayko@example.com' }));
    const newSub = await addAccount(pool, 'bayko@example.com', { email_verified: 'true', preferred_username: 'bayko' });

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `relinked bayko: cognito_user_id = ${newSub} (was ${pool.subs.bayko}, no longer in the pool)\nalready set: andrewbrown\n`,
    });
    await expect(cognitoIds(db.url)).resolves.toEqual({ andrewbrown: pool.subs.andrewbrown, bayko: newSub });
  });

  it('refuses to re-map a user linked to another account that still exists (e.g. after a takeover by the old rule)', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    await updateIds(pool, db);
    const attacker = await addAccount(pool, 'mallory@evil.example', { email_verified: 'true', preferred_username: 'bayko' });
    await sql(db.url, "UPDATE public.users SET cognito_user_id = $1 WHERE handle = 'bayko'", [attacker]);

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 1,
      stdout: 'already set: andrewbrown\nnot in Postgres (skipped): mallory@evil.example\n',
      stderr: `refused bayko: linked to ${attacker}, which is still in the pool, but the account with its verified email bayko@example.com is ${pool.subs.bayko}\n`,
    });
    await expect(cognitoIds(db.url)).resolves.toEqual({ andrewbrown: pool.subs.andrewbrown, bayko: attacker });
  });

  it('skips accounts whose email is not verified or that are not confirmed, and names them', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    await sql(
      db.url,
      "INSERT INTO public.users (handle, display_name, email) VALUES ('carol', 'Carol', 'carol@example.com'), ('dave', 'Dave', 'dave@example.com')",
    );
    await addAccount(pool, 'carol@example.com', { email_verified: 'false', preferred_username: 'carol' });
    await cognito.client.send(
      new AdminCreateUserCommand({
        UserPoolId: pool.userPoolId,
        Username: 'dave@example.com',
        MessageAction: 'SUPPRESS',
        UserAttributes: [
          { Name: 'email', Value: 'dave@example.com' },
          { Name: 'email_verified', Value: 'true' },
        ],
      }),
    );

    const result = await updateIds(pool, db);

    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout:
        `updated andrewbrown: cognito_user_id = ${pool.subs.andrewbrown}\n` +
        `updated bayko: cognito_user_id = ${pool.subs.bayko}\n` +
        'email not verified (skipped): carol@example.com\n' +
        'not confirmed (skipped): dave@example.com (FORCE_CHANGE_PASSWORD)\n',
    });
    await expect(cognitoIds(db.url)).resolves.toEqual({ ...pool.subs, carol: null, dave: null });
  });
});

describe('db:setup', () => {
  it('migrates, seeds the demo users and sets their Cognito ids', async () => {
    const db = await newDatabase({ migrate: false });

    const result = await run('db-setup', [], cognitoEnv({ DATABASE_URL: db.url }));

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^ran migrations CreateUsers1700000000000(, \w+)*\ndemo users: andrewbrown, bayko\nupdated andrewbrown: .*\nupdated bayko: .*\n$/,
    );
    await expect(cognitoIds(db.url)).resolves.toEqual(cognito.subs);
  });

  it('can run again without changing anything', async () => {
    const db = await newDatabase({ migrate: false });
    await run('db-setup', [], cognitoEnv({ DATABASE_URL: db.url }));

    const result = await run('db-setup', [], cognitoEnv({ DATABASE_URL: db.url }));

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('no pending migrations\ndemo users: andrewbrown, bayko\nalready set: andrewbrown, bayko\n');
    await expect(cognitoIds(db.url)).resolves.toEqual(cognito.subs);
  });

  it('exits 1 naming a refused link, after migrating and seeding', async () => {
    const [pool, db] = await Promise.all([demoPool(), newDatabase({ migrate: true, seed: true })]);
    const attacker = await addAccount(pool, 'mallory@evil.example', { email_verified: 'true', preferred_username: 'bayko' });
    await sql(db.url, "UPDATE public.users SET cognito_user_id = $1 WHERE handle = 'bayko'", [attacker]);

    const result = await run('db-setup', [], cognitoEnv({ AWS_COGNITO_USER_POOL_ID: pool.userPoolId, DATABASE_URL: db.url }));

    expect(result).toEqual({
      code: 1,
      stdout:
        'no pending migrations\ndemo users: andrewbrown, bayko\n' +
        `updated andrewbrown: cognito_user_id = ${pool.subs.andrewbrown}\nnot in Postgres (skipped): mallory@evil.example\n`,
      stderr: `refused bayko: linked to ${attacker}, which is still in the pool, but the account with its verified email bayko@example.com is ${pool.subs.bayko}\n`,
    });
  });

  it('changes nothing when no user pool is configured', async () => {
    const db = await newDatabase({ migrate: false });

    const result = await run('db-setup', [], { DATABASE_URL: db.url });

    expectOneLineFailure(result, 'db:setup', /no Cognito user pool configured/);
    await expect(hasUsersTable(db.url)).resolves.toBe(false);
  });

  it('changes nothing when Cognito is unreachable', async () => {
    const db = await newDatabase({ migrate: false });

    const result = await run('db-setup', [], cognitoEnv({ DATABASE_URL: db.url, COGNITO_ENDPOINT: `http://127.0.0.1:${closedPort}` }));

    expectOneLineFailure(result, 'db:setup', /cannot reach the service/);
    await expect(hasUsersTable(db.url)).resolves.toBe(false);
  });

  it('fails with one line when Postgres is unreachable', async () => {
    const result = await run('db-setup', [], cognitoEnv({ DATABASE_URL: UNREACHABLE_POSTGRES }));

    expectOneLineFailure(result, 'db:setup', /cannot reach the service/);
  });
});

describe('local:token', () => {
  let stackDir: ReturnType<typeof scratchDirectory>;

  function writeStack(dir: string, info: Partial<LocalStackInfo>): void {
    mkdirSync(join(dir, '.local'), { recursive: true });
    writeFileSync(join(dir, '.local', 'stack.json'), JSON.stringify(info));
  }

  beforeAll(() => {
    stackDir = scratchDirectory();
    writeStack(stackDir.path, { cognitoEndpoint: cognito.endpoint, userPoolId: cognito.userPoolId, userPoolClientId: cognito.clientId });
  });

  afterAll(() => stackDir?.remove());

  it("prints the demo user's access token, alone on one line", async () => {
    const result = await run('local-token', ['andrewbrown'], {}, stackDir.path);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeJwtPayload(result.stdout.trim())).toMatchObject({
      token_use: 'access',
      client_id: cognito.clientId,
      sub: cognito.subs.andrewbrown,
      iss: `${cognito.endpoint}/${cognito.userPoolId}`,
    });
  });

  it('fails with one line for a handle that is not a demo user', async () => {
    const result = await run('local-token', ['nobody'], {}, stackDir.path);

    expectOneLineFailure(result, 'local:token', /unknown demo user "nobody" \(demo users: andrewbrown, bayko\)/);
  });

  it('fails with the usage when no handle is given', async () => {
    const result = await run('local-token', [], {}, stackDir.path);

    expectOneLineFailure(result, 'local:token', /missing argument \(usage: npm run -s local:token -- <handle>\)/);
  });

  it('fails with one line when no local stack is running', async () => {
    const result = await run('local-token', ['andrewbrown'], {}, cwd.path);

    expectOneLineFailure(result, 'local:token', /no local stack found .*start one with npm run local/);
  });

  it('fails with one line when the stack in stack.json is gone', async () => {
    const gone = scratchDirectory();
    writeStack(gone.path, {
      cognitoEndpoint: `http://127.0.0.1:${closedPort}`,
      userPoolId: cognito.userPoolId,
      userPoolClientId: cognito.clientId,
    });

    const result = await run('local-token', ['andrewbrown'], {}, gone.path);
    gone.remove();

    expectOneLineFailure(result, 'local:token', /cannot reach the service/);
  });
});
