import { parseScriptArgs } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { createCognitoClient, listAllCognitoUsers } from '../src/cognito/cognito.client.js';
import { requireUserPoolId } from '../src/cognito/cognito-pool.js';
import { describeCognitoUserIdsUpdate, updateCognitoUserIds } from '../src/cognito/cognito-user-ids.js';
import { openDatabase } from '../src/database/open-database.js';
import { seedDemoUsers } from '../src/seed/demo-users.seed.js';
import { User } from '../src/users/user.entity.js';
import { UsersService } from '../src/users/users.service.js';

/** db:migrate + db:seed + db:update-cognito-user-ids, in that order. */
runScript('db:setup', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run db:setup -- [prod]' });
  // Both checked before anything changes, so a missing setting leaves the database untouched.
  const userPoolId = requireUserPoolId(config);
  const dataSource = await openDatabase(config);
  try {
    const ran = await dataSource.runMigrations({ transaction: 'all' });
    out(ran.length ? `ran migrations ${ran.map((m) => m.name).join(', ')}` : 'no pending migrations');
    const users = new UsersService(dataSource.getRepository(User));
    out(`demo users: ${(await seedDemoUsers(users)).map((u) => u.handle).join(', ')}`);
    const client = createCognitoClient(config);
    const cognitoUsers = await listAllCognitoUsers(client, userPoolId).finally(() => client.destroy());
    for (const line of describeCognitoUserIdsUpdate(await updateCognitoUserIds(cognitoUsers, users))) out(line);
  } finally {
    await dataSource.destroy();
  }
});
