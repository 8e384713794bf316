import { formatTimestamp, parseTimestamp, type Micros } from '../dynamodb/timestamp.js';

/*
 * What the live-event bus carries (docs/architecture.md, "Live delivery"). Kept free of Nest: the
 * stream Lambda publishes these too.
 */

/** A message in a conversation: the message view plus its conversation. */
export interface LiveMessageData {
  message_group_uuid: string;
  uuid: string;
  display_name: string;
  handle: string;
  message: string;
  created_at: string;
}

/** A conversation-list item of one member, as GET /api/message_groups shows it. */
export interface LiveMessageGroupData {
  uuid: string;
  display_name: string;
  handle: string;
  message: string;
  created_at: string;
  unread_count: number;
  unread_more: boolean;
  other_last_read_at: string | null;
}

/**
 * A read: to the reader's clients their own marker and count (`last_read_at`, `unread_count`), to
 * the other member's clients how far their messages were seen (`other_last_read_at`).
 */
export interface LiveReadData {
  message_group_uuid: string;
  last_read_at?: string;
  unread_count?: number;
  unread_more?: boolean;
  other_last_read_at?: string;
}

export type LiveEvent =
  | { type: 'message'; audience: string[]; key: string; position: string; data: LiveMessageData }
  | { type: 'message_group'; audience: string[]; key: string; position: string; data: LiveMessageGroupData }
  | { type: 'read'; audience: string[]; key: string; position?: undefined; data: LiveReadData };

/*
 * Event ids. An id is a position in time: the microsecond of the newest message the stream has
 * delivered (or of the moment it opened), in base 36. The server replays from DynamoDB everything
 * after it. Clients treat ids as opaque.
 */
const EVENT_ID = /^[0-9a-z]{1,12}$/;

export function eventIdOf(micros: Micros): string {
  return micros.toString(36);
}

/** The position an id names, or undefined when it is not one of ours. */
export function positionOfEventId(id: string): Micros | undefined {
  if (!EVENT_ID.test(id)) return undefined;
  const micros = parseInt(id, 36);
  // Between 2000-01-01 and 9999-12-31: anything else was not made by this server.
  return Number.isSafeInteger(micros) && micros >= 946_684_800_000_000 && micros <= 253_402_300_799_000_000 ? micros : undefined;
}

export function timestampOfPosition(micros: Micros): string {
  return formatTimestamp(micros);
}

export function positionOf(timestamp: string): Micros | undefined {
  return parseTimestamp(timestamp);
}

/** What building a batch's events needs of a message and of a member (the projector's types, structurally). */
interface BatchMessage {
  message_group_uuid: string;
  created_at: string;
  message: string;
  message_uuid?: string;
  user_display_name?: string;
  user_handle?: string;
}
interface ProjectedMember {
  owner_user_uuid: string;
  member: {
    message_group_uuid: string;
    user_display_name: string;
    user_handle: string;
    last_reply_at?: string;
    message?: string;
    unread_count?: number;
    unread_more?: boolean;
    other_last_read_at?: string;
  };
}

/**
 * The events of one conversation's messages in a stream batch, once projected: each message to both
 * members (in the batch's order, which is the conversation's write order), then each member's list
 * item that now shows the batch's newest message. Messages without a uuid (not ours) are skipped.
 */
export function conversationEvents(messages: BatchMessage[], members: ProjectedMember[], newest: string): LiveEvent[] {
  const audience = members.map((m) => m.owner_user_uuid);
  const events: LiveEvent[] = [];
  for (const m of messages) {
    if (m.message_uuid === undefined) continue;
    events.push({
      type: 'message',
      audience,
      key: `m:${m.message_uuid}`,
      position: m.created_at,
      data: {
        message_group_uuid: m.message_group_uuid,
        uuid: m.message_uuid,
        display_name: m.user_display_name ?? '',
        handle: m.user_handle ?? '',
        message: m.message,
        created_at: m.created_at,
      },
    });
  }
  for (const { owner_user_uuid, member } of members) {
    if (member.last_reply_at !== newest) continue;
    events.push(messageGroupEvent(owner_user_uuid, { ...member, last_reply_at: newest }));
  }
  return events;
}

/** A member's list item as an event to that member. */
export function messageGroupEvent(owner_user_uuid: string, item: ProjectedMember['member'] & { last_reply_at: string }): LiveEvent {
  return {
    type: 'message_group',
    audience: [owner_user_uuid],
    key: `g:${item.message_group_uuid}:${item.last_reply_at}`,
    position: item.last_reply_at,
    data: {
      uuid: item.message_group_uuid,
      display_name: item.user_display_name,
      handle: item.user_handle,
      message: item.message ?? '',
      created_at: item.last_reply_at,
      unread_count: item.unread_count ?? 0,
      unread_more: item.unread_more ?? false,
      other_last_read_at: item.other_last_read_at ?? null,
    },
  };
}

/** A read marker moved: the reader's clients learn their count, the other member's clients that they were seen. */
export function readEvents(
  message_group_uuid: string,
  reader: { user_uuid: string; last_read_at: string; unread_count: number; unread_more: boolean },
  other_user_uuid: string,
): LiveEvent[] {
  const key = `r:${message_group_uuid}:${reader.user_uuid}:${reader.last_read_at}`;
  return [
    {
      type: 'read',
      audience: [reader.user_uuid],
      key: `${key}:self`,
      data: {
        message_group_uuid,
        last_read_at: reader.last_read_at,
        unread_count: reader.unread_count,
        unread_more: reader.unread_more,
      },
    },
    {
      type: 'read',
      audience: [other_user_uuid],
      key: `${key}:other`,
      data: { message_group_uuid, other_last_read_at: reader.last_read_at },
    },
  ];
}
