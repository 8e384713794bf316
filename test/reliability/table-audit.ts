import type { MessagesRepository } from '../../src/dynamodb/messages.repository.js';
import { parseTimestamp } from '../../src/dynamodb/timestamp.js';

export interface StoredMessageRow {
  group: string;
  sk: string;
  message_uuid: string;
  message: string;
  user_uuid: string;
}

export interface StoredGroupRow {
  owner: string;
  sk: string;
  group: string;
  message: string;
  /** The other member. */
  user_uuid: string;
}

export interface StoredMemberRow {
  group: string;
  owner: string;
  /** The other member. */
  user_uuid: string;
  last_reply_at?: string;
  message?: string;
  group_sk?: string;
  pending: boolean;
  stale: number;
}

/** Every item of the table, as stored, split by kind. */
export interface TableAudit {
  messages: StoredMessageRow[];
  groups: StoredGroupRow[];
  members: StoredMemberRow[];
  other: number;
}

/** Reads the whole table (all pages) straight from DynamoDB, not through the API under test. */
export async function auditTable(repository: MessagesRepository): Promise<TableAudit> {
  const audit: TableAudit = { messages: [], groups: [], members: [], other: 0 };
  for await (const item of repository.scanAll()) {
    const pk = String(item.pk);
    if (pk.startsWith('MSG#') && String(item.sk).startsWith('MEMBER#')) {
      const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
      audit.members.push({
        group: pk.slice(4),
        owner: String(item.sk).slice('MEMBER#'.length),
        user_uuid: String(item.user_uuid),
        last_reply_at: text(item.last_reply_at),
        message: text(item.message),
        group_sk: text(item.group_sk),
        pending: item.pending === true,
        stale: item.stale instanceof Set ? item.stale.size : Array.isArray(item.stale) ? item.stale.length : 0,
      });
    } else if (pk.startsWith('MSG#')) {
      audit.messages.push({
        group: pk.slice(4),
        sk: String(item.sk),
        message_uuid: String(item.message_uuid),
        message: String(item.message),
        user_uuid: String(item.user_uuid),
      });
    } else if (pk.startsWith('GRP#')) {
      audit.groups.push({
        owner: pk.slice(4),
        sk: String(item.sk),
        group: String(item.message_group_uuid),
        message: String(item.message),
        user_uuid: String(item.user_uuid),
      });
    } else {
      audit.other++;
    }
  }
  return audit;
}

/** How far a member's group item may sit past its message: the microsecond bump of a clash with another conversation. */
const CLASH_TOLERANCE_MICROS = 1000;

/**
 * What is wrong with a settled table (the projector drained), one line per problem; empty when the
 * table holds: no message stored twice; no group item without messages in its conversation (an
 * orphan of a half-written conversation); exactly one group item per member per conversation, two
 * members per conversation, each describing the other member and showing the conversation's newest
 * message (its `sk`, or one moved a few microseconds forward by a clash with another conversation);
 * each member item (where the conversation has them) at that message, not pending, nothing stale,
 * naming the member's group item.
 */
export function settledTableProblems(audit: TableAudit): string[] {
  const problems: string[] = [];
  const byUuid = new Map<string, StoredMessageRow[]>();
  const newest = new Map<string, StoredMessageRow>();
  const senders = new Map<string, Set<string>>();
  for (const m of audit.messages) {
    byUuid.set(m.message_uuid, [...(byUuid.get(m.message_uuid) ?? []), m]);
    const seen = newest.get(m.group);
    if (!seen || m.sk > seen.sk) newest.set(m.group, m);
    senders.set(m.group, (senders.get(m.group) ?? new Set()).add(m.user_uuid));
  }
  for (const [uuid, copies] of byUuid) {
    if (copies.length > 1) problems.push(`message ${uuid} stored ${copies.length} times (sk ${copies.map((c) => c.sk).join(', ')})`);
  }
  const groupsByConversation = new Map<string, StoredGroupRow[]>();
  for (const g of audit.groups) groupsByConversation.set(g.group, [...(groupsByConversation.get(g.group) ?? []), g]);

  for (const [group, items] of groupsByConversation) {
    const last = newest.get(group);
    if (!last) {
      problems.push(`conversation ${group}: ${items.length} group item(s) but no message (orphan)`);
      continue;
    }
    const owners = items.map((g) => g.owner);
    if (new Set(owners).size !== owners.length)
      problems.push(`conversation ${group}: several group items for one member (${owners.join(', ')})`);
    if (new Set(owners).size !== 2) problems.push(`conversation ${group}: ${new Set(owners).size} member(s) instead of 2`);
    for (const g of items) {
      if (g.user_uuid === g.owner) problems.push(`conversation ${group}: ${g.owner}'s group item describes its owner`);
      if (!owners.includes(g.user_uuid))
        problems.push(`conversation ${group}: ${g.owner}'s group item describes a non-member ${g.user_uuid}`);
      const lag = (parseTimestamp(g.sk) ?? Number.NaN) - (parseTimestamp(last.sk) ?? Number.NaN);
      if (g.message !== last.message || !(lag >= 0 && lag < CLASH_TOLERANCE_MICROS)) {
        problems.push(
          `conversation ${group}: ${g.owner}'s group item shows "${g.message}" at ${g.sk}, the newest message is "${last.message}" at ${last.sk}`,
        );
      }
    }
    for (const sender of senders.get(group) ?? []) {
      if (!owners.includes(sender)) problems.push(`conversation ${group}: sender ${sender} has no group item`);
    }
  }
  for (const group of newest.keys()) {
    if (!groupsByConversation.has(group)) problems.push(`conversation ${group}: messages but no group items (unreachable)`);
  }
  for (const m of audit.members) {
    const last = newest.get(m.group);
    if (!last) continue; // members of a conversation whose first message was never written: in nobody's list
    const item = (groupsByConversation.get(m.group) ?? []).find((g) => g.owner === m.owner);
    if (m.pending || m.stale > 0)
      problems.push(`conversation ${m.group}: ${m.owner}'s member item is unsettled (pending ${m.pending}, ${m.stale} stale)`);
    if (m.last_reply_at !== last.sk)
      problems.push(`conversation ${m.group}: ${m.owner}'s member item is at ${m.last_reply_at}, the newest message at ${last.sk}`);
    if (item && m.group_sk !== item.sk)
      problems.push(`conversation ${m.group}: ${m.owner}'s member item names ${m.group_sk}, the group item is at ${item.sk}`);
  }
  return problems;
}
