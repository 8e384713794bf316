import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { listPoolUsers } from '../tools/cognito/cognito-pool.js';
import { describeCognitoUserIdsUpdate, describeRefusals } from '../tools/cognito/cognito-user-ids.js';
import { openDatabase } from '../tools/database/open-database.js';
import { setUpUsersDatabase } from '../tools/seed/users-database.setup.js';

/** db:migrate + db:seed + db:update-cognito-user-ids, in that order. */
runScript('db:setup', async ({ args, config, out, err }) => {
  parseScriptArgs(args, { usage: 'npm run db:setup -- [prod]' });
  // The pool is read first: when it is not configured or cannot be reached, the database is left as it was.
  const cognitoUsers = await listPoolUsers(config);
  const dataSource = await openDatabase(config);
  try {
    const setup = await setUpUsersDatabase(dataSource, cognitoUsers);
    out(setup.migrations.length ? `ran migrations ${setup.migrations.join(', ')}` : 'no pending migrations');
    out(`demo users: ${setup.demoUsers.map((u) => u.handle).join(', ')}`);
    for (const line of describeCognitoUserIdsUpdate(setup.cognitoIds)) out(line);
    for (const line of describeRefusals(setup.cognitoIds)) err(line);
    return setup.cognitoIds.refused.length ? 1 : 0;
  } finally {
    await dataSource.destroy();
  }
});
