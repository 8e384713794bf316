import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createApp, initApp } from '../../src/app.factory.js';
import {
  createCognitoClient,
  ensureCognitoUser,
  ensureUserPool,
  ensureUserPoolClient,
  signInWithPassword,
} from '../../tools/cognito/cognito.client.js';
import { startCognitoEmulator, type CognitoEmulator } from '../../tools/local-stack/cognito-emulator.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { openDataSource } from '../../tools/database/data-source.js';
import { DYNAMODB_CLIENT } from '../../src/dynamodb/dynamodb.module.js';
import { MessagesRepository } from '../../src/dynamodb/messages.repository.js';
import { User } from '../../src/users/user.entity.js';
import { createMessageTable, dropTable, dynamoClient, startDynalite } from './dynamodb.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { UNLIMITED_FOR_TESTS } from './rate-limits.js';

export const PASSWORD = 'Test-password-1';

export interface TestUser {
  uuid: string;
  handle: string;
  display_name: string;
  sub: string;
  username: string;
}

/** The whole service for end-to-end tests: dynalite, a fresh Postgres database, cognito-local, the Nest app. */
export interface ApiStack {
  app: NestFastifyApplication;
  config: AppConfig;
  /** The environment the app was configured from: another app on the same stack (a second task) starts from it. */
  env: Record<string, string>;
  repository: MessagesRepository;
  dynamo: DynamoDBClient;
  cognito: CognitoIdentityProviderClient;
  cognitoEmulator: CognitoEmulator;
  userPoolId: string;
  clientId: string;
  db: TestDatabase;
  /** Creates a user in Cognito (and, unless `inPostgres: false`, in Postgres with its sub). */
  createUser(handle?: string, options?: { inPostgres?: boolean }): Promise<TestUser>;
  accessToken(user: TestUser): Promise<string>;
  idToken(user: TestUser): Promise<string>;
  stop(): Promise<void>;
}

export interface ApiStackOptions {
  /** Postgres URL the app uses (e.g. through a test-controlled proxy); defaults to the test database. */
  databaseUrl?: (db: TestDatabase) => Promise<string> | string;
  /** DynamoDB endpoint the app uses (e.g. through a test-controlled proxy); the test's own client talks to dynalite directly. */
  dynamodbEndpoint?: (endpoint: string) => Promise<string> | string;
  env?: Record<string, string>;
  /** Called with the app's own DynamoDB client before the app starts (e.g. to add a middleware that records its calls). */
  onDynamoDbClient?: (client: DynamoDBClient) => void;
}

export async function startApiStack(options: ApiStackOptions = {}): Promise<ApiStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cruddur-e2e-'));
  const dynalite = await startDynalite();
  const dynamo = dynamoClient(dynalite.endpoint);
  const table = await createMessageTable(dynamo);
  const db = await createTestDatabase();
  const cognitoEmulator = await startCognitoEmulator({ dir, port: 0 });
  const cognitoConfig = { aws: { region: 'us-east-1' }, cognito: { endpoint: cognitoEmulator.endpoint } };
  const cognito = createCognitoClient(cognitoConfig);
  const { id: userPoolId } = await ensureUserPool(cognito, `test-${randomUUID().slice(0, 8)}`);
  const { id: clientId } = await ensureUserPoolClient(cognito, userPoolId, 'test');
  const env: Record<string, string> = {
    APP_ENV: 'test',
    ...UNLIMITED_FOR_TESTS,
    DYNAMODB_ENDPOINT: options.dynamodbEndpoint ? await options.dynamodbEndpoint(dynalite.endpoint) : dynalite.endpoint,
    DDB_MESSAGE_TABLE: table,
    DATABASE_URL: options.databaseUrl ? await options.databaseUrl(db) : db.url,
    AWS_COGNITO_USER_POOL_ID: userPoolId,
    AWS_COGNITO_USER_POOL_CLIENT_ID: clientId,
    COGNITO_ENDPOINT: cognitoEmulator.endpoint,
    ...options.env,
  };
  const config = loadConfig(env);
  const app = await createApp(config, { logger: false });
  options.onDynamoDbClient?.(app.get<DynamoDBClient>(DYNAMODB_CLIENT));
  await initApp(app);
  const dataSource = await openDataSource(db.url);
  const repository = MessagesRepository.create(dynamo, table);

  const createUser = async (handle = `user${randomUUID().slice(0, 8)}`, { inPostgres = true } = {}): Promise<TestUser> => {
    const display_name = `${handle[0].toUpperCase()}${handle.slice(1)} Tester`;
    const username = `${handle}@example.com`; // the emulator's pools sign in by email
    const { user } = await ensureCognitoUser(cognito, userPoolId, {
      username,
      password: PASSWORD,
      attributes: { email: `${handle}@example.com`, preferred_username: handle, name: display_name },
    });
    let uuid: string = randomUUID();
    if (inPostgres) {
      const saved = await dataSource
        .getRepository(User)
        .save({ handle, display_name, email: `${handle}@example.com`, cognito_user_id: user.sub });
      uuid = saved.uuid;
    }
    return { uuid, handle, display_name, sub: user.sub, username };
  };

  return {
    app,
    config,
    env,
    repository,
    dynamo,
    cognito,
    cognitoEmulator,
    userPoolId,
    clientId,
    db,
    createUser,
    accessToken: async (user) => (await signInWithPassword(cognito, clientId, user.username, PASSWORD)).accessToken,
    idToken: async (user) => (await signInWithPassword(cognito, clientId, user.username, PASSWORD)).idToken,
    stop: async () => {
      await app.close();
      await dataSource.destroy();
      await db.drop();
      await dropTable(dynamo, table);
      dynamo.destroy();
      cognito.destroy();
      await cognitoEmulator.stop();
      await dynalite.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
