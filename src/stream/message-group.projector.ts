import type { MessageGroupItem, MessageItem, MessagesRepository } from '../dynamodb/messages.repository.js';
import { compareTimestamps } from '../dynamodb/timestamp.js';

/** The part of a message the projector needs. */
export type ProjectedMessage = Pick<MessageItem, 'message_group_uuid' | 'created_at' | 'message'>;

export interface MemberProjection {
  owner_user_uuid: string;
  /** True when this projection wrote the member's new group item. */
  moved: boolean;
  /** The member's group item after the projection (the newest one seen). */
  last_reply_at: string;
  /** Older or duplicate group items of this member that were deleted. */
  removed: number;
}

export interface ConversationProjection {
  message_group_uuid: string;
  members: MemberProjection[];
}

/**
 * Moves each member's message-group item of a conversation forward to a message (DESIGN §4).
 *
 * The monotonic rule: a member whose newest group item is at or past the message's `sk` is left as
 * it is, so duplicate and late (out-of-order) deliveries change nothing and a conversation never
 * moves backwards. Otherwise the new item is put first and the member's older items are deleted
 * after it, so there is always at least one item, and an item is only ever deleted by a run that
 * has seen a newer one: the newest item ever written survives every concurrent run. Two runs that
 * both put (a transient duplicate) are reconciled by a second query after the writes, which keeps
 * only each member's newest item; the run that queries last sees every put, so concurrent runs
 * converge to one item per member. (On AWS the GSI query is eventually consistent; the stream
 * delivers a conversation's records in order to one invocation at a time, so there the projections
 * of one conversation do not overlap.) No transactions.
 */
export class MessageGroupProjector {
  constructor(private readonly repository: MessagesRepository) {}

  async project(message: ProjectedMessage): Promise<ConversationProjection> {
    const { message_group_uuid } = message;
    const members = byOwnerNewestFirst(await this.repository.listConversationMembers(message_group_uuid));
    const projections = await Promise.all([...members].map(([owner, items]) => this.projectMember(owner, items, message)));
    if (projections.some((p) => p.moved)) await this.keepNewestPerMember(message_group_uuid, projections);
    return { message_group_uuid, members: projections };
  }

  private async projectMember(owner_user_uuid: string, items: MessageGroupItem[], message: ProjectedMessage): Promise<MemberProjection> {
    const [newest, ...older] = items;
    if (compareTimestamps(newest.last_reply_at, message.created_at) >= 0) {
      await this.deleteAll(older);
      return { owner_user_uuid, moved: false, last_reply_at: newest.last_reply_at, removed: older.length };
    }
    const written = await this.repository.putMessageGroup({
      owner_user_uuid,
      message_group_uuid: message.message_group_uuid,
      last_reply_at: message.created_at,
      message: message.message,
      other: { uuid: newest.user_uuid, display_name: newest.user_display_name, handle: newest.user_handle },
    });
    const superseded = items.filter((item) => item.last_reply_at !== written.last_reply_at);
    await this.deleteAll(superseded);
    return { owner_user_uuid, moved: true, last_reply_at: written.last_reply_at, removed: superseded.length };
  }

  /** Repairs the duplicates that concurrent runs may have left: each member keeps its newest item. */
  private async keepNewestPerMember(message_group_uuid: string, projections: MemberProjection[]): Promise<void> {
    const members = byOwnerNewestFirst(await this.repository.listConversationMembers(message_group_uuid));
    for (const [owner, [newest, ...older]] of members) {
      await this.deleteAll(older);
      const projection = projections.find((p) => p.owner_user_uuid === owner);
      if (projection) {
        projection.last_reply_at = newest.last_reply_at;
        projection.removed += older.length;
      }
    }
  }

  private async deleteAll(items: MessageGroupItem[]): Promise<void> {
    await Promise.all(items.map((item) => this.repository.deleteMessageGroup(item.owner_user_uuid, item.last_reply_at, item.message_group_uuid)));
  }
}

/** Group items by owner, each owner's newest first (by time: stored timestamps come in legacy forms too). */
function byOwnerNewestFirst(items: MessageGroupItem[]): Map<string, MessageGroupItem[]> {
  const owners = new Map<string, MessageGroupItem[]>();
  for (const item of items) {
    const list = owners.get(item.owner_user_uuid) ?? [];
    list.push(item);
    owners.set(item.owner_user_uuid, list);
  }
  for (const list of owners.values()) {
    list.sort((a, b) => compareTimestamps(b.last_reply_at, a.last_reply_at) || (a.last_reply_at < b.last_reply_at ? 1 : -1));
  }
  return owners;
}
