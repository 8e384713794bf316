import { QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { convertToNative, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import {
  createMessageTableModel,
  GROUP_PREFIX,
  listItemSchema,
  MEMBER_PREFIX,
  MESSAGE_PREFIX,
  messageSchema,
  type MemberItem,
  type ConversationListItem,
  type MessageItem,
  type MessageTableModel,
} from './message.entities.js';
import { MESSAGE_TABLE } from './table.definition.js';
import { formatTimestamp, nextMicrosecond, nowTimestamp, parseTimestamp } from './timestamp.js';

export type { MemberItem, ConversationListItem, MessageItem } from './message.entities.js';

export interface UserRef {
  uuid: string;
  display_name: string;
  handle: string;
}

export interface PageRequest {
  limit: number;
  /** Continue with items strictly older than this `sk` (the last `sk` of the previous page). */
  before?: string;
}

export interface Page<T> {
  items: T[];
  /** The `sk` to pass as `before` for the next page; undefined on the last page. */
  next?: string;
}

export interface NewMessage {
  message_group_uuid: string;
  message: string;
  sender: UserRef;
  /** Defaults to now. On a clash with an existing message the timestamp moves forward. */
  created_at?: string;
  message_uuid?: string;
}

export interface NewListItem {
  owner_user_uuid: string;
  message_group_uuid: string;
  last_reply_at: string;
  message: string;
  /** The other member of the conversation. */
  other: UserRef;
  readState?: ReadState;
}

/** A member's read state as lists show it (docs/architecture.md, "Read state"). */
export interface ReadState {
  unread_count?: number;
  unread_more?: boolean;
  other_last_read_at?: string;
  /** The member item's version this read state is from: a list item takes only a newer one. */
  read_version?: number;
}

/** The read state a member item holds: the list's, and the member's own marker. */
export interface MemberReadState extends ReadState {
  last_read_at?: string;
}

const READ_STATE_FIELDS = ['unread_count', 'unread_more', 'other_last_read_at'] as const;

/** Unread counts stop here: exact up to 99, then 99 with `unread_more`. */
export const UNREAD_CAP = 99;

/** A member's list item to move to: the newest message projected for the member. */
export interface MemberTarget {
  last_reply_at: string;
  message: string;
  /** The other member, when the message tells something newer about them (their own message). */
  other?: UserRef;
}

/** Called after a message item was written (the local change-capture emulator listens here). */
export type MessageWrittenListener = (item: MessageItem) => void;

/**
 * Options of every read: items written by the original tools lack ElectroDB's identifiers
 * (`ignoreOwnership`), and errors stay the SDK's own (`originalErr`), which the callers and the
 * API's error filter recognise (ConditionalCheckFailedException, throttling, network errors).
 */
const READ = { ignoreOwnership: true, originalErr: true } as const;
/** Options of every write: the SDK's own errors, and no item read back. */
const WRITE = { originalErr: true, response: 'none' } as const;

/** How many microsecond bumps a write tries before giving up (a hot spot, not a normal clash). */
const MAX_CLASH_RETRIES = 1000;

/**
 * The data access of the messages table, shared by the HTTP app, the scripts and the stream
 * Lambda. Services speak the domain; this class speaks keys.
 */
export class MessagesRepository {
  private readonly listeners: MessageWrittenListener[] = [];

  constructor(
    readonly model: MessageTableModel,
    readonly client: DynamoDBClient,
    readonly table: string,
  ) {}

  static create(client: DynamoDBClient, table: string): MessagesRepository {
    return new MessagesRepository(createMessageTableModel(client, table), client, table);
  }

  onMessageWritten(listener: MessageWrittenListener): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  /**
   * Writes one message item and never overwrites: the put is conditional on the key being new, and
   * a clash with another message of the same conversation at the same microsecond moves this
   * message's timestamp forward by one microsecond and tries again. A clash with this very message
   * (same `message_uuid`: an earlier attempt whose answer was lost, such as an SDK retry after a
   * reset connection or an `Idempotency-Key` retry) means it is already written: it is not written twice.
   */
  async putMessage(input: NewMessage): Promise<MessageItem> {
    const base = {
      message_group_uuid: input.message_group_uuid,
      message_uuid: input.message_uuid ?? randomUUID(),
      message: input.message,
      user_uuid: input.sender.uuid,
      user_display_name: input.sender.display_name,
      user_handle: input.sender.handle,
    };
    const created_at = await this.withClashRetry(
      input.created_at ?? nowTimestamp(),
      (sk) => this.model.entities.message.create({ ...base, created_at: sk }).go(WRITE),
      async (sk) => {
        const { data } = await this.model.entities.message
          .get({ message_group_uuid: base.message_group_uuid, created_at: sk })
          .go({ consistent: true, ...READ });
        return data?.message_uuid === base.message_uuid;
      },
    );
    const item: MessageItem = { ...base, created_at };
    for (const listener of this.listeners) listener(item);
    return item;
  }

  /**
   * Writes one list item, never overwriting another conversation of the same owner whose
   * latest reply landed in the same microsecond (its `sk` moves forward instead). When the key is
   * already taken by this owner's item of the SAME conversation (an earlier attempt whose answer was
   * lost, or a concurrent projection of the same message), that item is returned and nothing is
   * written, so a conversation never gets a second item one microsecond apart. Returns the item as stored.
   */
  async putListItem(input: NewListItem): Promise<ConversationListItem> {
    const base = groupAttributes(input);
    let existing: ConversationListItem | undefined;
    const last_reply_at = await this.withClashRetry(
      input.last_reply_at,
      (sk) => this.model.entities.listItem.create({ ...base, last_reply_at: sk }).go(WRITE),
      async (sk) => {
        const { data } = await this.model.entities.listItem
          .get({ owner_user_uuid: input.owner_user_uuid, last_reply_at: sk })
          .go({ consistent: true, ...READ });
        existing = data?.message_group_uuid === input.message_group_uuid ? data : undefined;
        return existing !== undefined;
      },
    );
    return existing ?? { ...base, last_reply_at };
  }

  /**
   * Deletes an owner's list item of conversation `message_group_uuid`; an item at that key of
   * another conversation (the key was freed and reused since it was read) is left alone.
   */
  async deleteListItem(owner_user_uuid: string, last_reply_at: string, message_group_uuid: string): Promise<void> {
    try {
      await this.model.entities.listItem
        .delete({ owner_user_uuid, last_reply_at })
        .where((attributes, { eq }) => eq(attributes.message_group_uuid, message_group_uuid))
        .go(WRITE);
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /**
   * The message `message_uuid` planned at `created_at`, if it was written (a strongly consistent
   * read): it is at that timestamp, or a few microseconds after it when the write clashed.
   */
  async findMessage(message_group_uuid: string, planned: { message_uuid: string; created_at: string }): Promise<MessageItem | undefined> {
    const micros = parseTimestamp(planned.created_at);
    if (micros === undefined) return undefined;
    const { data } = await this.model.entities.message.query
      .byConversation({ message_group_uuid })
      .between({ created_at: planned.created_at }, { created_at: formatTimestamp(micros + MAX_CLASH_RETRIES) })
      .where(({ message_uuid }, { eq }) => eq(message_uuid, planned.message_uuid))
      .go({ pages: 'all', consistent: true, ...READ });
    return data[0];
  }

  /**
   * Sets the read state a list item shows (unread count, the other member's marker), if the item at
   * that key is still the conversation's and, given `read_version`, shows an older one (two writers
   * racing: the newer member state wins, whatever order the writes land in). False otherwise (it
   * moved on, or holds newer: its successor or itself is written from the member item).
   */
  async updateListItemReadState(
    owner_user_uuid: string,
    last_reply_at: string,
    message_group_uuid: string,
    state: ReadState,
  ): Promise<boolean> {
    const fields = definedReadState(state);
    const absent = READ_STATE_FIELDS.filter((name) => state[name] === undefined);
    let update = this.model.entities.listItem.patch({ owner_user_uuid, last_reply_at }).set(fields);
    if (absent.length) update = update.remove(absent);
    const version = state.read_version;
    return this.conditionally(
      update
        .where((attributes, { eq, notExists, lt }) =>
          version === undefined
            ? eq(attributes.message_group_uuid, message_group_uuid)
            : `${eq(attributes.message_group_uuid, message_group_uuid)} AND (${notExists(attributes.read_version)} OR ${lt(attributes.read_version, version)})`,
        )
        .go(WRITE),
    );
  }

  /**
   * How many messages of the conversation after `after` (exclusive; undefined: from the first) up
   * to `upTo` (inclusive) someone other than `reader` wrote: a strongly consistent Query of at most
   * UNREAD_CAP + 1 messages, so exact up to UNREAD_CAP, then UNREAD_CAP with `more`.
   */
  async countUnread(
    message_group_uuid: string,
    reader: string,
    after: string | undefined,
    upTo: string,
  ): Promise<{ count: number; more: boolean }> {
    // A key range is a string range: with timestamps of mixed offsets (the original tools') the
    // marker can sort after the target although it is older; nothing to count in stored order then.
    if (after !== undefined && after >= upTo) return { count: 0, more: false };
    const query = this.model.entities.message.query.byConversation({ message_group_uuid });
    // `between` is inclusive: the marker's own message (if read back) is left out below.
    const range = after === undefined ? query.lte({ created_at: upTo }) : query.between({ created_at: after }, { created_at: upTo });
    const { data } = await range.go({ limit: UNREAD_CAP + 2, order: 'asc', consistent: true, ...READ });
    const count = data.filter((m) => m.created_at !== after && m.user_uuid !== reader).length;
    return { count: Math.min(count, UNREAD_CAP), more: count > UNREAD_CAP };
  }

  /** The conversation's newest message (a strongly consistent read), if it has one. */
  async newestMessage(message_group_uuid: string): Promise<MessageItem | undefined> {
    const { data } = await this.messagesOf(message_group_uuid).go({ limit: 1, order: 'desc', consistent: true, ...READ });
    return data[0];
  }

  /** Whether the conversation has any message (a strongly consistent read). */
  async hasMessages(message_group_uuid: string): Promise<boolean> {
    const { data } = await this.messagesOf(message_group_uuid).go({ limit: 1, consistent: true, ...READ });
    return data.length > 0;
  }

  /**
   * Pattern A: one page of a conversation's messages, newest first. O(page). The API's hottest read:
   * one Query sent as the message entity's `query.byConversation(…).lt(…)` sends it (a spec holds
   * the two equal), read without ElectroDB's per-call work (about a tenth of a list page's CPU).
   */
  async listMessages(message_group_uuid: string, page: PageRequest): Promise<Page<MessageItem>> {
    const items = await this.queryPage(MESSAGE_PREFIX + message_group_uuid, page.before ?? MEMBER_PREFIX, page.limit, readMessage);
    return { items: items.data, next: items.more && items.data.length ? items.data[items.data.length - 1].created_at : undefined };
  }

  /** Pattern B: one page of an owner's conversations, latest reply first. O(page). As fast as pattern A's page. */
  async listConversations(owner_user_uuid: string, page: PageRequest): Promise<Page<ConversationListItem>> {
    const items = await this.queryPage(GROUP_PREFIX + owner_user_uuid, page.before, page.limit, readListItem);
    return { items: items.data, next: items.more && items.data.length ? items.data[items.data.length - 1].last_reply_at : undefined };
  }

  /** One page of a partition, newest first, below `before` (exclusive) when given. */
  private async queryPage<T>(
    pk: string,
    before: string | undefined,
    limit: number,
    read: (item: Record<string, AttributeValue>) => T,
  ): Promise<{ data: T[]; more: boolean }> {
    const { partitionKey, sortKey } = MESSAGE_TABLE;
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: before === undefined ? '#pk = :pk' : '#pk = :pk and #sk1 < :sk1',
        ExpressionAttributeNames: before === undefined ? { '#pk': partitionKey } : { '#pk': partitionKey, '#sk1': sortKey },
        ExpressionAttributeValues: before === undefined ? { ':pk': { S: pk } } : { ':pk': { S: pk }, ':sk1': { S: before } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return { data: (output.Items ?? []).map(read), more: output.LastEvaluatedKey !== undefined };
  }

  /**
   * An owner's list items whose latest reply is after `after` (a strongly consistent read), oldest
   * first, at most `limit`. For replaying live events (README, "Live delivery").
   */
  async listConversationsAfter(owner_user_uuid: string, after: string, limit: number): Promise<ConversationListItem[]> {
    const { data } = await this.model.entities.listItem.query
      .byOwner({ owner_user_uuid })
      .gt({ last_reply_at: after })
      .go({ order: 'asc', limit, pages: 'all', consistent: true, ...READ });
    return data;
  }

  /** A conversation's messages after `after` (a strongly consistent read), oldest first, at most `limit`. */
  async listMessagesAfter(message_group_uuid: string, after: string, limit: number): Promise<MessageItem[]> {
    const { data } = await this.model.entities.message.query
      .byConversation({ message_group_uuid })
      .between({ created_at: after }, { created_at: MEMBER_PREFIX })
      .go({ order: 'asc', limit: limit + 1, pages: 'all', consistent: true, ...READ });
    return data.filter((m) => m.created_at > after && !m.created_at.startsWith(MEMBER_PREFIX)).slice(0, limit);
  }

  /** Every list item of a conversation (all pages of the sparse GSI), newest first. */
  async listListItemsOnIndex(message_group_uuid: string): Promise<ConversationListItem[]> {
    const { data } = await this.model.entities.listItem.query
      .byConversation({ message_group_uuid })
      .go({ pages: 'all', order: 'desc', ...READ });
    return data;
  }

  /** Every message of a conversation, oldest first (all pages). For scripts and repairs. */
  async listAllMessages(message_group_uuid: string): Promise<MessageItem[]> {
    const { data } = await this.messagesOf(message_group_uuid).go({ pages: 'all', order: 'asc', ...READ });
    return data;
  }

  /** The conversation's message items (sks below the member items'), optionally older than `before`. */
  private messagesOf(message_group_uuid: string, before?: string) {
    return this.model.entities.message.query.byConversation({ message_group_uuid }).lt({ created_at: before ?? MEMBER_PREFIX });
  }

  /** A member of a conversation (a strongly consistent read); undefined when the user is none. */
  async getMember(message_group_uuid: string, owner_user_uuid: string): Promise<MemberItem | undefined> {
    const { data } = await this.model.entities.member.get({ message_group_uuid, owner_user_uuid }).go({ consistent: true, ...READ });
    return data ?? undefined;
  }

  /** Every member of a conversation (a strongly consistent query of its partition's member items). */
  async listMembers(message_group_uuid: string): Promise<MemberItem[]> {
    const { data } = await this.model.entities.member.query
      .byConversation({ message_group_uuid })
      .begins({ owner_user_uuid: '' })
      .go({ pages: 'all', consistent: true, ...READ });
    return data;
  }

  /**
   * Writes a member item unless the member already has one (then nothing changes). A new member
   * of a new conversation has no list item yet; one rebuilt from an older conversation's group
   * items starts at them. Returns whether this call created it.
   */
  async putMember(member: Omit<MemberItem, 'version'>): Promise<boolean> {
    try {
      await this.model.entities.member.create({ ...member, version: 0 }).go(WRITE);
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Moves a member's target forward (its list item is then `pending`) if the member item is still
   * at `version`; the member's current list item, and an earlier target whose item may have been
   * written, become stale. Returns the member item as it now is, or undefined when it changed meanwhile.
   */
  async advanceMember(member: MemberItem, target: MemberTarget, read: MemberReadState = {}): Promise<MemberItem | undefined> {
    const stale = [member.group_sk, member.pending ? member.last_reply_at : undefined].filter((sk): sk is string => sk !== undefined);
    const other = target.other
      ? { user_uuid: target.other.uuid, user_display_name: target.other.display_name, user_handle: target.other.handle }
      : {};
    const changes = {
      last_reply_at: target.last_reply_at,
      message: target.message,
      pending: true,
      version: member.version + 1,
      ...other,
      ...definedReadState(read),
    };
    let update = this.model.entities.member.update(memberKey(member)).set(changes);
    if (stale.length) update = update.add({ stale });
    const advanced = await this.conditionally(update.where(({ version }, { eq }) => eq(version, member.version)).go(WRITE));
    return advanced ? { ...member, ...changes, stale: [...new Set([...(member.stale ?? []), ...stale])] } : undefined;
  }

  /** Sets a member's read state (marker, counts, the other's marker) if the member item is still at `version`. */
  async updateMemberReadState(member: MemberItem, read: MemberReadState): Promise<MemberItem | undefined> {
    const changes = { ...definedReadState(read), version: member.version + 1 };
    const updated = await this.conditionally(
      this.model.entities.member
        .update(memberKey(member))
        .set(changes)
        .where(({ version }, { eq }) => eq(version, member.version))
        .go(WRITE),
    );
    return updated ? { ...member, ...changes } : undefined;
  }

  /**
   * Records that the member's list item now shows its target, at `group_sk`, and that the `deleted`
   * stale items are gone, if the member item is still at `version`.
   */
  async completeMember(member: MemberItem, group_sk: string, deleted: string[] = []): Promise<boolean> {
    let update = this.model.entities.member
      .update(memberKey(member))
      .set({ group_sk, version: member.version + 1 })
      .remove(['pending']);
    if (deleted.length) update = update.delete({ stale: deleted });
    return this.conditionally(update.where(({ version }, { eq }) => eq(version, member.version)).go(WRITE));
  }

  /** Forgets stale group-item sks once their items are deleted (whatever the member item's version). */
  async forgetStale(member: MemberItem, sks: string[]): Promise<void> {
    if (sks.length === 0) return;
    await this.model.entities.member.patch(memberKey(member)).delete({ stale: sks }).go(WRITE);
  }

  private async conditionally(write: Promise<unknown>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Every item of the table, as stored (all pages). For operators; O(table). */
  async *scanAll(): AsyncGenerator<Record<string, unknown>> {
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey }));
      for (const item of page.Items ?? []) yield unmarshall(item);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }

  /**
   * The microsecond bump: a conditional `write` that clashes moves on to the next microsecond,
   * unless `alreadyWritten(sk)` says the item at that key is this very item (an earlier attempt
   * whose answer was lost), in which case nothing is written again.
   */
  private async withClashRetry(
    sk: string,
    write: (sk: string) => Promise<unknown>,
    alreadyWritten: (sk: string) => Promise<boolean> = async () => false,
  ): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write(sk);
        return sk;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        if (await alreadyWritten(sk)) return sk;
        if (attempt >= MAX_CLASH_RETRIES) throw error;
        sk = nextMicrosecond(sk);
      }
    }
  }

  /**
   * The owner's conversation with `other_user_uuid`, if any (its newest list item). Filters the
   * owner's list items, so O(conversations of the owner): used by the seed and by pattern C, only
   * when the pair has no conversation under its deterministic id (one started by the original tools).
   */
  async findConversationWith(owner_user_uuid: string, other_user_uuid: string): Promise<ConversationListItem | undefined> {
    const { data } = await this.model.entities.listItem.query
      .byOwner({ owner_user_uuid })
      .where(({ user_uuid }, { eq }) => eq(user_uuid, other_user_uuid))
      .go({ pages: 'all', order: 'desc', consistent: true, ...READ });
    return data[0];
  }

  /** Every conversation of an owner, latest reply first (all pages). For scripts; O(conversations). */
  async listAllConversations(owner_user_uuid: string): Promise<ConversationListItem[]> {
    const { data } = await this.model.entities.listItem.query.byOwner({ owner_user_uuid }).go({ pages: 'all', order: 'desc', ...READ });
    return data;
  }

  /** Every message of a conversation sent in `year` (a `begins_with` on `sk`), oldest first (all pages). */
  async listAllMessagesOfYear(message_group_uuid: string, year: string): Promise<MessageItem[]> {
    const { data } = await this.model.entities.message.query
      .byConversation({ message_group_uuid })
      .begins({ created_at: year })
      .go({ pages: 'all', order: 'asc', ...READ });
    return data;
  }
}

/**
 * Reads a stored item as the entity's `go()` returns it (the spec holds the two equal): its schema's
 * attributes only, from their fields, through their getters; ElectroDB's identifiers and unknown
 * attributes left out.
 */
function itemReader<T>(schema: { attributes: Record<string, { type: string; field?: string; get?: (value?: string) => unknown }> }) {
  const fields = Object.entries(schema.attributes).map(([name, attribute]) => ({
    name,
    field: attribute.field ?? name,
    get: attribute.get,
  }));
  return (stored: Record<string, AttributeValue>): T => {
    const item: Record<string, unknown> = {};
    for (const { name, field, get } of fields) {
      const value = stored[field];
      if (value === undefined) continue;
      const native: unknown = value.S ?? convertToNative(value);
      item[name] = get ? get(native as string) : native;
    }
    return item as T;
  };
}

const readMessage = itemReader<MessageItem>(messageSchema);
const readListItem = itemReader<ConversationListItem>(listItemSchema);

function memberKey(member: Pick<MemberItem, 'message_group_uuid' | 'owner_user_uuid'>) {
  return { message_group_uuid: member.message_group_uuid, owner_user_uuid: member.owner_user_uuid };
}

function groupAttributes(input: NewListItem): Omit<ConversationListItem, 'last_reply_at'> {
  return {
    owner_user_uuid: input.owner_user_uuid,
    message_group_uuid: input.message_group_uuid,
    message: input.message,
    user_uuid: input.other.uuid,
    user_display_name: input.other.display_name,
    user_handle: input.other.handle,
    ...definedReadState(input.readState),
  };
}

/** The read state's fields that have a value (ElectroDB refuses undefined attribute values in a put). */
function definedReadState<T extends ReadState>(state: T = {} as T): T {
  return Object.fromEntries(Object.entries(state).filter(([, value]) => value !== undefined)) as T;
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
