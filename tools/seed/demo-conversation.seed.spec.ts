import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { useTestTable } from '../../test/support/dynamodb.js';
import type { UserRef } from '../../src/dynamodb/messages.repository.js';
import { parseTimestamp } from '../../src/dynamodb/timestamp.js';
import { seedDemoConversation } from './demo-conversation.seed.js';

const db = useTestTable();

const NOW = Date.UTC(2023, 2, 28, 21, 0, 0) * 1000 + 123456;

function demoPair(): [UserRef, UserRef] {
  return [
    { uuid: randomUUID(), display_name: 'Andrew Brown', handle: 'andrewbrown' },
    { uuid: randomUUID(), display_name: 'Andrew Bayko', handle: 'bayko' },
  ];
}

describe('seedDemoConversation', () => {
  it('writes a long back-and-forth, one minute apart, ending a minute before now', async () => {
    const [a, b] = demoPair();

    const result = await seedDemoConversation(db.repository, a, b, { now: NOW });

    expect(result.created).toBe(true);
    const messages = await db.repository.listAllMessages(result.message_group_uuid);
    expect(messages).toHaveLength(result.messages);
    expect(messages.length).toBeGreaterThanOrEqual(20);
    const times = messages.map((m) => parseTimestamp(m.created_at)!);
    expect(times.slice(1).map((t, i) => t - times[i])).toEqual(Array(times.length - 1).fill(60_000_000));
    expect(times.at(-1)).toBe(NOW - 60_000_000);
    expect(messages.map((m) => m.user_handle).slice(0, 4)).toEqual(['andrewbrown', 'bayko', 'andrewbrown', 'bayko']);
    expect(messages[0]).toMatchObject({ user_uuid: a.uuid, user_display_name: 'Andrew Brown' });
  });

  it("writes each member's group item describing the other member at the last message", async () => {
    const [a, b] = demoPair();

    const result = await seedDemoConversation(db.repository, a, b, { now: NOW });

    const last = (await db.repository.listAllMessages(result.message_group_uuid)).at(-1)!;
    const [groupOfA] = await db.repository.listAllConversations(a.uuid);
    const [groupOfB] = await db.repository.listAllConversations(b.uuid);
    expect(groupOfA).toMatchObject({
      message_group_uuid: result.message_group_uuid,
      last_reply_at: last.created_at,
      message: last.message,
      user_uuid: b.uuid,
      user_handle: 'bayko',
      user_display_name: 'Andrew Bayko',
    });
    expect(groupOfB).toMatchObject({
      message_group_uuid: result.message_group_uuid,
      last_reply_at: last.created_at,
      message: last.message,
      user_uuid: a.uuid,
      user_handle: 'andrewbrown',
    });
  });

  it('uses the current time when none is given', async () => {
    const [a, b] = demoPair();
    const before = Date.now() * 1000;

    const result = await seedDemoConversation(db.repository, a, b);

    const last = (await db.repository.listAllMessages(result.message_group_uuid)).at(-1)!;
    const lastAt = parseTimestamp(last.created_at)!;
    expect(lastAt).toBeGreaterThanOrEqual(before - 60_000_000);
    expect(lastAt).toBeLessThan(Date.now() * 1000);
  });

  it('writes nothing when the two already have a conversation', async () => {
    const [a, b] = demoPair();
    const first = await seedDemoConversation(db.repository, a, b, { now: NOW });

    const second = await seedDemoConversation(db.repository, a, b, { now: NOW + 3_600_000_000 });

    expect(second).toEqual({ created: false, message_group_uuid: first.message_group_uuid, messages: 0 });
    await expect(db.repository.listAllConversations(a.uuid)).resolves.toHaveLength(1);
    await expect(db.repository.listAllConversations(b.uuid)).resolves.toHaveLength(1);
    await expect(db.repository.listAllMessages(first.message_group_uuid)).resolves.toHaveLength(first.messages);
  });

  it('still seeds when a already talks to someone else', async () => {
    const [a, b] = demoPair();
    await db.repository.putListItem({
      owner_user_uuid: a.uuid,
      message_group_uuid: randomUUID(),
      last_reply_at: '2023-01-01T00:00:00.000000+00:00',
      message: 'hi',
      other: { uuid: randomUUID(), display_name: 'C', handle: 'c' },
    });

    const result = await seedDemoConversation(db.repository, a, b, { now: NOW });

    expect(result.created).toBe(true);
    await expect(db.repository.listAllConversations(a.uuid)).resolves.toHaveLength(2);
  });
});
