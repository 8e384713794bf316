import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort } from './ports.js';
import type { Reaper } from './reaper.js';

const START_SCRIPT = createRequire(import.meta.url).resolve('cognito-local/lib/bin/start.js');
const READY_TIMEOUT_MS = 20_000;

export interface CognitoEmulatorOptions {
  /** Its working directory: the data lands in `{dir}/.cognito`, the log in `{dir}/cognito-local.log`. */
  dir: string;
  /** 0 = a free port. */
  port: number;
  host?: string;
  /** Told about the emulator's process, to stop it should the caller be killed. */
  reaper?: Pick<Reaper, 'watch' | 'unwatch'>;
}

export interface CognitoEmulator {
  /** e.g. `http://127.0.0.1:9229`; also the tokens' issuer domain (`{endpoint}/{pool}`). */
  endpoint: string;
  port: number;
  /** The emulator's process (tests freeze it to play an unreachable Cognito). */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * Starts cognito-local as a child process. A child, not in-process: cognito-local reads its port,
 * host and issuer from `PORT`/`HOST` when it is loaded and keeps its data relative to the working
 * directory, both process-wide. Ready when it logs that it listens (which only this child can
 * print, unlike a probe that could reach another server on the port).
 */
export async function startCognitoEmulator(options: CognitoEmulatorOptions): Promise<CognitoEmulator> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port === 0 ? await freePort(host) : options.port;
  mkdirSync(options.dir, { recursive: true });
  const log = createWriteStream(join(options.dir, 'cognito-local.log'), { flags: 'a' });
  const child = spawn(process.execPath, [START_SCRIPT], {
    cwd: options.dir,
    env: { PORT: String(port), HOST: host, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid !== undefined && options.reaper) {
    options.reaper.watch(pid, 'SIGTERM');
    child.once('exit', () => options.reaper?.unwatch(pid));
  }
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  // A last resort when the parent exits without stop() (a crash, process.exit in a script).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await new Promise<void>((resolve) => log.end(resolve));
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () =>
          reject(
            new Error(`Cognito emulator did not start within ${READY_TIMEOUT_MS / 1000} s (see ${join(options.dir, 'cognito-local.log')})`),
          ),
        READY_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (/Cognito Local running on/.test(output)) done(resolve);
      };
      const onExit = () =>
        done(() =>
          reject(
            new Error(
              /EADDRINUSE/.test(output)
                ? `Cognito emulator: port ${port} is already in use`
                : `Cognito emulator exited at start: ${lastLine(output) || 'no output'}`,
            ),
          ),
        );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        settle();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', onExit);
      child.once('error', (error) => done(() => reject(error)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: `http://${host}:${port}`, port, pid, stop };
}

function lastLine(output: string): string {
  const lines = output
    // eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? '';
}
