import type { MemberItem, ConversationListItem, MessageItem, MessagesRepository, UserRef } from '../dynamodb/messages.repository.js';
import { compareTimestamps } from '../dynamodb/timestamp.js';

/** The part of a message the projector needs. */
export type ProjectedMessage = Pick<MessageItem, 'message_group_uuid' | 'created_at' | 'message'> &
  Partial<Pick<MessageItem, 'user_uuid' | 'user_display_name' | 'user_handle'>>;

export interface MemberProjection {
  owner_user_uuid: string;
  /** True when this projection moved the member's list item to the message. */
  moved: boolean;
  /** The member's list item after the projection (the newest message projected). */
  last_reply_at: string;
  /** Older or duplicate list items of this member that were deleted. */
  removed: number;
}

export interface ConversationProjection {
  message_group_uuid: string;
  members: MemberProjection[];
}

/** A conversation has two members; fewer means its member items are not (all) there yet. */
export class MembersNotFoundError extends Error {
  constructor(message_group_uuid: string, found: number) {
    super(
      `conversation ${message_group_uuid}: ${found} member(s) found, 2 expected (member items, or list items for an older conversation)`,
    );
    this.name = 'MembersNotFoundError';
  }
}

/**
 * What the projector needs of the table: the member items and the list items. The Lambda and the
 * API give it the MessagesRepository; the capacity simulation a metering stand-in.
 */
export type ProjectorStore = Pick<
  MessagesRepository,
  | 'listMembers'
  | 'getMember'
  | 'putMember'
  | 'advanceMember'
  | 'completeMember'
  | 'forgetStale'
  | 'putListItem'
  | 'deleteListItem'
  | 'listListItemsOnIndex'
>;

/** How often a member's update is retried after another projection changed the member item first. */
const MAX_CONFLICTS = 100;

/**
 * Moves each member's list item (its `GRP#` list item) of a conversation forward to a
 * message (docs/architecture.md, "The projector").
 *
 * The member items in the conversation's partition are the truth, read with strongly consistent
 * reads (never the eventually consistent index): each holds the newest message projected for the
 * member (its target), where the member's list item is, and which older list items are stale.
 * - The monotonic rule: a member already at or past the message is left as it is, so duplicate and
 *   late (out-of-order) deliveries change nothing and a conversation never moves backwards.
 * - Moving forward is two steps, each conditional on the member item's version: first the target
 *   (the old list item becomes stale), then, once the new list item is written, where it is.
 *   Stale items are deleted last, so a member always has a list item. A projection that stopped
 *   half-way (a crash, a throttled write) leaves the member `pending`, and the next projection of
 *   any message of the conversation finishes it.
 * - Concurrent projections of one conversation (the API's and the stream's, or two retries) are
 *   serialised by the version: the loser reads again and goes on from what the winner wrote.
 * Conversations written by the original tools have no member items: they are built once from the
 * list items on the index. A message whose conversation has fewer than two members fails (the
 * stream retries it) instead of being checkpointed with nothing written.
 */
export class ConversationListProjector {
  constructor(private readonly repository: ProjectorStore) {}

  async project(message: ProjectedMessage): Promise<ConversationProjection> {
    const { message_group_uuid } = message;
    const members = await this.members(message_group_uuid);
    const projections = await Promise.all(members.map((member) => this.projectMember(member, message)));
    return { message_group_uuid, members: projections };
  }

  /**
   * The conversation's member items; for a conversation of the original tools, built first from
   * its list items (the index is read only then, once per conversation).
   */
  private async members(message_group_uuid: string): Promise<MemberItem[]> {
    let members = await this.repository.listMembers(message_group_uuid);
    if (members.length < 2) {
      await buildMembersFromListItems(this.repository, message_group_uuid);
      members = await this.repository.listMembers(message_group_uuid);
    }
    if (members.length < 2) throw new MembersNotFoundError(message_group_uuid, members.length);
    return members;
  }

  private async projectMember(first: MemberItem, message: ProjectedMessage): Promise<MemberProjection> {
    let member = first;
    for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
      if (conflicts > 0) member = await this.reread(member);
      const newer = member.last_reply_at === undefined || compareTimestamps(message.created_at, member.last_reply_at) > 0;
      if (!newer) {
        const removed = member.pending ? await this.complete(member) : await this.deleteStale(member);
        if (removed === undefined) continue;
        return { owner_user_uuid: member.owner_user_uuid, moved: false, last_reply_at: member.last_reply_at!, removed };
      }
      const target = { last_reply_at: message.created_at, message: message.message, other: senderIfOther(member, message) };
      const advanced = await this.repository.advanceMember(member, target);
      if (!advanced) continue;
      const removed = (await this.complete(advanced)) ?? 0;
      return { owner_user_uuid: member.owner_user_uuid, moved: true, last_reply_at: message.created_at, removed };
    }
    throw new Error(
      `conversation ${member.message_group_uuid}: member ${member.owner_user_uuid} changed ${MAX_CONFLICTS} times under the projection`,
    );
  }

  /**
   * Writes the list item of a pending member's target, deletes the stale ones, and records where
   * the item is. Returns how many were deleted, or undefined when the member item changed meanwhile
   * (the caller reads it again and goes on from there). Deletes come after the put, so the member
   * always has a list item, and before the record, so a crash in between leaves the member pending
   * with its stale items named: the next projection deletes them again (a no-op) and records.
   */
  private async complete(member: MemberItem): Promise<number | undefined> {
    const written = await this.repository.putListItem({
      owner_user_uuid: member.owner_user_uuid,
      message_group_uuid: member.message_group_uuid,
      last_reply_at: member.last_reply_at!,
      message: member.message ?? '',
      other: otherOf(member),
    });
    const stale = [...(member.stale ?? [])].filter((sk) => sk !== written.last_reply_at);
    await this.deleteGroupItems(member, stale);
    if (await this.repository.completeMember(member, written.last_reply_at, stale)) return stale.length;
    const now = await this.reread(member);
    // Another projection moved this member past the target meanwhile: the item just written is
    // known to nobody else, so it goes now. (When another one completed the same target, it wrote
    // this very item: the put recognised it, and `group_sk` names it.)
    if (now.last_reply_at !== member.last_reply_at && now.group_sk !== written.last_reply_at) {
      await this.repository.deleteListItem(member.owner_user_uuid, written.last_reply_at, member.message_group_uuid);
    }
    return undefined;
  }

  /** Deletes the member's stale list items (never the current one) and forgets them. */
  private async deleteStale(member: MemberItem): Promise<number> {
    const stale = [...(member.stale ?? [])].filter((sk) => sk !== member.group_sk);
    if (stale.length === 0) return 0;
    await this.deleteGroupItems(member, stale);
    await this.repository.forgetStale(member, stale);
    return stale.length;
  }

  private async deleteGroupItems(member: MemberItem, sks: string[]): Promise<void> {
    await Promise.all(sks.map((sk) => this.repository.deleteListItem(member.owner_user_uuid, sk, member.message_group_uuid)));
  }

  private async reread(member: MemberItem): Promise<MemberItem> {
    const now = await this.repository.getMember(member.message_group_uuid, member.owner_user_uuid);
    if (!now) throw new Error(`conversation ${member.message_group_uuid}: member ${member.owner_user_uuid} disappeared`);
    return now;
  }
}

/**
 * Member items for a conversation the original tools (or an older version) wrote, from its group
 * items on the index: each owner's newest item is the list item, older ones are stale. Conditional
 * puts: a member item that exists already stays as it is.
 */
export async function buildMembersFromListItems(
  repository: ProjectorStore,
  message_group_uuid: string,
  listItems?: ConversationListItem[],
): Promise<void> {
  const byOwner = new Map<string, ConversationListItem[]>();
  for (const item of listItems ?? (await repository.listListItemsOnIndex(message_group_uuid))) {
    byOwner.set(item.owner_user_uuid, [...(byOwner.get(item.owner_user_uuid) ?? []), item]);
  }
  await Promise.all(
    [...byOwner].map(([owner_user_uuid, items]) => {
      const [newest, ...older] = items.sort(
        (a, b) => compareTimestamps(b.last_reply_at, a.last_reply_at) || (a.last_reply_at < b.last_reply_at ? 1 : -1),
      );
      return repository.putMember({
        message_group_uuid,
        owner_user_uuid,
        user_uuid: newest.user_uuid,
        user_display_name: newest.user_display_name,
        user_handle: newest.user_handle,
        last_reply_at: newest.last_reply_at,
        message: newest.message,
        group_sk: newest.last_reply_at,
        ...(older.length ? { stale: older.map((item) => item.last_reply_at) } : {}),
      });
    }),
  );
}

function otherOf(member: MemberItem): UserRef {
  return { uuid: member.user_uuid, display_name: member.user_display_name, handle: member.user_handle };
}

/** The message's sender when it is the member's other member: the freshest record of their name. */
function senderIfOther(member: MemberItem, message: ProjectedMessage): UserRef | undefined {
  if (message.user_uuid !== member.user_uuid) return undefined;
  if (message.user_display_name === undefined || message.user_handle === undefined) return undefined;
  return { uuid: message.user_uuid, display_name: message.user_display_name, handle: message.user_handle };
}
