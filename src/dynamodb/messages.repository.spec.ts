import { describe, expect, it } from '@jest/globals';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { testUser, useTestTable } from '../../test/support/dynamodb.js';
import { parseTimestamp } from './timestamp.js';

const db = useTestTable();

const alice = testUser('alice');
const bob = testUser('bob');

async function rawItem(pk: string, sk: string) {
  const { Item } = await db.client.send(new GetItemCommand({ TableName: db.table, Key: marshall({ pk, sk }) }));
  return Item && unmarshall(Item);
}

describe('MessagesRepository', () => {
  it('writes a message item in the original layout, without message_group_uuid', async () => {
    const group = randomUUID();
    const written = await db.repository.putMessage({
      message_group_uuid: group,
      message: 'hello',
      sender: alice,
      created_at: '2023-03-28T21:02:11.141577+00:00',
    });

    const stored = await rawItem(`MSG#${group}`, '2023-03-28T21:02:11.141577+00:00');
    expect(stored).toEqual({
      pk: `MSG#${group}`,
      sk: '2023-03-28T21:02:11.141577+00:00',
      message_uuid: written.message_uuid,
      message: 'hello',
      user_uuid: alice.uuid,
      user_display_name: 'Alice A',
      user_handle: 'alice',
      __edb_e__: 'message',
      __edb_v__: '1',
    });
  });

  it('writes a list item in the original layout, indexed by message_group_uuid', async () => {
    const group = randomUUID();
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: '2023-03-28T21:02:11.000001+00:00',
      message: 'hi',
      other: bob,
    });

    expect(await rawItem(`GRP#${alice.uuid}`, '2023-03-28T21:02:11.000001+00:00')).toEqual({
      pk: `GRP#${alice.uuid}`,
      sk: '2023-03-28T21:02:11.000001+00:00',
      message_group_uuid: group,
      message: 'hi',
      user_uuid: bob.uuid,
      user_display_name: 'Bob B',
      user_handle: 'bob',
      __edb_e__: 'message_group',
      __edb_v__: '1',
    });
    const members = await db.repository.listListItemsOnIndex(group);
    expect(members.map((m) => m.owner_user_uuid)).toEqual([alice.uuid]);
  });

  it('stamps new messages with the six-digit +00:00 form', async () => {
    const written = await db.repository.putMessage({ message_group_uuid: randomUUID(), message: 'now', sender: alice });

    expect(written.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
  });

  it('reads items written by the original tools: no ElectroDB identifiers, legacy timestamps', async () => {
    const group = randomUUID();
    const legacy = [
      {
        pk: `MSG#${group}`,
        sk: '2023-04-05T18:27:02.123456',
        message_uuid: randomUUID(),
        message: 'no offset',
        user_uuid: bob.uuid,
        user_display_name: 'Bob B',
        user_handle: 'bob',
      },
      {
        pk: `MSG#${group}`,
        sk: '2023-04-05T18:27:03+00:00',
        message_uuid: randomUUID(),
        message: 'no micros',
        user_uuid: bob.uuid,
        user_display_name: 'Bob B',
        user_handle: 'bob',
      },
      {
        pk: `GRP#${bob.uuid}`,
        sk: '2023-04-05T18:27:03+00:00',
        message_group_uuid: group,
        message: 'no micros',
        user_uuid: alice.uuid,
        user_display_name: 'Alice A',
        user_handle: 'alice',
      },
    ];
    for (const item of legacy) await db.client.send(new PutItemCommand({ TableName: db.table, Item: marshall(item) }));

    const messages = await db.repository.listMessages(group, { limit: 10 });
    const groups = await db.repository.listConversations(bob.uuid, { limit: 10 });

    expect(messages.items.map((m) => [m.message, m.created_at, m.message_group_uuid])).toEqual([
      ['no micros', '2023-04-05T18:27:03+00:00', group],
      ['no offset', '2023-04-05T18:27:02.123456', group],
    ]);
    expect(groups.items).toEqual([
      {
        owner_user_uuid: bob.uuid,
        last_reply_at: '2023-04-05T18:27:03+00:00',
        message_group_uuid: group,
        message: 'no micros',
        user_uuid: alice.uuid,
        user_display_name: 'Alice A',
        user_handle: 'alice',
      },
    ]);
  });

  it('never overwrites: 50 concurrent messages at the same timestamp get 50 distinct keys', async () => {
    const group = randomUUID();
    const at = '2024-01-01T00:00:00.000000+00:00';

    const written = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.repository.putMessage({ message_group_uuid: group, message: `m${i}`, sender: alice, created_at: at }),
      ),
    );

    const stored = await db.repository.listAllMessages(group);
    expect(stored).toHaveLength(50);
    expect(new Set(stored.map((m) => m.message))).toEqual(new Set(written.map((m) => m.message)));
    expect(new Set(stored.map((m) => m.created_at)).size).toBe(50);
    expect(stored.map((m) => parseTimestamp(m.created_at)! - parseTimestamp(at)!).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('never overwrites a list item of the same owner at the same microsecond', async () => {
    const owner = randomUUID();
    const at = '2024-02-01T00:00:00.000000+00:00';

    const [first, second] = await Promise.all([
      db.repository.putListItem({ owner_user_uuid: owner, message_group_uuid: randomUUID(), last_reply_at: at, message: 'a', other: bob }),
      db.repository.putListItem({
        owner_user_uuid: owner,
        message_group_uuid: randomUUID(),
        last_reply_at: at,
        message: 'b',
        other: alice,
      }),
    ]);

    const page = await db.repository.listConversations(owner, { limit: 10 });
    expect(page.items).toHaveLength(2);
    expect(new Set([first.last_reply_at, second.last_reply_at])).toEqual(new Set([at, '2024-02-01T00:00:00.000001+00:00']));
  });

  it('writes a list item once when its key already holds the same conversation (a retried put)', async () => {
    const owner = randomUUID();
    const group = randomUUID();
    const at = '2024-02-02T00:00:00.000000+00:00';
    const input = { owner_user_uuid: owner, message_group_uuid: group, last_reply_at: at, message: 'hi', other: bob };
    await db.repository.putListItem(input);

    const again = await db.repository.putListItem({ ...input, message: 'retried' });

    expect(again).toMatchObject({ last_reply_at: at, message: 'hi' });
    expect((await db.repository.listConversations(owner, { limit: 10 })).items).toHaveLength(1);
  });

  it('deletes a list item only when it is of the conversation named', async () => {
    const owner = randomUUID();
    const [group, other] = [randomUUID(), randomUUID()];
    const at = '2024-02-03T00:00:00.000000+00:00';
    await db.repository.putListItem({ owner_user_uuid: owner, message_group_uuid: group, last_reply_at: at, message: 'hi', other: bob });

    await db.repository.deleteListItem(owner, at, other);
    expect((await db.repository.listConversations(owner, { limit: 10 })).items).toHaveLength(1);
    await db.repository.deleteListItem(owner, at, group);
    expect((await db.repository.listConversations(owner, { limit: 10 })).items).toHaveLength(0);
    await expect(db.repository.deleteListItem(owner, at, group)).resolves.toBeUndefined();
  });

  it('lets a list item take only a newer read state, whatever order the writes land in', async () => {
    const owner = randomUUID();
    const group = randomUUID();
    const at = '2024-02-04T00:00:00.000000+00:00';
    await db.repository.putListItem({ owner_user_uuid: owner, message_group_uuid: group, last_reply_at: at, message: 'hi', other: bob });
    const shown = async () => (await db.repository.listConversations(owner, { limit: 10 })).items[0];

    expect(
      await db.repository.updateListItemReadState(owner, at, group, { unread_count: 0, other_last_read_at: at, read_version: 7 }),
    ).toBe(true);
    expect(await db.repository.updateListItemReadState(owner, at, group, { unread_count: 3, read_version: 6 })).toBe(false);
    expect(await db.repository.updateListItemReadState(owner, at, group, { unread_count: 2, read_version: 8 })).toBe(true);

    expect(await shown()).toMatchObject({ unread_count: 2, read_version: 8 });
    expect((await shown()).other_last_read_at).toBeUndefined(); // absent in the newer state: removed
  });

  it('tells whether a conversation has messages', async () => {
    const group = randomUUID();
    await expect(db.repository.hasMessages(group)).resolves.toBe(false);

    await db.repository.putMessage({ message_group_uuid: group, message: 'hi', sender: alice });

    await expect(db.repository.hasMessages(group)).resolves.toBe(true);
  });

  it('pages through a conversation newest first with no gap and no duplicate', async () => {
    const group = randomUUID();
    for (let i = 0; i < 45; i++) {
      await db.repository.putMessage({
        message_group_uuid: group,
        message: `m${i}`,
        sender: alice,
        created_at: `2024-03-01T00:00:${String(i).padStart(2, '0')}.000000+00:00`,
      });
    }

    const seen: string[] = [];
    let before: string | undefined;
    let pages = 0;
    do {
      const page = await db.repository.listMessages(group, { limit: 20, before });
      seen.push(...page.items.map((m) => m.message));
      before = page.next;
      pages++;
    } while (before);

    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `m${44 - i}`));
  });

  it('pages through conversations newest first', async () => {
    const owner = randomUUID();
    for (let i = 0; i < 5; i++) {
      await db.repository.putListItem({
        owner_user_uuid: owner,
        message_group_uuid: randomUUID(),
        last_reply_at: `2024-04-0${i + 1}T00:00:00.000000+00:00`,
        message: `g${i}`,
        other: bob,
      });
    }

    const first = await db.repository.listConversations(owner, { limit: 3 });
    const second = await db.repository.listConversations(owner, { limit: 3, before: first.next });

    expect(first.items.map((g) => g.message)).toEqual(['g4', 'g3', 'g2']);
    expect(second.items.map((g) => g.message)).toEqual(['g1', 'g0']);
    expect(second.next).toBeUndefined();
  });

  it("reads list pages exactly as the entities' queries do: legacy items, unknown attributes, read state, member items left out", async () => {
    const group = randomUUID();
    const owner = randomUUID();
    const stored = [
      {
        pk: `MSG#${group}`,
        sk: '2023-04-05T18:27:02.123456',
        message_uuid: 'm1',
        message: 'legacy',
        user_uuid: 'u',
        user_display_name: 'U',
        user_handle: 'u',
        extra: 1,
      },
      {
        pk: `MSG#${group}`,
        sk: `MEMBER#${owner}`,
        user_uuid: 'u',
        user_display_name: 'U',
        user_handle: 'u',
        version: 2,
        stale: new Set(['x']),
        __edb_e__: 'member',
        __edb_v__: '1',
      },
      {
        pk: `GRP#${owner}`,
        sk: '2023-04-05T18:27:03+00:00',
        message_group_uuid: group,
        message: 'legacy',
        user_uuid: 'u',
        user_display_name: 'U',
        user_handle: 'u',
      },
    ];
    for (const item of stored) await db.client.send(new PutItemCommand({ TableName: db.table, Item: marshall(item) }));
    for (let i = 0; i < 4; i++) {
      await db.repository.putMessage({
        message_group_uuid: group,
        message: `m${i}`,
        sender: alice,
        created_at: `2024-05-01T00:00:0${i}.000000+00:00`,
      });
      await db.repository.putListItem({
        owner_user_uuid: owner,
        message_group_uuid: randomUUID(),
        last_reply_at: `2024-05-01T00:00:0${i}.000000+00:00`,
        message: `g${i}`,
        other: bob,
        readState: { unread_count: i, unread_more: i === 3, other_last_read_at: '2024-05-01T00:00:00.000000+00:00', read_version: i + 1 },
      });
    }
    const options = { order: 'desc', ignoreOwnership: true } as const;
    const { message, listItem } = db.repository.model.entities;

    for (const [limit, before] of [
      [3, undefined],
      [3, '2024-05-01T00:00:01.000000+00:00'],
      [10, undefined],
      [5, undefined],
    ] as const) {
      const messages = await db.repository.listMessages(group, { limit, before });
      const conversations = await db.repository.listConversations(owner, { limit, before });
      const entityMessages = await message.query
        .byConversation({ message_group_uuid: group })
        .lt({ created_at: before ?? 'MEMBER#' })
        .go({ ...options, limit });
      const ownerQuery = listItem.query.byOwner({ owner_user_uuid: owner });
      const entityConversations = await (before ? ownerQuery.lt({ last_reply_at: before }) : ownerQuery).go({ ...options, limit });

      expect(messages.items).toEqual(entityMessages.data);
      expect(messages.next !== undefined).toBe(entityMessages.cursor !== null);
      expect(conversations.items).toEqual(entityConversations.data);
      expect(conversations.next !== undefined).toBe(entityConversations.cursor !== null);
    }
  });

  it('tells listeners about every message it wrote', async () => {
    const seen: string[] = [];
    const off = db.repository.onMessageWritten((item) => seen.push(item.message));

    await db.repository.putMessage({ message_group_uuid: randomUUID(), message: 'observed', sender: alice });
    off();
    await db.repository.putMessage({ message_group_uuid: randomUUID(), message: 'unobserved', sender: alice });

    expect(seen).toEqual(['observed']);
  });
});
