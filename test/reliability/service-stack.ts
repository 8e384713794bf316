import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSource } from 'typeorm';
import {
  createCognitoClient,
  ensureCognitoUser,
  ensureUserPool,
  ensureUserPoolClient,
  signInWithPassword,
} from '../../tools/cognito/cognito.client.js';
import { startCognitoEmulator, type CognitoEmulator } from '../../tools/local-stack/cognito-emulator.js';
import { openDataSource } from '../../tools/database/data-source.js';
import { MessagesRepository } from '../../src/dynamodb/messages.repository.js';
import { User } from '../../src/users/user.entity.js';
import { createMessageTable, dynamoClient, uniqueTableName } from '../support/dynamodb.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { UNLIMITED_FOR_TESTS } from '../support/rate-limits.js';
import { ApiClient } from './api-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const PASSWORD = 'Test-password-1';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface StackUser {
  uuid: string;
  handle: string;
  display_name: string;
  sub: string;
  username: string;
}

/** The projector's retry settings and the share of its DynamoDB commands that fail. */
export interface ProjectorFaults {
  failShare: number;
  maxAttempts: number;
  backoffMs: number;
}

export interface ServiceStackOptions {
  /** dynalite keeps its data in a directory, so that a restart finds it again. */
  persistDynamo?: boolean;
  /** The Postgres URL the service uses (e.g. through a TcpProxy); the test's own connection goes direct. */
  databaseUrl?: (db: TestDatabase) => Promise<string> | string;
  /** Runs the projector with these retry settings and injected failures (else the app's own emulator). */
  projector?: ProjectorFaults;
}

export interface ServiceStats {
  projectorCommands: number;
  faultsInjected: number;
  faultsByCommand: Record<string, number>;
  /** What the projector logged, by `level: message`. */
  logged: Record<string, number>;
  /** Properties that appeared on Object.prototype in the service since it started (prototype pollution). */
  polluted: string[];
}

/**
 * The whole service for the reliability suite, each part in a process of its own: dynalite (so it
 * can be killed and restarted), cognito-local, and the API with its change-capture emulator (see
 * service.child.mjs); Postgres is the machine's, a fresh database per file. The test talks to the
 * API over HTTP and reads the table straight from dynalite (`repository`) to audit it.
 *
 * Unlike test/support/api-stack.ts (the app inside the jest worker), this measures the service and
 * not the test runner: in the worker, whose heap holds ts-jest's type-checking program, the same
 * load ran at about 50 POST/s with pool timeouts (503s) from the worker's GC pauses; in its own
 * process at about 340 POST/s on the same 2-core machine.
 */
export class ServiceStack {
  private constructor(
    readonly api: ApiClient,
    readonly dynalite: DynaliteProcess,
    readonly dynamo: DynamoDBClient,
    readonly repository: MessagesRepository,
    readonly db: TestDatabase,
    private readonly service: IpcChild,
    private readonly cognitoEmulator: CognitoEmulator,
    private readonly cognito: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
    readonly clientId: string,
    private readonly dataSource: DataSource,
    private readonly dir: string,
  ) {}

  static async start(options: ServiceStackOptions = {}): Promise<ServiceStack> {
    if (!existsSync(join(ROOT, 'dist', 'src', 'app.factory.js'))) {
      throw new Error("dist/ is missing: the reliability suite runs the compiled app (jest's globalSetup builds it)");
    }
    const dir = mkdtempSync(join(tmpdir(), 'cruddur-reliability-'));
    const dynalite = await DynaliteProcess.start(options.persistDynamo ? join(dir, 'dynamodb') : undefined);
    const dynamo = dynamoClient(dynalite.endpoint);
    const table = await createMessageTable(dynamo, uniqueTableName('reliability'));
    const db = await createTestDatabase();
    const cognitoEmulator = await startCognitoEmulator({ dir, port: 0 });
    const cognito = createCognitoClient({ aws: { region: 'us-east-1' }, cognito: { endpoint: cognitoEmulator.endpoint } });
    const { id: userPoolId } = await ensureUserPool(cognito, `reliability-${randomUUID().slice(0, 8)}`);
    const { id: clientId } = await ensureUserPoolClient(cognito, userPoolId, 'reliability');
    const env = {
      APP_ENV: 'test',
      ...UNLIMITED_FOR_TESTS,
      DYNAMODB_ENDPOINT: dynalite.endpoint,
      DDB_MESSAGE_TABLE: table,
      DATABASE_URL: options.databaseUrl ? await options.databaseUrl(db) : db.url,
      AWS_COGNITO_USER_POOL_ID: userPoolId,
      AWS_COGNITO_USER_POOL_CLIENT_ID: clientId,
      COGNITO_ENDPOINT: cognitoEmulator.endpoint,
    };
    const service = await IpcChild.fork(join(here, 'service.child.mjs'), {
      RELIABILITY_SERVICE: JSON.stringify({ env, projector: options.projector }),
    });
    const api = ApiClient.connect('127.0.0.1', service.port);
    const dataSource = await openDataSource(db.url);
    return new ServiceStack(
      api,
      dynalite,
      dynamo,
      MessagesRepository.create(dynamo, table),
      db,
      service,
      cognitoEmulator,
      cognito,
      userPoolId,
      clientId,
      dataSource,
      dir,
    );
  }

  /** Creates a user in Cognito and (unless `inPostgres: false`) in Postgres with its sub. */
  async createUser(handle = `user${randomUUID().slice(0, 8)}`, { inPostgres = true } = {}): Promise<StackUser> {
    const display_name = `${handle[0].toUpperCase()}${handle.slice(1)} Tester`;
    const username = `${handle}@example.com`;
    const { user } = await ensureCognitoUser(this.cognito, this.userPoolId, {
      username,
      password: PASSWORD,
      attributes: { email: username, preferred_username: handle, name: display_name },
    });
    let uuid: string = randomUUID();
    if (inPostgres) {
      uuid = (await this.dataSource.getRepository(User).save({ handle, display_name, email: username, cognito_user_id: user.sub })).uuid;
    }
    return { uuid, handle, display_name, sub: user.sub, username };
  }

  async accessToken(user: StackUser): Promise<string> {
    return (await signInWithPassword(this.cognito, this.clientId, user.username, PASSWORD)).accessToken;
  }

  async idToken(user: StackUser): Promise<string> {
    return (await signInWithPassword(this.cognito, this.clientId, user.username, PASSWORD)).idToken;
  }

  /** A query on the service's Postgres database (direct, not through any proxy). */
  sql<T = Record<string, unknown>>(query: string, parameters: unknown[] = []): Promise<T[]> {
    return this.dataSource.query(query, parameters);
  }

  /** An access token of `user` issued to another app client of the same pool. */
  async otherClientAccessToken(user: StackUser): Promise<string> {
    const { id } = await ensureUserPoolClient(this.cognito, this.userPoolId, 'another-app');
    return (await signInWithPassword(this.cognito, id, user.username, PASSWORD)).accessToken;
  }

  /** Resolves when the service's change-capture emulator has applied (or given up) every record queued so far. */
  drain(): Promise<void> {
    return this.service.call('drain') as Promise<void>;
  }

  stats(): Promise<ServiceStats> {
    return this.service.call('stats') as Promise<ServiceStats>;
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) cognito-local: its JWKS endpoint stops answering, connections stay open. */
  signalCognito(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.cognitoEmulator.pid === undefined) throw new Error('cognito-local has no process id');
    process.kill(this.cognitoEmulator.pid, signal);
  }

  /** Changes the share of the projector's commands that fail (with `projector` options only). */
  async setProjectorFailShare(share: number): Promise<void> {
    await this.service.call('failShare', share);
  }

  async stop(): Promise<void> {
    this.api.close();
    // A graceful stop drains the projector; after a failed test it may wait on a dependency that
    // is down, so it gets a bound, and then the process is killed.
    await withDeadline(this.service.call('stop'), STOP_TIMEOUT_MS).catch(() => undefined);
    await this.service.stop();
    await this.dataSource.destroy();
    await this.db.drop();
    this.dynamo.destroy();
    await this.dynalite.stop();
    this.cognito.destroy();
    await this.cognitoEmulator.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * dynalite in its own process (dynalite.child.mjs). `crash()` kills it (SIGKILL: no flush, no goodbye),
 * `close()` stops it gracefully, `restart()` starts it again on the same port with the same data.
 */
export class DynaliteProcess {
  private child?: IpcChild;

  private constructor(
    private readonly path: string | undefined,
    readonly port: number,
  ) {}

  static async start(path?: string): Promise<DynaliteProcess> {
    const first = await DynaliteProcess.fork(path, 0);
    const dynalite = new DynaliteProcess(path, first.port);
    dynalite.child = first;
    return dynalite;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async crash(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await child?.kill('SIGKILL');
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.send('close');
    await child.exited;
  }

  /** SIGSTOP: the process stops answering, its port and connections stay open (a hung server). */
  freeze(): void {
    this.child?.signal('SIGSTOP');
  }

  thaw(): void {
    this.child?.signal('SIGCONT');
  }

  async restart(): Promise<void> {
    if (this.child) throw new Error('dynalite is running');
    this.child = await DynaliteProcess.fork(this.path, this.port);
  }

  async stop(): Promise<void> {
    await this.crash();
  }

  private static fork(path: string | undefined, port: number): Promise<IpcChild> {
    return IpcChild.fork(join(here, 'dynalite.child.mjs'), { RELIABILITY_DYNALITE: JSON.stringify({ path, port }) });
  }
}

/** A forked Node process that reports `{ ready: port }` and answers `{ id, cmd, args }` with `{ id, result | error }`. */
class IpcChild {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly output: () => string,
  ) {
    this.exited = new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      const call = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id!);
      if (message.error !== undefined) call.reject(new Error(message.error));
      else call.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      for (const call of this.pending.values()) call.reject(new Error(`process exited (${code ?? signal}): ${this.output()}`));
      this.pending.clear();
    });
  }

  static fork(script: string, env: Record<string, string>): Promise<IpcChild> {
    const child = fork(script, [], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return new Promise<IpcChild>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`${script} did not report ready within ${START_TIMEOUT_MS} ms: ${output}`)),
        START_TIMEOUT_MS,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.once('exit', (code, signal) => fail(new Error(`${script} exited (${code ?? signal}) before it was ready: ${output}`)));
      child.on('message', function ready(message: { ready?: number; error?: string }) {
        if (message.error) return fail(new Error(`${script}: ${message.error}`));
        if (message.ready === undefined) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.off('message', ready);
        resolve(new IpcChild(child, message.ready, () => output));
      });
    });
  }

  call(cmd: string, ...args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, args });
    });
  }

  send(message: unknown): void {
    this.child.send(message as string);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    this.child.kill(signal);
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await withDeadline(this.exited, STOP_TIMEOUT_MS).catch(() => this.kill('SIGKILL'));
  }
}

/** Rejects when `promise` has not settled within `ms` (a bound for cleanup, never a wait for readiness). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
