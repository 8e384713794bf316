import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCognitoClient } from '../tools/cognito/cognito.client.js';
import { demoUserAccessToken } from '../tools/cognito/cognito-demo-users.js';
import { loadConfig, loadLocalStackConfig } from '../src/config/config.js';
import { openMessagesRepository } from '../tools/dynamodb/open-messages-repository.js';
import { startLocalStack, type LocalStack } from '../tools/local-stack/local-stack.js';
import { assertPortFree, freePort } from '../tools/local-stack/ports.js';
import { openDataSource } from '../tools/database/data-source.js';
import { User } from '../src/users/user.entity.js';
import { makeTempDir } from './support/cognito.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const ANY_PORT = { api: 0, dynamodb: 0, cognito: 0, postgres: 0 };

async function accessToken(stack: LocalStack, handle: string): Promise<string> {
  const client = createCognitoClient({ aws: { region: 'us-east-1' }, cognito: { endpoint: stack.info.cognitoEndpoint } });
  try {
    return await demoUserAccessToken(client, stack.info.userPoolClientId, handle);
  } finally {
    client.destroy();
  }
}

async function demoState(stack: LocalStack) {
  const dataSource = await openDataSource(stack.info.databaseUrl);
  const users = await dataSource.getRepository(User).find({ order: { handle: 'asc' } });
  await dataSource.destroy();
  const [andrew, bayko] = users;
  const { repository, close } = openMessagesRepository(stack.config);
  try {
    const groups = await repository.listAllConversations(andrew.uuid);
    const messages = groups.length ? await repository.listAllMessages(groups[0].message_group_uuid) : [];
    return { users, andrew, bayko, groups, messages };
  } finally {
    await close();
  }
}

describe('the local stack with DATABASE_URL', () => {
  const dataDir = makeTempDir('cruddur-local-');
  let db: TestDatabase;
  let stack: LocalStack | undefined;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
    stack = await startLocalStack({
      config: loadLocalStackConfig({ APP_ENV: 'test', DATABASE_URL: db.url }),
      dataDir: dataDir.path,
      ports: ANY_PORT,
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await db?.drop();
    dataDir.remove();
  });

  it('answers /api/health with 200', async () => {
    const res = await fetch(`${stack!.info.apiUrl}/api/health`);

    expect(res.status).toBe(200);
  });

  it('writes stack.json with every part of the stack', () => {
    const written = JSON.parse(readFileSync(join(dataDir.path, 'stack.json'), 'utf8'));

    expect(written).toEqual(stack!.info);
    expect(written).toEqual({
      apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      dynamodbEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      table: 'cruddur-messages',
      cognitoEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      userPoolId: expect.stringMatching(/^local_/),
      userPoolClientId: expect.any(String),
      databaseUrl: db.url,
    });
  });

  it('runs the app with the local endpoints', () => {
    expect(stack!.config).toMatchObject({
      appEnv: 'local',
      databaseUrl: db.url,
      dynamodb: { endpoint: stack!.info.dynamodbEndpoint },
      cognito: { userPoolId: stack!.info.userPoolId, clientId: stack!.info.userPoolClientId, endpoint: stack!.info.cognitoEndpoint },
    });
  });

  it('lets a demo user sign in and call the API with the access token', async () => {
    const token = await accessToken(stack!, 'andrewbrown');

    const res = await fetch(`${stack!.info.apiUrl}/api/message_groups`, { headers: { authorization: `Bearer ${token}` } });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([expect.objectContaining({ handle: 'bayko', display_name: 'Andrew Bayko' })]);
  });

  it('seeds the demo users with their Cognito subs and their conversation', async () => {
    const { users, groups, messages } = await demoState(stack!);

    expect(users.map((u) => u.handle)).toEqual(['andrewbrown', 'bayko']);
    expect(users.every((u) => u.cognito_user_id)).toBe(true);
    expect(groups).toHaveLength(1);
    expect(messages.length).toBeGreaterThan(1);
  });

  it('reuses the data on a second start: same pool, same conversation, nothing duplicated', async () => {
    const before = { info: stack!.info, ...(await demoState(stack!)) };
    await stack!.stop();
    expect(existsSync(join(dataDir.path, 'stack.json'))).toBe(false);

    stack = await startLocalStack({
      config: loadLocalStackConfig({ APP_ENV: 'test', DATABASE_URL: db.url }),
      dataDir: dataDir.path,
      ports: ANY_PORT,
    });
    const after = await demoState(stack);

    expect(stack.info.userPoolId).toBe(before.info.userPoolId);
    expect(stack.info.userPoolClientId).toBe(before.info.userPoolClientId);
    expect(after.users.map((u) => [u.uuid, u.cognito_user_id])).toEqual(before.users.map((u) => [u.uuid, u.cognito_user_id]));
    expect(after.groups).toEqual(before.groups);
    expect(after.messages).toHaveLength(before.messages.length);
    await expect(accessToken(stack, 'bayko')).resolves.toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('refuses a second stack on the same data directory', async () => {
    const second = startLocalStack({
      config: loadLocalStackConfig({ APP_ENV: 'test', DATABASE_URL: db.url }),
      dataDir: dataDir.path,
      ports: ANY_PORT,
    });

    const outcome = await second.then(
      async (started) => (await started.stop(), 'started'),
      (error: Error) => error.message,
    );

    expect(outcome).toMatch(/is in use by another local stack \(pid \d+\); stop it first$/);
  });
});

describe('the local stack when something is wrong', () => {
  const dataDir = makeTempDir('cruddur-local-');
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    blockedPort = (blocker.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    dataDir.remove();
  });

  it('refuses a configuration read for AWS (no local cursor secret, no stream emulator) before starting anything', async () => {
    await expect(startLocalStack({ config: loadConfig({ APP_ENV: 'test' }), dataDir: dataDir.path, ports: ANY_PORT })).rejects.toThrow(
      'the local stack needs the configuration of loadLocalStackConfig(), not one for AWS',
    );
    expect(existsSync(join(dataDir.path, 'stack.pid'))).toBe(false);
  });

  it('fails with one line naming the setting when a port is in use', async () => {
    const config = loadLocalStackConfig({ APP_ENV: 'test', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unused' });

    const start = startLocalStack({ config, dataDir: dataDir.path, ports: { ...ANY_PORT, cognito: blockedPort } });

    await expect(start).rejects.toThrow(
      `Cognito emulator: port ${blockedPort} is already in use (is another \`npm run local\` running? set LOCAL_COGNITO_PORT to use another port)`,
    );
  });

  it('stops what it already started when a later step fails', async () => {
    const [dynamodb, cognito] = [await freePort(), await freePort()];
    const config = loadLocalStackConfig({ APP_ENV: 'test', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cruddur_missing_database' });

    await expect(startLocalStack({ config, dataDir: dataDir.path, ports: { ...ANY_PORT, dynamodb, cognito } })).rejects.toThrow(
      /cruddur_missing_database/,
    );

    await expect(assertPortFree(dynamodb, 'DynamoDB', 'x')).resolves.toBeUndefined();
    await expect(assertPortFree(cognito, 'Cognito', 'x')).resolves.toBeUndefined();
    expect(existsSync(join(dataDir.path, 'stack.pid'))).toBe(false);
    expect(existsSync(join(dataDir.path, 'stack.json'))).toBe(false);
  });
});

describe('the local stack without DATABASE_URL', () => {
  const dataDir = makeTempDir('cruddur-local-pg-');
  let stack: LocalStack | undefined;

  afterAll(async () => {
    await stack?.stop();
    dataDir.remove();
  });

  it('runs its own embedded Postgres in the data directory', async () => {
    stack = await startLocalStack({ config: loadLocalStackConfig({ APP_ENV: 'test' }), dataDir: dataDir.path, ports: ANY_PORT });

    const res = await fetch(`${stack.info.apiUrl}/api/health`);

    expect(stack.embeddedPostgres).toBe(true);
    expect(stack.info.databaseUrl).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/cruddur$/);
    expect(existsSync(join(dataDir.path, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(res.status).toBe(200);
    expect((await demoState(stack)).users.map((u) => u.handle)).toEqual(['andrewbrown', 'bayko']);
  }, 60_000);
});
