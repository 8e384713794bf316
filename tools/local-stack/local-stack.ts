import type { LogLevel } from '@nestjs/common';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createApp } from '../../src/app.factory.js';
import type { LocalStackInfo } from '../cli/cli.js';
import { createCognitoClient, listAllCognitoUsers } from '../cognito/cognito.client.js';
import { describeRefusals } from '../cognito/cognito-user-ids.js';
import { startCognitoEmulator } from './cognito-emulator.js';
import { prepareLocalCognito } from '../cognito/cognito-demo-users.js';
import { emulatorPoolUrl, isLocalEndpoint, type AppConfig } from '../../src/config/config.js';
import { openDataSource } from '../database/data-source.js';
import { createDynamoDbClient } from '../../src/dynamodb/dynamodb.client.js';
import { ensureMessageTable } from '../dynamodb/message-table.js';
import { openMessagesRepository } from '../dynamodb/open-messages-repository.js';
import { seedDemoConversation } from '../seed/demo-conversation.seed.js';
import { setUpUsersDatabase } from '../seed/users-database.setup.js';
import type { User } from '../../src/users/user.entity.js';
import { startDynamoDbEmulator } from './dynamodb-emulator.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { assertPortFree, LocalStackError, portOrFree } from './ports.js';
import { isProcessAlive, startReaper } from './reaper.js';

export interface LocalStackPorts {
  api: number;
  dynamodb: number;
  cognito: number;
  postgres: number;
}

export interface LocalStackOptions {
  /**
   * The configuration from the environment, read by `loadLocalStackConfig` (so its defaults are a
   * local endpoint's): table, region, `DATABASE_URL` (else embedded Postgres), ports. Its DynamoDB
   * and Cognito settings are replaced by the stack's emulators.
   */
  config: AppConfig;
  /** Where the stack keeps its data (`.local` for `npm run local`); `stack.json` is written here. */
  dataDir: string;
  /** Override the configured ports; 0 = any free port. */
  ports?: Partial<LocalStackPorts>;
  /** Receives one line per step (what was created, what was reused). */
  log?: (line: string) => void;
  /** Nest's logger for the app; off by default. */
  appLogger?: LogLevel[] | false;
  /**
   * False: start the dependencies only (`npm run start:dev` runs the API itself, in watch mode, on
   * the API port); stack.json names that port.
   */
  api?: boolean;
}

export interface LocalStack {
  info: LocalStackInfo;
  /** The configuration the app runs with: the emulators' endpoints, `appEnv: 'local'`. */
  config: AppConfig;
  /** True when Postgres is the stack's own (no DATABASE_URL given). */
  embeddedPostgres: boolean;
  /** Stops everything this stack started, newest first, and removes stack.json. */
  stop: () => Promise<void>;
}

export const LOCAL_DATABASE_NAME = 'cruddur';

/**
 * Starts the embedded local stack, everything `npm run local` needs on one machine with no cloud
 * account and no Docker: dynalite, cognito-local and Postgres (embedded
 * unless `DATABASE_URL` is set), then creates what is missing (table, schema, pool, demo users,
 * the demo conversation) and starts the API. Everything persists under `dataDir`, so a second
 * start reuses it. When any step fails, what was already started is stopped before the error is
 * rethrown.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { config, dataDir } = options;
  if (!isLocalEndpoint(config.dynamodb.endpoint)) {
    // A configuration read for AWS has no local cursor secret and no stream emulator.
    throw new LocalStackError('the local stack needs the configuration of loadLocalStackConfig(), not one for AWS');
  }
  const ports: LocalStackPorts = {
    api: config.port,
    dynamodb: config.local.dynamodbPort,
    cognito: config.local.cognitoPort,
    postgres: config.local.postgresPort,
    ...options.ports,
  };
  const log = options.log ?? (() => undefined);
  const where = (path: string) => relative(process.cwd(), path) || '.';
  const embeddedPostgres = config.databaseUrl === undefined;
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };

  try {
    mkdirSync(dataDir, { recursive: true });
    stops.push(lockDataDir(dataDir));
    await assertPortsFree(ports, embeddedPostgres);
    // Postgres, unlike the others, cannot report the port it picked.
    const postgresPort = await portOrFree(ports.postgres);

    // Closed last, once everything it watches was stopped.
    const reaper = startReaper();
    stops.push(async () => reaper.close());
    const [dynamo, cognito, postgres] = await startAll(stops, [
      () => startDynamoDbEmulator({ path: join(dataDir, 'dynamodb'), port: ports.dynamodb }),
      () => startCognitoEmulator({ dir: dataDir, port: ports.cognito, reaper }),
      async () =>
        embeddedPostgres
          ? startEmbeddedPostgres({
              dir: join(dataDir, 'postgres'),
              port: postgresPort,
              database: LOCAL_DATABASE_NAME,
              logFile: join(dataDir, 'postgres.log'),
              reaper,
            })
          : { url: config.databaseUrl as string, initialised: false, stop: async () => undefined },
    ] as const);
    log(`DynamoDB   dynalite on ${dynamo.endpoint} (data: ${where(join(dataDir, 'dynamodb'))})`);
    log(`Cognito    cognito-local on ${cognito.endpoint} (data: ${where(join(dataDir, '.cognito'))})`);
    log(
      embeddedPostgres
        ? `Postgres   embedded on 127.0.0.1:${postgresPort} (data: ${where(join(dataDir, 'postgres'))}${postgres.initialised ? ', initialised now' : ''})`
        : `Postgres   ${redactPassword(postgres.url)} (DATABASE_URL)`,
    );

    const table = config.dynamodb.table;
    const dynamoClient = createDynamoDbClient({ aws: config.aws, dynamodb: { endpoint: dynamo.endpoint, table } });
    try {
      log(`table ${table}: ${await ensureMessageTable(dynamoClient, table)}`);
    } finally {
      dynamoClient.destroy();
    }

    const cognitoClient = createCognitoClient({ aws: config.aws, cognito: { endpoint: cognito.endpoint } });
    // Every account of the pool, not only the demo users: linking must know which subs still exist.
    const { pool, poolUsers } = await prepareLocalCognito(cognitoClient)
      .then(async (prepared) => ({ pool: prepared, poolUsers: await listAllCognitoUsers(cognitoClient, prepared.userPoolId) }))
      .finally(() => cognitoClient.destroy());
    log(
      `Cognito pool ${pool.userPoolId}, app client ${pool.clientId}: ${pool.created.length ? `created ${pool.created.join(', ')}` : 'exist'}`,
    );

    const dataSource = await openDataSource(postgres.url);
    let demoUsers: User[];
    try {
      const setup = await setUpUsersDatabase(dataSource, poolUsers);
      demoUsers = setup.demoUsers;
      log(`migrations: ${setup.migrations.length ? `ran ${setup.migrations.join(', ')}` : 'up to date'}`);
      const set = [...Object.keys(setup.cognitoIds.updated), ...Object.keys(setup.cognitoIds.relinked)];
      log(
        `demo users: ${demoUsers.map((u) => u.handle).join(', ')} (cognito_user_id ${set.length ? `set for ${set.join(', ')}` : 'already set'})`,
      );
      // A local pool: a refused link is shown, and the stack still starts.
      for (const line of describeRefusals(setup.cognitoIds)) log(line);
    } finally {
      await dataSource.destroy();
    }

    const appConfig: AppConfig = {
      ...config,
      appEnv: 'local',
      dynamodb: { endpoint: dynamo.endpoint, table },
      databaseUrl: postgres.url,
      cognito: {
        userPoolId: pool.userPoolId,
        clientId: pool.clientId,
        endpoint: cognito.endpoint,
        issuer: emulatorPoolUrl(cognito.endpoint, pool.userPoolId),
      },
    };

    const messages = openMessagesRepository(appConfig);
    try {
      const [a, b] = demoUsers;
      const conversation = await seedDemoConversation(messages.repository, a, b);
      log(
        `demo conversation ${conversation.message_group_uuid}: ${conversation.created ? `created (${conversation.messages} messages)` : 'exists'}`,
      );
    } finally {
      await messages.close();
    }

    let apiPort = await portOrFree(ports.api);
    if (options.api !== false) {
      const app = await createApp(appConfig, { logger: options.appLogger ?? false });
      stops.push(() => app.close());
      await app.listen(apiPort, '127.0.0.1').catch((error: unknown) => {
        if ((error as { code?: string }).code === 'EADDRINUSE') {
          throw new LocalStackError(`API: port ${ports.api} is already in use (set PORT to use another port)`);
        }
        throw error;
      });
      apiPort = (app.getHttpServer().address() as { port: number }).port;
    }

    const info: LocalStackInfo = {
      apiUrl: `http://127.0.0.1:${apiPort}`,
      dynamodbEndpoint: dynamo.endpoint,
      table,
      cognitoEndpoint: cognito.endpoint,
      userPoolId: pool.userPoolId,
      userPoolClientId: pool.clientId,
      databaseUrl: postgres.url,
    };
    const stackFile = join(dataDir, 'stack.json');
    writeFileSync(stackFile, `${JSON.stringify(info, null, 2)}\n`);
    stops.push(async () => rmSync(stackFile, { force: true }));

    return { info, config: { ...appConfig, port: apiPort }, embeddedPostgres, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Starts the parts side by side; each one that started is registered for stopping, even when another failed. */
async function startAll<T extends readonly (() => Promise<{ stop(): Promise<void> }>)[]>(
  stops: Array<() => Promise<void>>,
  starters: T,
): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const results = await Promise.allSettled(starters.map((start) => start()));
  for (const result of results) if (result.status === 'fulfilled') stops.push(() => result.value.stop());
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

/** The running stack of `dataDir` (its stack.json, written by a live process), if there is one. */
export function runningLocalStack(dataDir: string): LocalStackInfo | undefined {
  const holder = Number.parseInt(readIfExists(join(dataDir, 'stack.pid')) ?? '', 10);
  const info = readIfExists(join(dataDir, 'stack.json'));
  if (!Number.isInteger(holder) || !isProcessAlive(holder) || info === undefined) return undefined;
  return JSON.parse(info) as LocalStackInfo;
}

async function assertPortsFree(ports: LocalStackPorts, embeddedPostgres: boolean): Promise<void> {
  const checks: Array<[number, string, string]> = [
    [ports.api, 'API', 'PORT'],
    [ports.dynamodb, 'DynamoDB emulator', 'LOCAL_DYNAMODB_PORT'],
    [ports.cognito, 'Cognito emulator', 'LOCAL_COGNITO_PORT'],
    ...(embeddedPostgres ? [[ports.postgres, 'Postgres', 'LOCAL_POSTGRES_PORT'] as [number, string, string]] : []),
  ];
  for (const [port, what, setting] of checks) if (port !== 0) await assertPortFree(port, what, setting);
}

/**
 * One stack per data directory: a second one would share LevelDB (which crashes dynalite), the
 * Cognito files and the Postgres cluster. A lock left by a stack that was killed is taken over.
 */
function lockDataDir(dataDir: string): () => Promise<void> {
  const lockFile = join(dataDir, 'stack.pid');
  const holder = Number.parseInt(readIfExists(lockFile) ?? '', 10);
  if (Number.isInteger(holder) && isProcessAlive(holder)) {
    throw new LocalStackError(`${dataDir} is in use by another local stack (pid ${holder}); stop it first`);
  }
  writeFileSync(lockFile, `${process.pid}\n`);
  return async () => rmSync(lockFile, { force: true });
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function redactPassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
