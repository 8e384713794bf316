import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { createCognitoClient, listAllCognitoUsers } from '../src/cognito/cognito.client.js';
import { requireUserPoolId } from '../src/cognito/cognito-pool.js';
import { describeCognitoUserIdsUpdate } from '../src/cognito/cognito-user-ids.js';
import { openDatabase } from '../src/database/open-database.js';
import { setUpUsersDatabase } from '../src/seed/users-database.setup.js';

/** db:migrate + db:seed + db:update-cognito-user-ids, in that order. */
runScript('db:setup', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:setup -- [prod]' });
  // Both checked before anything changes, so a missing setting leaves the database untouched.
  const userPoolId = requireUserPoolId(config);
  const dataSource = await openDatabase(config);
  try {
    // The pool is read first: when Cognito cannot be reached, the database is left as it was.
    const client = createCognitoClient(config);
    const cognitoUsers = await listAllCognitoUsers(client, userPoolId).finally(() => client.destroy());
    const setup = await setUpUsersDatabase(dataSource, cognitoUsers);
    out(setup.migrations.length ? `ran migrations ${setup.migrations.join(', ')}` : 'no pending migrations');
    out(`demo users: ${setup.demoUsers.map((u) => u.handle).join(', ')}`);
    for (const line of describeCognitoUserIdsUpdate(setup.cognitoIds)) out(line);
  } finally {
    await dataSource.destroy();
  }
});
