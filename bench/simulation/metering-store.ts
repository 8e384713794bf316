import { MEMBER_PREFIX, MESSAGE_PREFIX, GROUP_PREFIX } from '../../src/dynamodb/message.entities.js';
import {
  UNREAD_CAP,
  type ConversationListItem,
  type MemberItem,
  type MemberReadState,
  type MemberTarget,
  type NewListItem,
  type ReadState,
} from '../../src/dynamodb/messages.repository.js';
import type { ProjectorStore } from '../../src/stream/conversation-list.projector.js';
import { nextMicrosecond } from '../../src/dynamodb/timestamp.js';

/*
 * A stand-in for the messages table that the real projector writes to in the capacity simulation:
 * the same behaviour as MessagesRepository (conditional writes, the microsecond bump, version
 * checks), kept in memory, and every call metered in the units DynamoDB bills for it, on the
 * partition it lands on, per second of simulated time.
 */

/** A partition of the table (`MSG#…`, `GRP#…`) or of the index (`index:{message_group_uuid}`). */
export type PartitionKind = 'MSG#' | 'GRP#' | 'index';

export interface PartitionLoad {
  key: string;
  kind: PartitionKind;
  /** The highest units in any one second of simulated time. */
  peak_wcu_s: number;
  peak_rcu_s: number;
  total_wcu: number;
  total_rcu: number;
}

interface Meter {
  kind: PartitionKind;
  second: number;
  wcu: number;
  rcu: number;
  peakW: number;
  peakR: number;
  totalW: number;
  totalR: number;
}

/** Who spent the units: the API (message puts, new members) or the projector. */
export type Payer = 'api' | 'projector';

export interface UnitTotals {
  table_wcu: number;
  index_wcu: number;
  rcu: number;
  requests: number;
}

/** The error the store throws for an injected throttle (as the SDK names it). */
export class ThrottledError extends Error {
  constructor() {
    super('injected throttle');
    this.name = 'ProvisionedThroughputExceededException';
  }
}

const KB = 1024;
const INDEX_ITEM_OVERHEAD = 100;

/**
 * Size of an item as DynamoDB counts it: attribute names plus values (strings in UTF-8, numbers
 * about one byte per two significant digits plus one, booleans one byte, sets the sum of members).
 */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name);
    if (typeof value === 'string') size += Buffer.byteLength(value);
    else if (typeof value === 'number') size += 1 + Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2);
    else if (typeof value === 'boolean') size += 1;
    else if (Array.isArray(value)) size += value.reduce((sum: number, v: string) => sum + Buffer.byteLength(v), 0);
  }
  return size;
}

export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
/** Read units of `bytes` read in one request: 1 per 4 KB strongly consistent, half that eventually. */
export const readUnits = (bytes: number, consistent: boolean) => Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);

interface StoredMessage {
  sk: string;
  user_uuid: string;
  size: number;
}

export interface SimMessage {
  message_group_uuid: string;
  created_at: string;
  message_uuid: string;
  message: string;
  user_uuid: string;
  user_display_name: string;
  user_handle: string;
}

export class MeteringStore implements ProjectorStore {
  /** The simulated time of the calls being made, in seconds (the event-source emulation sets it). */
  now = 0;
  /** Who the calls being made are billed to. */
  payer: Payer = 'projector';
  /** Fraction of calls that fail with a throttle before doing anything (retries are exercised). */
  throttleRate = 0;
  throttled = 0;

  private readonly partitions = new Map<string, Meter>();
  readonly totals: Record<Payer, UnitTotals> = {
    api: { table_wcu: 0, index_wcu: 0, rcu: 0, requests: 0 },
    projector: { table_wcu: 0, index_wcu: 0, rcu: 0, requests: 0 },
  };
  private readonly messages = new Map<string, StoredMessage[]>();
  private readonly members = new Map<string, MemberItem>();
  private readonly membersOf = new Map<string, string[]>();
  private readonly listItems = new Map<string, ConversationListItem>();
  private readonly listItemsOf = new Map<string, Set<string>>();

  constructor(private readonly random: () => number = Math.random) {}

  // ---- metering -------------------------------------------------------------------------------

  private charge(kind: PartitionKind, key: string, units: { w?: number; r?: number }): void {
    const second = Math.floor(this.now);
    let meter = this.partitions.get(key);
    if (!meter) {
      meter = { kind, second, wcu: 0, rcu: 0, peakW: 0, peakR: 0, totalW: 0, totalR: 0 };
      this.partitions.set(key, meter);
    }
    if (second > meter.second) {
      meter.second = second;
      meter.wcu = 0;
      meter.rcu = 0;
    }
    const w = units.w ?? 0;
    const r = units.r ?? 0;
    meter.wcu += w;
    meter.rcu += r;
    meter.totalW += w;
    meter.totalR += r;
    meter.peakW = Math.max(meter.peakW, meter.wcu);
    meter.peakR = Math.max(meter.peakR, meter.rcu);
    const totals = this.totals[this.payer];
    if (kind === 'index') totals.index_wcu += w;
    else totals.table_wcu += w;
    totals.rcu += r;
  }

  private request(): void {
    if (this.throttleRate > 0 && this.random() < this.throttleRate) {
      this.throttled++;
      throw new ThrottledError();
    }
    this.totals[this.payer].requests++;
  }

  private writeTable(pk: string, bytes: number): void {
    this.charge(pk.startsWith(GROUP_PREFIX) ? 'GRP#' : 'MSG#', pk, { w: writeUnits(bytes) });
  }

  private writeIndex(message_group_uuid: string, bytes: number): void {
    this.charge('index', `index:${message_group_uuid}`, { w: writeUnits(bytes + INDEX_ITEM_OVERHEAD) });
  }

  private readTable(pk: string, bytes: number, consistent: boolean): void {
    this.charge(pk.startsWith(GROUP_PREFIX) ? 'GRP#' : 'MSG#', pk, { r: readUnits(bytes, consistent) });
  }

  /** Every partition's load, hottest writes first. */
  partitionLoads(): PartitionLoad[] {
    return [...this.partitions].map(([key, m]) => ({
      key,
      kind: m.kind,
      peak_wcu_s: m.peakW,
      peak_rcu_s: m.peakR,
      total_wcu: m.totalW,
      total_rcu: m.totalR,
    }));
  }

  /** Forgets the meters (the state stays): a measurement starts from here. */
  resetMeters(): void {
    this.partitions.clear();
    for (const totals of Object.values(this.totals)) Object.assign(totals, { table_wcu: 0, index_wcu: 0, rcu: 0, requests: 0 });
    this.throttled = 0;
  }

  // ---- what the API writes ----------------------------------------------------------------------

  /** The API's put of a message item (pattern C or D), billed to the API; the stream then carries it. */
  putMessage(message: SimMessage): void {
    this.request();
    const size = itemSize({ pk: MESSAGE_PREFIX + message.message_group_uuid, sk: message.created_at, ...messageAttributes(message) });
    this.writeTable(MESSAGE_PREFIX + message.message_group_uuid, size);
    this.storeMessage(message.message_group_uuid, { sk: message.created_at, user_uuid: message.user_uuid, size });
  }

  /** A message already in the table before the simulated window (not metered). */
  storeMessage(message_group_uuid: string, message: StoredMessage): void {
    let list = this.messages.get(message_group_uuid);
    if (!list) this.messages.set(message_group_uuid, (list = []));
    // Canonical timestamps sort by time as strings; messages arrive nearly in order.
    let i = list.length;
    while (i > 0 && list[i - 1].sk > message.sk) i--;
    list.splice(i, 0, message);
  }

  /** A list item already in the table before the simulated window (not metered). */
  storeListItem(item: ConversationListItem): void {
    this.setListItem(item);
  }

  /** A member item already in the table before the simulated window (not metered). */
  storeMember(member: MemberItem): void {
    this.setMember(member);
  }

  hasConversation(message_group_uuid: string): boolean {
    return this.membersOf.has(message_group_uuid);
  }

  /** The member items and list items as they are now (for checks after a run). */
  membersOfConversation(message_group_uuid: string): MemberItem[] {
    return (this.membersOf.get(message_group_uuid) ?? []).map((owner) => ({ ...this.members.get(memberKey(message_group_uuid, owner))! }));
  }

  /** The conversation's list items (both members'), as the index holds them. */
  listItemsOfConversation(message_group_uuid: string): ConversationListItem[] {
    return [...(this.listItemsOf.get(message_group_uuid) ?? [])].map((key) => ({ ...this.listItems.get(key)! }));
  }

  conversationIds(): string[] {
    return [...this.membersOf.keys()];
  }

  newestMessageOf(message_group_uuid: string): StoredMessage | undefined {
    const list = this.messages.get(message_group_uuid);
    return list?.[list.length - 1];
  }

  messagesOf(message_group_uuid: string): readonly StoredMessage[] {
    return this.messages.get(message_group_uuid) ?? [];
  }

  // ---- ProjectorStore ---------------------------------------------------------------------------

  async listMembers(message_group_uuid: string): Promise<MemberItem[]> {
    this.request();
    const members = this.membersOfConversation(message_group_uuid);
    this.readTable(
      MESSAGE_PREFIX + message_group_uuid,
      members.reduce((sum, m) => sum + memberSize(m), 0),
      true,
    );
    return members;
  }

  async getMember(message_group_uuid: string, owner_user_uuid: string): Promise<MemberItem | undefined> {
    this.request();
    const member = this.members.get(memberKey(message_group_uuid, owner_user_uuid));
    this.readTable(MESSAGE_PREFIX + message_group_uuid, member ? memberSize(member) : 0, true);
    return member ? { ...member, stale: member.stale && [...member.stale] } : undefined;
  }

  async putMember(member: Omit<MemberItem, 'version'>): Promise<boolean> {
    this.request();
    const item: MemberItem = { ...member, version: 0 };
    this.writeTable(MESSAGE_PREFIX + member.message_group_uuid, memberSize(item));
    if (this.members.has(memberKey(member.message_group_uuid, member.owner_user_uuid))) return false;
    this.setMember(item);
    return true;
  }

  async advanceMember(member: MemberItem, target: MemberTarget, read: MemberReadState = {}): Promise<MemberItem | undefined> {
    const stale = [member.group_sk, member.pending ? member.last_reply_at : undefined].filter((sk): sk is string => sk !== undefined);
    const other = target.other
      ? { user_uuid: target.other.uuid, user_display_name: target.other.display_name, user_handle: target.other.handle }
      : {};
    return this.updateMember(member, (current) => ({
      ...current,
      last_reply_at: target.last_reply_at,
      message: target.message,
      pending: true,
      version: member.version + 1,
      ...other,
      ...defined(read),
      stale: stale.length ? [...new Set([...(current.stale ?? []), ...stale])] : current.stale,
    }));
  }

  async updateMemberReadState(member: MemberItem, read: MemberReadState): Promise<MemberItem | undefined> {
    return this.updateMember(member, (current) => ({ ...current, ...defined(read), version: member.version + 1 }));
  }

  async completeMember(member: MemberItem, group_sk: string, deleted: string[] = []): Promise<boolean> {
    const updated = await this.updateMember(member, (current) => {
      const stale = (current.stale ?? []).filter((sk) => !deleted.includes(sk));
      const { pending: _pending, ...rest } = current;
      return { ...rest, group_sk, version: member.version + 1, stale: stale.length ? stale : undefined };
    });
    return updated !== undefined;
  }

  async forgetStale(member: MemberItem, sks: string[]): Promise<void> {
    if (sks.length === 0) return;
    this.request();
    const key = memberKey(member.message_group_uuid, member.owner_user_uuid);
    const current = this.members.get(key);
    if (!current) {
      this.writeTable(MESSAGE_PREFIX + member.message_group_uuid, 0);
      throw conditionalCheckFailed();
    }
    const stale = (current.stale ?? []).filter((sk) => !sks.includes(sk));
    const next = { ...current, stale: stale.length ? stale : undefined };
    this.writeTable(MESSAGE_PREFIX + member.message_group_uuid, Math.max(memberSize(current), memberSize(next)));
    this.setMember(next);
  }

  async putListItem(input: NewListItem): Promise<ConversationListItem> {
    const base = {
      owner_user_uuid: input.owner_user_uuid,
      message_group_uuid: input.message_group_uuid,
      message: input.message,
      user_uuid: input.other.uuid,
      user_display_name: input.other.display_name,
      user_handle: input.other.handle,
      ...defined(input.readState ?? {}),
    };
    let sk = input.last_reply_at;
    for (;;) {
      this.request();
      const item: ConversationListItem = { ...base, last_reply_at: sk };
      this.writeTable(GROUP_PREFIX + input.owner_user_uuid, listItemSize(item));
      const existing = this.listItems.get(listItemKey(input.owner_user_uuid, sk));
      if (!existing) {
        this.writeIndex(input.message_group_uuid, listItemSize(item));
        this.setListItem(item);
        return { ...item };
      }
      // The microsecond bump: a strongly consistent read tells whether the key holds this conversation.
      this.request();
      this.readTable(GROUP_PREFIX + input.owner_user_uuid, listItemSize(existing), true);
      if (existing.message_group_uuid === input.message_group_uuid) return { ...existing };
      sk = nextMicrosecond(sk);
    }
  }

  async deleteListItem(owner_user_uuid: string, last_reply_at: string, message_group_uuid: string): Promise<void> {
    this.request();
    const key = listItemKey(owner_user_uuid, last_reply_at);
    const existing = this.listItems.get(key);
    if (!existing || existing.message_group_uuid !== message_group_uuid) {
      this.writeTable(GROUP_PREFIX + owner_user_uuid, existing ? listItemSize(existing) : 0);
      return; // the condition failed: the repository swallows it
    }
    this.writeTable(GROUP_PREFIX + owner_user_uuid, listItemSize(existing));
    this.writeIndex(message_group_uuid, listItemSize(existing));
    this.listItems.delete(key);
    this.listItemsOf.get(message_group_uuid)?.delete(key);
  }

  async updateListItemReadState(
    owner_user_uuid: string,
    last_reply_at: string,
    message_group_uuid: string,
    state: ReadState,
  ): Promise<boolean> {
    this.request();
    const key = listItemKey(owner_user_uuid, last_reply_at);
    const existing = this.listItems.get(key);
    const version = state.read_version;
    const holds =
      existing !== undefined &&
      existing.message_group_uuid === message_group_uuid &&
      (version === undefined || existing.read_version === undefined || existing.read_version < version);
    if (!holds) {
      this.writeTable(GROUP_PREFIX + owner_user_uuid, existing ? listItemSize(existing) : 0);
      return false;
    }
    const next: ConversationListItem = {
      ...existing,
      unread_count: state.unread_count,
      unread_more: state.unread_more,
      other_last_read_at: state.other_last_read_at,
      ...(version === undefined ? {} : { read_version: version }),
    };
    const bytes = Math.max(listItemSize(existing), listItemSize(next));
    this.writeTable(GROUP_PREFIX + owner_user_uuid, bytes);
    this.writeIndex(message_group_uuid, bytes);
    this.setListItem(next);
    return true;
  }

  async listListItemsOnIndex(message_group_uuid: string): Promise<ConversationListItem[]> {
    this.request();
    const items = [...(this.listItemsOf.get(message_group_uuid) ?? [])]
      .map((key) => this.listItems.get(key)!)
      .sort((a, b) => (a.last_reply_at < b.last_reply_at ? 1 : -1));
    this.charge('index', `index:${message_group_uuid}`, {
      r: readUnits(
        items.reduce((sum, item) => sum + listItemSize(item) + INDEX_ITEM_OVERHEAD, 0),
        false,
      ),
    });
    return items.map((item) => ({ ...item }));
  }

  async countUnread(
    message_group_uuid: string,
    reader: string,
    after: string | undefined,
    upTo: string,
  ): Promise<{ count: number; more: boolean }> {
    if (after !== undefined && after >= upTo) return { count: 0, more: false };
    this.request();
    const list = this.messages.get(message_group_uuid) ?? [];
    // The Query's key range, ascending, at most UNREAD_CAP + 2 items (as the repository asks).
    let i = after === undefined ? 0 : lowerBound(list, after);
    const read: StoredMessage[] = [];
    for (; i < list.length && list[i].sk <= upTo && read.length < UNREAD_CAP + 2; i++) read.push(list[i]);
    this.readTable(
      MESSAGE_PREFIX + message_group_uuid,
      read.reduce((sum, m) => sum + m.size, 0),
      true,
    );
    const count = read.filter((m) => m.sk !== after && m.user_uuid !== reader).length;
    return { count: Math.min(count, UNREAD_CAP), more: count > UNREAD_CAP };
  }

  // ---- internals --------------------------------------------------------------------------------

  /** A conditional update of a member item on its version: billed whether or not it applies. */
  private async updateMember(member: MemberItem, change: (current: MemberItem) => MemberItem): Promise<MemberItem | undefined> {
    this.request();
    const current = this.members.get(memberKey(member.message_group_uuid, member.owner_user_uuid));
    if (!current || current.version !== member.version) {
      this.writeTable(MESSAGE_PREFIX + member.message_group_uuid, current ? memberSize(current) : 0);
      return undefined;
    }
    const next = change(current);
    this.writeTable(MESSAGE_PREFIX + member.message_group_uuid, Math.max(memberSize(current), memberSize(next)));
    this.setMember(next);
    return { ...next, stale: next.stale && [...next.stale] };
  }

  private setMember(member: MemberItem): void {
    const key = memberKey(member.message_group_uuid, member.owner_user_uuid);
    if (!this.members.has(key)) {
      const owners = this.membersOf.get(member.message_group_uuid) ?? [];
      owners.push(member.owner_user_uuid);
      this.membersOf.set(member.message_group_uuid, owners);
    }
    this.members.set(key, member);
  }

  private setListItem(item: ConversationListItem): void {
    const key = listItemKey(item.owner_user_uuid, item.last_reply_at);
    this.listItems.set(key, item);
    let keys = this.listItemsOf.get(item.message_group_uuid);
    if (!keys) this.listItemsOf.set(item.message_group_uuid, (keys = new Set()));
    keys.add(key);
  }
}

const memberKey = (group: string, owner: string) => `${group}|${owner}`;
const listItemKey = (owner: string, sk: string) => `${owner}|${sk}`;

function messageAttributes(message: SimMessage) {
  return {
    message_uuid: message.message_uuid,
    message: message.message,
    user_uuid: message.user_uuid,
    user_display_name: message.user_display_name,
    user_handle: message.user_handle,
    __edb_e__: 'message',
    __edb_v__: '1',
  };
}

/** The member item as stored: keys in pk/sk, ElectroDB's identifiers. */
function memberSize(member: MemberItem): number {
  const { message_group_uuid, owner_user_uuid, ...attributes } = member;
  return itemSize({
    pk: MESSAGE_PREFIX + message_group_uuid,
    sk: MEMBER_PREFIX + owner_user_uuid,
    ...attributes,
    __edb_e__: 'member',
    __edb_v__: '1',
  });
}

/** The list item as stored: keys in pk/sk, `message_group_uuid` (the index key), ElectroDB's identifiers. */
function listItemSize(item: ConversationListItem): number {
  const { owner_user_uuid, last_reply_at, ...attributes } = item;
  return itemSize({ pk: GROUP_PREFIX + owner_user_uuid, sk: last_reply_at, ...attributes, __edb_e__: 'message_group', __edb_v__: '1' });
}

function defined<T extends object>(state: T): Partial<T> {
  return Object.fromEntries(Object.entries(state).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function lowerBound(list: StoredMessage[], sk: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].sk < sk) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function conditionalCheckFailed(): Error {
  const error = new Error('The conditional request failed');
  error.name = 'ConditionalCheckFailedException';
  return error;
}
