import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../tools/local-stack/ports.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

/*
 * The project as a NestJS developer uses it (issue 12), on a scratch copy of the repository (so the
 * real one never changes): `nest generate resource` adds code that compiles, is booted by the app,
 * passes lint after `npm run format`, and whose generated specs pass; `npm run start:dev` serves the
 * API on the local stack's dependencies and reloads it after an edit.
 */
const ROOT = resolve(import.meta.dirname, '..');
const COPIED = [
  'package.json',
  'nest-cli.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'eslint.config.mjs',
  '.prettierrc.json',
  '.prettierignore',
  'jest.config.js',
  'jest.unit.config.js',
  'src',
  'tools',
  'scripts',
  'test',
];
const run = promisify(execFile);
const NEST = join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js');
const bin = (name: string) => join(ROOT, 'node_modules', name);

const scratches: string[] = [];
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cruddur-nest-'));
  scratches.push(dir);
  for (const path of COPIED) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

const node = (dir: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });

describe('nest generate resource', () => {
  it('adds a resource that compiles, is booted by the app, lints clean after npm run format, and whose specs pass', async () => {
    const dir = scratchCopy();

    await node(dir, [NEST, 'generate', 'resource', 'chats', '--type', 'rest', '--crud']);

    expect(readFileSync(join(dir, 'src/app.module.ts'), 'utf8')).toMatch(/@Module\(\{\s*imports: \[[^\]]*\bChatsModule\b/);
    await node(dir, [bin('prettier/bin/prettier.cjs'), '--write', 'src/chats', 'src/app.module.ts']);
    await expect(node(dir, [bin('prettier/bin/prettier.cjs'), '--check', 'src'])).resolves.toBeDefined();
    await expect(node(dir, [bin('eslint/bin/eslint.js'), 'src/chats', 'src/app.module.ts'])).resolves.toBeDefined();
    await node(dir, [NEST, 'build']);
    const specs = await node(dir, [
      '--experimental-vm-modules',
      '--disable-warning=ExperimentalWarning',
      bin('jest/bin/jest.js'),
      '--config',
      'jest.unit.config.js',
      'src/chats',
    ]);
    expect(specs.stderr).toMatch(/Tests:\s+2 passed, 2 total/);

    // Booted where the app really boots its modules: the new route exists behind the global guard
    // (401 without a token; an unregistered route would be 404).
    const boot = `
      import { createApp } from './dist/src/app.factory.js';
      import { loadConfig } from './dist/src/config/config.js';
      const app = await createApp(loadConfig({ ...process.env }), { logger: false });
      await app.listen(0, '127.0.0.1');
      const res = await fetch('http://127.0.0.1:' + app.getHttpServer().address().port + '/api/chats');
      console.log(res.status);
      await app.close();`;
    writeFileSync(join(dir, 'boot.mjs'), boot);
    const { stdout } = await node(dir, ['boot.mjs'], {
      APP_ENV: 'test',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
      DATABASE_URL: db.url,
      AWS_COGNITO_USER_POOL_ID: 'local_test',
      AWS_COGNITO_USER_POOL_CLIENT_ID: 'testclient',
      COGNITO_ENDPOINT: 'http://127.0.0.1:1',
      STREAM_EMULATOR: 'off',
    });
    expect(stdout.trim()).toBe('401');
  }, 180_000);
});

describe('npm run start:dev', () => {
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((done) => child!.once('exit', done));
    }
  });

  it("serves the API on the local stack's dependencies, reloads it after an edit, and stops everything with Ctrl-C", async () => {
    const dir = scratchCopy();
    await node(dir, [NEST, 'build']);
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      PORT: String(port),
      LOCAL_DYNAMODB_PORT: '0',
      LOCAL_COGNITO_PORT: '0',
      DATABASE_URL: db.url,
    };
    let output = '';
    const waiters: Array<() => void> = [];
    child = spawn(process.execPath, ['dist/scripts/start-dev.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      for (const wake of waiters.splice(0)) wake();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    /** Resolves when the output after `from` has `times` lines matching `line` (the API says so when it starts). */
    const started = (from: number) =>
      new Promise<void>((done, fail) => {
        const check = () => (/listening on http/.test(output.slice(from)) ? done() : waiters.push(check));
        child!.once('exit', () => fail(new Error(`start:dev exited: ${output.slice(-2000)}`)));
        check();
      });
    const status = (path: string) => fetch(`http://127.0.0.1:${port}/api/health/${path}`).then((r) => r.status);

    await started(0);
    expect(await status('live')).toBe(200);
    expect(existsSync(join(dir, '.local/stack.json'))).toBe(true);

    const controller = join(dir, 'src/health/health.controller.ts');
    const before = output.length;
    writeFileSync(controller, readFileSync(controller, 'utf8').replace("@Get('live')", "@Get('alive')"));
    const edited = performance.now();
    await started(before);
    const reloadMs = Math.round(performance.now() - edited);
    expect(await status('alive')).toBe(200);
    process.stdout.write(`[nest] start:dev reloaded the API ${reloadMs} ms after an edit\n`);

    child.kill('SIGINT');
    const code = await new Promise<number | null>((done) => child!.once('exit', (c) => done(c)));
    expect({ code, output: output.slice(-300) }).toMatchObject({ code: 0 });
    expect(existsSync(join(dir, '.local/stack.json'))).toBe(false);
    // The Nest CLI's child (the API) went down too: nothing serves the port any more.
    await expect(status('alive')).rejects.toThrow();
  }, 240_000);
});
