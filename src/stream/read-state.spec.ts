import { describe, expect, it } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { randomUUID } from 'node:crypto';
import { dynamoClient, testUser, useTestTable } from '../../test/support/dynamodb.js';
import { Lockstep } from '../../test/support/lockstep.js';
import { eventOf, insertOf } from '../../test/support/stream-fixtures.js';
import { MessagesRepository, type UserRef } from '../dynamodb/messages.repository.js';
import { formatTimestamp, parseTimestamp } from '../dynamodb/timestamp.js';
import { ConversationListProjector } from './conversation-list.projector.js';
import { createStreamHandler } from './stream.handler.js';

/*
 * The read-state rules (issue 14) under the stream's delivery: counts come from the data (the other
 * member's messages after the marker), so replays, reversed order and coalescing never double-count;
 * what a member writes, they have read.
 */
const db = useTestTable();
const quiet = new Logger({ logLevel: 'SILENT' });
const handler = () => createStreamHandler({ repository: db.repository, logger: quiet });

interface Conversation {
  group: string;
  alice: UserRef;
  bob: UserRef;
  at: (second: number) => string;
}

/** A new conversation (its two member items, as pattern C writes them) and a clock for its messages. */
async function conversation(): Promise<Conversation> {
  const group = randomUUID();
  const [alice, bob] = [testUser('alice'), testUser('bob')];
  for (const [owner, other] of [
    [alice, bob],
    [bob, alice],
  ]) {
    await db.repository.putMember({
      message_group_uuid: group,
      owner_user_uuid: owner.uuid,
      user_uuid: other.uuid,
      user_display_name: other.display_name,
      user_handle: other.handle,
    });
  }
  const base = parseTimestamp('2024-08-01T00:00:00.000000+00:00')!;
  return { group, alice, bob, at: (second) => formatTimestamp(base + second * 1_000_000) };
}

/** Stores a message (the count reads the table) and returns its stream record. */
async function write(c: Conversation, second: number, sender: UserRef) {
  const item = await db.repository.putMessage({ message_group_uuid: c.group, message: `m${second}`, sender, created_at: c.at(second) });
  return insertOf({ group: c.group, sk: item.created_at, text: item.message, sender });
}

async function readState(c: Conversation, user: UserRef) {
  const member = await db.repository.getMember(c.group, user.uuid);
  const { items } = await db.repository.listConversations(user.uuid, { limit: 100 });
  const item = items.find((i) => i.message_group_uuid === c.group);
  return {
    member: { last_read_at: member?.last_read_at, unread_count: member?.unread_count, other_last_read_at: member?.other_last_read_at },
    list: { unread_count: item?.unread_count ?? 0, other_last_read_at: item?.other_last_read_at },
  };
}

describe('unread counts kept by the projector', () => {
  it("counts the other member's messages only, and a replayed batch changes nothing", async () => {
    const c = await conversation();
    const batch = eventOf(await write(c, 1, c.alice), await write(c, 2, c.alice), await write(c, 3, c.alice));

    await handler()(batch);
    const once = await readState(c, c.bob);
    await handler()(batch);
    await handler()(batch);

    expect(once).toEqual({
      member: { last_read_at: undefined, unread_count: 3, other_last_read_at: c.at(3) },
      list: { unread_count: 3, other_last_read_at: c.at(3) },
    });
    expect(await readState(c, c.bob)).toEqual(once);
    expect((await readState(c, c.alice)).list.unread_count).toBe(0);
  });

  it('counts exactly when records arrive newest first, one batch each', async () => {
    const c = await conversation();
    const records = [await write(c, 1, c.alice), await write(c, 2, c.alice), await write(c, 3, c.alice)];

    for (const record of [...records].reverse()) await handler()(eventOf(record));

    expect((await readState(c, c.bob)).list.unread_count).toBe(3);
  });

  it("takes a member's own message, coalesced under a newer one of the other member, as read up to it", async () => {
    const c = await conversation();
    await handler()(eventOf(await write(c, 1, c.alice), await write(c, 2, c.alice)));

    // Bob answers, alice writes again: one batch, projected as alice's newest message.
    await handler()(eventOf(await write(c, 3, c.bob), await write(c, 4, c.alice)));

    expect(await readState(c, c.bob)).toMatchObject({ member: { last_read_at: c.at(3), unread_count: 1 }, list: { unread_count: 1 } });
    expect(await readState(c, c.alice)).toMatchObject({
      member: { unread_count: 0, other_last_read_at: c.at(3) },
      list: { other_last_read_at: c.at(3) },
    });
  });

  it('counts a late message of the other member that lands behind the newest one', async () => {
    const c = await conversation();
    await handler()(eventOf(await write(c, 1, c.alice), await write(c, 5, c.alice)));
    expect((await readState(c, c.bob)).list.unread_count).toBe(2);

    // Written by another task with an earlier timestamp, delivered after.
    await handler()(eventOf(await write(c, 3, c.alice)));

    expect((await readState(c, c.bob)).list.unread_count).toBe(3);
  });

  it('never loses a read marker to a racing projection, nor brings an old count back', async () => {
    const c = await conversation();
    await handler()(eventOf(await write(c, 1, c.alice)));
    const late = await write(c, 2, c.alice);
    // The three run in lockstep: each reads the member item before any of them writes it.
    const client = dynamoClient(db.endpoint);
    const lockstep = new Lockstep().attach(client);
    const repository = MessagesRepository.create(client, db.table);
    const projector = new ConversationListProjector(repository);
    const lanes: (() => Promise<unknown>)[] = [
      () => projector.markRead(c.group, c.bob.uuid, c.at(1)),
      () => createStreamHandler({ repository, logger: quiet })(eventOf(late)),
      () => projector.markRead(c.group, c.bob.uuid, c.at(2)),
    ];

    try {
      await lockstep.run(lanes.length, (lane) => lanes[lane]());
    } finally {
      client.destroy();
    }

    expect(lockstep.rounds).toBeGreaterThan(1);
    expect(await readState(c, c.bob)).toMatchObject({ member: { last_read_at: c.at(2), unread_count: 0 }, list: { unread_count: 0 } });
    expect((await readState(c, c.alice)).list.other_last_read_at).toBe(c.at(2));
  });
});
