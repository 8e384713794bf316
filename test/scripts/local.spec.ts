import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { makeTempDir } from '../support/cognito.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';
import { expectOneLineFailure } from './script-expectations.js';

const LOCAL_SCRIPT = resolve(import.meta.dirname, '..', '..', 'dist', 'scripts', 'local.js');
const ANY_PORTS = { PORT: '0', LOCAL_DYNAMODB_PORT: '0', LOCAL_COGNITO_PORT: '0' };

/** Runs `npm run local` (the built script) in `cwd` until it says it is up, or exits. */
async function startLocal(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [LOCAL_SCRIPT], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stderr.on('data', (d) => (output.stderr += d));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const up = await new Promise<boolean>((done) => {
    child.stdout.on('data', (d) => {
      output.stdout += d;
      if (output.stdout.includes('Ctrl-C stops everything')) done(true);
    });
    void exited.then(() => done(false));
  });
  return { child, up, output, exited };
}

/** Resolves once `condition()` holds; rejects after `ms` (a bound, not a pause). */
async function eventually(condition: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Runs `local:watch -- bayko` against the running stack, sends a message to bayko as andrewbrown
 * once the watcher is connected, and returns what the watcher printed once the message is in it.
 */
async function watchLiveEvents(cwd: string, apiUrl: string): Promise<string> {
  const token = (await runScript('local-token', ['andrewbrown'], {}, cwd)).stdout.trim();
  const watcher = spawn(process.execPath, [resolve(LOCAL_SCRIPT, '..', 'local-watch.js'), 'bayko'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', APP_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  watcher.stdout.on('data', (d) => (output.stdout += d));
  watcher.stderr.on('data', (d) => (output.stderr += d));
  const exited = new Promise((done) => watcher.on('close', done));
  try {
    await eventually(() => output.stderr.includes('watching @bayko'), 20_000);
    const sent = await fetch(`${apiUrl}/api/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'live from the local stack', handle: 'bayko' }),
    });
    expect(sent.status).toBe(200);
    await eventually(() => output.stdout.includes('live from the local stack'), 10_000);
  } finally {
    watcher.kill('SIGINT');
    await exited;
  }
  return output.stdout;
}

describe('npm run local', () => {
  const cwd = makeTempDir('cruddur-local-script-');
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });

  afterAll(async () => {
    await db?.drop();
    cwd.remove();
  });

  it('prints the API URL and how to get a token, then stops everything on SIGTERM', async () => {
    const { child, up, output, exited } = await startLocal(cwd.path, { APP_ENV: 'test', DATABASE_URL: db.url, ...ANY_PORTS });
    const stackFile = join(cwd.path, '.local', 'stack.json');
    const stack = up ? JSON.parse(readFileSync(stackFile, 'utf8')) : undefined;
    const health = up ? (await fetch(`${stack.apiUrl}/api/health`)).status : undefined;

    const watched = up ? await watchLiveEvents(cwd.path, stack.apiUrl) : undefined;

    child.kill('SIGTERM');
    const code = await exited;

    expect({ up, stderr: output.stderr }).toEqual({ up: true, stderr: '' });
    // Live events with no setup: `npm run -s local:watch -- bayko` prints andrewbrown's message as it is sent.
    expect(watched).toMatch(/^\d\d:\d\d:\d\d {2}message {8}@andrewbrown: live from the local stack {2}\(/m);
    expect(health).toBe(200);
    expect(output.stdout).toContain(`cruddur-messaging is up: ${stack.apiUrl}/api`);
    expect(output.stdout).toContain('TOKEN=$(npm run -s local:token -- andrewbrown)');
    expect(output.stdout).toMatch(/SIGTERM: stopping the local stack…\nstopped\n$/);
    expect(code).toBe(0);
    expect(existsSync(stackFile)).toBe(false);
  });
});

describe('npm run local killed with SIGKILL', () => {
  const cwd = makeTempDir('cruddur-local-killed-');

  afterAll(() => cwd.remove());

  it('leaves neither its Postgres nor cognito-local running, and starts again on the same data', async () => {
    const env = { APP_ENV: 'test', ...ANY_PORTS, LOCAL_POSTGRES_PORT: '0' };
    const first = await startLocal(cwd.path, env);
    expect({ up: first.up, stderr: first.output.stderr }).toEqual({ up: true, stderr: '' });
    const postmasterFile = join(cwd.path, '.local', 'postgres', 'postmaster.pid');
    const stack = JSON.parse(readFileSync(join(cwd.path, '.local', 'stack.json'), 'utf8'));
    const [cognitoPort, postgresPort] = [stack.cognitoEndpoint, stack.databaseUrl].map((url: string) => Number(new URL(url).port));
    expect(existsSync(postmasterFile)).toBe(true);

    first.child.kill('SIGKILL');
    await first.exited;

    // Postgres removes postmaster.pid last in a clean shutdown (a crashed one would leave it).
    await eventually(async () => !existsSync(postmasterFile) && !(await accepts(postgresPort)) && !(await accepts(cognitoPort)), 20_000);
    const second = await startLocal(cwd.path, env);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect({ up: second.up, stderr: second.output.stderr }).toEqual({ up: true, stderr: '' });
  }, 120_000);
});

describe('npm run local with a problem', () => {
  const cwd = makeTempDir('cruddur-local-script-');
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    blockedPort = (blocker.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((done) => blocker.close(() => done()));
    cwd.remove();
  });

  it('fails with one line on bad configuration', async () => {
    const result = await runScript('local', [], { LOCAL_POSTGRES_PORT: 'five' }, cwd.path);

    expectOneLineFailure(result, 'local', /Invalid configuration: LOCAL_POSTGRES_PORT .*"five"/);
  });

  it('fails with one line when a port is in use', async () => {
    const result = await runScript('local', [], { ...ANY_PORTS, LOCAL_DYNAMODB_PORT: String(blockedPort) }, cwd.path);

    expectOneLineFailure(result, 'local', new RegExp(`DynamoDB emulator: port ${blockedPort} is already in use .*LOCAL_DYNAMODB_PORT`));
    expect(existsSync(join(cwd.path, '.local', 'stack.pid'))).toBe(false);
  });
});
