import { parseScriptArgs } from '../tools/cli/args.js';
import { LOCAL_STACK_FILE, readLocalStack, runScript, UsageError } from '../tools/cli/cli.js';
import { createCognitoClient } from '../tools/cognito/cognito.client.js';
import { demoUserAccessToken } from '../tools/cognito/cognito-demo-users.js';

const USAGE = 'npm run -s local:token -- <handle>';

/** Prints a demo user's Cognito access token (one line) from the running `npm run local`. */
runScript('local:token', async ({ args, prod, config, out }) => {
  if (prod) throw new UsageError(`local:token signs in against the local Cognito emulator only (usage: ${USAGE})`);
  const [handle] = parseScriptArgs(args, { usage: USAGE, positionals: { min: 1, max: 1 } }).positionals;
  const stack = readLocalStack(LOCAL_STACK_FILE);
  if (!stack) throw new UsageError(`no local stack found (${LOCAL_STACK_FILE}); start one with npm run local`);
  const client = createCognitoClient({ aws: config.aws, cognito: { endpoint: stack.cognitoEndpoint } });
  try {
    out(await demoUserAccessToken(client, stack.userPoolClientId, handle));
  } finally {
    client.destroy();
  }
});
