import { parseScriptArgs, usageError } from '../src/cli/args.js';
import { runScript } from '../src/cli/cli.js';
import { openMessagesRepository } from '../src/dynamodb/open-messages-repository.js';
import { compareTimestamps } from '../src/dynamodb/timestamp.js';
import { MessageGroupProjector } from '../src/stream/message-group.projector.js';
import { UUID_PATTERN } from '../src/common/uuid.js';


/** How many of the newest messages are compared (legacy timestamp forms can sort a tie out of time order). */
const NEWEST_PAGE = 10;

/**
 * Replays a conversation's newest message through the projector: each member's group item moves
 * forward to it (never backwards) and duplicates are removed. For repairs after a stream outage.
 */
runScript('ddb:replay-stream', async ({ args, config, out }) => {
  const spec = { usage: 'npm run ddb:replay-stream -- <message_group_uuid> [prod]', positionals: { min: 1, max: 1 } } as const;
  const {
    positionals: [group],
  } = parseScriptArgs(args, spec);
  if (!UUID_PATTERN.test(group)) throw usageError(spec, `not a message_group_uuid: ${JSON.stringify(group)}`);

  const { repository, close } = openMessagesRepository(config);
  try {
    const { items } = await repository.listMessages(group, { limit: NEWEST_PAGE });
    if (items.length === 0) throw new Error(`conversation ${group} has no messages`);
    const newest = items.reduce((a, b) => (compareTimestamps(b.created_at, a.created_at) > 0 ? b : a));
    out(`conversation ${group}: newest message ${newest.created_at} by @${newest.user_handle}: ${JSON.stringify(preview(newest.message))}`);

    const { members } = await new MessageGroupProjector(repository).project(newest);
    for (const member of [...members].sort((a, b) => a.owner_user_uuid.localeCompare(b.owner_user_uuid))) {
      const state = member.moved ? `moved forward to ${member.last_reply_at}` : `already at ${member.last_reply_at}`;
      const removed = member.removed > 0 ? `, removed ${member.removed} older item${member.removed === 1 ? '' : 's'}` : '';
      out(`  GRP#${member.owner_user_uuid}: ${state}${removed}`);
    }
  } finally {
    await close();
  }
});

function preview(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
