import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ChangeCaptureEmulator } from '../src/stream/change-capture.emulator.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

/* The API with the change-capture emulator on (the default outside AWS): replies move both lists forward. */
let stack: ApiStack;
let emulator: ChangeCaptureEmulator;
const tokens = new Map<string, string>();

beforeAll(async () => {
  stack = await startApiStack();
  emulator = stack.app.get(ChangeCaptureEmulator);
});

afterAll(async () => {
  await stack?.stop();
});

const api = () => request(stack.app.getHttpServer());
const auth = (user: TestUser) => ({ Authorization: `Bearer ${tokens.get(user.handle)}` });

async function pair(): Promise<[TestUser, TestUser]> {
  const users = await Promise.all([stack.createUser(), stack.createUser()]);
  for (const user of users) tokens.set(user.handle, await stack.accessToken(user));
  return users;
}

describe('conversation lists follow the latest reply', () => {
  it("shows a reply in both members' lists", async () => {
    const [a, b] = await pair();
    const { body: first } = await api().post('/api/messages').set(auth(a)).send({ message: 'hi', handle: b.handle });
    const { body: reply } = await api()
      .post('/api/messages')
      .set(auth(b))
      .send({ message: 'hello back', message_group_uuid: first.message_group_uuid });

    await emulator.drain();
    const mine = await api().get('/api/message_groups').set(auth(a));
    const theirs = await api().get('/api/message_groups').set(auth(b));

    // a: b's reply unread, b has read up to it (they wrote it); b: nothing unread, a has read their own first message.
    expect(mine.body).toEqual([
      {
        uuid: first.message_group_uuid,
        display_name: b.display_name,
        handle: b.handle,
        message: 'hello back',
        created_at: reply.created_at,
        unread_count: 1,
        unread_more: false,
        other_last_read_at: reply.created_at,
      },
    ]);
    expect(theirs.body).toEqual([
      {
        uuid: first.message_group_uuid,
        display_name: a.display_name,
        handle: a.handle,
        message: 'hello back',
        created_at: reply.created_at,
        unread_count: 0,
        unread_more: false,
        other_last_read_at: first.created_at,
      },
    ]);
  });

  it("orders a member's conversations by their latest reply", async () => {
    const [a, b] = await pair();
    const [c] = await pair();
    const { body: withB } = await api().post('/api/messages').set(auth(a)).send({ message: 'to b', handle: b.handle });
    await api().post('/api/messages').set(auth(a)).send({ message: 'to c', handle: c.handle });
    await api().post('/api/messages').set(auth(b)).send({ message: 'b again', message_group_uuid: withB.message_group_uuid });

    await emulator.drain();
    const list = await api().get('/api/message_groups').set(auth(a));

    expect(list.body.map((g: { handle: string; message: string }) => [g.handle, g.message])).toEqual([
      [b.handle, 'b again'],
      [c.handle, 'to c'],
    ]);
  });

  it('leaves one group item per member showing the newest of 40 concurrent replies', async () => {
    const [a, b] = await pair();
    const { body: first } = await api().post('/api/messages').set(auth(a)).send({ message: 'start', handle: b.handle });

    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api()
          .post('/api/messages')
          .set(auth(i % 2 ? a : b))
          .send({ message: `reply ${i}`, message_group_uuid: first.message_group_uuid }),
      ),
    );
    await emulator.drain();

    expect(replies.every((r) => r.status === 200)).toBe(true);
    const newest = replies.map((r) => r.body).sort((x, y) => (x.created_at < y.created_at ? 1 : -1))[0];
    const members = await stack.repository.listListItemsOnIndex(first.message_group_uuid);
    expect(members.map((m) => m.owner_user_uuid).sort()).toEqual([a.uuid, b.uuid].sort());
    expect(members.map((m) => [m.last_reply_at, m.message])).toEqual([
      [newest.created_at, newest.message],
      [newest.created_at, newest.message],
    ]);
    expect(await stack.repository.listAllMessages(first.message_group_uuid)).toHaveLength(41);
  });
});
