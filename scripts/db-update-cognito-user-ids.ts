import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { listPoolUsers } from '../src/cognito/cognito-pool.js';
import { describeCognitoUserIdsUpdate, updateCognitoUserIds } from '../src/cognito/cognito-user-ids.js';
import { withUsersService } from '../src/database/open-database.js';

/** Sets users.cognito_user_id from the pool's users, matched by handle (preferred_username). */
runScript('db:update-cognito-user-ids', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:update-cognito-user-ids -- [prod]' });
  const cognitoUsers = await listPoolUsers(config);
  const update = await withUsersService(config, (users) => updateCognitoUserIds(cognitoUsers, users));
  for (const line of describeCognitoUserIdsUpdate(update)) out(line);
});
