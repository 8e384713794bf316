import { parseScriptArgs, usageError } from '../tools/cli/args.js';
import { runScript } from '../tools/cli/cli.js';
import { openMessagesRepository } from '../tools/dynamodb/open-messages-repository.js';
import type { MessageItem, MessagesRepository } from '../src/dynamodb/messages.repository.js';
import { compareTimestamps, formatTimestamp, parseTimestamp } from '../src/dynamodb/timestamp.js';
import { ConversationListProjector } from '../src/stream/conversation-list.projector.js';
import { UUID_PATTERN } from '../src/common/uuid.js';

/** Messages read per page while looking for the newest. */
const PAGE = 100;
/**
 * Stored timestamps sort as strings, and the original tools stamped their machine's local offset: a
 * message can sort before another yet be newer by up to the largest offset difference. The newest
 * by instant is within this much (the largest offset `parseTimestamp` accepts, 23:59) of the
 * newest by string, as local clock readings.
 */
const OFFSET_WINDOW_MICROS = 24 * 3600 * 1_000_000;

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
    const newest = await newestMessage(repository, group);
    out(`conversation ${group}: newest message ${newest.created_at} by @${newest.user_handle}: ${JSON.stringify(preview(newest.message))}`);

    const { members } = await new ConversationListProjector(repository).project(newest);
    for (const member of [...members].sort((a, b) => a.owner_user_uuid.localeCompare(b.owner_user_uuid))) {
      const state = member.moved ? `moved forward to ${member.last_reply_at}` : `already at ${member.last_reply_at}`;
      const removed = member.removed > 0 ? `, removed ${member.removed} older item${member.removed === 1 ? '' : 's'}` : '';
      out(`  GRP#${member.owner_user_uuid}: ${state}${removed}`);
    }
  } finally {
    await close();
  }
});

/**
 * The conversation's newest message by instant: every message stamped (as a local clock reading)
 * within a day before the newest by string is compared, since one stamped at another offset may
 * be newer. One page for a conversation written by this service alone.
 */
async function newestMessage(repository: MessagesRepository, group: string): Promise<MessageItem> {
  let page = await repository.listMessages(group, { limit: PAGE });
  if (page.items.length === 0) throw new Error(`conversation ${group} has no messages`);
  const latestByString = parseTimestamp(page.items[0].created_at);
  // Compared on the date and time as written (`YYYY-MM-DDTHH:MM:SS`), whatever offset follows.
  const from = latestByString === undefined ? undefined : formatTimestamp(latestByString - OFFSET_WINDOW_MICROS).slice(0, 19);
  const candidates: MessageItem[] = [];
  for (;;) {
    candidates.push(...page.items.filter((m) => from === undefined || m.created_at.slice(0, 19) >= from));
    const last = page.items.at(-1);
    if (!page.next || !last || from === undefined || last.created_at.slice(0, 19) < from) break;
    page = await repository.listMessages(group, { limit: PAGE, before: page.next });
  }
  return candidates.reduce((a, b) => (compareTimestamps(b.created_at, a.created_at) > 0 ? b : a));
}

function preview(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
