import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { createCognitoClient, listAllCognitoUsers } from '../src/cognito/cognito.client.js';
import { requireUserPoolId } from '../src/cognito/cognito-pool.js';
import { describeCognitoUserIdsUpdate, updateCognitoUserIds } from '../src/cognito/cognito-user-ids.js';
import { openDatabase } from '../src/database/open-database.js';
import { User } from '../src/users/user.entity.js';
import { UsersService } from '../src/users/users.service.js';

/** Sets users.cognito_user_id from the pool's users, matched by handle (preferred_username). */
runScript('db:update-cognito-user-ids', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:update-cognito-user-ids -- [prod]' });
  const userPoolId = requireUserPoolId(config);
  const dataSource = await openDatabase(config);
  try {
    const client = createCognitoClient(config);
    const cognitoUsers = await listAllCognitoUsers(client, userPoolId).finally(() => client.destroy());
    const update = await updateCognitoUserIds(cognitoUsers, new UsersService(dataSource.getRepository(User)));
    for (const line of describeCognitoUserIdsUpdate(update)) out(line);
  } finally {
    await dataSource.destroy();
  }
});
