import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { withUsersService } from '../tools/database/open-database.js';
import { openMessagesRepository } from '../tools/dynamodb/open-messages-repository.js';

runScript('ddb:list-conversations', async ({ args, config, out }) => {
  const { positionals } = parseScriptArgs(args, {
    usage: 'npm run ddb:list-conversations -- <handle> [prod]',
    positionals: { min: 1, max: 1 },
  });
  const handle = positionals[0].replace(/^@/, '');
  const user = await withUsersService(config, (users) => users.findShortByHandle(handle));
  if (!user) throw new Error(`no user with handle @${handle} in Postgres`);
  const { repository, close } = openMessagesRepository(config);
  try {
    out(JSON.stringify(await repository.listAllConversations(user.uuid), null, 2));
  } finally {
    await close();
  }
});
