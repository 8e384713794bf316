import { beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { testUser, useTestTable } from '../../test/support/dynamodb.js';
import type { UserRef } from '../dynamodb/messages.repository.js';
import { formatTimestamp, parseTimestamp } from '../dynamodb/timestamp.js';
import { dynamoClient } from '../../test/support/dynamodb.js';
import { watchCommands } from '../../test/support/stream-fixtures.js';
import { MessagesRepository } from '../dynamodb/messages.repository.js';
import { MembersNotFoundError, ConversationListProjector } from './conversation-list.projector.js';

const db = useTestTable();

const alice = testUser('alice');
const bob = testUser('bob');

let projector: ConversationListProjector;

beforeAll(async () => {
  projector = new ConversationListProjector(db.repository);
});

/** Both members' list items, as pattern C writes them. */
async function startConversation(at: string, text = 'first'): Promise<string> {
  const group = randomUUID();
  await db.repository.putListItem({ owner_user_uuid: alice.uuid, message_group_uuid: group, last_reply_at: at, message: text, other: bob });
  await db.repository.putListItem({ owner_user_uuid: bob.uuid, message_group_uuid: group, last_reply_at: at, message: text, other: alice });
  return group;
}

async function putRaw(item: Record<string, unknown>): Promise<void> {
  await db.client.send(new PutItemCommand({ TableName: db.table, Item: marshall(item) }));
}

/** owner handle → that owner's list items of the conversation [sk, message, other's handle]. */
async function listItems(group: string): Promise<Record<string, [string, string, string][]>> {
  const names = { [alice.uuid]: 'alice', [bob.uuid]: 'bob' };
  const result: Record<string, [string, string, string][]> = {};
  for (const item of await db.repository.listListItemsOnIndex(group)) {
    (result[names[item.owner_user_uuid] ?? item.owner_user_uuid] ??= []).push([item.last_reply_at, item.message, item.user_handle]);
  }
  return result;
}

describe('ConversationListProjector', () => {
  it('moves both members forward to a newer message, keeping the other member on each item', async () => {
    const group = await startConversation('2024-01-01T10:00:00.000000+00:00');

    const result = await projector.project({ message_group_uuid: group, created_at: '2024-01-01T10:05:00.123456+00:00', message: 'reply' });

    expect(await listItems(group)).toEqual({
      alice: [['2024-01-01T10:05:00.123456+00:00', 'reply', 'bob']],
      bob: [['2024-01-01T10:05:00.123456+00:00', 'reply', 'alice']],
    });
    expect(result.members.every((m) => m.moved && m.removed === 1)).toBe(true);
  });

  it("writes the list item in the original layout (plus the read state's version) with the other member’s display name", async () => {
    const group = await startConversation('2024-01-02T10:00:00.000000+00:00');

    await projector.project({ message_group_uuid: group, created_at: '2024-01-02T11:00:00.000000+00:00', message: 'later' });

    const [item] = (await db.repository.listListItemsOnIndex(group)).filter((m) => m.owner_user_uuid === alice.uuid);
    expect(item).toEqual({
      owner_user_uuid: alice.uuid,
      last_reply_at: '2024-01-02T11:00:00.000000+00:00',
      message_group_uuid: group,
      message: 'later',
      user_uuid: bob.uuid,
      user_display_name: 'Bob B',
      user_handle: 'bob',
      read_version: expect.any(Number),
    });
  });

  it('leaves members alone when they are already at or past the message (late delivery)', async () => {
    const group = await startConversation('2024-01-03T10:00:00.000000+00:00', 'newest');

    const older = await projector.project({ message_group_uuid: group, created_at: '2024-01-03T09:00:00.000000+00:00', message: 'old' });
    const same = await projector.project({ message_group_uuid: group, created_at: '2024-01-03T10:00:00.000000+00:00', message: 'newest' });

    expect(await listItems(group)).toEqual({
      alice: [['2024-01-03T10:00:00.000000+00:00', 'newest', 'bob']],
      bob: [['2024-01-03T10:00:00.000000+00:00', 'newest', 'alice']],
    });
    expect([...older.members, ...same.members].some((m) => m.moved)).toBe(false);
  });

  it('is idempotent: projecting the same message twice leaves one item per member', async () => {
    const group = await startConversation('2024-01-04T10:00:00.000000+00:00');
    const message = { message_group_uuid: group, created_at: '2024-01-04T10:00:01.000000+00:00', message: 'again' };

    await projector.project(message);
    const second = await projector.project(message);

    expect(await listItems(group)).toEqual({
      alice: [['2024-01-04T10:00:01.000000+00:00', 'again', 'bob']],
      bob: [['2024-01-04T10:00:01.000000+00:00', 'again', 'alice']],
    });
    expect(second.members.some((m) => m.moved || m.removed > 0)).toBe(false);
  });

  it('repairs duplicate list items it finds, keeping the newest, even when the message is older', async () => {
    const group = await startConversation('2024-01-05T10:00:00.000000+00:00', 'a');
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: '2024-01-05T12:00:00.000000+00:00',
      message: 'c',
      other: bob,
    });
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: '2024-01-05T11:00:00.000000+00:00',
      message: 'b',
      other: bob,
    });

    await projector.project({ message_group_uuid: group, created_at: '2024-01-05T10:30:00.000000+00:00', message: 'late' });

    expect(await listItems(group)).toEqual({
      alice: [['2024-01-05T12:00:00.000000+00:00', 'c', 'bob']],
      bob: [['2024-01-05T10:30:00.000000+00:00', 'late', 'alice']],
    });
  });

  it('replaces legacy list items (no ElectroDB identifiers, no microseconds, no offset) by time, not by string', async () => {
    const group = randomUUID();
    await putRaw({
      pk: `GRP#${alice.uuid}`,
      sk: '2023-04-05T18:27:03+00:00',
      message_group_uuid: group,
      message: 'old',
      user_uuid: bob.uuid,
      user_display_name: 'Bob B',
      user_handle: 'bob',
    });
    await putRaw({
      pk: `GRP#${bob.uuid}`,
      sk: '2023-04-05T18:27:03',
      message_group_uuid: group,
      message: 'old',
      user_uuid: alice.uuid,
      user_display_name: 'Alice A',
      user_handle: 'alice',
    });

    await projector.project({ message_group_uuid: group, created_at: '2023-04-05T18:27:03.000001+00:00', message: 'new' });

    expect(await listItems(group)).toEqual({
      alice: [['2023-04-05T18:27:03.000001+00:00', 'new', 'bob']],
      bob: [['2023-04-05T18:27:03.000001+00:00', 'new', 'alice']],
    });
  });

  it('treats a legacy timestamp of the same instant as already projected', async () => {
    const group = randomUUID();
    await putRaw({
      pk: `GRP#${alice.uuid}`,
      sk: '2023-04-05T18:27:02',
      message_group_uuid: group,
      message: 'legacy',
      user_uuid: bob.uuid,
      user_display_name: 'Bob B',
      user_handle: 'bob',
    });
    await putRaw({
      pk: `GRP#${bob.uuid}`,
      sk: '2023-04-05T18:27:02',
      message_group_uuid: group,
      message: 'legacy',
      user_uuid: alice.uuid,
      user_display_name: 'Alice A',
      user_handle: 'alice',
    });

    const result = await projector.project({
      message_group_uuid: group,
      created_at: '2023-04-05T18:27:02.000000+00:00',
      message: 'same instant',
    });

    expect(result.members.map((m) => [m.moved, m.last_reply_at, m.removed])).toEqual([
      [false, '2023-04-05T18:27:02', 0],
      [false, '2023-04-05T18:27:02', 0],
    ]);
    expect(await listItems(group)).toEqual({
      alice: [['2023-04-05T18:27:02', 'legacy', 'bob']],
      bob: [['2023-04-05T18:27:02', 'legacy', 'alice']],
    });
  });

  it('projects a legacy message timestamp verbatim', async () => {
    const group = await startConversation('2023-04-05T18:00:00+00:00');

    await projector.project({ message_group_uuid: group, created_at: '2023-04-05T18:27:02.123456', message: 'no offset' });

    expect(await listItems(group)).toEqual({
      alice: [['2023-04-05T18:27:02.123456', 'no offset', 'bob']],
      bob: [['2023-04-05T18:27:02.123456', 'no offset', 'alice']],
    });
  });

  it('fails, writing nothing, for a conversation whose members are not there (the stream retries the record)', async () => {
    const group = randomUUID();

    await expect(
      projector.project({ message_group_uuid: group, created_at: '2024-01-06T00:00:00.000000+00:00', message: 'orphan' }),
    ).rejects.toThrow(MembersNotFoundError);

    expect(await listItems(group)).toEqual({});
    expect(await db.repository.listMembers(group)).toEqual([]);
  });

  it('converges when 40 projections of one conversation run at once: one item per member, the newest message', async () => {
    const group = await startConversation('2024-02-01T00:00:00.000000+00:00');
    const base = parseTimestamp('2024-02-01T00:00:01.000000+00:00')!;
    const messages = Array.from({ length: 40 }, (_, i) => ({
      message_group_uuid: group,
      created_at: formatTimestamp(base + i * 1000),
      message: `m${i}`,
    }));

    // About 300 requests at once to the in-process dynalite, which shares this worker's one thread with
    // the test: on a loaded CI machine one of them can wait past the production 3 s request bound.
    // The bound is not what this test is about, so its client allows 20 s (inside Jest's 30 s per test).
    const patient = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: db.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: { requestTimeout: 20_000, throwOnRequestTimeout: true },
    });
    const concurrent = new ConversationListProjector(MessagesRepository.create(patient, db.table));
    try {
      await Promise.all([...messages].reverse().map((m) => concurrent.project(m)));
    } finally {
      patient.destroy();
    }

    const newest = messages[39].created_at;
    expect(await listItems(group)).toEqual({ alice: [[newest, 'm39', 'bob']], bob: [[newest, 'm39', 'alice']] });
  });

  it('keeps the exact sk when the same message is projected by concurrent runs', async () => {
    const group = await startConversation('2024-02-02T00:00:00.000000+00:00');
    const message = { message_group_uuid: group, created_at: '2024-02-02T00:00:05.000000+00:00', message: 'same' };

    await Promise.all(Array.from({ length: 10 }, () => projector.project(message)));

    expect(await listItems(group)).toEqual({
      alice: [['2024-02-02T00:00:05.000000+00:00', 'same', 'bob']],
      bob: [['2024-02-02T00:00:05.000000+00:00', 'same', 'alice']],
    });
  });

  it('moves past another conversation of the same owner that landed in the same microsecond', async () => {
    const at = '2024-02-03T00:00:00.000000+00:00';
    const first = await startConversation('2024-02-02T23:00:00.000000+00:00');
    const second = await startConversation('2024-02-02T23:00:00.000000+00:00');

    await projector.project({ message_group_uuid: first, created_at: at, message: 'one' });
    await projector.project({ message_group_uuid: second, created_at: at, message: 'two' });

    expect((await listItems(first)).alice).toEqual([[at, 'one', 'bob']]);
    expect((await listItems(second)).alice).toEqual([['2024-02-03T00:00:00.000001+00:00', 'two', 'bob']]);
  });
});

describe('ConversationListProjector with member items', () => {
  let failing: (command: string, input: string) => boolean = () => false;
  let faulty: ConversationListProjector;

  beforeAll(() => {
    const client = dynamoClient(db.endpoint);
    watchCommands(client, (command, input) => failing(command, input));
    faulty = new ConversationListProjector(MessagesRepository.create(client, db.table));
  });

  /** Each conversation's messages on a day of its own: alice and bob own every test's list items. */
  const days = new Map<string, number>();

  /** A conversation as pattern C starts it: both member items, no message projected yet. */
  async function newConversation(): Promise<string> {
    const group = randomUUID();
    days.set(group, days.size + 1);
    await db.repository.putMember({
      message_group_uuid: group,
      owner_user_uuid: alice.uuid,
      user_uuid: bob.uuid,
      user_display_name: bob.display_name,
      user_handle: bob.handle,
    });
    await db.repository.putMember({
      message_group_uuid: group,
      owner_user_uuid: bob.uuid,
      user_uuid: alice.uuid,
      user_display_name: alice.display_name,
      user_handle: alice.handle,
    });
    return group;
  }

  const message = (group: string, second: number, text: string, sender: UserRef = alice) => ({
    message_group_uuid: group,
    created_at: formatTimestamp(
      parseTimestamp('2024-07-01T00:00:00.000000+00:00')! + ((days.get(group) ?? 0) * 86_400 + second) * 1_000_000,
    ),
    message: text,
    user_uuid: sender.uuid,
    user_display_name: sender.display_name,
    user_handle: sender.handle,
  });

  it('gives each member of a new conversation its first list item, and never reads the index for it', async () => {
    const group = await newConversation();
    let indexReads = 0;
    failing = (command, input) => {
      if (command === 'QueryCommand' && input.includes('message-group-sk-index')) indexReads++;
      return false;
    };

    await faulty.project(message(group, 1, 'hello'));

    expect(await listItems(group)).toEqual({
      alice: [[message(group, 1, '').created_at, 'hello', 'bob']],
      bob: [[message(group, 1, '').created_at, 'hello', 'alice']],
    });
    expect(indexReads).toBe(0);
    expect((await db.repository.listMembers(group)).map((m) => [m.pending, m.stale, m.group_sk])).toEqual([
      [undefined, undefined, message(group, 1, '').created_at],
      [undefined, undefined, message(group, 1, '').created_at],
    ]);
  });

  it('finishes a projection that stopped before its list items were written, at the next delivery', async () => {
    const group = await newConversation();
    await faulty.project(message(group, 1, 'first'));
    failing = (command, input) => command === 'PutItemCommand' && input.includes('GRP#');

    await expect(faulty.project(message(group, 2, 'second'))).rejects.toThrow(/injected failure/);
    failing = () => false;
    expect((await db.repository.listMembers(group)).every((m) => m.pending === true)).toBe(true);

    await faulty.project(message(group, 2, 'second')); // the stream's retry
    const at = message(group, 2, '').created_at;
    expect(await listItems(group)).toEqual({ alice: [[at, 'second', 'bob']], bob: [[at, 'second', 'alice']] });
  });

  it('leaves no orphan when a projection stopped after writing its list items, and a newer message comes first', async () => {
    const group = await newConversation();
    await faulty.project(message(group, 1, 'first'));
    // The list items of message 2 are written, but recording them on the member items fails.
    failing = (command, input) => command === 'UpdateItemCommand' && input.includes('REMOVE #pending');

    await expect(faulty.project(message(group, 2, 'second'))).rejects.toThrow(/injected failure/);
    failing = () => false;
    await faulty.project(message(group, 3, 'third'));

    const at = message(group, 3, '').created_at;
    expect(await listItems(group)).toEqual({ alice: [[at, 'third', 'bob']], bob: [[at, 'third', 'alice']] });
    expect((await db.repository.listMembers(group)).map((m) => [m.pending, m.stale])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });

  it("shows the other member's new name once they write again", async () => {
    const group = await newConversation();
    await faulty.project(message(group, 1, 'hi', alice));
    const renamed = { ...bob, display_name: 'Robert B', handle: 'robert' };

    await faulty.project(message(group, 2, 'call me Robert', renamed));

    const [item] = (await db.repository.listConversations(alice.uuid, { limit: 100 })).items.filter((g) => g.message_group_uuid === group);
    expect([item.user_display_name, item.user_handle, item.message]).toEqual(['Robert B', 'robert', 'call me Robert']);
    const [bobsItem] = (await db.repository.listConversations(bob.uuid, { limit: 100 })).items.filter(
      (g) => g.message_group_uuid === group,
    );
    expect(bobsItem.user_handle).toBe('alice');
  });

  it("builds member items once from an older conversation's list items, duplicates marked stale and deleted", async () => {
    const group = await startConversation('2024-07-02T00:00:00.000000+00:00');
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: '2024-07-02T00:00:01.000000+00:00',
      message: 'dup',
      other: bob,
    });
    days.set(group, 30); // its messages a month later

    const result = await faulty.project(message(group, 10, 'later'));

    expect(result.members.map((m) => m.removed).sort()).toEqual([1, 2]);
    expect(Object.values(await listItems(group)).map((items) => items.length)).toEqual([1, 1]);
    expect(await db.repository.listMembers(group)).toHaveLength(2);
  });
});
