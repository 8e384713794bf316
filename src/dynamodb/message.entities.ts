import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Entity, Service, type EntityItem } from 'electrodb';
import { MESSAGE_TABLE } from './table.definition.js';

/*
 * The ElectroDB model of the existing Cruddur layout. Key attributes map straight onto `pk`/`sk`
 * (`field`), so an item carries no extra key copies: a message item has no `message_group_uuid`,
 * which keeps the `message-group-sk-index` sparse. `casing: "none"` keeps keys byte-exact.
 * Reads pass `ignoreOwnership: true`: items written by the original tools lack ElectroDB's
 * `__edb_e__`/`__edb_v__` identifiers.
 *
 * `message-group-sk-index` is queried through the list-item entity rather than an ElectroDB
 * collection, and messages and members (one partition) through their own entities: ElectroDB
 * refuses a collection on an index whose key field is also an attribute's field (error 1019), and a
 * message's conversation id can only live in `pk` (docs/architecture.md, "The table").
 */
export const MESSAGE_PREFIX = 'MSG#';
export const GROUP_PREFIX = 'GRP#';
/**
 * Sort-key prefix of a member item in its conversation's partition. Message sks are timestamps
 * (they start with a digit), so member items sort after every message: the original tools' queries
 * (`begins_with(sk, year)`) never see them, and this project's message queries stay below the prefix.
 */
export const MEMBER_PREFIX = 'MEMBER#';

const stripPrefix = (prefix: string) => (value?: string) =>
  value !== undefined && value.startsWith(prefix) ? value.slice(prefix.length) : value;

const sender = {
  user_uuid: { type: 'string', required: true },
  user_display_name: { type: 'string', required: true },
  user_handle: { type: 'string', required: true },
} as const;

export const messageSchema = {
  model: { entity: 'message', version: '1', service: 'cruddur' },
  attributes: {
    message_group_uuid: { type: 'string', required: true, field: MESSAGE_TABLE.partitionKey, get: stripPrefix(MESSAGE_PREFIX) },
    created_at: { type: 'string', required: true, field: MESSAGE_TABLE.sortKey },
    message_uuid: { type: 'string', required: true },
    message: { type: 'string', required: true },
    ...sender,
  },
  indexes: {
    byConversation: {
      pk: {
        field: MESSAGE_TABLE.partitionKey,
        composite: ['message_group_uuid'],
        template: `${MESSAGE_PREFIX}\${message_group_uuid}`,
        casing: 'none',
      },
      sk: { field: MESSAGE_TABLE.sortKey, composite: ['created_at'], template: '${created_at}', casing: 'none' },
    },
  },
} as const;

/**
 * What a member's list shows of their read state, kept by the projector and the read route (never
 * computed per list row): how many messages of the other member came after the member's read
 * marker (`unread_count`, exact up to 99; `unread_more` beyond), and the other member's marker
 * (`other_last_read_at`: "seen"). Extra attributes only: the original tools ignore them.
 */
const readState = {
  unread_count: { type: 'number' },
  unread_more: { type: 'boolean' },
  other_last_read_at: { type: 'string' },
  /** On a list item: the member item version whose read state it shows (older writes never win). */
  read_version: { type: 'number' },
} as const;

export const listItemSchema = {
  model: { entity: 'message_group', version: '1', service: 'cruddur' },
  attributes: {
    owner_user_uuid: { type: 'string', required: true, field: MESSAGE_TABLE.partitionKey, get: stripPrefix(GROUP_PREFIX) },
    last_reply_at: { type: 'string', required: true, field: MESSAGE_TABLE.sortKey },
    message_group_uuid: { type: 'string', required: true, field: MESSAGE_TABLE.groupIndex.partitionKey },
    message: { type: 'string', required: true },
    ...sender,
    ...readState,
  },
  indexes: {
    byOwner: {
      pk: {
        field: MESSAGE_TABLE.partitionKey,
        composite: ['owner_user_uuid'],
        template: `${GROUP_PREFIX}\${owner_user_uuid}`,
        casing: 'none',
      },
      sk: { field: MESSAGE_TABLE.sortKey, composite: ['last_reply_at'], template: '${last_reply_at}', casing: 'none' },
    },
    byConversation: {
      index: MESSAGE_TABLE.groupIndex.name,
      pk: {
        field: MESSAGE_TABLE.groupIndex.partitionKey,
        composite: ['message_group_uuid'],
        template: '${message_group_uuid}',
        casing: 'none',
      },
      sk: { field: MESSAGE_TABLE.groupIndex.sortKey, composite: ['last_reply_at'], template: '${last_reply_at}', casing: 'none' },
    },
  },
} as const;

/**
 * A member of a conversation, in the conversation's own partition (`MSG#{group}` / `MEMBER#{user}`):
 * the strongly consistent record of who is in it and of the member's list item, which the
 * projector moves forward. It carries no `message_group_uuid`, so the sparse index never sees it.
 * - `user_*`: the other member, as last seen (refreshed by each of their messages).
 * - `last_reply_at`, `message`: the newest message projected for this member (absent: none yet).
 * - `group_sk`: the sk of the member's `GRP#` item; `pending` while that item does not yet show
 *   `last_reply_at`; `stale`: sks of this member's older `GRP#` items of the conversation, to delete.
 * - `last_read_at`: the member's read marker (the newest message they have read: marked read, or
 *   written by them); `unread_count`, `unread_more`, `other_last_read_at` as on the list item.
 * - `version`: every change is conditional on it (optimistic concurrency, no transactions).
 */
const memberSchema = {
  model: { entity: 'member', version: '1', service: 'cruddur' },
  attributes: {
    message_group_uuid: { type: 'string', required: true, field: MESSAGE_TABLE.partitionKey, get: stripPrefix(MESSAGE_PREFIX) },
    owner_user_uuid: { type: 'string', required: true, field: MESSAGE_TABLE.sortKey, get: stripPrefix(MEMBER_PREFIX) },
    ...sender,
    last_reply_at: { type: 'string' },
    message: { type: 'string' },
    group_sk: { type: 'string' },
    pending: { type: 'boolean' },
    stale: { type: 'set', items: 'string' },
    version: { type: 'number', required: true },
    last_read_at: { type: 'string' },
    ...readState,
  },
  indexes: {
    byConversation: {
      pk: {
        field: MESSAGE_TABLE.partitionKey,
        composite: ['message_group_uuid'],
        template: `${MESSAGE_PREFIX}\${message_group_uuid}`,
        casing: 'none',
      },
      sk: { field: MESSAGE_TABLE.sortKey, composite: ['owner_user_uuid'], template: `${MEMBER_PREFIX}\${owner_user_uuid}`, casing: 'none' },
    },
  },
} as const;

/**
 * A new service (and new entities) per client: ElectroDB binds the client and table to the entity
 * objects themselves, so entities shared between two services would talk to the last one's table.
 */
export function createMessageTableModel(client: DynamoDBClient, table: string) {
  return new Service(
    { message: new Entity(messageSchema), listItem: new Entity(listItemSchema), member: new Entity(memberSchema) },
    { client, table },
  );
}

export type MessageItem = EntityItem<MessageTableModel['entities']['message']>;
export type ConversationListItem = EntityItem<MessageTableModel['entities']['listItem']>;
export type MemberItem = EntityItem<MessageTableModel['entities']['member']>;
export type MessageTableModel = ReturnType<typeof createMessageTableModel>;
