import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { makeTempDir } from '../support/cognito.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';
import { expectOneLineFailure } from './script-expectations.js';

const LOCAL_SCRIPT = resolve(import.meta.dirname, '..', '..', 'dist', 'scripts', 'local.js');
const ANY_PORTS = { PORT: '0', LOCAL_DYNAMODB_PORT: '0', LOCAL_COGNITO_PORT: '0' };

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
    const child = spawn(process.execPath, [LOCAL_SCRIPT], {
      cwd: cwd.path,
      env: { PATH: process.env.PATH ?? '', APP_ENV: 'test', DATABASE_URL: db.url, ...ANY_PORTS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const up = await new Promise<boolean>((done) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('Ctrl-C stops everything')) done(true);
      });
      void exited.then(() => done(false));
    });
    const stackFile = join(cwd.path, '.local', 'stack.json');
    const stack = up ? JSON.parse(readFileSync(stackFile, 'utf8')) : undefined;
    const health = up ? (await fetch(`${stack.apiUrl}/api/health`)).status : undefined;

    child.kill('SIGTERM');
    const code = await exited;

    expect({ up, stderr }).toEqual({ up: true, stderr: '' });
    expect(health).toBe(200);
    expect(stdout).toContain(`cruddur-messaging is up: ${stack.apiUrl}/api`);
    expect(stdout).toContain('TOKEN=$(npm run -s local:token -- andrewbrown)');
    expect(stdout).toMatch(/SIGTERM: stopping the local stack…\nstopped\n$/);
    expect(code).toBe(0);
    expect(existsSync(stackFile)).toBe(false);
  });
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
