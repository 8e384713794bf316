import type {
  ConversationListItem,
  MemberItem,
  MemberReadState,
  MessageItem,
  MessagesRepository,
  ReadState,
  UserRef,
} from '../dynamodb/messages.repository.js';
import { compareTimestamps } from '../dynamodb/timestamp.js';

/** The part of a message the projector needs. */
export type ProjectedMessage = Pick<MessageItem, 'message_group_uuid' | 'created_at' | 'message'> &
  Partial<Pick<MessageItem, 'message_uuid' | 'user_uuid' | 'user_display_name' | 'user_handle'>> & {
    /**
     * Each writer's newest message of the conversation in the batch this one was coalesced from
     * (user uuid → sk): what a member writes, they have read. Without it, the message's own sender.
     */
    authored?: Record<string, string>;
  };

export interface MemberProjection {
  owner_user_uuid: string;
  /** True when this projection moved the member's list item to the message. */
  moved: boolean;
  /** The member's list item after the projection (the newest message projected). */
  last_reply_at: string;
  /** Older or duplicate list items of this member that were deleted. */
  removed: number;
  /** The member item as the projection left it (what the member's list item shows). */
  member: MemberItem;
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
  | 'updateMemberReadState'
  | 'putListItem'
  | 'deleteListItem'
  | 'updateListItemReadState'
  | 'listListItemsOnIndex'
  | 'countUnread'
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
    let moved = false;
    for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
      if (conflicts > 0) member = await this.reread(member);
      const marker = latest(member.last_read_at, authoredBy(message, member.owner_user_uuid));
      const otherMarker = latest(member.other_last_read_at, authoredBy(message, member.user_uuid));
      const newer = member.last_reply_at === undefined || compareTimestamps(message.created_at, member.last_reply_at) > 0;
      if (!newer) {
        // A late message of the other member after the marker, or a marker that moved: the counts are read again.
        const lateUnread = !moved && message.user_uuid === member.user_uuid && isAfter(message.created_at, member.last_read_at);
        if (lateUnread || marker !== member.last_read_at || otherMarker !== member.other_last_read_at) {
          const read = await this.readState(
            member,
            member.last_reply_at!,
            marker,
            otherMarker,
            lateUnread || marker !== member.last_read_at,
          );
          // Only a change is written: a no-op write would still move the version under a racing writer.
          if (!sameMemberReadState(member, read)) {
            const updated = await this.repository.updateMemberReadState(member, read);
            if (!updated) continue;
            member = updated;
            if (!member.pending && member.group_sk !== undefined) {
              await this.repository.updateListItemReadState(
                member.owner_user_uuid,
                member.group_sk,
                member.message_group_uuid,
                listReadState(member),
              );
            }
          }
        }
        const removed = member.pending ? await this.complete(member) : await this.deleteStale(member);
        if (removed === undefined) continue;
        return { owner_user_uuid: member.owner_user_uuid, moved, last_reply_at: member.last_reply_at!, removed, member };
      }
      const target = { last_reply_at: message.created_at, message: message.message, other: senderIfOther(member, message) };
      const read = await this.readState(member, message.created_at, marker, otherMarker, true);
      const advanced = await this.repository.advanceMember(member, target, read);
      if (!advanced) continue;
      moved = true;
      const removed = await this.complete(advanced);
      // Another writer changed the member item meanwhile (a read, another projection): read it
      // again and finish from there, so the list item never keeps a stale read state.
      if (removed === undefined) continue;
      return { owner_user_uuid: member.owner_user_uuid, moved, last_reply_at: message.created_at, removed, member: advanced };
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
    const readState = listReadState(member);
    const written = await this.repository.putListItem({
      owner_user_uuid: member.owner_user_uuid,
      message_group_uuid: member.message_group_uuid,
      last_reply_at: member.last_reply_at!,
      message: member.message ?? '',
      other: otherOf(member),
      readState,
    });
    if (!sameReadState(written, readState) || (written.read_version ?? 0) < (readState.read_version ?? 0)) {
      // An earlier attempt wrote this item with the read state of its time (or the same state at an
      // older version, which a delayed writer of a state in between could still overwrite).
      await this.repository.updateListItemReadState(member.owner_user_uuid, written.last_reply_at, member.message_group_uuid, readState);
    }
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

  /**
   * Moves `reader`'s read marker forward to `marker` (never back: an older marker changes nothing),
   * recounts their unread messages from the data, and shows the marker to the other member ("seen").
   * Each member item changes conditionally on its version, then the list item follows it; a
   * projection racing this one reads the new marker and writes its list item from it.
   * Returns the reader's member item as it is now.
   */
  async markRead(message_group_uuid: string, reader: string, marker: string): Promise<MemberItem> {
    let member = await this.getMemberOrFail(message_group_uuid, reader);
    for (let conflicts = 0; ; conflicts++) {
      if (conflicts > MAX_CONFLICTS)
        throw new Error(`conversation ${message_group_uuid}: member ${reader} changed ${MAX_CONFLICTS} times under a read`);
      if (conflicts > 0) member = await this.reread(member);
      if (member.last_read_at !== undefined && compareTimestamps(member.last_read_at, marker) >= 0) break;
      const read = await this.readState(member, member.last_reply_at ?? marker, marker, member.other_last_read_at, true);
      const updated = await this.repository.updateMemberReadState(member, read);
      if (!updated) continue;
      member = updated;
      await this.showOnListItem(member);
      break;
    }
    await this.showSeen(message_group_uuid, member.user_uuid, member.last_read_at!);
    return member;
  }

  /** The other member's `other_last_read_at` moves forward to `marker`, on their member item and list item. */
  private async showSeen(message_group_uuid: string, owner: string, marker: string): Promise<void> {
    let other = await this.getMemberOrFail(message_group_uuid, owner);
    for (let conflicts = 0; conflicts <= MAX_CONFLICTS; conflicts++) {
      if (conflicts > 0) other = await this.reread(other);
      if (other.other_last_read_at !== undefined && compareTimestamps(other.other_last_read_at, marker) >= 0) return;
      const updated = await this.repository.updateMemberReadState(other, { other_last_read_at: marker });
      if (!updated) continue;
      await this.showOnListItem(updated);
      return;
    }
    throw new Error(`conversation ${message_group_uuid}: member ${owner} changed ${MAX_CONFLICTS} times under a read`);
  }

  /**
   * The member's list item takes its read state; a member still `pending` (its projection stopped
   * half-way, say the stream gave up on the record) is completed here, which writes it.
   */
  private async showOnListItem(member: MemberItem): Promise<void> {
    if (member.pending) await this.complete(member);
    else if (member.group_sk !== undefined) {
      await this.repository.updateListItemReadState(
        member.owner_user_uuid,
        member.group_sk,
        member.message_group_uuid,
        listReadState(member),
      );
    }
  }

  private async getMemberOrFail(message_group_uuid: string, owner: string): Promise<MemberItem> {
    const member = await this.repository.getMember(message_group_uuid, owner);
    if (!member) throw new MembersNotFoundError(message_group_uuid, 1);
    return member;
  }

  /**
   * The member's read state with its target at `target`: the markers given, and the unread count
   * counted from the data (the other member's messages after the marker, up to the target), so that
   * replays, late and coalesced deliveries never double-count. `recount: false` keeps the count.
   */
  private async readState(
    member: MemberItem,
    target: string,
    marker: string | undefined,
    otherMarker: string | undefined,
    recount: boolean,
  ) {
    const { count, more } =
      marker !== undefined && compareTimestamps(marker, target) >= 0
        ? { count: 0, more: false }
        : recount
          ? await this.repository.countUnread(member.message_group_uuid, member.owner_user_uuid, marker, target)
          : { count: member.unread_count ?? 0, more: member.unread_more ?? false };
    return { last_read_at: marker, other_last_read_at: otherMarker, unread_count: count, unread_more: more };
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

/** What a list item shows of its member's read state. */
export function listReadState(member: MemberItem): ReadState {
  // Nothing unread is no attribute at all: list items keep the original tools' layout until then.
  return {
    unread_count: member.unread_count || undefined,
    unread_more: member.unread_more || undefined,
    other_last_read_at: member.other_last_read_at,
    read_version: member.version,
  };
}

function sameMemberReadState(member: MemberItem, read: MemberReadState): boolean {
  return member.last_read_at === read.last_read_at && sameReadState(member, read);
}

function sameReadState(item: ReadState, state: ReadState): boolean {
  return (
    (item.unread_count ?? 0) === (state.unread_count ?? 0) &&
    (item.unread_more ?? false) === (state.unread_more ?? false) &&
    item.other_last_read_at === state.other_last_read_at
  );
}

/** The newest message a user wrote in the message's batch (or the message itself, when they sent it). */
function authoredBy(message: ProjectedMessage, user_uuid: string): string | undefined {
  return message.authored?.[user_uuid] ?? (message.user_uuid === user_uuid ? message.created_at : undefined);
}

/** The later of two timestamps (by instant); undefined counts as none. */
export function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareTimestamps(b, a) > 0 ? b : a;
}

function isAfter(sk: string, marker: string | undefined): boolean {
  return marker === undefined || compareTimestamps(sk, marker) > 0;
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
