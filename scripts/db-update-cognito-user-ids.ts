import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { listPoolUsers } from '../tools/cognito/cognito-pool.js';
import { describeCognitoUserIdsUpdate, describeRefusals, updateCognitoUserIds } from '../tools/cognito/cognito-user-ids.js';
import { withUsersService } from '../tools/database/open-database.js';

/**
 * Sets users.cognito_user_id from the pool's accounts, matched by verified email (never by
 * preferred_username). Refusals go to stderr and make the exit code 1: an operator must look.
 */
runScript('db:update-cognito-user-ids', async ({ args, config, out, err }) => {
  parseScriptArgs(args, { usage: 'npm run db:update-cognito-user-ids -- [prod]' });
  const cognitoUsers = await listPoolUsers(config);
  const update = await withUsersService(config, (users) => updateCognitoUserIds(cognitoUsers, users));
  for (const line of describeCognitoUserIdsUpdate(update)) out(line);
  for (const line of describeRefusals(update)) err(line);
  return update.refused.length ? 1 : 0;
});
