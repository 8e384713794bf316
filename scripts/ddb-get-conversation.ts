import { parseScriptArgs, usageError } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { transcriptLines } from '../tools/cli/transcript.js';
import type { AppConfig } from '../src/config/config.js';
import { withUsersService } from '../tools/database/open-database.js';
import type { MessagesRepository } from '../src/dynamodb/messages.repository.js';
import { openMessagesRepository } from '../tools/dynamodb/open-messages-repository.js';
import { DEMO_USERS } from '../tools/seed/demo-users.js';
import { UUID_PATTERN } from '../src/common/uuid.js';
import { findDemoUsers } from '../tools/seed/demo-users.seed.js';

runScript('ddb:get-conversation', async ({ args, config, out }) => {
  const spec = {
    usage: 'npm run ddb:get-conversation -- [message_group_uuid] [--year YYYY] [prod]',
    positionals: { max: 1 },
    options: { year: 'string' },
  } as const;
  const {
    positionals: [group],
    options,
  } = parseScriptArgs(args, spec);
  const year = options.year as string | undefined;
  if (group !== undefined && !UUID_PATTERN.test(group)) throw usageError(spec, `not a message_group_uuid: ${JSON.stringify(group)}`);
  if (year !== undefined && !/^\d{4}$/.test(year)) throw usageError(spec, `--year must be a 4-digit year, got ${JSON.stringify(year)}`);
  const { repository, close } = openMessagesRepository(config);
  try {
    const message_group_uuid = group ?? (await newestDemoConversation(config, repository));
    const messages = year
      ? await repository.listAllMessagesOfYear(message_group_uuid, year)
      : await repository.listAllMessages(message_group_uuid);
    out(JSON.stringify(messages, null, 2));
    for (const line of transcriptLines(messages)) out(line);
    if (messages.length === 0) process.stderr.write(`no messages in conversation ${message_group_uuid}${year ? ` in ${year}` : ''}\n`);
  } finally {
    await close();
  }
});

/** The first demo user's conversation with the latest reply. */
async function newestDemoConversation(config: AppConfig, repository: MessagesRepository): Promise<string> {
  const { handle } = DEMO_USERS[0];
  const [user] = await withUsersService(config, (users) => findDemoUsers(users, [handle]));
  const { items } = await repository.listConversations(user.uuid, { limit: 1 });
  if (items.length === 0) throw new Error(`@${handle} has no conversations (npm run ddb:seed)`);
  return items[0].message_group_uuid;
}
