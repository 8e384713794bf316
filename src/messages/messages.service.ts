import { Inject, Injectable, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { v5 as uuidv5 } from 'uuid';
import { unprocessable } from '../common/api-validation.pipe.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ConfigError, type AppConfig } from '../config/config.js';
import { MessagesRepository, type MessageItem, type UserRef } from '../dynamodb/messages.repository.js';
import type { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { ConversationCursor } from './conversation.cursor.js';
import { CreateMessageDto } from './dto/create-message.dto.js';
import type { CreatedMessageView, MessageGroupView, MessageView, ReadMarkView } from './dto/message.views.js';
import { compareTimestamps, formatTimestamp, parseTimestamp } from '../dynamodb/timestamp.js';
import { DEFAULT_PAGE_SIZE, type PageQueryDto } from './dto/page-query.dto.js';
import { RATE_LIMIT_POLICIES } from '../rate-limit/rate-limit.policies.js';
import { RateLimiterService } from '../rate-limit/rate-limiter.service.js';
import { buildMembersFromListItems, ConversationListProjector } from '../stream/conversation-list.projector.js';
import { IdempotencyService, type WritePlan } from './idempotency.service.js';
import { readEvents } from '../live/live-event.js';
import { LiveEventBus } from '../live/live-event.bus.js';

export interface PageOf<T> {
  items: T[];
  nextCursor?: string;
}

/** Namespace of the deterministic ids of new conversations (uuid v5 of the two members' uuids). */
const CONVERSATION_NAMESPACE = '0f3c5a2e-5d1b-4c8e-9a57-6b1f2f0c9d41';

/** The messaging access patterns A-D for an authenticated user (docs/architecture.md, "Access patterns"). */
@Injectable()
export class MessagesService {
  private readonly logger = new Logger(MessagesService.name);
  private readonly cursors: ConversationCursor;
  /**
   * Confirmed memberships (`{user}:{conversation}`), remembered briefly like the guard's users: a
   * member never leaves a conversation, so a hit saves a DynamoDB query on every page and reply.
   * Refusals are not remembered; a new conversation that is rolled back is forgotten.
   */
  private readonly memberships = new LRUCache<string, true>({ max: 50_000, ttl: 60_000 });

  constructor(
    private readonly repository: MessagesRepository,
    private readonly users: UsersService,
    private readonly idempotency: IdempotencyService,
    private readonly rateLimits: RateLimiterService,
    private readonly projector: ConversationListProjector,
    private readonly bus: LiveEventBus,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    if (!config.cursorSecret) throw new ConfigError('Invalid configuration: CURSOR_SECRET is required when APP_ENV=aws');
    this.cursors = new ConversationCursor(config.cursorSecret);
  }

  /** Pattern B: the caller's conversations, latest reply first. */
  async listConversations(user: User, query: PageQueryDto): Promise<PageOf<MessageGroupView>> {
    const scope = `groups:${user.uuid}`;
    const page = await this.repository.listConversations(user.uuid, this.pageRequest(scope, query));
    return {
      items: page.items.map((g) => ({
        uuid: g.message_group_uuid,
        display_name: g.user_display_name,
        handle: g.user_handle,
        message: g.message,
        created_at: g.last_reply_at,
        unread_count: g.unread_count ?? 0,
        unread_more: g.unread_more ?? false,
        other_last_read_at: g.other_last_read_at ?? null,
      })),
      nextCursor: page.next && this.cursors.encode(scope, page.next),
    };
  }

  /**
   * The caller has read the conversation up to `upTo` (a message's created_at), or up to its newest
   * message: the marker only moves forward, never past the newest message (so "seen" never covers a
   * message not yet written). Member only.
   */
  async markRead(user: User, conversationId: string, upTo?: string): Promise<ReadMarkView> {
    await this.membership(user, conversationId);
    const newest = await this.repository.newestMessage(conversationId);
    if (!newest) return { message_group_uuid: conversationId, last_read_at: null, unread_count: 0, unread_more: false };
    // One form for markers (what this service writes), whatever offset the client used.
    const asked = upTo === undefined ? undefined : formatTimestamp(parseTimestamp(upTo)!);
    const marker = asked === undefined || compareTimestamps(asked, newest.created_at) > 0 ? newest.created_at : asked;
    const member = await this.projector.markRead(conversationId, user.uuid, marker);
    await this.publishRead(conversationId, user, member);
    return {
      message_group_uuid: conversationId,
      last_read_at: member.last_read_at ?? null,
      unread_count: member.unread_count ?? 0,
      unread_more: member.unread_more ?? false,
    };
  }

  /**
   * The `read` event (README, "Live delivery"): after the write, so a client that reloads sees what
   * the event said. Best effort: the read itself succeeded, and a lost event is a count shown until
   * the next list.
   */
  private async publishRead(
    conversationId: string,
    user: User,
    member: { user_uuid: string; last_read_at?: string; unread_count?: number; unread_more?: boolean },
  ) {
    if (member.last_read_at === undefined) return;
    const reader = {
      user_uuid: user.uuid,
      last_read_at: member.last_read_at,
      unread_count: member.unread_count ?? 0,
      unread_more: member.unread_more ?? false,
    };
    try {
      await this.bus.publish(readEvents(conversationId, reader, member.user_uuid));
    } catch (error) {
      this.logger.warn(`read event not published: ${(error as Error).message}`);
    }
  }

  /** Pattern A: one page of a conversation the caller is a member of; the newest page first, each page oldest first. */
  async listMessages(user: User, conversationId: string, query: PageQueryDto): Promise<PageOf<MessageView>> {
    await this.membership(user, conversationId);
    const scope = `messages:${conversationId}`;
    const page = await this.repository.listMessages(conversationId, this.pageRequest(scope, query));
    return {
      items: page.items.map(toMessageView).reverse(),
      nextCursor: page.next && this.cursors.encode(scope, page.next),
    };
  }

  /** Patterns C and D, once per `Idempotency-Key` when one is given (the key's plan fixes the message's uuid and time). */
  async send(user: User, message: CreateMessageDto, idempotencyKey?: string): Promise<CreatedMessageView> {
    const dto = this.newMessage(user, message);
    const work = (plan?: WritePlan) =>
      dto.message_group_uuid
        ? this.reply(user, dto.message_group_uuid, dto.message, plan)
        : this.messageUser(user, dto.handle!, dto.message, plan);
    return idempotencyKey ? this.idempotency.once(user.uuid, idempotencyKey, dto, work) : work();
  }

  /** Pattern D: a message in an existing conversation; the projector moves both lists forward. */
  private async reply(user: User, conversationId: string, text: string, plan?: WritePlan): Promise<CreatedMessageView> {
    await this.membership(user, conversationId);
    for (const earlier of plan?.earlier ?? []) {
      // An earlier attempt with this key ended without an answer: it may have written its message.
      const written = await this.repository.findMessage(conversationId, earlier);
      if (written) return toCreatedView(written);
    }
    assertWithinLease(plan);
    const item = await this.repository.putMessage({
      message_group_uuid: conversationId,
      message: text,
      sender: userRef(user),
      created_at: plan?.created_at,
      message_uuid: plan?.message_uuid,
    });
    return toCreatedView(item);
  }

  /**
   * Pattern C: a message to a user by handle. Reuses their conversation with the caller when there
   * is one; a new conversation gets a deterministic id, so two first messages sent at once land in
   * the same conversation.
   */
  private async messageUser(user: User, handle: string, text: string, plan?: WritePlan): Promise<CreatedMessageView> {
    const other = await this.users.findShortByHandle(handle);
    if (!other) throw new NotFoundException(`No user with handle @${handle}`);
    if (other.uuid === user.uuid) throw unprocessable('message', ['cannot_message_self']);
    const message_group_uuid = newConversationId(user.uuid, other.uuid);
    const existing = await this.findConversation(user.uuid, other.uuid, message_group_uuid);
    if (existing === message_group_uuid && !this.memberships.has(`${other.uuid}:${message_group_uuid}`)) {
      // A first message that failed half-way may have written one member item of the pair: complete it.
      await this.putMembers(message_group_uuid, user, other);
    }
    if (existing) return this.reply(user, existing, text, plan);

    await this.rateLimits.consume(RATE_LIMIT_POLICIES.newConversations, `user:${user.uuid}`);
    assertWithinLease(plan);
    // The members first: from then on both are members (on every task: a strongly consistent read
    // finds them), and a first message from the other side at the same moment finds the same
    // conversation. Without a message yet, the conversation is in nobody's list.
    await this.putMembers(message_group_uuid, user, other);
    assertWithinLease(plan);
    const item = await this.repository.putMessage({
      message_group_uuid,
      message: text,
      sender: userRef(user),
      created_at: plan?.created_at,
      message_uuid: plan?.message_uuid,
    });
    // Both lists show the new conversation at once; the stream projects the message again (a no-op),
    // or, should this fail, in its place.
    await this.projector.project(item).catch((error: unknown) => {
      this.logger.warn(
        `conversation ${message_group_uuid}: lists not updated yet (the stream will): ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    return toCreatedView(item);
  }

  /** Both member items of a pair's conversation; each one that exists already stays as it is (conditional puts). */
  private async putMembers(message_group_uuid: string, user: User, other: UserRef): Promise<void> {
    await Promise.all([
      this.repository.putMember({ message_group_uuid, owner_user_uuid: user.uuid, ...otherFields(other) }),
      this.repository.putMember({ message_group_uuid, owner_user_uuid: other.uuid, ...otherFields(userRef(user)) }),
    ]);
    for (const owner of [user.uuid, other.uuid]) this.memberships.set(`${owner}:${message_group_uuid}`, true);
  }

  /**
   * The owner's conversation with the other user, if any: the one with the deterministic id when the
   * owner is a member (remembered, or its member item), else one the original tools started (random
   * ids), found in the owner's own list. Both reads are strongly consistent. A found one counts as a
   * confirmed membership.
   */
  private async findConversation(ownerUuid: string, otherUuid: string, deterministic: string): Promise<string | undefined> {
    if (this.memberships.has(`${ownerUuid}:${deterministic}`)) return deterministic;
    const found = (await this.repository.getMember(deterministic, ownerUuid))
      ? deterministic
      : (await this.repository.findConversationWith(ownerUuid, otherUuid))?.message_group_uuid;
    if (found) this.memberships.set(`${ownerUuid}:${found}`, true);
    return found;
  }

  /**
   * Resolves when the caller is a member of the conversation (its member item, a strongly
   * consistent read); 404 when not, or when it does not exist. A conversation of the original tools
   * has no member items until first used: its list items on the index tell, and they are built.
   */
  private async membership(user: User, conversationId: string): Promise<void> {
    const key = `${user.uuid}:${conversationId}`;
    if (this.memberships.has(key)) return;
    if (!(await this.repository.getMember(conversationId, user.uuid))) {
      const listItems = await this.repository.listListItemsOnIndex(conversationId);
      if (!listItems.some((g) => g.owner_user_uuid === user.uuid)) throw new NotFoundException('Conversation not found');
      await buildMembersFromListItems(this.repository, conversationId, listItems);
    }
    this.memberships.set(key, true);
  }

  /** The fields of a valid message, as the idempotency hash sees them; `cannot_message_self` needs the caller. */
  private newMessage(user: User, dto: CreateMessageDto): CreateMessageDto {
    const handle = dto.handle || undefined; // null and '' are absent, as the validation rules take them
    if (handle !== undefined && handle.toLowerCase() === user.handle.toLowerCase()) throw unprocessable('message', ['cannot_message_self']);
    return { message: dto.message, handle, message_group_uuid: dto.message_group_uuid || undefined };
  }

  private pageRequest(scope: string, query: PageQueryDto) {
    return { limit: query.limit ?? DEFAULT_PAGE_SIZE, before: query.cursor ? this.cursors.decode(scope, query.cursor) : undefined };
  }
}

/**
 * A keyed attempt starts a write only while its write surely ends within the lease: after the
 * lease, a retry may take the key over with a plan of its own, and two plans would be two messages.
 */
function assertWithinLease(plan?: WritePlan): void {
  if (plan && performance.now() > plan.deadline)
    throw new ServiceUnavailableException('An attempt with this Idempotency-Key ran out of time; retry with the same key in a minute');
}

/** The id a new conversation between two users gets: the same whoever writes first. */
function newConversationId(a: string, b: string): string {
  return uuidv5([a, b].sort().join(':'), CONVERSATION_NAMESPACE);
}

/** A member item's fields describing the other member. */
function otherFields(other: UserRef) {
  return { user_uuid: other.uuid, user_display_name: other.display_name, user_handle: other.handle };
}

function userRef(user: Pick<User, 'uuid' | 'display_name' | 'handle'>): UserRef {
  return { uuid: user.uuid, display_name: user.display_name, handle: user.handle };
}

function toMessageView(m: MessageItem): MessageView {
  return { uuid: m.message_uuid, display_name: m.user_display_name, handle: m.user_handle, message: m.message, created_at: m.created_at };
}

function toCreatedView(m: MessageItem): CreatedMessageView {
  return { message_group_uuid: m.message_group_uuid, ...toMessageView(m) };
}
