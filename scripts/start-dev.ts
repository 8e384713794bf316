import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { loadLocalStackConfig, silenceAwsSdkNodeWarning } from '../src/config/config.js';
import { describeError, type LocalStackInfo } from '../tools/cli/cli.js';
import { runningLocalStack, startLocalStack } from '../tools/local-stack/local-stack.js';
import { freePort } from '../tools/local-stack/ports.js';

const NEST_CLI = createRequire(import.meta.url).resolve('@nestjs/cli/bin/nest.js');

/**
 * `npm run start:dev` (and `start:debug`): the API in the Nest CLI's watch mode (an edit rebuilds
 * and restarts it), on the local stack's dependencies: those of a stack already running on
 * `.local/` (`npm run local`, or another start:dev), else started here as `npm run local` starts
 * them (dynalite, cognito-local, Postgres, table, pool, demo users), and stopped with Ctrl-C.
 */
async function main(): Promise<void> {
  silenceAwsSdkNodeWarning();
  const debug = process.argv.includes('--debug');
  const config = loadLocalStackConfig();
  const dataDir = resolve('.local');
  const running = runningLocalStack(dataDir);
  let info: LocalStackInfo;
  let stopDependencies = async () => undefined as void;
  let port: number;
  if (running) {
    info = running;
    // That stack's API has its port; this one takes another.
    port = new URL(running.apiUrl).port === String(config.port) ? await freePort() : config.port;
    console.log(`reusing the local stack running on ${dataDir} (stack.json)`);
  } else {
    const stack = await startLocalStack({ config, dataDir, api: false, log: (line) => console.log(line) });
    ({ info } = stack);
    port = Number(new URL(info.apiUrl).port);
    stopDependencies = stack.stop;
  }

  const env = {
    ...process.env,
    APP_ENV: 'local',
    PORT: String(port),
    DYNAMODB_ENDPOINT: info.dynamodbEndpoint,
    DDB_MESSAGE_TABLE: info.table,
    DATABASE_URL: info.databaseUrl,
    AWS_COGNITO_USER_POOL_ID: info.userPoolId,
    AWS_COGNITO_USER_POOL_CLIENT_ID: info.userPoolClientId,
    COGNITO_ENDPOINT: info.cognitoEndpoint,
  };
  console.log(`API in watch mode on http://127.0.0.1:${port}/api (nest start --watch${debug ? ' --debug' : ''}); Ctrl-C stops it`);
  // In a process group of its own: the CLI's child (the API) goes down with it, as it would with a
  // terminal's Ctrl-C; signalling the CLI alone leaves that child running on the port.
  const nest = spawn(process.execPath, [NEST_CLI, 'start', '--watch', ...(debug ? ['--debug'] : [])], {
    env,
    stdio: 'inherit',
    detached: true,
  });
  const group = -nest.pid!;

  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    signalGroup(group, 'SIGTERM');
    const done = async () => {
      await groupGone(group);
      await stopDependencies().then(
        () => process.exit(code),
        () => process.exit(1),
      );
    };
    if (nest.exitCode !== null || nest.signalCode !== null) void done();
    else nest.once('exit', () => void done());
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => stop(0));
  }
  nest.once('exit', (code) => stop(code ?? 1));
}

function signalGroup(group: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(group, signal);
    return true;
  } catch {
    return false; // no process left in the group
  }
}

/** Waits (at most 10 s, then SIGKILL) until no process of the group is left: the API's shutdown hooks run first. */
async function groupGone(group: number): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (!signalGroup(group, 0)) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  signalGroup(group, 'SIGKILL');
}

main().catch((error: unknown) => {
  console.error(`start:dev: ${describeError(error)}`);
  process.exit(1);
});
