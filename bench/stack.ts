import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createCognitoClient,
  ensureCognitoUser,
  ensureUserPool,
  ensureUserPoolClient,
  signInWithPassword,
} from '../tools/cognito/cognito.client.js';
import { startCognitoEmulator } from '../tools/local-stack/cognito-emulator.js';
import { openDataSource } from '../tools/database/data-source.js';
import { createDynamoDbClient } from '../src/dynamodb/dynamodb.client.js';
import { ensureMessageTable } from '../tools/dynamodb/message-table.js';
import { User } from '../src/users/user.entity.js';
import { UsersService } from '../src/users/users.service.js';
import { createTestDatabase } from '../test/support/postgres.js';
import { BenchError, firstLine, onCleanup, startChild, type BenchChild } from './processes.js';
import type { Member } from './seed.js';

const REGION = 'us-east-1';
const TABLE = 'cruddur-messages-bench';
const PASSWORD = 'Bench-password-1';

export interface BenchUser extends Member {
  /** A Cognito access token (the emulator's tokens last an hour and more: enough for a soak). */
  token: string;
}

/** Everything the bench runs against; `onCleanup` stops each part. */
export interface BenchStack {
  dir: string;
  table: string;
  region: string;
  dynamodbEndpoint: string;
  dynalite: BenchChild;
  /** The bench's own client: seeding, the raw-SDK cases, polling for the projector. */
  dynamo: DynamoDBClient;
  databaseUrl: string;
  cognitoEndpoint: string;
  userPoolId: string;
  clientId: string;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** dynalite (own process), the table, a fresh Postgres database (migrated), cognito-local and a pool. */
export async function startStack(log: (line: string) => void): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cruddur-bench-'));
  onCleanup('temporary directory', () => rmSync(dir, { recursive: true, force: true }));

  const dynalite = await startChild({ name: 'dynalite', script: here('./dynalite-server.js'), env: childEnv(), logDir: dir });
  const dynamodbEndpoint = `http://127.0.0.1:${dynalite.port}`;
  const dynamo = createDynamoDbClient({ aws: { region: REGION }, dynamodb: { endpoint: dynamodbEndpoint, table: TABLE } });
  onCleanup('DynamoDB client', () => dynamo.destroy());
  await ensureMessageTable(dynamo, TABLE);
  log(`dynalite        pid ${dynalite.pid}, ${dynamodbEndpoint}, table ${TABLE} (in memory)`);

  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  try {
    db = await createTestDatabase();
  } catch (error) {
    throw new BenchError(
      `Postgres: ${firstLine(error)} (the bench needs the machine's Postgres on 127.0.0.1:5432 or TEST_DATABASE_ADMIN_URL)`,
    );
  }
  onCleanup('Postgres database', () => db.drop());
  log(`Postgres        database ${db.name} (dropped at the end)`);

  const cognitoEmulator = await startCognitoEmulator({ dir, port: 0 });
  onCleanup('cognito-local', () => cognitoEmulator.stop());
  const cognito = createCognitoClient({ aws: { region: REGION }, cognito: { endpoint: cognitoEmulator.endpoint } });
  try {
    const { id: userPoolId } = await ensureUserPool(cognito, 'bench');
    const { id: clientId } = await ensureUserPoolClient(cognito, userPoolId, 'bench');
    log(`cognito-local   ${cognitoEmulator.endpoint}, pool ${userPoolId}`);
    return {
      dir,
      table: TABLE,
      region: REGION,
      dynamodbEndpoint,
      dynalite,
      dynamo,
      databaseUrl: db.url,
      cognitoEndpoint: cognitoEmulator.endpoint,
      userPoolId,
      clientId,
    };
  } finally {
    cognito.destroy();
  }
}

/** Users in Cognito and Postgres, signed in. */
export async function createUsers(stack: BenchStack, handles: string[]): Promise<BenchUser[]> {
  const cognito = createCognitoClient({ aws: { region: REGION }, cognito: { endpoint: stack.cognitoEndpoint } });
  const dataSource = await openDataSource(stack.databaseUrl);
  try {
    const users: BenchUser[] = [];
    for (const handle of handles) {
      const email = `${handle}@example.com`;
      const display_name = `Bench ${handle[0].toUpperCase()}${handle.slice(1)}`;
      const { user } = await ensureCognitoUser(cognito, stack.userPoolId, {
        username: email,
        password: PASSWORD,
        attributes: { email, preferred_username: handle, name: display_name },
      });
      const [saved] = await new UsersService(dataSource.getRepository(User)).ensureUsers([
        { handle, display_name, email, cognito_user_id: user.sub },
      ]);
      const { accessToken } = await signInWithPassword(cognito, stack.clientId, email, PASSWORD);
      users.push({ uuid: saved.uuid, handle, display_name, token: accessToken });
    }
    return users;
  } finally {
    await dataSource.destroy();
    cognito.destroy();
  }
}

/** The API in its own process, configured through its environment as in production. */
export async function startApi(
  stack: BenchStack,
  options: { profileDir?: string; execArgv?: string[]; env?: Record<string, string> } = {},
): Promise<BenchChild> {
  return startChild({
    name: 'api',
    script: here('./api-server.js'),
    logDir: stack.dir,
    // With `npm run start:prod`'s Node flags (the Dockerfile's too); --expose-gc only lets the bench ask for
    // a collection before reading the heap in the soak.
    execArgv: [
      ...startNodeFlags(),
      '--expose-gc',
      ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []),
      ...(options.execArgv ?? []),
    ],
    env: childEnv({
      NODE_ENV: 'production',
      APP_ENV: 'local',
      AWS_REGION: stack.region,
      DYNAMODB_ENDPOINT: stack.dynamodbEndpoint,
      DDB_MESSAGE_TABLE: stack.table,
      DATABASE_URL: stack.databaseUrl,
      AWS_COGNITO_USER_POOL_ID: stack.userPoolId,
      AWS_COGNITO_USER_POOL_CLIENT_ID: stack.clientId,
      COGNITO_ENDPOINT: stack.cognitoEndpoint,
      POWERTOOLS_LOG_LEVEL: 'WARN',
      // The bench measures throughput: a few users post thousands of messages a second.
      RATE_LIMIT_MESSAGES_PER_MINUTE: '0',
      RATE_LIMIT_NEW_CONVERSATIONS_PER_HOUR: '0',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '0',
      ...options.env,
    }),
  });
}

/** The Node flags of `npm run start:prod` (package.json): `node <flags> dist/src/main.js`. */
export function startNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(here('../../package.json'), 'utf8')) as { scripts: { 'start:prod': string } };
  return scripts['start:prod'].split(/\s+/).filter((word) => word.startsWith('--'));
}

/** The framework-ceiling app (one constant route) in its own process. */
export function startCeiling(stack: BenchStack): Promise<BenchChild> {
  return startChild({
    name: 'ceiling',
    script: here('./constant-server.js'),
    env: childEnv({ NODE_ENV: 'production' }),
    logDir: stack.dir,
  });
}

/** A clean environment for a child: no AWS_ENDPOINT_URL or DATABASE_URL leaking in from the shell. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}
