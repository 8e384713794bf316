import type { ConversationListItem, MessageItem, MessagesRepository } from '../dynamodb/messages.repository.js';
import { compareTimestamps } from '../dynamodb/timestamp.js';
import { messageGroupEvent, timestampOfPosition, type LiveEvent } from './live-event.js';

/** Past this many missed messages a returning client gets one `resync` instead. */
export const REPLAY_MAX_MESSAGES = 1_000;
/** Past this much missed time a returning client gets one `resync` instead. */
export const REPLAY_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Conversations read at the same time during a replay. */
const CONCURRENCY = 8;

export type Replay = { resync: false; events: LiveEvent[] } | { resync: true };

/**
 * What a client that left at `position` (µs) missed, read from DynamoDB with strongly consistent
 * reads: the caller's conversations whose latest reply is newer (their own list items, so only
 * conversations the caller is in), then those conversations' messages after the position, all in
 * time order, then the conversations' list items. More than REPLAY_MAX_MESSAGES, or a position older
 * than REPLAY_MAX_AGE_MS, is a resync.
 */
export async function replaySince(
  repository: Pick<MessagesRepository, 'listConversationsAfter' | 'listMessagesAfter'>,
  user_uuid: string,
  position: number,
  now: number = Date.now(),
): Promise<Replay> {
  if (position < (now - REPLAY_MAX_AGE_MS) * 1000) return { resync: true };
  const after = timestampOfPosition(position);
  const items = newestPerConversation(await repository.listConversationsAfter(user_uuid, after, REPLAY_MAX_MESSAGES + 1));
  if (items.length > REPLAY_MAX_MESSAGES) return { resync: true };
  const messages: MessageItem[] = [];
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    const pages = await Promise.all(
      items.slice(i, i + CONCURRENCY).map((item) => repository.listMessagesAfter(item.message_group_uuid, after, REPLAY_MAX_MESSAGES + 1)),
    );
    for (const page of pages) messages.push(...page);
    if (messages.length > REPLAY_MAX_MESSAGES) return { resync: true };
  }
  messages.sort((a, b) => compareTimestamps(a.created_at, b.created_at) || (a.message_group_uuid < b.message_group_uuid ? -1 : 1));
  const members = new Map(items.map((item) => [item.message_group_uuid, item]));
  const events: LiveEvent[] = messages.map((m) => ({
    type: 'message',
    // The caller and the other member of the conversation (the list item names them).
    audience: [user_uuid, members.get(m.message_group_uuid)!.user_uuid],
    key: `m:${m.message_uuid}`,
    position: m.created_at,
    data: {
      message_group_uuid: m.message_group_uuid,
      uuid: m.message_uuid,
      display_name: m.user_display_name,
      handle: m.user_handle,
      message: m.message,
      created_at: m.created_at,
    },
  }));
  for (const item of items) events.push(messageGroupEvent(user_uuid, item));
  return { resync: false, events };
}

/** One list item per conversation (the newest), oldest first: a conversation may briefly have two. */
function newestPerConversation(items: ConversationListItem[]): (ConversationListItem & { last_reply_at: string })[] {
  const newest = new Map<string, ConversationListItem>();
  for (const item of items) {
    const seen = newest.get(item.message_group_uuid);
    if (!seen || compareTimestamps(item.last_reply_at, seen.last_reply_at) > 0) newest.set(item.message_group_uuid, item);
  }
  return [...newest.values()].sort((a, b) => compareTimestamps(a.last_reply_at, b.last_reply_at));
}
