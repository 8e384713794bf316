import { parseScriptArgs } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { withUsersService } from '../tools/database/open-database.js';
import { openMessagesRepository } from '../tools/dynamodb/open-messages-repository.js';
import { seedDemoConversation } from '../tools/seed/demo-conversation.seed.js';
import { findDemoUsers } from '../tools/seed/demo-users.seed.js';

runScript('ddb:seed', async ({ args, config, out }) => {
  parseScriptArgs(args, { usage: 'npm run ddb:seed -- [prod]' });
  const [a, b] = await withUsersService(config, (users) => findDemoUsers(users));
  const { repository, close } = openMessagesRepository(config);
  try {
    const result = await seedDemoConversation(repository, a, b);
    out(
      result.created
        ? `seeded conversation ${result.message_group_uuid}: ${result.messages} messages between @${a.handle} and @${b.handle}`
        : `@${a.handle} and @${b.handle} already have a conversation (${result.message_group_uuid}); nothing written`,
    );
  } finally {
    await close();
  }
});
